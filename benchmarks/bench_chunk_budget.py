"""The 2D engine's batch-chunk budget: time and peak memory per budget (issue 22, memory target).

Run from the repository root::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_chunk_budget.py [--configs NAME ...] [--budgets 18 19 20]
        [--json benchmarks/chunk_budget.json]

``scattering2d.CHUNK_ELEMENTS`` caps the complex elements of the largest intermediate of one batch
chunk (the batch is split so that L filters x padded image x signals fit it). For each
configuration of ``scatlab bench`` and mode, the budgets 2^k are timed interleaved in one process
(median of ``--repeats`` calls after a warm-up), and the peak memory of one call is measured as
``scatlab bench`` measures it (fresh process per budget, resident peak after a warm-up call).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys

import torch

from scatlab.commands import bench

from _record import write_record
from tables import chunk_budget as table

engine = importlib.import_module("scatlab.functional.scattering2d")
DEFAULT_CONFIGS = [c.name for c in bench.CONFIGS if c.kind == "2d"]
MODES = ("forward", "backward")


def peak_mb(budget: int, name: str, mode: str, threads: int) -> float:
    command = [sys.executable, __file__, "--child", str(budget), name, mode, "--threads", str(threads)]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}  # as scatlab bench
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"]


def measure(name: str, budgets: list[int], repeats: int, threads: int) -> list[dict]:
    cfg = next(c for c in bench.CONFIGS if c.name == name)
    x = torch.randn(cfg.input_shape())
    module = bench.build("scatlab", cfg)
    rows = []
    for mode in MODES:
        times = {b: [] for b in budgets}
        for b in budgets:  # warm-up
            engine.CHUNK_ELEMENTS = b
            bench.call(module, x, mode)
        for _ in range(repeats):
            for b in budgets:
                engine.CHUNK_ELEMENTS = b
                times[b].append(bench._time_once(module, x, mode))
        for b in budgets:
            rows.append({"config": name, "mode": mode, "budget": b, "median_s": statistics.median(times[b]),
                         "peak_mb": peak_mb(b, name, mode, threads)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
    parser.add_argument("--budgets", type=int, nargs="+", default=[17, 18, 19, 20], help="log2 of the budgets")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", nargs=3, metavar=("BUDGET", "CONFIG", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:
        engine.CHUNK_ELEMENTS = int(args.child[0])
        bench._child("scatlab", args.child[1], args.child[2])
        return 0
    load_before = os.getloadavg()[0]
    rows = [row for name in args.configs for row in measure(name, [2**k for k in args.budgets], args.repeats,
                                                             args.threads)]
    record = {"rows": rows}
    print(table(record))
    if args.json:
        write_record(args.json, "bench_chunk_budget.py", argv, rows, load_before, threads=args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
