"""The filters of joint time-frequency scattering laid out for its engine
(:mod:`scatlab.functional.timefrequency`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..filters.frequential import frequential_bank
from ..filters.morlet1d import gaussian_fourier_1d, morlet_fourier_1d, periodize_fourier
from ..plan.timefrequency import PlanTF
from ._base import COMPLEX, REAL, Bank, applied_as, as_tensor
from ._layout import lowpass_matrix, significant_blocks

__all__ = ["BankTF", "build_bank_tf"]


@dataclass(frozen=True)
class BankTF(Bank):
    """``phi[k]``: time low-pass at level k (length padded / 2^k), times 2^k / 2^(log2_T - k);
    ``psi1[g]``: first-order wavelets of first group g, divided by 2^k;
    ``psi2[b]``: temporal wavelets of block b at level k1, shape (n, 1, padded / 2^k1), times 2^k1 / 2^(k2 - k1);
    ``fr[g]``: frequential filters of group g, shape (m, 1, fr_padded), divided by 2^kf;
    ``avg_fr[g]`` (real): the matrix of phi_F (or of the crop when F is None) at level kf of group g;
    ``avg_fr1`` (real): the same for the unpadded scalogram rows (order 1).
    """

    phi: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    psi1: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    psi2: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    fr: tuple[torch.Tensor, ...] = applied_as(COMPLEX)
    avg_fr: tuple[torch.Tensor, ...] = applied_as(REAL)
    avg_fr1: torch.Tensor = applied_as(REAL)
    phi_blocks: tuple
    psi1_blocks: tuple
    psi2_blocks: tuple


def _avg_matrix(plan: PlanTF, kf: int) -> np.ndarray:
    """Rows: output frequency rows; columns: the padded frequency axis at level kf."""
    n = plan.fr_padded // 2**kf
    k_out = plan.log2_F
    start, out_len = plan.fr_start[k_out], plan.n_freq_out
    if plan.F is None:
        return np.eye(n)[start : start + out_len]
    phi = periodize_fourier(gaussian_fourier_1d(plan.fr_padded, plan.sigma_F), 2**kf) * 2**kf
    # crop counts rows at level log2_F, i.e. positions 2^(k_out - kf) (i + start) at level kf
    return lowpass_matrix(phi, 2 ** (k_out - kf), start, out_len)


def build_bank_tf(plan: PlanTF, device=None) -> BankTF:
    """Compute the filters of ``plan`` as float64 tensors (cast to the input's precision by :meth:`Bank.prepare`).

    A filter applied at subsampling 2^k is multiplied by 2^k (``normalize='resolution'`` of
    :class:`Scattering1D`): every coefficient is a sample of the full-resolution convolutions,
    whatever the internal subsampling, so that all rows of the scalogram share one scale.
    """
    N, log2_T, k1 = plan.first.padded_length, plan.first.log2_T, plan.k1
    phi0 = gaussian_fourier_1d(N, plan.first.sigma_low)
    phi = [periodize_fourier(phi0, 2**k) * 2**k / 2 ** (log2_T - k) for k in range(log2_T + 1)]
    phi_blocks = tuple(significant_blocks(h, 2 ** (log2_T - k), 1) for k, h in enumerate(phi))
    psi1_all = morlet_fourier_1d(N, plan.first.psi1.xi, plan.first.psi1.sigma)
    psi1 = [psi1_all[g.start : g.stop] / 2**g.k for g in plan.first_groups]
    psi1_blocks = tuple(significant_blocks(h, 2**g.k, 1) for h, g in zip(psi1, plan.first_groups))
    psi2_all = periodize_fourier(morlet_fourier_1d(N, plan.psi2.xi, plan.psi2.sigma), 2**k1)
    psi2 = [psi2_all[b.start : b.stop, None, :] * 2**k1 / 2 ** (b.k2 - k1) for b in plan.time_blocks]
    psi2_blocks = tuple(significant_blocks(h, 2 ** (b.k2 - k1), 1) for h, b in zip(psi2, plan.time_blocks))
    up, down, low = frequential_bank(plan.fr_padded, plan.psi_fr, plan.sigma_fr)
    fr, avg_fr = [], []
    for g in plan.freq_groups:
        rows = [low if spin == 0 else (up if spin > 0 else down)[n_fr] for n_fr, spin in g.members]
        fr.append(np.stack(rows)[:, None, :] / 2**g.kf)
        avg_fr.append(_avg_matrix(plan, g.kf))
    avg_fr1 = _avg_matrix(plan, 0)[:, plan.fr_pad_left : plan.fr_pad_left + plan.n_freq]

    tensors = lambda arrays: tuple(as_tensor(a, device) for a in arrays)  # noqa: E731
    return BankTF(tensors(phi), tensors(psi1), tensors(psi2), tensors(fr), tensors(avg_fr), as_tensor(avg_fr1, device),
                  phi_blocks, psi1_blocks, psi2_blocks)
