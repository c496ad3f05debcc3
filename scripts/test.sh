#!/usr/bin/env bash
# Sets everything up (with the peer Kymatio 0.3.0, which needs scipy<1.17, and Chromium for the
# report's browser test), then runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh test,peer
bash scripts/install_browser.sh
. .venv/bin/activate
python -m pytest -q "$@"
