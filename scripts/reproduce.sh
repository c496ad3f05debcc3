#!/usr/bin/env bash
# Sets everything up, then runs the main job: every registered experiment in quick mode,
# writing results/<experiment>/results.json, figures and results/index.html. A second run
# continues (or reuses) the trainings of the first (--resume). An experiment whose data is
# missing is skipped, with how to get it; --strict makes that an error.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh data
. .venv/bin/activate
# On the project's machines FSDD lies in ../shared; elsewhere scatlab fetches it into the user cache.
if [ -z "${SCATLAB_FSDD_DIR:-}" ] && [ -d ../shared/data/fsdd/recordings ]; then
    export SCATLAB_FSDD_DIR="$(cd ../shared/data/fsdd && pwd)"
fi
scatlab reproduce --quick --resume --out "${OUT:-results}" "$@"
