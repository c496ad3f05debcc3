"""Filters of roto-translation scattering (Sifre & Mallat 2013): the spatial Morlet wavelets with
angles in index order, periodic Morlet wavelets along the angle, and the angular convolution as a
(folded, real) matrix. Torch-free.
"""
from __future__ import annotations

import numpy as np

from .morlet1d import morlet_fourier_1d, morlet_params_1d
from .morlet2d import gabor_2d, morlet_2d

__all__ = ["spatial_filters", "angular_filters", "angular_matrix", "folded_angular_matrix", "periodize_2d"]


def spatial_filters(M: int, N: int, J: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Fourier transforms (float64) of psi_{j, l pi/L} (J, L, M, N), l = 0..L-1, and of phi_J (M, N).

    Same Morlet wavelets as Scattering2D (sigma 0.8 * 2^j, xi 3 pi / 4 / 2^j, slant 4 / L), with
    angles increasing with the index so that a rotation by pi/L is a shift by one.
    """
    angles = np.arange(L) * np.pi / L
    psi = np.stack([np.real(np.fft.fft2(morlet_2d(M, N, 0.8 * 2**j, angles, 0.75 * np.pi / 2**j, 4.0 / L)))
                    for j in range(J)])
    phi = np.real(np.fft.fft2(gabor_2d(M, N, 0.8 * 2 ** (J - 1), 0.0, 0.0)[0]))
    return psi, phi


def angular_filters(L: int, K: int) -> np.ndarray:
    """Fourier transforms (2K, 2L) of periodic 1D Morlet wavelets along theta (2L samples of [0, 2pi)):
    centre 0.35 * 2^-k cycles per sample, k = 0..K-1, spin +1, then their mirrors (spin -1)."""
    if K == 0:
        return np.zeros((0, 2 * L))
    params = morlet_params_1d(K, 1)
    plus = morlet_fourier_1d(2 * L, params.xi[:K], params.sigma[:K])
    return np.concatenate([plus, plus[:, (-np.arange(2 * L)) % (2 * L)]])


def angular_matrix(L: int, K: int) -> np.ndarray:
    """(1 + 4KL, 2L) complex: row 0 averages the 2L angles; row 1 + (f 2L + tau) gives
    sum_t W[t] g_f[(tau - t) mod 2L], g_f the f-th filter of :func:`angular_filters` in space.
    A matrix product (one BLAS call) is faster than FFTs along a short, strided axis."""
    n = 2 * L
    g = np.fft.ifft(angular_filters(L, K), axis=-1)  # (2K, 2L)
    tau, t = np.arange(n)[:, None], np.arange(n)[None, :]
    conv = g[:, (tau - t) % n].reshape(-1, n)
    return np.concatenate([np.full((1, n), 1.0 / n), conv])


def folded_angular_matrix(L: int, K: int) -> np.ndarray:
    """The angular matrix C acting on W over [0, 2pi) given only its first half, as a real matrix.

    W(t + L) = conj(W(t)), so C W = P Re W[:L] + i Q Im W[:L] with P = C[:, :L] + C[:, L:] and
    Q = C[:, :L] - C[:, L:]: [Re; Im] of C W = [[Re P, -Im Q], [Im P, Re Q]] [Re W[:L]; Im W[:L]]
    (half the input and a real product, about 2x fewer operations than the complex one).
    """
    C = angular_matrix(L, K)
    P, Q = C[:, :L] + C[:, L:], C[:, :L] - C[:, L:]
    return np.block([[P.real, -Q.imag], [P.imag, Q.real]])


def periodize_2d(h_f: np.ndarray, level: int) -> np.ndarray:
    """Sum of the 4^level aliases of a spectrum on the grid subsampled by 2^level: the DFT of the
    filter sampled every 2^level pixels, times 4^level (the area of a coarse pixel)."""
    f = 2**level
    *lead, M, N = h_f.shape
    return h_f.reshape(*lead, f, M // f, f, N // f).sum(axis=(-4, -2))
