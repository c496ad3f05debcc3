"""OpenBLAS waiting on a shared machine, and the ridge path against a grid of ridge fits.

Run from the repository root::

    python benchmarks/bench_blas_waiting.py [--seconds 5] [--json benchmarks/blas_waiting.json]

Part 1: positive-definite solves per second of a 750 x 750 system (the size of a QM9 ridge fit),
each case in a fresh process (OpenBLAS reads its settings when numpy loads): one thread; two threads
spinning as OpenBLAS does by default (``OPENBLAS_THREAD_TIMEOUT=28``, 2^28 cycles); two threads
sleeping almost at once (``OPENBLAS_THREAD_TIMEOUT=4``, what ``import scatlab`` sets), each on the
machine as found (its load is recorded) and with a spinning process added on one core. Part 2: one thread, seconds of ``scatlab.learning.regression.
fit_ridge`` (one SVD per fold for all penalties) against scikit-learn's ``GridSearchCV(Ridge(solver=
'svd'))`` on 1,000 x 750 collinear features, 13 penalties, 5 folds (the same choice is checked).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

from _record import write_record
from tables import blas_waiting as table

SOLVES = """
import time, numpy as np, scipy.linalg as sl
rng = np.random.default_rng(0)
a = rng.standard_normal((800, 750)); g = a.T @ a + np.eye(750); b = a.T @ rng.standard_normal(800)
start = time.perf_counter(); n = 0
while time.perf_counter() - start < {seconds}:
    sl.solve(g, b, assume_a="pos"); n += 1
print(n / (time.perf_counter() - start))
"""

CASES = (("1 thread", "1", "28"), ("2 threads, spinning (OpenBLAS default)", "2", "28"),
         ("2 threads, sleeping (scatlab's default)", "2", "4"))


def _spin() -> None:
    while True:
        pass


def solves_per_second(threads: str, timeout: str, seconds: float) -> float:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OPENBLAS_THREAD_TIMEOUT": timeout}
    out = subprocess.run([sys.executable, "-c", SOLVES.format(seconds=seconds)], env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout)


def ridge_times() -> dict:
    import numpy as np
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from scatlab.learning.regression import fit_ridge

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1100, 20)) @ rng.standard_normal((20, 750)) + 1e-6 * rng.standard_normal((1100, 750))
    y = x[:, :5].sum(1) + 0.1 * rng.standard_normal(1100)
    alphas = [10.0 ** k for k in range(-10, 3)]
    with threadpool_limits(1):
        start = time.perf_counter()
        grid = GridSearchCV(make_pipeline(StandardScaler(), Ridge(solver="svd")), {"ridge__alpha": alphas},
                            scoring="neg_mean_absolute_error", cv=KFold(5, shuffle=True, random_state=0))
        grid.fit(x[:1000], y[:1000])
        grid_s = time.perf_counter() - start
        start = time.perf_counter()
        _, alpha = fit_ridge(x[:1000], y[:1000], x[1000:], alphas, 5, 0)
        path_s = time.perf_counter() - start
    return {"grid_s": grid_s, "path_s": path_s, "same_choice": alpha == grid.best_params_["ridge__alpha"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    rows = []
    for busy in (False, True):
        spinner = multiprocessing.Process(target=_spin, daemon=True) if busy else None
        if spinner:
            spinner.start()
        try:
            for name, threads, timeout in CASES:
                rows.append({"case": name, "busy_core": busy,
                             "solves_per_s": solves_per_second(threads, timeout, args.seconds)})
        finally:
            if spinner:
                spinner.terminate()
    ridge = ridge_times()
    record = {"rows": rows, "ridge": ridge}
    print(table(record))
    if args.json:
        write_record(args.json, "bench_blas_waiting.py", argv, rows, load_before, ridge=ridge)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
