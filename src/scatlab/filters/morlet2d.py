r"""2D Morlet (Gabor) filter banks in the Fourier domain, with the conventions of Kymatio 0.3.0.

A Gabor filter of width :math:`\sigma`, orientation :math:`\theta`, frequency :math:`\xi` and
slant :math:`s` is, in space,

.. math:: g(u) = \frac{s}{2\pi\sigma^2} \exp\!\Big(-\frac{u^\top R_\theta D R_\theta^{-1} u}{2\sigma^2}
          + i\,\xi\,(u_1\cos\theta + u_2\sin\theta)\Big), \quad D = \mathrm{diag}(1, s^2),

periodized over 5x5 copies of the grid. The Morlet wavelet subtracts its envelope to have zero mean,
:math:`\psi = g - K|g|_{\xi=0}`. The bank (Bruna & Mallat 2013) has :math:`\sigma = 0.8\cdot 2^j`,
:math:`\xi = \tfrac{3\pi}{4} 2^{-j}`, slant :math:`4/L` and L orientations
:math:`\theta_\ell = (\lfloor L/2\rfloor - 1 - \ell)\pi / L`; the low-pass :math:`\phi_J` is the
Gaussian with :math:`\sigma = 0.8\cdot 2^{J-1}`. The transforms are real in Fourier.
"""
from __future__ import annotations

import numpy as np

__all__ = ["gabor_2d", "morlet_2d", "morlet_bank_2d", "crop_fourier", "orientation_angles"]

# Kymatio 0.3.0 normalizes its Gabor filters with 3.1415 in place of pi. Coefficients of order m
# scale like this constant to the power m + 1, so we keep it to reproduce its outputs to ~1e-7
# (with numpy's pi the difference is 3e-5 per filter, 9e-5 at order 2).
PEER_PI = 3.1415


def orientation_angles(L: int) -> np.ndarray:
    """Angle (radians) of orientation index 0..L-1."""
    return (int(L - L / 2 - 1) - np.arange(L)) * np.pi / L


def gabor_2d(M: int, N: int, sigma: float, theta, xi: float, slant: float = 1.0) -> np.ndarray:
    """Periodized Gabor filters in space, complex128, shape (len(theta), M, N)."""
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    # quadratic form R diag(1, slant^2) R^T / (2 sigma^2)
    a = (cos**2 + slant**2 * sin**2) / (2 * sigma**2)
    b = (1 - slant**2) * cos * sin / (2 * sigma**2)  # off-diagonal term
    c = (sin**2 + slant**2 * cos**2) / (2 * sigma**2)
    out = np.zeros((theta.size, M, N), dtype=complex)
    for ex in range(-2, 3):
        for ey in range(-2, 3):
            xx = (np.arange(M) + ex * M)[:, None].astype(float)
            yy = (np.arange(N) + ey * N)[None, :].astype(float)
            arg = -(a * xx**2 + 2 * b * xx * yy + c * yy**2) + 1j * xi * (xx * cos + yy * sin)
            out += np.exp(arg)
    return out * slant / (2 * PEER_PI * sigma**2)


def morlet_2d(M: int, N: int, sigma: float, theta, xi: float, slant: float = 0.5) -> np.ndarray:
    """Zero-mean Morlet filters in space: the Gabor minus a multiple of its envelope."""
    wave = gabor_2d(M, N, sigma, theta, xi, slant)
    envelope = gabor_2d(M, N, sigma, theta, 0.0, slant)
    K = wave.sum(axis=(-2, -1), keepdims=True) / envelope.sum(axis=(-2, -1), keepdims=True)
    return wave - K * envelope


def morlet_bank_2d(M: int, N: int, J: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Fourier transforms (float64) of psi_{j,theta} as (J, L, M, N) and of phi_J as (M, N)."""
    angles = orientation_angles(L)
    psi = np.stack(
        [
            np.real(np.fft.fft2(morlet_2d(M, N, 0.8 * 2**j, angles, 3.0 / 4.0 * np.pi / 2**j, 4.0 / L)))
            for j in range(J)
        ]
    )
    phi = np.real(np.fft.fft2(gabor_2d(M, N, 0.8 * 2 ** (J - 1), 0.0, 0.0)[0]))
    return psi, phi


def crop_fourier(h_f: np.ndarray, level: int) -> np.ndarray:
    """Keep the central band of frequencies |k| < n / 2^{level+1} along the last two axes.

    This is how the filters are applied to signals already subsampled by 2^level (the band outside
    is negligible for filters built for that resolution).
    """
    if level == 0:
        return h_f
    out = h_f
    for axis in (-2, -1):
        n = out.shape[axis]
        m = n // 2**level
        idx = np.concatenate([np.arange(m // 2), np.arange(n - m + m // 2, n)])
        out = np.take(out, idx, axis=axis)
    return out
