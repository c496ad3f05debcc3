"""Inversion of Scattering2D coefficients on real image crops: distribution of the errors reached.

For each of 12 scikit-image pictures (camera, coins, brick, grass, gravel, moon, text, page, clock,
and astronaut, chelsea, coffee in grey) two 32 x 32 crops at positions drawn from ``--seed``
(a crop whose standard deviation is below 0.05 in [0, 1] units, a flat patch, is redrawn), each
standardized to zero mean and unit variance (``--raw``: kept in [0, 1]). The crops are split by
picture into a selection half (camera, brick, gravel, text, clock, chelsea), on which the
inversion's defaults were chosen, and a report half (coins, grass, moon, page, astronaut, coffee),
on which they are scored; the summary gives both halves and the whole.

For every setting (J in 2, 3; padding reflect, the default, and periodic; L = 8, float32) and
crop x, ``invert(S(x), S, **options)`` (``--options`` a JSON dict passed on, default none: the
library's defaults) and records:

- the relative coefficient error ||S(x_hat) - S(x)|| / ||S(x)||, and the same on the channels of
  orders 1 and 2 only (order 0, the local mean, is a linear measurement);
- the relative signal error ||x_hat - x|| / ||x||, and ``signal_error`` (the minimum over a
  global sign and the circular shifts: the periodic transform is exactly invariant to shifts by
  multiples of 2**J, and for J < log2(32) translation invariance is only local, so the plain error
  is meaningful);
- the evaluations of S used and the wall time.

The summary per setting: median, quartiles and max of each error, and the fraction of crops with
coefficient error below 1 %. Run from the repository root::

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 python benchmarks/inversion.py [--json benchmarks/inversion.json]

96 inversions (24 crops x 4 settings): about 8 minutes on one idle core (``--jobs`` runs them in
parallel processes; wall times per inversion are then those of a shared machine).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

import scatlab
from scatlab.io.atomic import atomic_write_json
from scatlab.nn.scattering2d import Scattering2D
from scatlab.reproduce.provenance import git_commit, machine, now
from scatlab.synthesis import invert, signal_error

SELECTION = ("camera", "brick", "gravel", "text", "clock", "chelsea")
REPORT = ("coins", "grass", "moon", "page", "astronaut", "coffee")
SETTINGS = ((2, "reflect"), (2, "periodic"), (3, "reflect"), (3, "periodic"))
SIZE = 32


def load(name: str) -> np.ndarray:
    """A scikit-image picture in grey, float64 in [0, 1]."""
    from skimage import color, data

    image = np.asarray(getattr(data, name)())
    if image.ndim == 3:
        return color.rgb2gray(image[..., :3])
    return image.astype(np.float64) / 255.0


def crops(names, per_image: int, seed: int, raw: bool) -> list[dict]:
    """``per_image`` crops of every picture, positions drawn from ``seed`` (flat patches redrawn)."""
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        image = load(name)
        H, W = image.shape
        found = 0
        while found < per_image:
            top, left = int(rng.integers(0, H - SIZE + 1)), int(rng.integers(0, W - SIZE + 1))
            x = image[top:top + SIZE, left:left + SIZE]
            if x.std() < 0.05:
                continue
            x = x if raw else (x - x.mean()) / x.std()
            out.append(dict(image=name, top=top, left=left, half="selection" if name in SELECTION else "report",
                            x=torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)))
            found += 1
    return out


def distribution(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    q1, median, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return dict(median=float(median), q1=float(q1), q3=float(q3), max=float(v.max()), n=len(v))


def summarize(rows: list[dict]) -> dict:
    return dict(coef_error=distribution([r["coef_error"] for r in rows]),
                coef_error_orders_1_2=distribution([r["coef_error_orders_1_2"] for r in rows]),
                signal_error_plain=distribution([r["signal_error_plain"] for r in rows]),
                signal_error_shift=distribution([r["signal_error_shift"] for r in rows]),
                evaluations=distribution([r["evaluations"] for r in rows]),
                seconds=distribution([r["seconds"] for r in rows]),
                converged_1pct=float(np.mean([r["coef_error"] < 1e-2 for r in rows])))


def one(task) -> dict:
    """Invert one crop for one setting; the row of the results (printed)."""
    setting, c, options, threads = task
    torch.set_num_threads(threads)
    J, padding = int(setting.split("-")[0]), setting.split("-")[1]
    S = Scattering2D((SIZE, SIZE), J=J, L=8, padding=padding)
    high = torch.as_tensor(np.asarray(S.meta["order"]) >= 1)
    x = c["x"]
    target = S(x)
    t0 = time.perf_counter()
    result = invert(target, S, progress=False, **options)
    seconds = time.perf_counter() - t0
    coef = float((result.coefficients - target).norm() / target.norm())
    coef12 = float((result.coefficients[high] - target[high]).norm() / target[high].norm())
    row = dict(J=J, padding=padding, image=c["image"], top=c["top"], left=c["left"], half=c["half"],
               coef_error=coef, coef_error_orders_1_2=coef12,
               signal_error_plain=float((result.signal - x).norm() / x.norm()),
               signal_error_shift=float(signal_error(result.signal, x)),
               evaluations=int(result.evaluations), seconds=seconds,
               history=[float(h) for h in result.history[:, 0][::10]])
    print(f"J={J} {padding:8s} {c['image']:9s} ({c['top']:3d},{c['left']:3d}) coef {100 * coef:7.3f} %"
          f"  orders 1-2 {100 * coef12:7.3f} %  signal {100 * row['signal_error_plain']:6.1f} %"
          f"  shift {100 * row['signal_error_shift']:6.1f} %  evals {result.evaluations:4d}  {seconds:5.1f} s",
          flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="benchmarks/inversion.json", help="output file ('' for none)")
    parser.add_argument("--options", default="{}", help="JSON dict of keyword arguments passed to invert")
    parser.add_argument("--per-image", type=int, default=2, help="crops per picture")
    parser.add_argument("--seed", type=int, default=0, help="seed of the crop positions")
    parser.add_argument("--halves", nargs="+", default=["selection", "report"], choices=["selection", "report"])
    parser.add_argument("--settings", nargs="+", default=[f"{J}-{p}" for J, p in SETTINGS],
                        help="J-padding pairs, e.g. 2-reflect 3-periodic")
    parser.add_argument("--raw", action="store_true", help="crops in [0, 1] instead of standardized")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per inversion")
    parser.add_argument("--jobs", type=int, default=1, help="inversions run in parallel processes")
    parser.add_argument("--label", default="", help="a name for this run, stored in the JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    options = json.loads(args.options)
    commit = git_commit()  # of the code imported now (the tree may change during the run)
    names = [n for n in SELECTION + REPORT if ("selection" if n in SELECTION else "report") in args.halves]
    data = crops(names, args.per_image, args.seed, args.raw)
    start = time.perf_counter()
    tasks = [(setting, c, options, args.threads) for setting in args.settings for c in data]
    if args.jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            rows = pool.map(one, tasks, chunksize=1)
    else:
        rows = [one(task) for task in tasks]
    seconds = time.perf_counter() - start
    summary = []
    print("\n| J | padding | crops | coef error median (q1-q3) max | converged < 1 % | signal error median (q1-q3)"
          " | shift-invariant signal error median | evaluations median |")
    print("|---|---|---|---|---|---|---|---|")
    for setting in args.settings:
        J, padding = int(setting.split("-")[0]), setting.split("-")[1]
        for half in args.halves + (["all"] if len(args.halves) > 1 else []):
            sel = [r for r in rows if (r["J"], r["padding"]) == (J, padding) and half in ("all", r["half"])]
            s = summarize(sel)
            summary.append(dict(J=J, padding=padding, half=half, **s))
            c, g, h = s["coef_error"], s["signal_error_plain"], s["signal_error_shift"]
            print(f"| {J} | {padding} | {half} ({c['n']}) | {100 * c['median']:.2f} % ({100 * c['q1']:.2f}-"
                  f"{100 * c['q3']:.2f}) {100 * c['max']:.2f} % | {100 * s['converged_1pct']:.0f} % | "
                  f"{100 * g['median']:.1f} % ({100 * g['q1']:.1f}-{100 * g['q3']:.1f}) | {100 * h['median']:.1f} % | "
                  f"{s['evaluations']['median']:.0f} |")
    print(f"\nscatlab {scatlab.__file__}, commit {commit}, {seconds:.0f} s")
    if args.json:
        atomic_write_json(args.json, {"command": " ".join(["python"] + (sys.argv if argv is None else [
                                      "benchmarks/inversion.py"] + argv)), "label": args.label,
                                      "commit": commit, "scatlab": scatlab.__file__, "date": now(),
                                      "machine": machine(), "threads": args.threads, "jobs": args.jobs,
                                      "seconds": seconds,
                                      "options": options, "raw": args.raw, "seed": args.seed,
                                      "measure": "coefficient error ||S(x_hat) - S(x)|| / ||S(x)||; signal error"
                                      " ||x_hat - x|| / ||x|| (plain) and min over sign and circular shifts",
                                      "summary": summary, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
