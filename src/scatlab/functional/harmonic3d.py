r"""3D solid harmonic scattering (Eickenberg et al., NeurIPS 2017; J. Chem. Phys. 2018).

With :math:`U[j,l]x = (\sum_m |x \star \psi_{j,l,m}|^2)^{1/2}` (rotation covariant, the modulus
taken over m) and :math:`U[j_1,j_2,l]x = U[j_2,l]\,U[j_1,l]x` for :math:`j_1 < j_2` (the same l),
the integral invariants are

.. math:: S[p, q]\,x = \sum_u |U[p]x(u)|^q,

for order 0 (:math:`U = x`, as :math:`|x|^q`), 1 and 2, scales j = 0 ... J and degrees
l = 0 ... L: Kymatio 0.3.0's ``HarmonicScattering3D(method='integral')`` plus order 0.

Per (order, scale), one block of components (the filters split into Hermitian parts, see
:mod:`scatlab.banks.harmonic3d`) is multiplied with the rfft of the signals on the filters' Fourier
support, and inverted there by three matrix products with the DFT matrices of the support (narrow
supports) or by one inverse FFT of the padded support (wide ones); the sum of squares over m is one
matrix product, and the integrals are taken block by block, without assembling the maps.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..runtime.threads import small_calls_on_one_thread
from ..banks.harmonic3d import Bank3D, Block, build_bank_3d
from ..plan.harmonic3d import OWNER, Plan3D, plan_3d
from ._inputs import batch_chunks, cached_bank, check_input, empty_output, twin_input

__all__ = ["harmonic_scattering3d", "harmonic_scattering3d_with_plan", "harmonic_maps3d_with_plan"]

CPU_BUDGET = 2**22  # elements of the largest intermediate (the K maps of a block) per batch chunk on CPU
# (A/B on a loaded 2-core machine: 2^22 1.2-1.7x faster than 2^18 on the QM9 grids, 2^24 slower)


class _RootOfSum(torch.autograd.Function):
    """sqrt(s) for s >= 0 with gradient g / (2 sqrt s), and 0 where s = 0 (no NaN)."""

    @staticmethod
    def forward(ctx, s):
        out = s.sqrt()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return torch.where(out > 0, grad / (2 * out).clamp_min(torch.finfo(out.dtype).tiny), torch.zeros_like(out))


def _inverse(z: torch.Tensor, block: Block, shape: tuple[int, int, int]) -> torch.Tensor:
    """The inverse real DFT (B, K, M, N, O) of the block's spectra z on its support: (B, K, n0, n1, n2)
    for products with the DFT matrices, (B, K, n2, n0, n1) (planes of the half axis) for FFTs."""
    M, N, O = shape
    if block.half is None:  # wide support: pad each plane, 2D FFTs of contiguous planes, then c2r
        B, K, n2, n0, n1 = z.shape
        if n0 < M:
            z = z.new_zeros((B, K, n2, M, n1)).index_copy_(3, block.index0, z)
        if n1 < N:
            z = z.new_zeros((B, K, n2, M, N)).index_copy_(4, block.index1, z)
        return torch.fft.irfft(torch.fft.ifftn(z, dim=(-2, -1)).permute(0, 1, 3, 4, 2), n=O, dim=-1)
    B, K, n0, n1, n2 = z.shape
    t = torch.bmm(block.cols.expand(B * K * n0, N, n1), z.reshape(B * K * n0, n1, n2))  # (B K n0, N, n2)
    t = torch.bmm(block.rows.expand(B * K, M, n0), t.reshape(B * K, n0, N * n2))  # (B K, M, N n2)
    # linear (x half^T) rather than mm (x half): MKL was up to 10x slower for a few of these shapes with mm
    return F.linear(torch.view_as_real(t).reshape(-1, 2 * n2), block.half).reshape(B, K, M, N, O)


def _squares(spectrum: torch.Tensor, block: Block, shape: tuple[int, int, int], second: bool) -> torch.Tensor:
    """sum over the components of each of the block's maps of (x * filter)^2, (B, G, M, N, O).

    ``spectrum`` (B, S, M, N, O//2+1): rfftn of the signals filtered (S = 1 at first order, the
    first-order maps at second order), read on the filters' support only."""
    M, N, _ = shape
    K, n0, n1 = len(block.filters), len(block.index0), len(block.index1)
    n2 = block.filters.numel() // (K * n0 * n1)
    z = spectrum[..., :n2]
    z = z if n0 == M else z.index_select(-3, block.index0)
    z = z if n1 == N else z.index_select(-2, block.index1)
    if block.half is None:  # the FFT layout: planes of the half axis, made contiguous before the product
        z = z.permute(0, 1, 4, 2, 3).contiguous()
    y = _inverse((z.index_select(1, block.sources) if second else z) * block.filters, block, shape)
    y = y.reshape(y.shape[0], K, -1)
    return torch.matmul(block.pool, y * y).reshape((y.shape[0], -1) + tuple(shape))


def _blocks(x: torch.Tensor, plan: Plan3D, bank: Bank3D):
    """(maps, U, U^2) per block, for x of shape (B, M, N, O): U (B, G, M, N, O) are the maps of
    the plan's paths ``maps`` (G,), first order then second order."""
    dims = (-3, -2, -1)
    spectrum = torch.fft.rfftn(x, dim=dims)[:, None]
    first = []
    for block in bank.first:
        s = _squares(spectrum, block, plan.shape, False)
        u = _RootOfSum.apply(s)
        first.append(u)
        yield block.maps, u, s
    if plan.max_order == 1 or plan.J == 0:
        return
    # the sources of the second order: the first-order maps of j1 < J (the first J blocks)
    spectrum = torch.fft.rfftn(torch.cat(first[: plan.J], 1), dim=dims)
    for block in bank.second:
        s = _squares(spectrum, block, plan.shape, True)
        u = _RootOfSum.apply(s)
        yield block.maps, u, s


class _PowerSum(torch.autograd.Function):
    """sum over the grid of u^q for u >= 0, (B, P, ...) -> (B, P), with gradient q u^(q-1) g, and 0
    where u = 0: for q < 1, u^q has a cusp there (0 is the subgradient of least norm, as for the
    modulus), where autograd's u.pow(q) gives inf, then inf * 0 = NaN through |x| or a sqrt."""

    @staticmethod
    def forward(ctx, u, q):
        ctx.q = q
        ctx.save_for_backward(u)
        return u.pow(q).flatten(2).sum(-1)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        q = ctx.q
        g = (q * grad).reshape(grad.shape + (1,) * (u.ndim - 2))
        if torch.is_grad_enabled():  # create_graph: differentiable, u^(q-1) evaluated at u > 0 only
            positive = u > 0
            return torch.where(positive, torch.where(positive, u, 1.0).pow(q - 1), 0.0) * g, None
        # u^(q-1) is +inf only at u = 0 for q < 1 (or where it overflows, which needs a subnormal u):
        # set to 0 in place, one pass instead of a mask and a select
        return torch.nan_to_num_(u.pow(q - 1), posinf=0.0).mul_(g), None


def _integrals(u: torch.Tensor, u2: torch.Tensor, powers: tuple[float, ...]) -> torch.Tensor:
    """sum_u U^q for every q: (B, P, ...) -> (B, P, len(powers)) (u2 = U^2 is given)."""
    sums = []
    for q in powers:
        if q in (1, 2, 3):
            sums.append((u if q == 1 else u2 if q == 2 else u * u2).flatten(2).sum(-1))
        else:
            sums.append(_PowerSum.apply(u, q))
    return torch.stack(sums, -1)


def _components_per_sample(plan: Plan3D, bank: Bank3D) -> int:
    return max(b.filters.shape[0] for b in bank.first + bank.second) * int(np.prod(plan.shape))


def _invariants(x: torch.Tensor, plan: Plan3D, bank: Bank3D) -> torch.Tensor:
    """(B, C) in the order of ``plan.table`` for x of shape (B, M, N, O)."""
    powers = plan.integral_powers
    order0 = _integrals(x.abs()[:, None], x.square()[:, None], powers).flatten(1)
    maps, sums = zip(*[(m, _integrals(u, s, powers)) for m, u, s in _blocks(x, plan, bank)])
    paths = torch.cat(sums, 1)[:, torch.cat(maps).argsort()]
    return torch.cat([order0, paths.flatten(1)], 1)


@small_calls_on_one_thread
def harmonic_scattering3d_with_plan(x: torch.Tensor, plan: Plan3D, bank: Bank3D) -> torch.Tensor:
    """Integral invariants (..., C) in the order of ``plan.table``."""
    check_input(x, OWNER, plan.shape)
    bank = bank.prepare(x.dtype)
    batch = x.shape[:-3]
    flat = x.reshape((-1,) + plan.shape)
    if flat.shape[0] == 0:
        return empty_output(x, batch + (plan.n_channels,))
    per_sample = _components_per_sample(plan, bank)
    outs = [_invariants(chunk, plan, bank) for chunk in batch_chunks(flat, per_sample, CPU_BUDGET)]
    return torch.cat(outs).reshape(batch + (plan.n_channels,))


@small_calls_on_one_thread
def harmonic_maps3d_with_plan(x: torch.Tensor, plan: Plan3D, bank: Bank3D) -> torch.Tensor:
    """Local maps U[p]x (..., P, M, N, O) in the order of ``plan.maps_table``."""
    check_input(x, OWNER, plan.shape)
    bank = bank.prepare(x.dtype)
    batch = x.shape[:-3]
    flat = x.reshape((-1,) + plan.shape)
    if flat.shape[0] == 0:
        return empty_output(x, batch + (len(plan.paths),) + plan.shape)
    per_sample = _components_per_sample(plan, bank)
    outs = []
    for chunk in batch_chunks(flat, per_sample, CPU_BUDGET):
        maps, u, _ = zip(*_blocks(chunk, plan, bank))
        outs.append(torch.cat(u, 1)[:, torch.cat(maps).argsort()])
    return torch.cat(outs).reshape(batch + (len(plan.paths),) + plan.shape)


def harmonic_scattering3d(x: torch.Tensor, *, J: int, L: int, sigma_0: float = 1.0, max_order: int = 2,
                          integral_powers=(0.5, 1.0, 2.0, 3.0)) -> torch.Tensor:
    """Functional twin of :class:`scatlab.HarmonicScattering3D` (filters cached per dtype and device)."""
    dtype = twin_input(x, "harmonic_scattering3d", 3, "(..., M, N, O)")
    plan = plan_3d(tuple(x.shape[-3:]), J, L, sigma_0, max_order, integral_powers)
    return harmonic_scattering3d_with_plan(x, plan, cached_bank(build_bank_3d, plan, dtype, x.device))
