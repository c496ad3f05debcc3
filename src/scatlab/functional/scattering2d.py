r"""The 2D scattering transform as pure torch functions of (input, plan, bank).

.. math::
    S_J x = \big(x\star\phi_J,\ |x\star\psi_{j_1,\theta_1}|\star\phi_J,\
    ||x\star\psi_{j_1,\theta_1}|\star\psi_{j_2,\theta_2}|\star\phi_J\big)_{j_1<j_2<J},

sampled every 2^J pixels (Bruna & Mallat, "Invariant scattering convolution networks", TPAMI 2013).
Each wavelet modulus is computed at the coarsest rate its bandwidth allows (2^{j}). The low-pass
phi_J is separable, so each averaging, subsampling and crop is two small real matrix products.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..filters.morlet2d import crop_fourier, morlet_bank_2d
from ..plan.twod import Plan2D, plan_2d
from ..errors import ShapeError
from ._fourier import batch_chunks, check_input, empty_output
from ._ops import apply_lowpass_2d, cast_complex, cast_real, filter_subsample_many, lowpass_matrix, modulus, significant_blocks

__all__ = ["Bank2D", "build_bank_2d", "scattering2d", "scattering2d_with_plan"]

CHUNK_ELEMENTS = 2**20  # complex elements of the largest intermediate per batch chunk
GROUP_ELEMENTS = 2**20  # complex elements of the second-order products per group of theta1


@dataclass(frozen=True)
class Bank2D:
    """Filters as the engine applies them (real tensors).

    ``psi1[j1]`` (L, M, N) and ``psi2[j1]`` (J-1-j1, L, M/2^j1, N/2^j1) are the Fourier transforms
    of the wavelets, divided by the number of periods folded when subsampling (4^j1, 4^(j2-j1)).
    ``rows[j]``, ``cols[j]`` are the low-pass matrices at resolution 2^-j (see lowpass_matrix).
    """

    psi1: tuple[torch.Tensor, ...]
    psi2: tuple[torch.Tensor, ...]
    rows: tuple[torch.Tensor, ...]
    cols: tuple[torch.Tensor, ...]
    # periods where each filter is not negligible (see significant_blocks): per j1, per (j1, j2)
    psi1_blocks: tuple
    psi2_blocks: tuple

    def blocks(self) -> tuple:
        return self.psi1_blocks, self.psi2_blocks

    def prepare(self, dtype: torch.dtype) -> "Bank2D":
        """The bank as the engine uses it for inputs of ``dtype``: complex wavelets, real matrices."""
        return Bank2D(
            cast_complex(self.psi1, dtype), cast_complex(self.psi2, dtype),
            cast_real(self.rows, dtype), cast_real(self.cols, dtype), *self.blocks(),
        )


def _separable_factors(phi_f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with phi_f = a[:, None] * b[None, :] (phi_J is an isotropic Gaussian)."""
    a, b = phi_f[:, 0], phi_f[0, :] / phi_f[0, 0]
    error = np.abs(np.outer(a, b) - phi_f).max() / np.abs(phi_f).max()
    if error > 1e-6:
        raise AssertionError(f"the low-pass filter is not separable (relative error {error:.1e})")
    return a, b


def build_bank_2d(plan: Plan2D, device=None) -> Bank2D:
    """Compute the filters of ``plan`` as float64 tensors (cast to the input's precision later)."""
    M, N = plan.padded_shape
    J = plan.J
    psi, phi = morlet_bank_2d(M, N, J, plan.L)

    def tensor(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64, device=device)

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
        a, b = _separable_factors(crop_fourier(phi, j))
        rows.append(tensor(lowpass_matrix(a, 2 ** (J - j), plan.crop, plan.output_shape[0])))
        cols.append(tensor(lowpass_matrix(b, 2 ** (J - j), plan.crop, plan.output_shape[1])))
    return Bank2D(
        tuple(map(tensor, psi1)), tuple(map(tensor, psi2)), tuple(rows), tuple(cols), psi1_blocks, psi2_blocks
    )


def _per_sample_elements(plan: Plan2D) -> int:
    M, N = plan.padded_shape
    largest = plan.L * M * N
    if plan.max_order >= 2 and plan.J > 1:
        largest = max(largest, plan.L * plan.L * (M // 2) * (N // 2))
    return largest


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


@lru_cache(maxsize=16)
def _cached_bank(plan: Plan2D, dtype: torch.dtype, device: torch.device) -> Bank2D:
    return build_bank_2d(plan, device).prepare(dtype)


def scattering2d(x: torch.Tensor, *, J: int, L: int = 8, max_order: int = 2, padding: str = "reflect") -> torch.Tensor:
    """Functional twin of :class:`scatlab.Scattering2D` (filters cached per dtype and device)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"scattering2d takes a torch.Tensor; got {type(x).__name__}. Use torch.as_tensor(x).")
    if x.dim() < 2:
        raise ShapeError(f"scattering2d takes images of shape (..., M, N); got a tensor of shape {tuple(x.shape)}.")
    plan = plan_2d(tuple(x.shape[-2:]), J, L, max_order, padding)
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    return scattering2d_with_plan(x, plan, _cached_bank(plan, dtype, x.device))
