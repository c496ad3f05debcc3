"""Time the order-2 synthesis of real textures (scikit-image's brick, grass, gravel) at several sizes.

Run from the repository root with the package installed::

    python benchmarks/bench_synthesis.py [--textures brick grass gravel] [--sizes 128 256] [--threads 2] [--tol 1e-3] [--json benchmarks/synthesis.json]

Prints, per size, the wall time of ``scatlab.synthesis.synthesize`` at its defaults (order-2 and second
moments, L-BFGS from white noise,
``Scattering2D(J=5, L=8, padding='periodic')``, float32, CPU), the evaluations of the moments and
the relative moment error reached; ``--json`` writes them with the command, commit, date, machine
and load (``benchmarks/tables.py`` renders BENCHMARKS.md from it).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from scatlab import Scattering2D
from scatlab.synthesis import SECOND_MOMENTS, n_moments, synthesize

from _record import write_record
from tables import synthesis as table


def texture(name: str, size: int) -> torch.Tensor:
    """The top-left size x size crop of a scikit-image texture (512 x 512), standardized."""
    from skimage import data

    image = getattr(data, name)()[:size, :size].astype(np.float64) / 255.0
    return torch.as_tensor((image - image.mean()) / image.std(), dtype=torch.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--textures", nargs="+", default=["brick", "grass", "gravel"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--J", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--json", help="write the rows and their provenance to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = []
    for name, size in ((name, size) for size in args.sizes for name in args.textures):
        S = Scattering2D((size, size), J=args.J, L=8, padding="periodic")
        x = texture(name, size)
        start = time.perf_counter()
        result = synthesize(x, S, steps=args.steps, tol=args.tol, progress=False)
        rows.append({"texture": name, "size": size, "J": args.J, "moments": n_moments(S, SECOND_MOMENTS),
                     "seconds": time.perf_counter() - start, "evaluations": result.evaluations,
                     "rel_error": float(result.rel_error[0]), "converged": bool(result.converged)})
        print(f"# {name} {size}: {rows[-1]['seconds']:.1f} s", flush=True)
    print(table({"rows": rows}))
    if args.json:
        write_record(args.json, "bench_synthesis.py", argv, rows, load_before, steps=args.steps, tol=args.tol)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
