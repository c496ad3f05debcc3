"""OpenMP waiting policies on bench_threads.py's cases, idle and with one core busy (issue 24).

Run from the repository root::

    python benchmarks/bench_omp_waiting.py [--cases small-2d,synthesis-step,qm9-batch] [--json benchmarks/omp_waiting.json]

libgomp (torch's OpenMP) lets a waiting thread spin ``GOMP_SPINCOUNT`` iterations before it sleeps:
300,000 by default, none under ``OMP_WAIT_POLICY=PASSIVE`` (scatlab's default since af54ae3).
Each variant is timed in a fresh process (torch imported before scatlab, so that scatlab leaves the
variables as set), two alternating rounds per case, on the idle machine and then with a spinning
process on one core; each cell is the median seconds of one call.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys

import bench_threads  # imports neither torch nor scatlab at module level

VARIANTS = {"passive": {"OMP_WAIT_POLICY": "PASSIVE"}, "spin 1e3": {"GOMP_SPINCOUNT": "1000"},
            "spin 1e4": {"GOMP_SPINCOUNT": "10000"}, "spin 1e5": {"GOMP_SPINCOUNT": "100000"},
            "libgomp default": {}}
"""Environment of each variant (OMP_WAIT_POLICY, GOMP_SPINCOUNT and OMP_NUM_THREADS removed first)."""


def child(case: str, repeats: int) -> None:
    """Time ``case`` with torch imported before scatlab, so that scatlab leaves the OpenMP variables as
    the variant set them (nothing in this module imports scatlab before this point)."""
    __import__("torch")
    bench_threads.child(case, repeats)


def time_variant(name: str, case: str, repeats: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")}
    env.update(VARIANTS[name])
    done = subprocess.run([sys.executable, __file__, "--child", case, str(repeats)], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="small-2d,synthesis-step,qm9-batch")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    load_before, rows = os.getloadavg()[0], []
    for load in ("idle", "one core busy"):
        spinner = multiprocessing.Process(target=bench_threads._spin, daemon=True) if load != "idle" else None
        if spinner:
            spinner.start()
        try:
            for case in args.cases.split(","):
                times = {v: [] for v in VARIANTS}
                for _ in range(args.rounds):
                    for v in VARIANTS:
                        times[v].append(time_variant(v, case, args.repeats))
                rows.append({"load": load, "case": case, **{v: statistics.median(t) for v, t in times.items()}})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            if spinner:
                spinner.terminate()
    if args.json:
        from _record import write_record  # imports scatlab: only in the parent, after the children ran

        write_record(args.json, "bench_omp_waiting.py", argv, rows, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
