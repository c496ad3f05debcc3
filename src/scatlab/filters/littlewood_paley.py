r"""Littlewood-Paley sums and frame bounds of a filter bank.

For a bank :math:`\{\phi, \psi_\lambda\}` applied to real signals, the wavelet transform
:math:`Wx = (x\star\phi, x\star\psi_\lambda)_\lambda` satisfies
:math:`A\|x\|^2 \le \|Wx\|^2 \le B\|x\|^2` with :math:`A, B` the minimum and maximum over
frequencies of

.. math:: \mathrm{LP}(\omega) = |\hat\phi(\omega)|^2 + \tfrac12\sum_\lambda
          \big(|\hat\psi_\lambda(\omega)|^2 + |\hat\psi_\lambda(-\omega)|^2\big)

(the symmetrization accounts for the real input, whose spectrum is Hermitian). Mallat (2012),
"Group invariant scattering", Proposition 2.1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FrameBounds", "littlewood_paley_sum", "frame_bounds"]


@dataclass(frozen=True)
class FrameBounds:
    """Lower and upper frame bounds A <= B of a bank (min and max of its Littlewood-Paley sum)."""

    A: float
    B: float


def _flip_frequencies(h_f: np.ndarray, ndim: int) -> np.ndarray:
    """h(-omega) on a DFT grid, along the last ``ndim`` axes."""
    axes = tuple(range(-ndim, 0))
    return np.roll(np.flip(h_f, axis=axes), shift=1, axis=axes)


def littlewood_paley_sum(psi_f: np.ndarray, phi_f: np.ndarray | None = None, ndim: int = 1) -> np.ndarray:
    """LP(omega) on the DFT grid for wavelets ``psi_f`` (..., *grid) and an optional low-pass."""
    power = np.abs(psi_f) ** 2
    power = power.reshape((-1,) + power.shape[-ndim:])
    lp = 0.5 * (power + _flip_frequencies(power, ndim)).sum(axis=0)
    if phi_f is not None:
        lp = lp + np.abs(phi_f) ** 2
    return lp


def frame_bounds(psi_f: np.ndarray, phi_f: np.ndarray | None = None, ndim: int = 1) -> FrameBounds:
    lp = littlewood_paley_sum(psi_f, phi_f, ndim)
    return FrameBounds(float(lp.min()), float(lp.max()))
