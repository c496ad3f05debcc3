"""The filters of 2D scattering laid out for its engine (:mod:`scatlab.functional.scattering2d`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..filters.morlet2d import crop_fourier, morlet_bank_2d
from ..plan.scattering2d import Plan2D
from ._base import COMPLEX, REAL, Bank, applied_as, as_tensor
from ._layout import lowpass_matrix, significant_blocks

__all__ = ["Bank2D", "build_bank_2d", "separable_factors"]


@dataclass(frozen=True)
class Bank2D(Bank):
    """``psi1[j1]`` (L, M, N) and ``psi2[j1]`` (J-1-j1, L, M/2^j1, N/2^j1) are the Fourier transforms
    of the wavelets, divided by the number of periods folded when subsampling (4^j1, 4^(j2-j1)).
    ``rows[j]``, ``cols[j]`` are the low-pass matrices at resolution 2^-j (see lowpass_matrix).
    ``psi1_blocks[j1]``, ``psi2_blocks[j1][i]``: the periods where each filter is not negligible.
    """

    psi1: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    psi2: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    rows: tuple[torch.Tensor, ...] = applied_as(REAL)
    cols: tuple[torch.Tensor, ...] = applied_as(REAL)
    psi1_blocks: tuple
    psi2_blocks: tuple


def separable_factors(phi_f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with phi_f = a[:, None] * b[None, :] (phi_J is an isotropic Gaussian)."""
    a, b = phi_f[:, 0], phi_f[0, :] / phi_f[0, 0]
    error = np.abs(np.outer(a, b) - phi_f).max() / np.abs(phi_f).max()
    if error > 1e-6:
        raise AssertionError(f"the low-pass filter is not separable (relative error {error:.1e})")
    return a, b


def build_bank_2d(plan: Plan2D, device=None) -> Bank2D:
    """The float64 filters of ``plan`` (cast to the input's precision by :meth:`Bank.prepare`)."""
    M, N = plan.padded_shape
    J = plan.J
    psi, phi = morlet_bank_2d(M, N, J, plan.L)
    psi1 = [psi[j] / 4**j for j in range(J)]
    psi2 = [
        crop_fourier(psi[j1 + 1 :], j1) / 4.0 ** np.arange(1, J - j1)[:, None, None, None]
        if plan.max_order >= 2
        else psi[:0]
        for j1 in range(J)
    ]
    psi1_blocks = tuple(significant_blocks(psi1[j], 2**j, 2) for j in range(J))
    psi2_blocks = tuple(
        tuple(significant_blocks(h, 2 ** (i + 1), 2) for i, h in enumerate(psi2[j1])) for j1 in range(J)
    )
    rows, cols = [], []
    for j in range(J):
        a, b = separable_factors(crop_fourier(phi, j))
        rows.append(lowpass_matrix(a, 2 ** (J - j), plan.crop, plan.output_shape[0]))
        cols.append(lowpass_matrix(b, 2 ** (J - j), plan.crop, plan.output_shape[1]))
    tensors = lambda arrays: tuple(as_tensor(a, device) for a in arrays)  # noqa: E731
    return Bank2D(tensors(psi1), tensors(psi2), tensors(rows), tensors(cols), psi1_blocks, psi2_blocks)
