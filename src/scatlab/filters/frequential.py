r"""Wavelets along log-frequency for joint time-frequency scattering (Andén, Lostanlen & Mallat 2019).

The first-order scalogram :math:`U_1 x(t, n_1)` is indexed by the wavelet number :math:`n_1`, whose
centre frequency is :math:`\xi_1 = \xi_{\max} 2^{-n_1/Q}`: :math:`n_1` is minus log-frequency in
units of 1/Q octave. Along :math:`n_1` we use Morlet wavelets :math:`\psi_{j_{fr}}` (the 1D bank of
:mod:`scatlab.filters.morlet1d` with ``Q_fr`` wavelets per octave down to scale :math:`2^{J_{fr}}`)
and their mirror images, the spins:

.. math:: \psi_{j_{fr},+1}(n_1) = \psi_{j_{fr}}(n_1),\qquad
          \psi_{j_{fr},-1}(n_1) = \psi_{j_{fr}}(-n_1) = \overline{\psi_{j_{fr}}(n_1)},

so :math:`\psi_{j_{fr},+1}` is analytic along :math:`n_1` (positive quefrency), the other
anti-analytic. With a temporal wavelet analytic in time, spin +1 responds to ridges along which
:math:`n_1` decreases with time, i.e. to rising frequencies (up-chirps), and spin -1 to falling
ones.
"""
from __future__ import annotations

import numpy as np

from .morlet1d import MorletParams1D, gaussian_fourier_1d, morlet_fourier_1d

__all__ = ["frequential_bank"]


def frequential_bank(n: int, params: MorletParams1D, sigma_low: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(spin +1 wavelets, spin -1 wavelets, low-pass) in Fourier along a frequency axis of length n.

    Rows of the first two arrays follow ``params``; the low-pass is the Gaussian of bandwidth
    ``sigma_low`` (l1-normalized, as every filter of the 1D bank).
    """
    up = morlet_fourier_1d(n, params.xi, params.sigma)
    down = up[:, (-np.arange(n)) % n]  # psi(-n1): reversed spectrum
    return up, down, gaussian_fourier_1d(n, sigma_low)
