r"""The 2D scattering transform as pure torch functions of (input, plan, bank).

.. math::
    S_J x = \big(x\star\phi_J,\ |x\star\psi_{j_1,\theta_1}|\star\phi_J,\
    ||x\star\psi_{j_1,\theta_1}|\star\psi_{j_2,\theta_2}|\star\phi_J\big)_{j_1<j_2<J},

sampled every 2^J pixels (Bruna & Mallat, "Invariant scattering convolution networks", TPAMI 2013).
Each wavelet modulus is computed at the coarsest rate its bandwidth allows (2^{j}). The low-pass
phi_J is separable, so each averaging, subsampling and crop is two small real matrix products.
"""
from __future__ import annotations

import torch

from ..runtime.threads import small_calls_on_one_thread
from ..banks.scattering2d import Bank2D, build_bank_2d
from ..plan.scattering2d import Plan2D, plan_2d
from ._inputs import batch_chunks, cached_bank, check_input, empty_output, twin_input
from ._ops import apply_lowpass_2d, filter_subsample_many, modulus

__all__ = ["scattering2d", "scattering2d_with_plan"]

CHUNK_ELEMENTS = 2**20  # complex elements of the largest intermediate per batch chunk
GROUP_ELEMENTS = 2**20  # complex elements of the second-order products per group of theta1


def _per_sample_elements(plan: Plan2D) -> int:
    M, N = plan.padded_shape
    largest = plan.L * M * N
    if plan.max_order >= 2 and plan.J > 1:
        largest = max(largest, plan.L * plan.L * (M // 2) * (N // 2))
    return largest


@small_calls_on_one_thread
def scattering2d_with_plan(x: torch.Tensor, plan: Plan2D, bank: Bank2D) -> torch.Tensor:
    """Scattering coefficients of x (..., M, N) as (..., n_channels, M', N')."""
    check_input(x, "Scattering2D", plan.shape)
    bank = bank.prepare(x.dtype)
    batch_shape = x.shape[:-2]
    flat = x.reshape((-1,) + plan.shape)
    if flat.shape[0] == 0:
        return empty_output(x, batch_shape + (plan.n_channels,) + plan.output_shape)
    if plan.padding == "reflect":
        rows, cols = (torch.as_tensor(i, device=x.device) for i in plan.pad_index)
        flat = flat.index_select(-2, rows).index_select(-1, cols)
    chunks = batch_chunks(flat, _per_sample_elements(plan), CHUNK_ELEMENTS)
    out = torch.cat([_scatter(chunk, plan, bank) for chunk in chunks], dim=0)
    return out.reshape(batch_shape + out.shape[-3:])


def _scatter(x: torch.Tensor, plan: Plan2D, bank: Bank2D) -> torch.Tensor:
    """x: (B, M_pad, N_pad) real. Returns (B, n_channels, M', N')."""
    B, J = x.shape[0], plan.J
    out = [apply_lowpass_2d(x, bank.rows[0], bank.cols[0]).unsqueeze(1)]
    second = []
    x_hat = torch.fft.fft2(x).unsqueeze(1)
    y1 = filter_subsample_many(x_hat, [(bank.psi1[j1], 2**j1, bank.psi1_blocks[j1]) for j1 in range(J)])
    for j1 in range(J):
        u1 = modulus(torch.fft.ifft2(next(y1)))
        out.append(apply_lowpass_2d(u1, bank.rows[j1], bank.cols[j1]))
        scales = plan.second_order_scales(j1)
        if not scales:
            continue
        # channel order (theta1, j2, theta2) within this j1; orientations theta1 in equal groups
        # whose (B, group, L, M/2, N/2) products stay within GROUP_ELEMENTS (peak memory of large images)
        size = _group_size(plan.L, B * plan.L * u1.shape[-2] * u1.shape[-1] // 4)
        parts = [_second_order(u1_group, j1, scales, bank) for u1_group in u1.split(size, dim=1)]
        second.append(torch.cat(parts, dim=1).reshape((B, -1) + plan.output_shape))
    return torch.cat(out + second, dim=1)


def _group_size(L: int, elements_per_orientation: int) -> int:
    """The largest divisor of L whose group of orientations stays within GROUP_ELEMENTS (at least 1),
    so that the groups are equal. Each extra group costs time (2D J=4 256x256: forward 8 % slower
    in 2 groups, 24-27 % in 3 or 4), hence GROUP_ELEMENTS is set where speed holds."""
    fits = [d for d in range(1, L + 1) if L % d == 0 and d * elements_per_orientation <= GROUP_ELEMENTS]
    return max(fits, default=1)


def _second_order(u1: torch.Tensor, j1: int, scales, bank: Bank2D) -> torch.Tensor:
    """u1: (B, l, M, N) first-order moduli at scale j1. Returns (B, l, len(scales) * L, M', N')."""
    u1_hat = torch.fft.fft2(u1).unsqueeze(2)
    y2 = filter_subsample_many(u1_hat, [(bank.psi2[j1][i], 2 ** (j2 - j1), bank.psi2_blocks[j1][i])
                                        for i, j2 in enumerate(scales)])
    per_scale = [apply_lowpass_2d(modulus(torch.fft.ifft2(next(y2))), bank.rows[j2], bank.cols[j2])
                 for j2 in scales]
    return torch.cat(per_scale, dim=2)


def scattering2d(x: torch.Tensor, *, J: int, L: int = 8, max_order: int = 2, padding: str = "reflect") -> torch.Tensor:
    """Functional twin of :class:`scatlab.Scattering2D` (filters cached per dtype and device)."""
    dtype = twin_input(x, "scattering2d", 2, "(..., M, N)")
    plan = plan_2d(tuple(x.shape[-2:]), J, L, max_order, padding)
    return scattering2d_with_plan(x, plan, cached_bank(build_bank_2d, plan, dtype, x.device))
