"""Time RotoTranslationScattering2D against the translation Scattering2D of the same J and L.

No peer implements roto-translation scattering (Kymatio 0.3.0 has none; ScatNet is MATLAB), so the
reference is scatlab's own translation transform, timed in the same process, interleaved
(A B A B ...), with the same threads. Run from the repository root with the package installed::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_rototranslation.py [--threads 2] [--repeats 5]

Prints one Markdown row per configuration and mode (forward, forward+backward): median seconds
of each transform on real image crops (scikit-image camera), the ratio, and the channel counts.
"""
from __future__ import annotations

import argparse
import platform
import shlex
import statistics
import sys
import time

import numpy as np
import torch

from scatlab.nn.rototranslation import RotoTranslationScattering2D
from scatlab.nn.scattering2d import Scattering2D

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
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# python benchmarks/bench_rototranslation.py {shlex.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}")
    print("| config | shape x batch | mode | roto-translation (s) | translation (s) | ratio"
          " | channels roto / translation |")
    print("|---|---|---|---|---|---|---|")
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
            r, t = statistics.median(times["roto"]), statistics.median(times["translation"])
            print(f"| {name} (J={J}, L={L}) | {side}x{side} x{batch} | {mode} | {r:.3f} | {t:.3f} | {r / t:.2f}"
                  f" | {roto.output_shape[0]} / {translation.output_shape[0]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
