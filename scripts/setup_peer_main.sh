#!/usr/bin/env bash
# Builds the virtual environment of the peer Kymatio main (unreleased, with joint time-frequency
# scattering) beside scatlab, for benchmarks/bench_jtfs_peer.py. Idempotent: re-running it only
# checks what is already there. Usage: bash scripts/setup_peer_main.sh [VENV] [TARBALL]
#   VENV     default /work/venv-kmain
#   TARBALL  default /work/shared/peers/kymatio-main-11552ed5.tar.gz (source of commit 11552ed5, BSD-3)
# Kymatio main installs under the package name `kymatio`, like Kymatio 0.3.0 in .venv: hence a venv
# of its own. torch is pinned first: `pip install torch==2.13.0` takes a local CPU wheel, whereas an
# unpinned torch would pull a multi-GB CUDA build. Everything else is installed without its declared
# dependencies, so that nothing replaces that torch.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-/work/venv-kmain}"
tarball="${2:-/work/shared/peers/kymatio-main-11552ed5.tar.gz}"
say() { echo "setup_peer_main: $*" >&2; }
[ -f "$tarball" ] || { say "the peer's source $tarball is missing (give its path as the second argument)"; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
    say "creating the virtual environment $venv"
    python3 -m venv "$venv"
fi
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }
say "installing torch 2.13.0 (CPU) into $venv"
pip install --quiet "torch==2.13.0"
say "installing the peer Kymatio main from $tarball (no dependencies)"
pip install --quiet --no-deps "$tarball"
say "installing numpy, scipy<1.17 and what Kymatio and scatlab import at run time (no dependencies)"
pip install --quiet --no-deps numpy "scipy<1.17" packaging appdirs jinja2 markupsafe tqdm
say "installing scatlab from $(pwd) (editable, no dependencies)"
pip install --quiet --no-deps -e .
"$venv/bin/python" - <<'EOF'
import kymatio, scatlab, torch
from kymatio.torch import TimeFrequencyScattering  # noqa: F401  (the transform the benchmark compares)
print(f"setup_peer_main: ready: kymatio {kymatio.__version__}, torch {torch.__version__}, scatlab from {scatlab.__file__}")
EOF
