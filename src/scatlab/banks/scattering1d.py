"""The filters of 1D scattering laid out for its engine (:mod:`scatlab.functional.scattering1d`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..filters.morlet1d import gaussian_fourier_1d, morlet_fourier_1d, periodize_fourier
from ..plan.scattering1d import Plan1D
from ._base import COMPLEX, Bank, applied_as, as_tensor
from ._layout import significant_blocks

__all__ = ["Bank1D", "build_bank_1d"]


@dataclass(frozen=True)
class Bank1D(Bank):
    """Filters in Fourier, each divided by the number of periods folded when its output is
    subsampled (so a fold-sum is a periodization-mean).

    ``phi[k]`` (length padded_length / 2^k) is the low-pass at level k, divided by 2^(log2_T - k);
    ``psi1[g]`` (F1, padded_length) the first-order wavelets of group g, divided by 2^k1;
    ``psi2[g]`` (F2, padded_length / 2^k1) its second-order wavelets at level k1, divided by 2^k2.
    The ``*_blocks`` fields list the periods where each filter is not negligible
    (:func:`~scatlab.banks._layout.significant_blocks`): per level, per group, and per group and
    second-order block.
    """

    phi: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    psi1: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    psi2: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    phi_blocks: tuple
    psi1_blocks: tuple
    psi2_blocks: tuple


def build_bank_1d(plan: Plan1D, device=None) -> Bank1D:
    """The float64 filters of ``plan`` (cast to the input's precision by :meth:`Bank.prepare`).

    With ``normalize='resolution'`` a filter used at subsampling 2^k is multiplied by 2^k, so that
    it is the sampled continuous filter and coefficients do not depend on the subsampling schedule.
    """
    N, log2_T = plan.padded_length, plan.log2_T
    scale = (lambda k: 2.0**k) if plan.normalize == "resolution" else (lambda k: 1.0)
    phi0 = gaussian_fourier_1d(N, plan.sigma_low)
    phi = [periodize_fourier(phi0, 2**k) * scale(k) / 2 ** (log2_T - k) for k in range(log2_T + 1)]
    psi1_all = morlet_fourier_1d(N, plan.psi1.xi, plan.psi1.sigma)
    psi2_all = morlet_fourier_1d(N, plan.psi2.xi, plan.psi2.sigma) if plan.max_order >= 2 else None
    phi_blocks = tuple(significant_blocks(h, 2 ** (log2_T - k), 1) for k, h in enumerate(phi))
    psi1, psi2, psi1_blocks, psi2_blocks = [], [], [], []
    for g in plan.groups:
        psi1.append(psi1_all[g.start : g.stop] / 2**g.k1)
        psi1_blocks.append(significant_blocks(psi1[-1], 2**g.k1, 1))
        rows = [np.zeros((0, N // 2**g.k1))]
        for b in g.blocks:
            rows.append(periodize_fourier(psi2_all[b.start : b.stop], 2**g.k1) * scale(g.k1) / 2**b.k2)
        psi2.append(np.concatenate(rows))
        psi2_blocks.append(tuple(significant_blocks(r, 2**b.k2, 1) for r, b in zip(rows[1:], g.blocks)))
    tensors = lambda arrays: tuple(as_tensor(a, device) for a in arrays)  # noqa: E731
    return Bank1D(tensors(phi), tensors(psi1), tensors(psi2), phi_blocks, tuple(psi1_blocks), tuple(psi2_blocks))
