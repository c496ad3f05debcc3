r"""The 2D scattering transform as pure torch functions of (input, plan, bank).

.. math::
    S_J x = \big(x\star\phi_J,\ |x\star\psi_{j_1,\theta_1}|\star\phi_J,\
    ||x\star\psi_{j_1,\theta_1}|\star\psi_{j_2,\theta_2}|\star\phi_J\big)_{j_1<j_2<J},

sampled every 2^J pixels (Bruna & Mallat, "Invariant scattering convolution networks", TPAMI 2013).
Each wavelet modulus is computed at the coarsest rate its bandwidth allows (2^{j}).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from ..filters.morlet2d import crop_fourier, morlet_bank_2d
from ..plan.twod import Plan2D, plan_2d
from ._fourier import batch_chunks, check_input, lowpass_2d, periodize

__all__ = ["Bank2D", "build_bank_2d", "scattering2d", "scattering2d_with_plan"]

CHUNK_ELEMENTS = 2**19


@dataclass(frozen=True)
class Bank2D:
    """Filters in Fourier (real tensors)."""

    phi: tuple[torch.Tensor, ...]  # phi[j]: phi_J cropped to resolution 2^-j
    psi1: tuple[torch.Tensor, ...]  # psi1[j1]: (L, M, N) at full resolution
    psi2: tuple[torch.Tensor, ...]  # psi2[j1]: (J-1-j1, L, M/2^j1, N/2^j1), scales j2 > j1


def build_bank_2d(plan: Plan2D, dtype=torch.float32, device=None) -> Bank2D:
    M, N = plan.padded_shape
    psi, phi = morlet_bank_2d(M, N, plan.J, plan.L)

    def tensor(a):
        return torch.as_tensor(a.copy(), dtype=dtype, device=device)

    phis = tuple(tensor(crop_fourier(phi, j)) for j in range(plan.J))
    psi1 = tuple(tensor(psi[j]) for j in range(plan.J))
    psi2 = tuple(
        tensor(crop_fourier(psi[j1 + 1 :], j1)) if plan.max_order >= 2 else tensor(psi[:0])
        for j1 in range(plan.J)
    )
    return Bank2D(phis, psi1, psi2)


def _per_sample_elements(plan: Plan2D) -> int:
    M, N = plan.padded_shape
    largest = plan.L * M * N
    if plan.max_order >= 2 and plan.J > 1:
        largest = max(largest, plan.L * plan.L * (M // 2) * (N // 2))
    return largest


def scattering2d_with_plan(x: torch.Tensor, plan: Plan2D, bank: Bank2D) -> torch.Tensor:
    """Scattering coefficients of x (..., M, N) as (..., n_channels, M', N')."""
    check_input(x, "Scattering2D", plan.shape, bank.phi[0].dtype)
    batch_shape = x.shape[:-2]
    flat = x.reshape((-1,) + plan.shape)
    if flat.shape[0] == 0:
        return x.new_zeros(batch_shape + (plan.n_channels,) + plan.output_shape)
    if plan.padding == "reflect":
        rows, cols = (torch.as_tensor(i, device=x.device) for i in plan.pad_index)
        flat = flat.index_select(-2, rows).index_select(-1, cols)
    chunks = batch_chunks(flat, _per_sample_elements(plan), CHUNK_ELEMENTS)
    out = torch.cat([_scatter(chunk, plan, bank) for chunk in chunks], dim=0)
    return out.reshape(batch_shape + out.shape[-3:])


def _scatter(x: torch.Tensor, plan: Plan2D, bank: Bank2D) -> torch.Tensor:
    """x: (B, M_pad, N_pad) real. Returns (B, n_channels, M', N')."""
    B, J, crop, shape = x.shape[0], plan.J, plan.crop, plan.output_shape
    x_hat = torch.fft.fft2(x)
    order0 = [lowpass_2d(x_hat, bank.phi[0], 2**J, crop, shape).unsqueeze(1)]
    order1, order2 = [], []
    for j1 in range(J):
        u1 = torch.fft.ifft2(periodize(x_hat.unsqueeze(1) * bank.psi1[j1], 2**j1, 2)).abs()
        u1_hat = torch.fft.fft2(u1)
        order1.append(lowpass_2d(u1_hat, bank.phi[j1], 2 ** (J - j1), crop, shape))
        per_scale = []
        for i, j2 in enumerate(plan.second_order_scales(j1)):
            product = u1_hat.unsqueeze(2) * bank.psi2[j1][i]  # (B, L1, L2, m, n)
            u2 = torch.fft.ifft2(periodize(product, 2 ** (j2 - j1), 2)).abs()
            per_scale.append(lowpass_2d(torch.fft.fft2(u2), bank.phi[j2], 2 ** (J - j2), crop, shape))
        if per_scale:
            # channel order (theta1, j2, theta2) within this j1
            order2.append(torch.cat(per_scale, dim=2).reshape((B, -1) + shape))
    return torch.cat(order0 + order1 + order2, dim=1)


@lru_cache(maxsize=16)
def _cached_bank(plan: Plan2D, dtype: torch.dtype, device: torch.device) -> Bank2D:
    return build_bank_2d(plan, dtype, device)


def scattering2d(x: torch.Tensor, *, J: int, L: int = 8, max_order: int = 2, padding: str = "reflect") -> torch.Tensor:
    """Functional twin of :class:`scatlab.Scattering2D` (filters cached per dtype and device)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"scattering2d takes a torch.Tensor; got {type(x).__name__}. Use torch.as_tensor(x).")
    plan = plan_2d(tuple(x.shape[-2:]) if x.dim() >= 2 else (0, 0), J, L, max_order, padding)
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    return scattering2d_with_plan(x, plan, _cached_bank(plan, dtype, x.device))
