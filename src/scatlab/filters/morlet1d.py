r"""1D Morlet filter banks in the Fourier domain, with the conventions of Kymatio 0.3.0.

A Morlet wavelet of centre frequency :math:`\xi` and bandwidth :math:`\sigma` (both in cycles per
sample) is, in Fourier,

.. math:: \hat\psi(\omega) = \hat g_\sigma(\omega - \xi) - \kappa\,\hat g_\sigma(\omega),
          \qquad \hat g_\sigma(\omega) = e^{-\omega^2 / (2\sigma^2)},

with :math:`\kappa` chosen so that :math:`\hat\psi(0) = 0` (zero mean). Sampling in time is
periodizing in frequency, so both Gaussians are summed over :math:`2P-1` periods. Each filter is
then divided by its :math:`\ell^1` norm in time, so that :math:`\sum_t |\psi(t)| = 1`.

The centre frequencies follow Andén & Mallat (2014) and Lostanlen (2017): a geometric
progression of ratio :math:`2^{-1/Q}` down to the bandwidth :math:`\sigma_{\min} = \sigma_0/2^J`,
then :math:`Q-1` filters of constant bandwidth in arithmetic progression.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MorletParams1D",
    "morlet_params_1d",
    "morlet_fourier_1d",
    "gaussian_fourier_1d",
    "periodize_fourier",
    "lowpass_half_support",
]

R_PSI = math.sqrt(0.5)  # overlap of neighbouring wavelets at their half-power point
SIGMA0 = 0.1  # bandwidth of the low-pass filter at T = 1
ALPHA = 5.0  # aliasing tolerance (in bandwidths) for the subsampling of each filter
PERIODS_EPS = 1e-7
MAX_PERIODS = 5


@dataclass(frozen=True)
class MorletParams1D:
    """Centre frequencies ``xi``, bandwidths ``sigma`` and maximal subsamplings ``j`` of a bank."""

    xi: tuple[float, ...]
    sigma: tuple[float, ...]
    j: tuple[int, ...]


def _sigma_for_xi(xi: float, Q: int) -> float:
    """Bandwidth so that neighbours 2^{1/Q} apart meet at the r_psi level (Lostanlen 2017)."""
    factor = 2.0 ** (-1.0 / Q)
    return xi * (1 - factor) / (1 + factor) / math.sqrt(2 * math.log(1 / R_PSI))


def max_subsampling(xi: float, sigma: float) -> int:
    """Largest j such that xi + ALPHA * sigma < 2^{-(j+1)}: subsampling by 2^j does not alias."""
    upper = min(xi + ALPHA * sigma, 0.5)
    return int(math.floor(-math.log2(upper)) - 1)


def morlet_params_1d(J: int, Q: int) -> MorletParams1D:
    """Parameters of the wavelets of a bank with Q wavelets per octave down to scale 2^J."""
    sigma_min = SIGMA0 / 2.0**J
    xi_max = max(1.0 / (1.0 + 2.0 ** (3.0 / Q)), 0.35)
    sigma_max = _sigma_for_xi(xi_max, Q)
    xis: list[float] = []
    sigmas: list[float] = []
    if sigma_max > sigma_min:
        xis, sigmas = [xi_max], [sigma_max]
        while sigmas[-1] > sigma_min * 2.0 ** (1.0 / Q):
            xis.append(xis[-1] / 2.0 ** (1.0 / Q))
            sigmas.append(sigmas[-1] / 2.0 ** (1.0 / Q))
        elbow = xis[-1]
    else:
        elbow = sigma_max
    for q in range(1, Q):
        xis.append(elbow - q / Q * elbow)
        sigmas.append(sigma_min)
    js = tuple(max_subsampling(x, s) for x, s in zip(xis, sigmas))
    return MorletParams1D(tuple(xis), tuple(sigmas), js)


def periodize_fourier(h_f: np.ndarray, periods: int) -> np.ndarray:
    """Mean of ``periods`` consecutive blocks of the last axis: the DFT of h subsampled in time."""
    n = h_f.shape[-1] // periods
    return h_f.reshape(h_f.shape[:-1] + (periods, n)).mean(axis=-2)


def _n_periods(sigma: float) -> int:
    return min(int(math.ceil(math.sqrt(-2 * sigma**2 * math.log(PERIODS_EPS)) + 1)), MAX_PERIODS)


def morlet_fourier_1d(N: int, xi, sigma) -> np.ndarray:
    """Fourier transforms (float64, length N, DFT order) of Morlet wavelets, one row per (xi, sigma).

    ``xi = 0`` gives the Gaussian low-pass filter of bandwidth sigma.
    """
    xi = np.atleast_1d(np.asarray(xi, dtype=float))
    sigma = np.atleast_1d(np.asarray(sigma, dtype=float))
    rows = []
    for x, s in zip(xi, sigma):
        P = _n_periods(s)
        freqs = np.arange((1 - P) * N, P * N, dtype=float) / N
        low_freqs = np.fft.fftfreq(N) if P == 1 else freqs
        low = periodize_fourier(np.exp(-(low_freqs**2) / (2 * s**2)), 2 * P - 1 if P > 1 else 1)
        if x:
            gabor = periodize_fourier(np.exp(-((freqs - x) ** 2) / (2 * s**2)), 2 * P - 1)
            h = gabor - gabor[0] / low[0] * low
        else:
            h = low
        rows.append(h / np.abs(np.fft.ifft(h)).sum())
    return np.stack(rows)


def gaussian_fourier_1d(N: int, sigma: float) -> np.ndarray:
    """The low-pass filter phi of bandwidth sigma, length N, l1-normalized in time."""
    return morlet_fourier_1d(N, 0.0, sigma)[0]


def lowpass_half_support(phi_f: np.ndarray, tolerance: float = 1e-3) -> int:
    """Smallest half-width n such that the l1 mass of phi outside [-n, n] is at most ``tolerance``.

    If no such n exists within half the length, half the length is returned (border effects).
    """
    h = np.abs(np.fft.ifft(phi_f))
    half = h.shape[-1] // 2
    # tail[n] = sum_{t >= n} |h(t)| over the first half (symmetric filter)
    tail = np.cumsum(h[:half][::-1])[::-1]
    below = np.nonzero(tail <= tolerance)[0]
    return int(below.min()) + 1 if below.size else half
