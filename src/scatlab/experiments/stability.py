r"""Experiment ``stability``: translation invariance and Lipschitz stability to deformations.

For a deformation :math:`L_\tau x(u) = x(u - \tau(u))`, Mallat ("Group invariant scattering",
Comm. Pure Appl. Math. 2012, Theorem 2.12) proves that the windowed scattering satisfies

.. math:: \|S_J L_\tau x - S_J x\| \le C\,\|x\|\,\big(2^{-J}\|\tau\|_\infty
          + \|\nabla\tau\|_\infty + \|H\tau\|_\infty\big),

whereas the Fourier modulus :math:`|\hat x|`, also translation invariant, is not Lipschitz: a
deformation moves the frequency :math:`\omega` by about :math:`\|\nabla\tau\|_\infty|\omega|`, so
its change grows with frequency. Bruna & Mallat ("Invariant scattering convolution networks",
IEEE TPAMI 2013) illustrate both facts on images. This experiment measures them on real
photographs and textures of scikit-image:

(a) translation: :math:`\|S_J T_s x - S_J x\| / \|S_J x\|` for circular shifts by (s, s) pixels,
    s = 1 ... 2^{J_max}, and J = 2, 3, 4 (a pixel baseline :math:`\|T_s x - x\| / \|x\|` for comparison);
(b) deformation: the relative change of :math:`S_J x`, of :math:`|\hat x|` (whole and per
    frequency band) and of the pixels for smooth random displacement fields scaled to
    :math:`\|\nabla\tau\|_\infty = \varepsilon`; the slope C of the scattering change in
    :math:`\varepsilon`;
(c) energy: the fraction :math:`4^J \sum_{p \in \text{order } m} \|S_J[p] x\|^2 / \|x\|^2` of the
    image energy carried by each order m (periodic padding; :math:`4^J` undoes the subsampling);
(d) invariance vs J: the translation and deformation changes as the averaging scale grows.

Images are treated as periodic and band-limited (the DFT and the periodic scattering see them
that way): each is cropped to a square, resized, replaced by its periodic component (Moisan,
"Periodic plus smooth image decomposition", J. Math. Imaging Vis. 2011, which removes the jumps
across the borders of the periodized image), stripped of its Nyquist frequencies, centred and
normalized to unit norm. :math:`L_\tau x` is computed on the trigonometric interpolant sampled
``supersampling`` times finer (bilinear ``grid_sample`` with a periodic boundary), then
band-limited back, so that the blur of bilinear interpolation is not mistaken for a deformation.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.images import sample_image
from ..errors import InvalidParameterError
from ..nn import Scattering2D
from ..runtime import Progress
from ._figures import figure_row, save_png
from ._contract import Result

__all__ = ["Config", "run", "load_images", "periodic_component", "fourier_resample", "random_displacement", "deform"]

BAND_EDGES = (0.0, 1 / 32, 1 / 16, 1 / 8, 1 / 4, np.inf)  # radial frequency bands, cycles per pixel


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the stability experiment; the defaults are the full run."""

    # scikit-image sample images (bundled with the package, no download): photographs and textures
    images: tuple[str, ...] = ("camera", "astronaut", "coffee", "coins", "moon", "brick", "grass", "gravel")
    size: int = 256  # side of the square the images are cropped and resized to (pixels)
    L: int = 8  # orientations of the wavelets
    translation_J: tuple[int, ...] = (2, 3, 4)  # scales compared for translation invariance, (a) and (d)
    deformation_J: int = 5  # scale of (b) and of the energy figure (c); 2**J = size / 8 in both runs
    epsilons: tuple[float, ...] = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2)  # ||grad tau||_inf
    field_length: float = 1 / 8  # correlation length of the random displacement, as a fraction of the side
    fields: int = 3  # random displacement fields per image
    supersampling: int = 4  # the deformation is applied on a grid this many times finer
    seed: int = 0  # seed of the random displacement fields

    @classmethod
    def quick(cls) -> Config:
        """Four images at 128 x 128, one displacement field, six deformation sizes (a few seconds)."""
        return cls(images=("camera", "coins", "brick", "grass"), size=128, deformation_J=4, fields=1,
                   epsilons=(0.0, 0.025, 0.05, 0.1, 0.15, 0.2))


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Measure (a)-(d) on ``cfg.images``, write the figures in ``out_dir``, return the numbers."""
    _check(cfg)
    images = load_images(cfg.images, cfg.size)
    transforms = {J: Scattering2D((cfg.size, cfg.size), J=J, L=cfg.L, padding="periodic")
                  for J in sorted(set(cfg.translation_J) | {cfg.deformation_J})}
    deformation = _deformation(images, transforms[cfg.deformation_J], cfg, progress)
    per_J = _per_scale(images, deformation["largest"], transforms, cfg, progress)
    figures = [
        _plot_example(images[0], deformation["largest"][0], deformation["tau"], cfg, out_dir),
        _plot_translation(per_J, cfg, out_dir),
        _plot_deformation(deformation, cfg, out_dir),
        _plot_bands(deformation, cfg, out_dir),
        _plot_energy(per_J, cfg, out_dir),
        _plot_invariance(per_J, deformation, cfg, out_dir),
    ]
    metrics = _metrics(deformation, per_J, cfg)
    return Result(metrics=metrics, tables=_tables(deformation, per_J, cfg), figures=figures,
                  notes=_notes(metrics, per_J, cfg))


# ----------------------------------------------------------------------------------- images


def load_images(names: tuple[str, ...], size: int) -> torch.Tensor:
    """scikit-image sample images as periodic band-limited (B, size, size) float64, zero mean, unit norm."""
    from skimage import transform  # present: sample_image checked it

    images = []
    for name in names:
        image = sample_image(name)
        side = min(image.shape)
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        image = transform.resize(image[top:top + side, left:left + side], (size, size), anti_aliasing=True)
        images.append(image)
    x = fourier_resample(periodic_component(torch.as_tensor(np.stack(images), dtype=torch.float64)), size)
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    return x / x.flatten(1).norm(dim=1)[:, None, None]


def periodic_component(x: torch.Tensor) -> torch.Tensor:
    r"""The periodic component p = x - s of images (..., M, N) (Moisan 2011).

    The smooth component s solves :math:`\Delta s = \Delta_{\partial} x`, the Laplacian of x
    restricted to the jumps across the borders of its periodization: with the boundary image v,
    :math:`\hat s(q, r) = \hat v(q, r) / (2\cos(2\pi q/M) + 2\cos(2\pi r/N) - 4)` and
    :math:`\hat s(0, 0) = 0`. p keeps the content of x without the border jumps, whose spectrum
    would otherwise add a cross of spurious high frequencies.
    """
    M, N = x.shape[-2:]
    v = torch.zeros_like(x)
    v[..., 0, :] += x[..., -1, :] - x[..., 0, :]
    v[..., -1, :] += x[..., 0, :] - x[..., -1, :]
    v[..., :, 0] += x[..., :, -1] - x[..., :, 0]
    v[..., :, -1] += x[..., :, 0] - x[..., :, -1]
    q = torch.arange(M, dtype=x.dtype)[:, None]
    r = torch.arange(N, dtype=x.dtype)[None, :]
    denominator = 2 * torch.cos(2 * np.pi * q / M) + 2 * torch.cos(2 * np.pi * r / N) - 4
    denominator[0, 0] = 1.0
    s_hat = torch.fft.fft2(v) / denominator
    s_hat[..., 0, 0] = 0
    return x - torch.fft.ifft2(s_hat).real


def fourier_resample(x: torch.Tensor, size: int) -> torch.Tensor:
    r"""Periodic trigonometric interpolation of square images (..., M, M) onto a (size, size) grid.

    Only the frequencies :math:`|k| < \min(M, \text{size}) / 2` are kept (the Nyquist ones are
    dropped so that the result is real): upsampling is exact interpolation of a band-limited image,
    downsampling is the orthogonal projection onto the coarser band, and ``size == M`` band-limits.
    """
    M = x.shape[-1]
    keep = min(M, size) // 2
    source = torch.cat([torch.arange(keep), torch.arange(M - keep + 1, M)])
    target = torch.cat([torch.arange(keep), torch.arange(size - keep + 1, size)])
    x_hat = torch.fft.fft2(x)
    out_hat = x_hat.new_zeros(x.shape[:-2] + (size, size))
    out_hat[..., target[:, None], target[None, :]] = x_hat[..., source[:, None], source[None, :]]
    return torch.fft.ifft2(out_hat).real * (size / M) ** 2


def random_displacement(size: int, length: float, rng: np.random.Generator) -> torch.Tensor:
    r"""A smooth periodic random displacement field (2, size, size) in pixels, with :math:`\|\nabla\tau\|_\infty = 1`.

    Gaussian-filtered white noise (correlation length ``length`` pixels), divided by the largest
    operator norm over u of its Jacobian (computed by spectral differentiation).
    """
    freq = np.fft.fftfreq(size)
    f_r, f_c = freq[:, None], freq[None, :]
    gaussian = np.exp(-2 * (np.pi * length) ** 2 * (f_r**2 + f_c**2))
    tau_hat = np.fft.fft2(rng.standard_normal((2, size, size))) * gaussian
    jacobian = np.stack([np.fft.ifft2(2j * np.pi * f * tau_hat).real for f in (f_r, f_c)], axis=-1)  # (2, M, M, 2)
    norm = np.linalg.norm(np.moveaxis(jacobian, 0, -2), ord=2, axis=(-2, -1)).max()
    return torch.as_tensor(np.fft.ifft2(tau_hat).real / norm)


def deform(x: torch.Tensor, tau: torch.Tensor, supersampling: int) -> torch.Tensor:
    r""":math:`L_\tau x(u) = x(u - \tau(u))` for band-limited periodic images x (B, M, M), tau (2, M, M) in pixels.

    The image and the field are interpolated on a grid ``supersampling`` times finer, the image is
    sampled there at :math:`u - \tau(u)` modulo the period (bilinear), and the result is
    band-limited back to (B, M, M).
    """
    M = x.shape[-1]
    fine = M * supersampling
    image = F.pad(fourier_resample(x, fine)[:, None], (0, 1, 0, 1), mode="circular")  # (B, 1, fine+1, fine+1)
    tau = fourier_resample(tau, fine) * supersampling
    grid = torch.arange(fine, dtype=x.dtype)
    rows = torch.remainder(grid[:, None] - tau[0], fine)
    cols = torch.remainder(grid[None, :] - tau[1], fine)
    where = (torch.stack([cols, rows], dim=-1) * (2 / fine) - 1).expand(x.shape[0], fine, fine, 2)
    warped = F.grid_sample(image, where, mode="bilinear", padding_mode="border", align_corners=True)
    return fourier_resample(warped[:, 0], M)


def _check(cfg: Config) -> None:
    """Checks beyond those of Scattering2D (which validates size against J)."""
    if not cfg.images or cfg.fields < 1 or not cfg.translation_J:
        raise InvalidParameterError("Config.images, Config.fields and Config.translation_J must not be empty.")
    if min(cfg.epsilons) < 0 or max(cfg.epsilons) <= 0:
        raise InvalidParameterError(f"Config.epsilons={cfg.epsilons} must be >= 0 with at least one positive value.")


# ------------------------------------------------------------------------------ measurements


def _relative_change(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """||b - a|| / ||a|| for every item of the batch."""
    return ((b - a).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1)).double().numpy()


def _band_masks(size: int) -> list[torch.Tensor]:
    freq = np.fft.fftfreq(size)
    radius = np.hypot(freq[:, None], freq[None, :])
    return [torch.as_tensor((radius > low) & (radius <= high)) for low, high in zip(BAND_EDGES[:-1], BAND_EDGES[1:])]


def _band_label(index: int) -> str:
    low, high = BAND_EDGES[index], BAND_EDGES[index + 1]
    return f"({low:.3g}, {high:.3g}]" if np.isfinite(high) else f"> {low:.3g}"


def _band_centre(index: int) -> float:
    """A representative radial frequency of a band (geometric middle, capped at 0.5 cycle per pixel)."""
    high = min(BAND_EDGES[index + 1], 0.5)
    return float(np.sqrt(max(BAND_EDGES[index], high / 2) * high))


def _scattering(x: torch.Tensor, S: Scattering2D) -> torch.Tensor:
    with torch.no_grad():
        return S(x.float())


def _deformation(images: torch.Tensor, S: Scattering2D, cfg: Config, progress: Progress) -> dict:
    """Relative changes (fields, epsilons, images) of the scattering, |x_hat|, its bands and the pixels."""
    rng = np.random.default_rng(cfg.seed)
    masks = _band_masks(cfg.size)
    s_x, f_x = _scattering(images, S), torch.fft.fft2(images).abs()
    shape = (cfg.fields, len(cfg.epsilons), len(images))
    out = {key: np.zeros(shape) for key in ("scattering", "fourier", "pixels")}
    out["bands"] = np.zeros(shape + (len(masks),))
    out["max_displacement"] = np.zeros(shape[:2])
    largest = int(np.argmax(cfg.epsilons))
    units = [random_displacement(cfg.size, cfg.field_length * cfg.size, rng) for _ in range(cfg.fields)]
    out["tau"] = units[0] * cfg.epsilons[largest]
    steps = [(f, e) for f in range(cfg.fields) for e in range(len(cfg.epsilons))]
    for f, e in progress(steps, desc="deformations", total=len(steps)):
        tau = units[f] * cfg.epsilons[e]
        y = deform(images, tau, cfg.supersampling)
        f_y = torch.fft.fft2(y).abs()
        out["scattering"][f, e] = _relative_change(s_x, _scattering(y, S))
        out["fourier"][f, e] = _relative_change(f_x, f_y)
        out["pixels"][f, e] = _relative_change(images, y)
        for b, mask in enumerate(masks):
            out["bands"][f, e, :, b] = _relative_change(f_x[:, mask], f_y[:, mask])
        out["max_displacement"][f, e] = tau.norm(dim=0).max().item()
        if f == 0 and e == largest:
            out["largest"] = y
    return out


def _per_scale(images: torch.Tensor, deformed: torch.Tensor, transforms: dict[int, Scattering2D], cfg: Config,
               progress: Progress) -> dict:
    """For every J: translation changes (shifts), energy fractions by order, change at the largest deformation."""
    shifts = [2**k for k in range(max(cfg.translation_J) + 1)]
    shifted = [torch.roll(images, (s, s), dims=(-2, -1)) for s in shifts]
    per_J = {"shifts": shifts, "pixels": np.array([_relative_change(images, y).mean() for y in shifted]), "J": {}}
    for J, S in progress(transforms.items(), desc="scales J", total=len(transforms)):
        s_x = _scattering(images, S)
        translation = np.array([_relative_change(s_x, _scattering(y, S)).mean() for y in shifted])
        energy = (s_x.double() ** 2).sum(dim=(-2, -1)) * 4**J  # (images, channels)
        order = torch.tensor(S.meta["order"])
        fractions = np.stack([energy[:, order == m].sum(dim=1).numpy() for m in range(3)], axis=1)  # x has unit norm
        per_J["J"][J] = {"translation": translation, "energy": fractions,
                         "deformation": _relative_change(s_x, _scattering(deformed, S)).mean()}
        if J == cfg.deformation_J:
            per_J["frame"] = S.frame_bounds()
    return per_J


def _fit_slope(eps: np.ndarray, change: np.ndarray) -> tuple[float, float]:
    """Least-squares slope C of change ~ C eps (through the origin) and its R^2."""
    slope = float(eps @ change / (eps @ eps))
    residual = change - slope * eps
    total = ((change - change.mean()) ** 2).sum()
    return slope, float(1 - (residual**2).sum() / total) if total > 0 else 1.0


# ------------------------------------------------------------------------------------ results


def _metrics(d: dict, per_J: dict, cfg: Config) -> dict[str, float]:
    eps = np.asarray(cfg.epsilons)
    largest = int(np.argmax(eps))
    scattering, fourier = d["scattering"].mean(axis=(0, 2)), d["fourier"].mean(axis=(0, 2))
    bands = d["bands"].mean(axis=(0, 2))  # (epsilons, bands)
    slope_s, r2_s = _fit_slope(eps, scattering)
    slope_f, r2_f = _fit_slope(eps, fourier)
    energy = per_J["J"][cfg.deformation_J]["energy"].mean(axis=0)
    metrics = {
        "scattering_lipschitz_C": slope_s,
        "scattering_fit_r2": r2_s,
        "fourier_modulus_slope": slope_f,
        "fourier_modulus_fit_r2": r2_f,
        "pixel_slope": _fit_slope(eps, d["pixels"].mean(axis=(0, 2)))[0],
        "largest_grad_tau": float(eps[largest]),
        "largest_displacement_px": float(d["max_displacement"][:, largest].max()),
        "scattering_change_at_largest": float(scattering[largest]),
        "fourier_modulus_change_at_largest": float(fourier[largest]),
        "fourier_to_scattering_ratio_at_largest": float(fourier[largest] / scattering[largest]),
        "fourier_band_change_low": float(bands[largest, 0]),
        "fourier_band_change_high": float(bands[largest, -1]),
        "energy_order0": float(energy[0]),
        "energy_order1": float(energy[1]),
        "energy_order2": float(energy[2]),
        "translation_change_pixels": float(per_J["pixels"].mean()),
    }
    for J in cfg.translation_J:
        metrics[f"translation_change_J{J}"] = float(per_J["J"][J]["translation"].mean())
    return metrics


def _tables(d: dict, per_J: dict, cfg: Config) -> list[tuple[str, list[str], list[list]]]:
    eps = np.asarray(cfg.epsilons)
    largest = int(np.argmax(eps))
    shifts = per_J["shifts"]
    translation = (
        "(a) Translation: relative change under a circular shift by (s, s) pixels (mean over images)",
        ["representation"] + [f"s = {s}" for s in shifts],
        [["pixels"] + _r(per_J["pixels"])]
        + [[f"scattering J = {J}"] + _r(per_J["J"][J]["translation"]) for J in cfg.translation_J],
    )
    mean = {key: d[key].mean(axis=(0, 2)) for key in ("scattering", "fourier", "pixels")}
    deformation = (
        f"(b) Deformation: relative change vs ||grad tau||_inf (J = {cfg.deformation_J},"
        f" mean over {len(cfg.images)} images and {cfg.fields} random field(s))",
        ["||grad tau||_inf", "max |tau| (px)", "scattering", "Fourier modulus", "pixels", "Fourier / scattering"],
        [[_r(e), _r(d["max_displacement"][:, i].max()), _r(mean["scattering"][i]), _r(mean["fourier"][i]),
          _r(mean["pixels"][i]), _r(mean["fourier"][i] / mean["scattering"][i]) if e > 0 else "-"]
         for i, e in enumerate(eps)],
    )
    bands = d["bands"].mean(axis=(0, 2))
    band_table = (
        "(b) Fourier-modulus relative change per radial frequency band (cycles per pixel)",
        ["band"] + [f"eps = {_r(e)}" for e in eps],
        [[_band_label(b)] + _r(bands[:, b]) for b in range(bands.shape[1])],
    )
    per_image = (
        f"(b) Per image at the largest deformation ||grad tau||_inf = {_r(eps[largest])}",
        ["image", "scattering", "Fourier modulus", "pixels", "Fourier / scattering"],
        [[name, _r(d["scattering"][:, largest, i].mean()), _r(d["fourier"][:, largest, i].mean()),
          _r(d["pixels"][:, largest, i].mean()),
          _r(d["fourier"][:, largest, i].mean() / d["scattering"][:, largest, i].mean())]
         for i, name in enumerate(cfg.images)],
    )
    energy_rows = []
    for J, values in per_J["J"].items():
        for name, fractions in zip(cfg.images, values["energy"]):
            energy_rows.append([name, J] + _r(fractions) + [_r(fractions.sum())])
    energy = (
        "(c) Fraction of ||x||^2 carried by each scattering order (periodic padding, outputs weighted by 4^J)",
        ["image", "J", "order 0", "order 1", "order 2", "total"],
        energy_rows,
    )
    invariance = (
        f"(d) Invariance vs J: mean translation change over s = {shifts[0]}..{shifts[-1]} px, and mean change"
        f" at ||grad tau||_inf = {_r(eps[largest])} (first field)",
        ["J", "translation change", "deformation change"],
        [[J, _r(v["translation"].mean()), _r(v["deformation"])] for J, v in per_J["J"].items()],
    )
    return [translation, deformation, band_table, per_image, energy, invariance]


def _notes(m: dict[str, float], per_J: dict, cfg: Config) -> list[str]:
    changes = [m[f"translation_change_J{J}"] for J in cfg.translation_J]
    decreasing = all(a > b for a, b in zip(changes, changes[1:]))
    trend = "decreases" if decreasing else "does NOT decrease monotonically"
    frame = per_J["frame"]
    return [
        "Images: zero-mean, unit-norm, band-limited and periodic; the scattering uses padding='periodic'"
        f" and L = {cfg.L}; deformations are warps of the trigonometric interpolant sampled"
        f" {cfg.supersampling}x finer, so bilinear blur does not count as deformation.",
        f"(a, d) Translation: the mean relative change over shifts (s, s), s = 1..{per_J['shifts'][-1]} px,"
        f" {trend} with J: " + ", ".join(f"{c:.3f} (J={J})" for J, c in zip(cfg.translation_J, changes))
        + f"; the pixels change by {m['translation_change_pixels']:.3f}."
        + (" Invariance grows with the averaging scale 2^J." if decreasing else ""),
        "(b) Deformation: the scattering change is about C ||grad tau||_inf with"
        f" C = {m['scattering_lipschitz_C']:.3f} (R^2 = {m['scattering_fit_r2']:.3f}); the Fourier modulus moves"
        f" with slope {m['fourier_modulus_slope']:.3f}. At ||grad tau||_inf = {m['largest_grad_tau']:.3g}"
        f" (|tau| up to {m['largest_displacement_px']:.2f} px) the scattering changes by"
        f" {m['scattering_change_at_largest']:.3f} and the Fourier modulus by"
        f" {m['fourier_modulus_change_at_largest']:.3f}, {m['fourier_to_scattering_ratio_at_largest']:.1f} times"
        " as much.",
        f"(b) Fourier-modulus change by frequency band at the largest deformation: {m['fourier_band_change_low']:.3f}"
        f" in the lowest band {_band_label(0)} vs {m['fourier_band_change_high']:.3f} in the highest"
        f" {_band_label(len(BAND_EDGES) - 2)} cycles/pixel.",
        f"(c) Energy (J = {cfg.deformation_J}, mean over images): orders 0, 1, 2 carry {m['energy_order0']:.3f},"
        f" {m['energy_order1']:.3f}, {m['energy_order2']:.3f} of ||x||^2; the rest lies in orders >= 3 and in the"
        f" non-tightness of the Morlet frame (Littlewood-Paley bounds A = {frame.A:.3f}, B = {frame.B:.3f}).",
    ]


def _r(value, digits: int = 4):
    """Round a number (or every number of an array) for the tables."""
    if isinstance(value, np.ndarray):
        return [round(float(v), digits) for v in value]
    return round(float(value), digits)


# ------------------------------------------------------------------------------------ figures


def _plot_example(image: torch.Tensor, deformed: torch.Tensor, tau: torch.Tensor, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(3, 4.0)
    step = max(cfg.size // 16, 1)
    grid = np.arange(0, cfg.size, step)
    panels = [(image, f"{cfg.images[0]} x (arrows: 4 tau)"),
              (deformed, f"L_tau x, ||grad tau||_inf = {max(cfg.epsilons):.3g}"), (deformed - image, "L_tau x - x")]
    for ax, (picture, title) in zip(axes, panels):
        ax.imshow(picture.numpy(), cmap="gray")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    axes[0].quiver(grid[None, :], grid[:, None], tau[1][::step, ::step].numpy(), -tau[0][::step, ::step].numpy(),
                   color="tab:red", angles="xy", scale_units="xy", scale=0.25)
    return save_png(fig, out_dir, "deformation_example.png")


def _plot_translation(per_J: dict, cfg: Config, out_dir: Path) -> str:
    fig, (ax,) = figure_row()
    ax.plot(per_J["shifts"], per_J["pixels"], "k--", marker="o", label="pixels")
    for J in cfg.translation_J:
        ax.plot(per_J["shifts"], per_J["J"][J]["translation"], marker="o", label=f"scattering J = {J}")
    ax.set(xscale="log", yscale="log", xlabel="shift (s, s), s in pixels",
           ylabel="||Phi(T_s x) - Phi(x)|| / ||Phi(x)||", title="(a) Translation")
    ax.set_xticks(per_J["shifts"], [str(s) for s in per_J["shifts"]])
    ax.legend()
    return save_png(fig, out_dir, "translation.png")


def _plot_deformation(d: dict, cfg: Config, out_dir: Path) -> str:
    eps = np.asarray(cfg.epsilons)
    fig, axes = figure_row(2)
    styles = {"scattering": ("tab:blue", "scattering S_J"), "fourier": ("tab:orange", "Fourier modulus |x^|"),
              "pixels": ("gray", "pixels")}
    for key, (color, label) in styles.items():
        axes[0].plot(eps, d[key].mean(axis=(0, 2)), marker="o", color=color, label=label)
    slope = _fit_slope(eps, d["scattering"].mean(axis=(0, 2)))[0]
    axes[0].plot(eps, slope * eps, ":", color="tab:blue", label=f"C ||grad tau||, C = {slope:.3f}")
    axes[0].set(xlabel="||grad tau||_inf", ylabel="relative change", title=f"(b) Deformation, J = {cfg.deformation_J}")
    axes[0].legend(fontsize=8)
    for i, name in enumerate(cfg.images):
        line, = axes[1].plot(eps, d["scattering"][:, :, i].mean(axis=0), label=name)
        axes[1].plot(eps, d["fourier"][:, :, i].mean(axis=0), "--", color=line.get_color())
    axes[1].set(xlabel="||grad tau||_inf", ylabel="relative change",
                title="per image: scattering (solid), Fourier modulus (dashed)")
    axes[1].legend(fontsize=7, ncols=2)
    return save_png(fig, out_dir, "deformation.png")


def _plot_bands(d: dict, cfg: Config, out_dir: Path) -> str:
    eps = np.asarray(cfg.epsilons)
    bands = d["bands"].mean(axis=(0, 2))
    fig, axes = figure_row(2)
    for b in range(bands.shape[1]):
        axes[0].plot(eps, bands[:, b], marker="o", label=_band_label(b))
    axes[0].set(xlabel="||grad tau||_inf", ylabel="relative change of |x^| in the band",
                title="(b) Fourier modulus per frequency band")
    axes[0].legend(title="cycles / pixel", fontsize=8)
    centres = [_band_centre(b) for b in range(bands.shape[1])]
    for i, e in enumerate(eps):
        if e > 0:
            axes[1].plot(centres, bands[i], marker="o", label=f"{e:.3g}")
    axes[1].set(xscale="log", xlabel="band frequency (cycles / pixel)", ylabel="relative change",
                title="change grows with frequency")
    axes[1].minorticks_off()
    axes[1].set_xticks(centres, [f"{c:.3f}" for c in centres])
    axes[1].legend(title="||grad tau||_inf", fontsize=7)
    return save_png(fig, out_dir, "fourier_bands.png")


def _plot_energy(per_J: dict, cfg: Config, out_dir: Path) -> str:
    fractions = per_J["J"][cfg.deformation_J]["energy"]
    fig, (ax,) = figure_row(width=max(5.5, 0.8 * len(cfg.images)))
    bottom = np.zeros(len(cfg.images))
    for m in range(3):
        ax.bar(cfg.images, fractions[:, m], bottom=bottom, label=f"order {m}")
        bottom += fractions[:, m]
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(ylabel="fraction of ||x||^2", title=f"(c) Energy by scattering order, J = {cfg.deformation_J}")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend()
    return save_png(fig, out_dir, "energy.png")


def _plot_invariance(per_J: dict, d: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(2)
    Js = list(per_J["J"])
    for k, s in enumerate(per_J["shifts"]):
        axes[0].plot(Js, [per_J["J"][J]["translation"][k] for J in Js], marker="o", label=f"s = {s}")
    axes[0].set(yscale="log", xlabel="J", ylabel="relative change", title="(d) Translation change vs J")
    axes[0].set_xticks(Js)
    axes[0].legend(fontsize=8)
    axes[1].plot(Js, [per_J["J"][J]["deformation"] for J in Js], marker="o", label="scattering")
    axes[1].axhline(d["fourier"][0, int(np.argmax(cfg.epsilons))].mean(), color="tab:orange", ls="--",
                    label="Fourier modulus")
    axes[1].set(xlabel="J", ylabel="relative change", title=f"Deformation ||grad tau||_inf = {max(cfg.epsilons):.3g}")
    axes[1].set_xticks(Js)
    axes[1].legend(fontsize=8)
    return save_png(fig, out_dir, "invariance_vs_J.png")
