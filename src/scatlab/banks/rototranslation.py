"""The filters of roto-translation scattering laid out for its engine
(:mod:`scatlab.functional.rototranslation`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..filters.rototranslation import folded_angular_matrix, periodize_2d, spatial_filters
from ..plan.rototranslation import PlanRoto
from ._base import COMPLEX, REAL, Bank, applied_as, as_tensor
from ._layout import lowpass_matrix, significant_blocks

__all__ = ["BankRoto", "build_bank_roto"]


@dataclass(frozen=True)
class BankRoto(Bank):
    """``psi1[j1]`` (L, M, N): Fourier transforms of psi_{j1, l pi / L}, divided by 4^j1;
    ``psi2[j1]`` (J-1-j1, L, M/2^j1, N/2^j1): those of scales j2 > j1 periodized to resolution
    2^-j1 (sum over aliases), divided by 4^(j2-j1); ``rows[j]``, ``cols[j]``: the low-pass
    matrices at resolution 2^-j; ``angular`` (one matrix, 2R x 2L, R = 1 + 4KL):
    :func:`~scatlab.filters.rototranslation.folded_angular_matrix`.
    """

    psi1: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    psi2: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    rows: tuple[torch.Tensor, ...] = applied_as(REAL)
    cols: tuple[torch.Tensor, ...] = applied_as(REAL)
    angular: torch.Tensor = applied_as(REAL)
    psi1_blocks: tuple
    psi2_blocks: tuple


def build_bank_roto(plan: PlanRoto, device=None) -> BankRoto:
    """The float64 filters of ``plan`` (cast to the input's precision by :meth:`Bank.prepare`)."""
    M, N = plan.padded_shape
    J = plan.J
    psi, phi = spatial_filters(M, N, J, plan.L)
    psi1 = [psi[j] / 4**j for j in range(J)]
    psi2 = [periodize_2d(psi[j1 + 1:], j1) / 4.0 ** np.arange(1, J - j1)[:, None, None, None]
            if plan.max_order >= 2 else psi[:0] for j1 in range(J)]
    psi1_blocks = tuple(significant_blocks(psi1[j], 2**j, 2) for j in range(J))
    psi2_blocks = tuple(tuple(significant_blocks(h, 2 ** (i + 1), 2) for i, h in enumerate(psi2[j1]))
                        for j1 in range(J))
    rows, cols = [], []
    geometry = plan.geometry
    for j in range(J):
        p = periodize_2d(phi, j)  # separable: the periodized isotropic Gaussian is a product
        a, b = p[:, 0], p[0, :] / p[0, 0]
        rows.append(lowpass_matrix(a, 2 ** (J - j), geometry.crop, geometry.output_shape[0]))
        cols.append(lowpass_matrix(b, 2 ** (J - j), geometry.crop, geometry.output_shape[1]))
    tensors = lambda arrays: tuple(as_tensor(a, device) for a in arrays)  # noqa: E731
    return BankRoto(tensors(psi1), tensors(psi2), tensors(rows), tensors(cols),
                    as_tensor(folded_angular_matrix(plan.L, plan.K), device), psi1_blocks, psi2_blocks)
