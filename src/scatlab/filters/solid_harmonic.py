r"""3D solid harmonic wavelets (Eickenberg et al., NeurIPS 2017 and J. Chem. Phys. 2018).

A solid harmonic wavelet of scale :math:`\sigma_j = \sigma_0 2^j` and degree l is a Gaussian times
a solid harmonic, :math:`\psi_{j,l,m}(u) \propto |u|^l Y_l^m(u/|u|) e^{-|u|^2 / 2\sigma_j^2}`. Its
Fourier transform is :math:`(-i)^l` times a function of the same form, so the bank is sampled in
Fourier with Kymatio 0.3.0's conventions (frequency grid :math:`\omega_k = 2\pi k / M` for
:math:`-M/2 \le k < M/2`, normalization ``l_norm`` below; l = 0 is the plain Gaussian, of unit
mass). Real spherical harmonics span the same spaces as complex ones (a unitary change of basis
over m), so :math:`\sum_m |x \star \psi_{j,l,m}|^2` is the same with either; they are computed here
by the associated-Legendre recurrence, without ``scipy.special.sph_harm``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["real_spherical_harmonics", "frequency_grid", "l_norm", "solid_harmonic_fourier",
           "hermitian_parts", "gaussian_density_norm"]


def _assoc_legendre(l_max: int, t: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """P_l^m(t) for 0 <= m <= l <= l_max, without the Condon-Shortley phase."""
    s = np.sqrt(np.clip(1.0 - t * t, 0.0, None))
    p = {}
    for m in range(l_max + 1):
        p[m, m] = math.prod(range(2 * m - 1, 0, -2)) * s**m
        if m + 1 <= l_max:
            p[m + 1, m] = (2 * m + 1) * t * p[m, m]
        for l in range(m + 2, l_max + 1):
            p[l, m] = ((2 * l - 1) * t * p[l - 1, m] - (l + m - 1) * p[l - 2, m]) / (l - m)
    return p


def real_spherical_harmonics(l: int, points: np.ndarray) -> np.ndarray:
    r"""Real spherical harmonics of degree l at the directions of ``points`` (..., 3), shape
    (2l+1, ...), orthonormal on the unit sphere: m = 0 is :math:`N_{l0} P_l(\cos\theta)`, m > 0 and
    m < 0 are :math:`\sqrt2 N_{l|m|} P_l^{|m|}(\cos\theta)` times cos(m phi) and sin(|m| phi),
    :math:`N_{lm} = \sqrt{(2l+1)(l-m)! / (4\pi (l+m)!)}`. The direction of the origin is taken as +z.
    """
    points = np.asarray(points, dtype=np.float64)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    r = np.sqrt(x * x + y * y + z * z)
    safe = np.where(r > 0, r, 1.0)
    t = np.where(r > 0, z / safe, 1.0)
    phi = np.arctan2(y, x)
    p = _assoc_legendre(l, t)
    out = np.empty((2 * l + 1,) + t.shape)
    for m in range(-l, l + 1):
        a = abs(m)
        n = math.sqrt((2 * l + 1) / (4 * math.pi) * math.factorial(l - a) / math.factorial(l + a))
        if m == 0:
            out[l] = n * p[l, 0]
        else:
            trig = np.cos(a * phi) if m > 0 else np.sin(a * phi)
            out[l + m] = math.sqrt(2) * n * p[l, a] * trig
    return out


def frequency_grid(shape: tuple[int, int, int]) -> np.ndarray:
    """Angular frequencies (M, N, O, 3) in FFT order: 2 pi k / M for k in [-M//2, M - M//2)."""
    axes = [2 * np.pi * np.fft.ifftshift(np.arange(-(n // 2), n - n // 2)) / n for n in shape]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def l_norm(l: int) -> float:
    """Kymatio 0.3.0's normalization of degree l in Fourier (1 for the Gaussian l = 0)."""
    if l == 0:
        return 1.0
    if l % 2 == 0:
        base = 1.0 / (2 * np.pi * math.sqrt(l + 0.5) * math.prod(range(l + 1, 0, -2)))
    else:
        base = 1.0 / (2 ** (0.5 * (l + 3)) * math.sqrt(np.pi * (2 * l + 1)) * math.factorial((l + 1) // 2))
    return base * (2 * np.pi) ** 1.5


def solid_harmonic_fourier(shape: tuple[int, int, int], sigma: float, l: int) -> np.ndarray:
    r"""The 2l+1 wavelets of degree l and width sigma (pixels) in Fourier, complex (2l+1, M, N, O):

    .. math:: \hat\psi_{l,m}(\omega) = c_l (-i)^l \sigma^l |\omega|^l Y_l^m(\omega/|\omega|)
              e^{-\sigma^2 |\omega|^2 / 2}
    """
    w = frequency_grid(shape)
    r2 = (w * w).sum(-1)
    radial = np.exp(-0.5 * sigma**2 * r2)
    if l == 0:
        return radial[None].astype(np.complex128)
    poly = (sigma**2 * r2) ** (l / 2) * real_spherical_harmonics(l, w)
    return l_norm(l) * (-1j) ** l * poly * radial


def hermitian_parts(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""(A, B), both Hermitian (filters of real signals), with h = A + i B on the full grid:
    A(k) = (h(k) + conj h(-k)) / 2 and B = (h - A) / i. For real input x,
    :math:`|x \star h|^2 = (x \star A)^2 + (x \star B)^2`. B vanishes except on the Nyquist planes of
    even sizes, where the sampled grid is not symmetric (-M/2 has no +M/2 partner)."""
    flipped = np.roll(np.flip(h, axis=(-3, -2, -1)), 1, axis=(-3, -2, -1))
    a = 0.5 * (h + np.conj(flipped))
    return a, (h - a) / 1j


def gaussian_density_norm(sigma: float) -> float:
    """1 / ((2 pi)^{3/2} sigma^3): the peak of a unit-mass 3D Gaussian of width sigma."""
    return 1.0 / ((2 * np.pi) ** 1.5 * sigma**3)
