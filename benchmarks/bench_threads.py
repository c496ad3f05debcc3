"""Before/after A/B of scatlab's threading on a shared machine: another checkout against this one.

Each measurement runs in a fresh process whose environment names no OpenMP policy and no thread
count (as a user's would), so each version's own choices apply: the other checkout's (e.g. before
passive waiting and per-call threads) against this one's. The two alternate, ``--rounds`` times,
on an idle machine and then with a second process keeping one core busy (a Python spin loop).
Cases: small transforms (forward), a texture-synthesis step (forward and backward, 256 x 256),
and a QM9 featurization batch (16 molecules, needs the QM9 data).

    python benchmarks/bench_threads.py OTHER_CHECKOUT [--rounds 3] [--json OUT]
    python benchmarks/bench_threads.py --crossover [--json OUT]   # calibrates ONE_THREAD_BELOW
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CASES = ("small-1d", "small-2d", "synthesis-step", "qm9-batch")
CALLS = {"small-1d": 200, "small-2d": 100, "synthesis-step": 3, "qm9-batch": 1}  # calls per timing


def _workload(case: str):
    """A function running ``case`` once (scatlab is imported here, before torch)."""
    import scatlab
    import torch

    if case == "small-1d":
        S, x = scatlab.Scattering1D(1024, J=5, Q=8), torch.randn(1, 1024)
        return lambda: S(x)
    if case == "small-2d":
        S, x = scatlab.Scattering2D((32, 32), J=2, L=8), torch.randn(4, 32, 32)
        return lambda: S(x)
    if case == "synthesis-step":
        S, x = scatlab.Scattering2D((256, 256), J=5, L=8), torch.randn(1, 256, 256, requires_grad=True)

        def step():
            S(x).mean(dim=(-2, -1)).square().sum().backward()
        return step
    try:
        from scatlab.datasets.qm9 import load_qm9
    except ImportError:  # checkouts before datasets/ held the QM9 reader
        from scatlab.chem.qm9 import load_qm9
    from scatlab.chem.features import Featurizer
    molecules = list(load_qm9(limit=16).molecules)
    featurize = Featurizer()
    return lambda: featurize(molecules)


def child(case: str, repeats: int) -> None:
    """Print the median seconds of one call of ``case`` over ``repeats`` timings (after a warm-up)."""
    run = _workload(case)
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(CALLS[case]):
            run()
        times.append((time.perf_counter() - start) / CALLS[case])
    print(json.dumps({"seconds": statistics.median(times)}))


def crossover(repeats: int) -> list[dict]:
    """Forward time on one and on two threads (passive waiting) vs input elements, for 1D and 2D
    transforms: where two threads start to pay is where ``ONE_THREAD_BELOW`` belongs."""
    import scatlab
    import torch

    from scatlab.runtime import threads

    threads.ONE_THREAD_BELOW = 0  # time exactly the thread counts asked for
    transforms = {"1d": (scatlab.Scattering1D(4096, J=6, Q=8), (4096,)),
                  "2d": (scatlab.Scattering2D((32, 32), J=2, L=8), (32, 32))}
    rows = []
    for name, (S, shape) in transforms.items():
        for batch in (1, 2, 4, 8, 16, 32, 64, 128):
            x = torch.randn(batch, *shape)
            row = {"transform": name, "elements": x.numel()}
            for n in (1, 2):
                torch.set_num_threads(n)
                S(x)
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    S(x)
                    times.append(time.perf_counter() - start)
                row[f"threads_{n}_s"] = statistics.median(times)
            row["one_over_two"] = row["threads_1_s"] / row["threads_2_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def _spin() -> None:
    while True:
        pass


def _time(checkout: Path, case: str, repeats: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(checkout / "src")
    done = subprocess.run([sys.executable, __file__, "--child", case, "--repeats", str(repeats)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, nargs="?", help="the other checkout (a directory holding src/scatlab)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two versions per case and load")
    parser.add_argument("--repeats", type=int, default=5, help="timings per process (the median is kept)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json")
    parser.add_argument("--crossover", action="store_true",
                        help="instead: this checkout's forward time on 1 vs 2 threads vs input size, idle and busy")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeats)
        return 0
    if args.other is None and not args.crossover:
        parser.error("give the other checkout, or --crossover")
    rows = []
    for load in ("idle", "one core busy"):
        spinner = multiprocessing.Process(target=_spin, daemon=True) if load != "idle" else None
        if spinner:
            spinner.start()
        try:
            if args.crossover:
                rows += [{"load": load, **row} for row in crossover(args.repeats)]
                continue
            for case in args.cases.split(","):
                times = {"before": [], "after": []}
                for _ in range(args.rounds):
                    times["before"].append(_time(args.other.resolve(), case, args.repeats))
                    times["after"].append(_time(HERE, case, args.repeats))
                row = {"case": case, "load": load, "before_s": statistics.median(times["before"]),
                       "after_s": statistics.median(times["after"]), "rounds": times}
                row["before_over_after"] = row["before_s"] / row["after_s"]
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "rounds"}), flush=True)
        finally:
            if spinner:
                spinner.terminate()
    if args.json:
        sys.path.insert(0, str(HERE / "src"))
        from scatlab.io import atomic_write_json
        from scatlab.reproduce.provenance import git_commit, machine, now
        other = args.other and subprocess.run(["git", "-C", str(args.other), "rev-parse", "HEAD"],
                                              capture_output=True, text=True).stdout.strip()
        atomic_write_json(args.json, {"command": " ".join(sys.argv), "commit": git_commit(),
                                      "other_commit": other or None, "date": now(),
                                      "machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
