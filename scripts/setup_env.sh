#!/usr/bin/env bash
# Creates .venv (if missing) and installs scatlab with the given extras, saying what it does.
# torch is pinned first: on these machines `pip install torch==2.13.0` takes a local CPU wheel,
# whereas an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-data}"
say() { echo "setup: $*" >&2; }
if [ ! -x .venv/bin/python ]; then
    say "creating the virtual environment .venv"
    python3 -m venv .venv
fi
. .venv/bin/activate
say "installing pip, torch 2.13.0 (CPU) and scatlab[${extras}] into .venv (a minute on a fresh machine)"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[${extras}]"
# torchattacks (adversarial attacks of the theory lab) declares torchvision, whose PyPI wheel does not import
# beside this torch; it needs only torch, so it is installed without its declared dependencies.
python -m pip install --quiet --no-deps "torchattacks==3.5.1"
bash scripts/install_data.sh
say "done"
