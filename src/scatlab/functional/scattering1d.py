r"""The 1D scattering transform as pure torch functions of (input, plan, bank).

.. math::
    S_0 x = x\star\phi_T,\quad S_1 x(\lambda_1) = |x\star\psi_{\lambda_1}|\star\phi_T,\quad
    S_2 x(\lambda_1,\lambda_2) = ||x\star\psi_{\lambda_1}|\star\psi_{\lambda_2}|\star\phi_T,

computed in Fourier with subsampling as early as each filter's bandwidth allows
(Andén & Mallat, "Deep scattering spectrum", IEEE TSP 2014).
"""
from __future__ import annotations

import torch

from ..runtime.threads import small_calls_on_one_thread
from ..banks.scattering1d import Bank1D, build_bank_1d
from ..plan.scattering1d import Plan1D, plan_1d
from ._inputs import batch_chunks, cached_bank, check_input, empty_output, twin_input
from ._ops import filter_subsample, filter_subsample_many, modulus

__all__ = ["scattering1d", "scattering1d_with_plan"]

CHUNK_ELEMENTS = 2**20  # complex elements of the largest intermediate per batch chunk (CPU)


def _per_sample_elements(plan: Plan1D) -> int:
    sizes = [(g.stop - g.start) * plan.padded_length for g in plan.groups]
    for g in plan.groups:
        n = plan.padded_length // 2**g.k1
        sizes += [(g.stop - g.start) * (b.stop - b.start) * n for b in g.blocks]
    return max(sizes)


@small_calls_on_one_thread
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


def scattering1d(x: torch.Tensor, *, J: int, Q=1, T=None, max_order: int = 2, padding: str = "reflect",
                 normalize: str = "kymatio") -> torch.Tensor:
    """Functional twin of :class:`scatlab.Scattering1D` (filters cached per dtype and device)."""
    dtype = twin_input(x, "scattering1d", 1, "(..., N)")
    plan = plan_1d(x.shape[-1], J, Q, T, max_order, padding, normalize)
    return scattering1d_with_plan(x, plan, cached_bank(build_bank_1d, plan, dtype, x.device))
