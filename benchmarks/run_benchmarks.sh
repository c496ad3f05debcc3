#!/usr/bin/env bash
# Times scatlab against Kymatio 0.3.0 on the configurations of BENCHMARKS.md.
# Needs the peer extra: pip install 'kymatio==0.3.0' 'scipy<1.17'.
set -euo pipefail
export OMP_WAIT_POLICY=PASSIVE
python -m scatlab bench --threads 2 --repeats "${REPEATS:-7}" --json "${1:-benchmarks/results.json}"
