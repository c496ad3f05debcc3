r"""The 1D scattering transform as pure torch functions of (input, plan, bank).

.. math::
    S_0 x = x\star\phi_T,\quad S_1 x(\lambda_1) = |x\star\psi_{\lambda_1}|\star\phi_T,\quad
    S_2 x(\lambda_1,\lambda_2) = ||x\star\psi_{\lambda_1}|\star\psi_{\lambda_2}|\star\phi_T,

computed in Fourier with subsampling as early as each filter's bandwidth allows
(Andén & Mallat, "Deep scattering spectrum", IEEE TSP 2014).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..filters.morlet1d import gaussian_fourier_1d, morlet_fourier_1d, periodize_fourier
from ..plan.oned import Plan1D, plan_1d
from ..errors import ShapeError
from ._fourier import batch_chunks, check_input, empty_output
from ._ops import cast_complex, filter_subsample, filter_subsample_many, modulus, significant_blocks

__all__ = ["Bank1D", "build_bank_1d", "scattering1d", "scattering1d_with_plan"]

CHUNK_ELEMENTS = 2**20  # complex elements of the largest intermediate per batch chunk (CPU)


@dataclass(frozen=True)
class Bank1D:
    """Filters in Fourier as the engine applies them (real tensors), each divided by the number of
    periods folded when its output is subsampled (so a fold-sum is a periodization-mean).

    ``phi[k]`` (length padded_length / 2^k) is the low-pass at level k, divided by 2^(log2_T - k);
    ``psi1[g]`` (F1, padded_length) the first-order wavelets of group g, divided by 2^k1;
    ``psi2[g]`` (F2, padded_length / 2^k1) its second-order wavelets at level k1, divided by 2^k2.
    """

    phi: tuple[torch.Tensor, ...]
    psi1: tuple[torch.Tensor, ...]
    psi2: tuple[torch.Tensor, ...]
    # periods where each filter is not negligible (see significant_blocks): per level, per group,
    # and per group and second-order block
    phi_blocks: tuple
    psi1_blocks: tuple
    psi2_blocks: tuple

    def blocks(self) -> tuple:
        return self.phi_blocks, self.psi1_blocks, self.psi2_blocks

    def prepare(self, dtype: torch.dtype) -> "Bank1D":
        """The bank as the engine uses it for inputs of ``dtype``: complex filters of that precision."""
        return Bank1D(*(cast_complex(f, dtype) for f in (self.phi, self.psi1, self.psi2)), *self.blocks())


def build_bank_1d(plan: Plan1D, device=None) -> Bank1D:
    """Compute the filters of ``plan`` as float64 tensors (cast to the input's precision later).

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

    def tensor(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64, device=device)

    return Bank1D(
        tuple(map(tensor, phi)), tuple(map(tensor, psi1)), tuple(map(tensor, psi2)),
        phi_blocks, tuple(psi1_blocks), tuple(psi2_blocks),
    )


def _per_sample_elements(plan: Plan1D) -> int:
    sizes = [(g.stop - g.start) * plan.padded_length for g in plan.groups]
    for g in plan.groups:
        n = plan.padded_length // 2**g.k1
        sizes += [(g.stop - g.start) * (b.stop - b.start) * n for b in g.blocks]
    return max(sizes)


def scattering1d_with_plan(x: torch.Tensor, plan: Plan1D, bank: Bank1D) -> torch.Tensor:
    """Scattering coefficients of x (..., length) as (..., n_channels, output_length)."""
    check_input(x, "Scattering1D", (plan.length,))
    bank = bank.prepare(x.dtype)
    batch_shape = x.shape[:-1]
    flat = x.reshape(-1, plan.length)
    if flat.shape[0] == 0:
        return empty_output(x, batch_shape + (plan.n_channels, plan.output_length))
    if plan.padding == "reflect":
        index = torch.as_tensor(plan.pad_index, device=x.device)
        flat = flat.index_select(-1, index)
    chunks = batch_chunks(flat, _per_sample_elements(plan), CHUNK_ELEMENTS)
    out = torch.cat([_scatter(chunk, plan, bank) for chunk in chunks], dim=0)
    return out.reshape(batch_shape + out.shape[-2:])


def _phi(bank: Bank1D, k: int, k_out: int) -> tuple:
    """The low-pass phi at level k, as a filter_subsample_many spec down to level k_out."""
    return bank.phi[k], 2 ** (k_out - k), bank.phi_blocks[k]


def _real_crop(y: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """The real signal of Hermitian spectrum y, cropped to [start, stop)."""
    n = y.shape[-1]
    return torch.fft.irfft(y[..., : n // 2 + 1], n=n)[..., start:stop]


def _scatter(x: torch.Tensor, plan: Plan1D, bank: Bank1D) -> torch.Tensor:
    """x: (B, padded_length) real. Returns (B, n_channels, output_length).

    Each spectrum feeds all its filters through one filter_subsample_many: x_hat the low-pass and
    every first-order group, |x * psi_{lambda1}|^ the low-pass and every second-order block.
    """
    B = x.shape[0]
    k_out = plan.log2_T
    start, stop = plan.start[k_out], plan.stop[k_out]
    x_hat = torch.fft.fft(x).unsqueeze(1)  # (B, 1, N)
    specs = [_phi(bank, 0, k_out)] + [(bank.psi1[i], 2**g.k1, bank.psi1_blocks[i]) for i, g in enumerate(plan.groups)]
    outputs = filter_subsample_many(x_hat, specs)
    order0 = _real_crop(next(outputs), start, stop)
    order1, order2 = [], []
    for i, g in enumerate(plan.groups):
        # |x * psi_{lambda1}| for the wavelets of scale j1, subsampled by 2^k1
        u1_hat = torch.fft.fft(modulus(torch.fft.ifft(next(outputs)))).unsqueeze(2)  # (B, n1, 1, N / 2^k1)
        specs = [_phi(bank, g.k1, k_out)] + [
            (bank.psi2[i][b.start - g.n2_start: b.stop - g.n2_start], 2**b.k2, periods)
            for b, periods in zip(g.blocks, bank.psi2_blocks[i])]
        second = filter_subsample_many(u1_hat, specs)
        order1.append(_real_crop(next(second).squeeze(2), start, stop))
        blocks = []
        for b in g.blocks:
            k = g.k1 + b.k2
            u2_hat = torch.fft.fft(modulus(torch.fft.ifft(next(second))))
            blocks.append(_real_crop(filter_subsample(u2_hat, *_phi(bank, k, k_out)), start, stop))
        if blocks:
            order2.append(torch.cat(blocks, dim=2).reshape(B, -1, stop - start))
    return torch.cat([order0] + order1 + order2, dim=1)


@lru_cache(maxsize=16)
def _cached_bank(plan: Plan1D, dtype: torch.dtype, device: torch.device) -> Bank1D:
    return build_bank_1d(plan, device).prepare(dtype)


def scattering1d(x: torch.Tensor, *, J: int, Q=1, T=None, max_order: int = 2, padding: str = "reflect",
                 normalize: str = "kymatio") -> torch.Tensor:
    """Functional twin of :class:`scatlab.Scattering1D` (filters cached per dtype and device)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"scattering1d takes a torch.Tensor; got {type(x).__name__}. Use torch.as_tensor(x).")
    if x.dim() < 1:
        raise ShapeError("scattering1d takes signals of shape (..., N); got a 0-dimensional tensor.")
    plan = plan_1d(x.shape[-1], J, Q, T, max_order, padding, normalize)
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    return scattering1d_with_plan(x, plan, _cached_bank(plan, dtype, x.device))
