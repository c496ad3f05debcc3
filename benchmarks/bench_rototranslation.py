"""Time RotoTranslationScattering2D against the translation Scattering2D of the same J and L.

No peer implements roto-translation scattering (Kymatio 0.3.0 has none; ScatNet is MATLAB), so the
reference is scatlab's own translation transform, timed in the same process, interleaved
(A B A B ...), with the same threads. Run from the repository root with the package installed::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_rototranslation.py [--threads 2] [--repeats 5] [--json benchmarks/rototranslation.json]

Prints one Markdown row per configuration and mode (forward, forward+backward): median seconds
of each transform on real image crops (scikit-image camera), the ratio, and the channel counts;
``--json`` writes the rows with their provenance (``benchmarks/tables.py`` renders BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from scatlab.nn.rototranslation import RotoTranslationScattering2D
from scatlab.nn.scattering2d import Scattering2D

from _record import write_record
from tables import rototranslation as table

# (name, side, J, L, batch): Fashion-MNIST-like and texture-patch sizes
CONFIGS = (
    ("fmnist-40-J2", 40, 2, 8, 256),
    ("cifar-32-J3", 32, 3, 8, 256),
    ("patch-64-J3", 64, 3, 8, 32),
    ("texture-128-J4", 128, 4, 8, 8),
)


def images(side: int, batch: int) -> torch.Tensor:
    """``batch`` crops of scikit-image's camera (float32 in [0, 1]) at a stride of 7 pixels."""
    from skimage import data

    camera = data.camera().astype(np.float32) / 255.0
    starts = [(7 * i) % (512 - side) for i in range(batch)]
    return torch.as_tensor(np.stack([camera[s:s + side, (3 * s) % (512 - side):][:, :side] for s in starts]))


def _time(module, x: torch.Tensor, backward: bool) -> float:
    x = x.detach().requires_grad_(backward)
    start = time.perf_counter()
    out = module(x)
    if backward:
        out.sum().backward()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", nargs="*", default=[c[0] for c in CONFIGS])
    parser.add_argument("--json", help="write the rows and their provenance to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = []
    for name, side, J, L, batch in CONFIGS:
        if name not in args.configs:
            continue
        x = images(side, batch)
        roto = RotoTranslationScattering2D((side, side), J=J, L=L)
        translation = Scattering2D((side, side), J=J, L=L)
        for mode, backward in (("forward", False), ("forward+backward", True)):
            times = {"roto": [], "translation": []}
            for module in (roto, translation):  # warm-up
                _time(module, x, backward)
            for _ in range(args.repeats):
                times["roto"].append(_time(roto, x, backward))
                times["translation"].append(_time(translation, x, backward))
            rows.append({"config": name, "side": side, "J": J, "L": L, "batch": batch, "mode": mode,
                         "roto_s": statistics.median(times["roto"]),
                         "translation_s": statistics.median(times["translation"]),
                         "roto_channels": roto.output_shape[0], "translation_channels": translation.output_shape[0]})
        print(f"# {name}: done", flush=True)
    print(table({"rows": rows}))
    if args.json:
        write_record(args.json, "bench_rototranslation.py", argv, rows, load_before, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
