#!/usr/bin/env bash
# Re-measures every table of BENCHMARKS.md on this machine (idle: stop other jobs first) and
# renders them: each script writes benchmarks/NAME.json with its command, commit, date, machine
# and load; benchmarks/tables.py turns the files into BENCHMARKS.md's tables.
# The peer extra is needed: pip install 'kymatio==0.3.0' 'scipy<1.17' (scripts/setup_env.sh test,peer).
# Usage: bash benchmarks/run_benchmarks.sh [core 3d roto tf synthesis store]   (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
which=("${@:-core 3d roto tf synthesis store}")
for name in ${which[*]}; do
    case "$name" in
        core) python -m scatlab bench --threads 2 --repeats "${REPEATS:-7}" --json benchmarks/results.json ;;
        3d) python benchmarks/bench_harmonic3d.py --threads 2 --repeats 5 --json benchmarks/harmonic3d.json ;;
        roto) python benchmarks/bench_rototranslation.py --threads 2 --repeats 5 --json benchmarks/rototranslation.json ;;
        tf) python benchmarks/bench_timefrequency.py --threads 2 --repeats 5 --json benchmarks/timefrequency.json ;;
        synthesis) python benchmarks/bench_synthesis.py --sizes 256 --threads 2 --json benchmarks/synthesis.json ;;
        store) python benchmarks/bench_store.py --json benchmarks/store.json ;;
        *) echo "run_benchmarks: unknown table '$name' (core, 3d, roto, tf, synthesis, store)" >&2; exit 2 ;;
    esac
done
python benchmarks/tables.py
