"""Rotation invariance of RotoTranslationScattering2D and Scattering2D, default settings, on real images.

For each scikit-image picture (textures brick, grass, gravel; photographs camera, coins, astronaut
in grey) and each crop size n (64 with J=3, 128 with J=4; L=8), two crops (centred at 35 % and 65 %
of the width, half the height). Each crop x is multiplied by a smooth disk window (1 up to radius
n/2 - 4 - n/8, sin^2 taper, 0 from radius n/2 - 4, centred on the crop) so that a rotation brings
no corner in. Rotations about the crop centre:

- 90 degrees: ``np.rot90`` of the windowed crop (an exact pixel permutation), and also of the
  crop without window (window "none": a 90-degree rotation of a square brings no corner in);
- 15, 30, 45 and 60 degrees: the square of side 2n around the crop rotated by
  ``skimage.transform.rotate`` (spline order 1, bilinear, and 3, bicubic), its centre cropped, then
  windowed (the same window).

The measure is the relative change of the space-averaged output, ||S(Rx) - S(x)|| / ||S(x)||
(mean over the output grid, every channel), and the same over the channels of orders 1 and 2
(order 0, the local mean, dominates the norm). Both transforms see the same images, windows and
interpolation, with their default padding. Run from the repository root::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/rotation_invariance.py [--json benchmarks/rotation_invariance.json]

Prints a Markdown table (median and range over the 12 crops) and writes every value with the
command, commit, date and machine to the JSON file. About 3 minutes on one core.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

import scatlab
from scatlab.io.atomic import atomic_write_json
from scatlab.nn.rototranslation import RotoTranslationScattering2D
from scatlab.nn.scattering2d import Scattering2D
from scatlab.reproduce.provenance import git_commit, machine, now

IMAGES = ("brick", "grass", "gravel", "camera", "coins", "astronaut")
SIZES = ((64, 3), (128, 4))  # (crop side, J)
ANGLES = (90, 15, 30, 45, 60)
COLUMNS = (0.35, 0.65)  # crop centres, as fractions of the width (rows: half the height)


def load(name: str) -> np.ndarray:
    from skimage import color, data

    image = np.asarray(getattr(data, name)())
    if image.ndim == 3:
        return color.rgb2gray(image[..., :3])  # float64 in [0, 1]
    return image.astype(np.float64) / 255.0


def window(n: int) -> np.ndarray:
    """Smooth disk, centred on the crop (so that np.rot90 maps it onto itself), 0 from n/2 - 4."""
    r = np.hypot(*(np.mgrid[:n, :n] - (n - 1) / 2))
    outer, taper = n / 2 - 4, n / 8
    return np.sin(np.clip((outer - r) / taper, 0, 1) * np.pi / 2) ** 2


def pairs(image: np.ndarray, n: int, column: float, orders: tuple[int, ...]):
    """(label, x, rotated x) for every angle and interpolation order."""
    from skimage.transform import rotate

    H, W = image.shape
    ci, cj = H // 2, int(round(column * W))
    region = image[ci - n:ci + n, cj - n:cj + n]  # side 2n, its centre the crop's centre
    assert region.shape == (2 * n, 2 * n), (image.shape, n, column)
    square = region[n // 2:n // 2 + n, n // 2:n // 2 + n]
    x = square * window(n)
    for angle in ANGLES:
        if angle % 90 == 0:
            yield angle, "exact", "disk", x, np.rot90(x, angle // 90).copy()
            yield angle, "exact", "none", square, np.rot90(square, angle // 90).copy()  # the whole square
            continue
        for order in orders:
            y = rotate(region, angle, order=order, mode="reflect")[n // 2:n // 2 + n, n // 2:n // 2 + n]
            yield angle, {1: "bilinear", 3: "bicubic"}.get(order, f"order{order}"), "disk", x, y * window(n)


def change(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.norm(b - a) / torch.linalg.norm(a))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="benchmarks/rotation_invariance.json")
    parser.add_argument("--orders", type=int, nargs="*", default=[1, 3], help="spline orders of the rotation")
    parser.add_argument("--images", nargs="*", default=list(IMAGES))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = []
    for n, J in SIZES:
        transforms = {"roto": RotoTranslationScattering2D((n, n), J=J, L=8),
                      "translation": Scattering2D((n, n), J=J, L=8)}
        high = {k: torch.as_tensor(np.asarray(S.meta["order"]) >= 1) for k, S in transforms.items()}
        for name in args.images:
            image = load(name)
            for column in COLUMNS:
                cache = {}
                for angle, interpolation, mask, x, y in pairs(image, n, column, tuple(args.orders)):
                    for label, S in transforms.items():
                        if (label, mask) not in cache:
                            cache[label, mask] = S(torch.as_tensor(x)).mean((-2, -1))
                        a, b = cache[label, mask], S(torch.as_tensor(y)).mean((-2, -1))
                        rows.append(dict(size=n, J=J, L=8, image=name, column=column, angle=angle,
                                         interpolation=interpolation, window=mask, transform=label,
                                         change=change(a, b),
                                         change_orders_1_2=change(a[high[label]], b[high[label]])))
    seconds = time.perf_counter() - start
    print(f"scatlab {scatlab.__file__}, commit {git_commit()}, {seconds:.0f} s\n")
    print("| n | J | angle | interpolation | window | roto: all channels | translation: all | roto: orders 1-2 | translation: orders 1-2 |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = []
    keys = sorted({(r["size"], r["J"], r["angle"], r["interpolation"], r["window"]) for r in rows},
                  key=lambda k: (k[0], k[2] != 90, k[2], k[3], k[4]))
    for n, J, angle, interpolation, mask in keys:
        cells, entry = [], dict(size=n, J=J, angle=angle, interpolation=interpolation, window=mask)
        for field in ("change", "change_orders_1_2"):
            for label in ("roto", "translation"):
                v = np.array([r[field] for r in rows if (r["size"], r["angle"], r["interpolation"], r["window"],
                                                         r["transform"]) == (n, angle, interpolation, mask, label)])
                cells.append(f"{100 * np.median(v):.2f} % ({100 * v.min():.2f}-{100 * v.max():.2f})")
                entry[f"{label}_{field}"] = dict(median=float(np.median(v)), min=float(v.min()), max=float(v.max()),
                                                 crops=len(v))
        summary.append(entry)
        print(f"| {n} | {J} | {angle} | {interpolation} | {mask} | " + " | ".join(cells) + " |")
    if args.json:
        atomic_write_json(args.json, {"command": " ".join(["python"] + sys.argv), "commit": git_commit(),
                                      "scatlab": scatlab.__file__, "date": now(), "machine": machine(),
                                      "seconds": seconds, "measure": "||S(Rx) - S(x)|| / ||S(x)||, S averaged over"
                                      " the output grid; median, min, max over the crops",
                                      "summary": summary, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
