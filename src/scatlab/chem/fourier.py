r"""Rotation-invariant Fourier-modulus coefficients of densities: |rho_hat| averaged over spherical shells.

The dictionary that Hirn, Mallat & Poilvert (Multiscale Model. Simul. 15, 2017) compare scattering
with. A density :math:`\rho` on a periodic grid of spacing h (Angstrom), holding its charge per grid
point, has at the reciprocal-lattice frequencies
:math:`\omega = 2\pi (k_1 / N_1 h, k_2 / N_2 h, k_3 / N_3 h)` (rad/Angstrom) the transform
:math:`\hat\rho(\omega) = \sum_u \rho(u) e^{-i\omega\cdot u}`; for a density that fits its box
these are samples of its continuous Fourier transform (up to aliasing, below 2e-5 of the charge for
Gaussians 1.5 grid points wide), so :math:`\hat\rho(0)` is the charge. Shell k of width
:math:`\Delta` holds the frequencies with :math:`|\omega| \in [(k - 1/2)\Delta, (k + 1/2)\Delta)`:

.. math:: F_k(\rho) = \operatorname{mean}_{\omega \in \text{shell } k} |\hat\rho(\omega)|,
          \quad k = 0, \dots, K - 1,\quad (K - 1/2)\Delta \le \pi / h,

every shell inside the sphere inscribed in the frequency cube (so that each is complete); shells that
hold no lattice frequency (below the coarsest lattice step) are left out. :math:`|\hat\rho|` is
invariant to translations, and even (:math:`\rho` is real): the half spectrum of a real FFT, each
frequency weighted by the number of its copies, gives the same means. The shell mean is the lattice
quadrature of the spherical mean: invariant to rotations up to its quadrature error, which shrinks
with the lattice step, i.e. as the box grows (:func:`fourier_features` computes the densities in a
box ``oversampling`` times larger per axis than the scattering's, same spacing), and exactly for
molecules aligned to their principal axes as :class:`scatlab.chem.features.Featurizer` aligns them
(axis flips map the lattice onto itself). Measured on ethanol, 10 random rotations, shells of 0.4
rad/Angstrom on the 48 x 36 x 30 grid of 1/3 Angstrom: at most 9 % change of a coefficient without
oversampling, 2.5 % with 2, 2 % with 3. For one Gaussian :math:`Z g_\sigma`,
:math:`|\hat\rho(\omega)| = Z e^{-\sigma^2|\omega|^2/2}`.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..errors import InvalidParameterError, ShapeError
from .features import FeatureSpec, principal_axes
from .molecules import CHANNELS, GridSpec, densities

__all__ = ["Shells", "shells", "fourier_modulus_shells", "fourier_features"]


@dataclasses.dataclass(frozen=True)
class Shells:
    """The shells of width ``width`` (rad/Angstrom) on a grid's half spectrum (real FFT):
    ``centres`` (K,) rad/Angstrom, ``counts`` (K,) frequencies of the whole lattice per shell,
    ``order`` the flat half-spectrum indices sorted by shell (those outside every shell dropped),
    ``weights`` their copies in the whole spectrum (1 or 2), ``starts`` (K,) where each shell begins."""

    width: float
    centres: np.ndarray
    counts: np.ndarray
    order: np.ndarray
    weights: np.ndarray
    starts: np.ndarray


@functools.lru_cache(maxsize=32)
def shells(shape: tuple[int, int, int], spacing: float, width: float) -> Shells:
    """The non-empty shells of ``width`` rad/Angstrom of the grid ``shape`` x ``spacing`` Angstrom."""
    if not (np.isfinite(width) and width > 0) or not spacing > 0:
        raise InvalidParameterError(f"The 'width' and 'spacing' parameters of shells must be positive numbers."
                                    f" Got width={width!r}, spacing={spacing!r} instead.")
    n_shells = int(np.floor(np.pi / spacing / width + 0.5))
    if n_shells < 1:
        raise InvalidParameterError(f"The 'width' parameter of shells must leave a shell below the Nyquist frequency"
                                    f" pi / spacing = {np.pi / spacing:.3g} rad/Angstrom. Got {width!r} instead.")
    freqs = [np.fft.fftfreq(shape[0], spacing), np.fft.fftfreq(shape[1], spacing), np.fft.rfftfreq(shape[2], spacing)]
    axes = np.meshgrid(*[2 * np.pi * f for f in freqs], indexing="ij")
    radius = np.sqrt(sum(a**2 for a in axes)).ravel()
    last = np.arange(len(freqs[2]))
    copies = np.where((last == 0) | (2 * last == shape[2]), 1.0, 2.0)  # k_3 and -k_3 share one entry
    copies = np.broadcast_to(copies, axes[0].shape).ravel()
    index = np.floor(radius / width + 0.5).astype(np.int64)
    inside = np.flatnonzero(index < n_shells)
    order = inside[np.argsort(index[inside], kind="stable")]
    counts = np.bincount(index[inside], weights=copies[inside], minlength=n_shells)
    kept = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(np.bincount(index[inside], minlength=n_shells)[kept])[:-1]])
    return Shells(float(width), kept * width, counts[kept], order, copies[order], starts)


def fourier_modulus_shells(rho: np.ndarray, spacing: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """(F (..., K), shell centres (K,) rad/Angstrom): shell means of :math:`|\\hat\\rho|` of the
    densities ``rho`` (..., M, N, O) on a grid of ``spacing`` Angstrom (module docstring)."""
    rho = np.asarray(rho, dtype=np.float64)
    if rho.ndim < 3:
        raise ShapeError(f"fourier_modulus_shells needs densities of shape (..., M, N, O); got {rho.shape}.")
    table = shells(tuple(rho.shape[-3:]), float(spacing), float(width))
    return _shell_means(_modulus(rho), table), table.centres


def _modulus(rho: np.ndarray) -> np.ndarray:
    """|rho_hat| on the half spectrum (..., M N (O // 2 + 1)), frequencies flattened."""
    return np.abs(np.fft.rfftn(rho, axes=(-3, -2, -1))).reshape(rho.shape[:-3] + (-1,))


def _shell_means(modulus: np.ndarray, table: Shells) -> np.ndarray:
    return np.add.reduceat(modulus[..., table.order] * table.weights, table.starts, axis=-1) / table.counts


def fourier_features(molecules, spec: FeatureSpec = FeatureSpec(), widths=(0.4,), oversampling: int = 2,
                     batch_size: int = 8) -> dict[float, tuple[np.ndarray, list[str]]]:
    """{width: (features (n, 3 K), names)}: the shell coefficients of the full, valence and core
    densities of each molecule, aligned as the Featurizer of ``spec`` aligns them and computed at its
    spacing and Gaussian width, in a box ``oversampling`` times larger per axis (a finer frequency
    lattice); one FFT per density for all widths."""
    if int(oversampling) != oversampling or oversampling < 1:
        raise InvalidParameterError(f"The 'oversampling' parameter of fourier_features must be an int >= 1. Got"
                                    f" {oversampling!r} instead.")
    grid = GridSpec(tuple(int(oversampling) * n for n in spec.shape), spec.spacing, spec.sigma, spec.margin)
    tables = {float(w): shells(grid.shape, grid.spacing, float(w)) for w in widths}
    out: dict[float, list[np.ndarray]] = {w: [] for w in tables}
    for start in range(0, len(molecules), batch_size):
        batch = [principal_axes(m) if spec.align else m for m in molecules[start:start + batch_size]]
        modulus = _modulus(densities(batch, grid))
        for w, table in tables.items():
            out[w].append(_shell_means(modulus, table).reshape(len(batch), -1))
    names = {w: [f"{c}:|omega|={k:.3g}" for c in CHANNELS for k in table.centres] for w, table in tables.items()}
    return {w: (np.concatenate(out[w]) if out[w] else np.zeros((0, len(names[w]))), names[w]) for w in tables}
