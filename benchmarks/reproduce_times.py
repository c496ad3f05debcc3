"""Wall and CPU time of every experiment's quick mode: the main job's cost on this machine.

Run from the repository root::

    python benchmarks/reproduce_times.py [--busy] [--threads 2] [--out DIR] --json benchmarks/reproduce_quick.json
    python benchmarks/reproduce_times.py --from DIR --json FILE   # collect the records of an earlier run

Runs ``scatlab reproduce --quick`` (every experiment) into ``--out`` and collects, from each
experiment's results.json, its status, wall time, CPU time and the load average at its start and
end. ``--busy`` keeps one core busy with a spinning process during the run (the condition the
main job must meet: at most 20 minutes in all, 5 per experiment, with another process busy);
``--busy-with TEXT`` records that a real one-thread job (named by TEXT) kept a core busy instead.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from _record import write_record


def _spin() -> None:
    while True:
        pass


def collect(run_dir: Path) -> list[dict]:
    rows = []
    for path in sorted(run_dir.glob("*/results.json")):
        record = json.loads(path.read_text())
        rows.append({"experiment": record["experiment"], "status": record["status"],
                     "wall_s": record["wall_time_s"], "cpu_s": record.get("cpu_time_s"),
                     "load_average": record.get("load_average"), "threads": record["machine"]["torch_threads"],
                     "commit": record.get("git_commit"), "date": record.get("date")})
    if not rows:
        raise SystemExit(f"No results.json under {run_dir}: give the --out folder of `scatlab reproduce --quick`.")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results-quick-times"))
    parser.add_argument("--from", dest="source", type=Path, help="collect an earlier run instead of running")
    parser.add_argument("--busy", action="store_true", help="keep one core busy during the run")
    parser.add_argument("--busy-with", default=None, metavar="TEXT",
                        help="another job keeps one core busy during the run (instead of --busy's spinner): say which")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the run (default: unset)")
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    run_dir, started = args.source, time.perf_counter()
    if run_dir is None:
        env = dict(os.environ)
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        spinner = multiprocessing.Process(target=_spin, daemon=True) if args.busy else None
        if spinner:
            spinner.start()
        try:
            subprocess.run([sys.executable, "-m", "scatlab", "reproduce", "--quick", "--out", str(args.out)], env=env,
                           check=False)
        finally:
            if spinner:
                spinner.terminate()
        run_dir = args.out
    rows = collect(run_dir)
    total = {"wall_s": sum(r["wall_s"] for r in rows), "cpu_s": sum(r["cpu_s"] or 0 for r in rows)}
    print(f"{len(rows)} experiments: wall {total['wall_s'] / 60:.1f} min, CPU {total['cpu_s'] / 60:.1f} min"
          f" (largest wall {max(r['wall_s'] for r in rows):.0f} s)")
    write_record(args.json, "reproduce_times.py", argv, rows, None if args.source else load_before,
                 busy_core=args.busy or bool(args.busy_with), busy_with=args.busy_with, threads=rows[0]["threads"], total=total,
                 elapsed_s=None if args.source else time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
