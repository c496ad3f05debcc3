#!/usr/bin/env bash
# Sets everything up, then runs the main job: every registered experiment in quick mode,
# writing results/<experiment>/results.json, figures and results/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh data
. .venv/bin/activate
scatlab reproduce --quick --out "${OUT:-results}" "$@"
