r"""3D solid harmonic scattering (Eickenberg et al., NeurIPS 2017; J. Chem. Phys. 2018).

With :math:`U[j,l]x = (\sum_m |x \star \psi_{j,l,m}|^2)^{1/2}` (rotation covariant, the modulus
taken over m) and :math:`U[j_1,j_2,l]x = U[j_2,l]\,U[j_1,l]x` for :math:`j_1 < j_2` (the same l),
the integral invariants are

.. math:: S[p, q]\,x = \sum_u |U[p]x(u)|^q,

for order 0 (:math:`U = x`, as :math:`|x|^q`), 1 and 2, scales j = 0 ... J and degrees
l = 0 ... L: Kymatio 0.3.0's ``HarmonicScattering3D(method='integral')`` plus order 0.

All convolutions are real FFTs (the filters are split into Hermitian parts, see
:mod:`scatlab.banks.harmonic3d`); per order, one batched inverse FFT per scale computes all the
paths of that scale at once (on the filters' Fourier support only), and the sum over m is one
``index_add``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..runtime.threads import small_calls_on_one_thread
from ..banks.harmonic3d import Bank3D, build_bank_3d
from ..plan.harmonic3d import OWNER, Plan3D, plan_3d
from ._inputs import batch_chunks, cached_bank, check_input, empty_output, twin_input

__all__ = ["harmonic_scattering3d", "harmonic_scattering3d_with_plan", "harmonic_maps3d_with_plan"]

CPU_BUDGET = 2**18  # elements of the largest intermediate per batch chunk on CPU (measured at 32x24x20,
# L=2: 2^18, i.e. one signal at a time, 29 ms per signal; 2^24: 92 ms, out of the caches)


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


def _sum_of_squares(spectrum, blocks, n_groups, shape, second: bool):
    """sum over the components of each group of (x * filter)^2, (B, n_groups, M, N, O).

    ``spectrum`` (B, S, M, N, O//2+1): rfftn of the signals filtered (S = 1 at first order, the
    first-order maps at second order). Per block, the product is formed on the filters' Fourier
    support only, and the inverse FFT runs axis by axis on the non-zero lines (zero padding between).
    """
    M, N, O = shape
    out = spectrum.real.new_zeros((spectrum.shape[0], n_groups) + tuple(shape))
    for b in blocks:
        z = spectrum if len(b.index0) == M else spectrum.index_select(-3, b.index0)
        z = (z if len(b.index1) == N else z.index_select(-2, b.index1))[..., : b.filters.shape[-1]]
        z = (z[:, b.sources] if second else z) * b.filters
        if len(b.index0) < M:
            z = z.new_zeros(z.shape[:2] + (M,) + z.shape[3:]).index_copy_(2, b.index0, z)
        z = torch.fft.ifft(z, dim=-3)
        if len(b.index1) < N:
            z = z.new_zeros(z.shape[:3] + (N,) + z.shape[4:]).index_copy_(3, b.index1, z)
        y = torch.fft.irfft(torch.fft.ifft(z, dim=-2), n=O, dim=-1)
        out.index_add_(1, b.groups, y * y)
    return out


def _maps(x: torch.Tensor, plan: Plan3D, bank: Bank3D) -> tuple[torch.Tensor, torch.Tensor]:
    """(U, U^2) of every path, (B, P, M, N, O), for x of shape (B, M, N, O)."""
    dims = (-3, -2, -1)
    n1 = (plan.J + 1) * (plan.L + 1)
    s1 = _sum_of_squares(torch.fft.rfftn(x, dim=dims)[:, None], bank.first, n1, plan.shape, False)
    u1 = _RootOfSum.apply(s1)
    if plan.max_order == 1:
        return u1, s1
    n2 = len(plan.paths) - n1
    s2 = _sum_of_squares(torch.fft.rfftn(u1, dim=dims), bank.second, n2, plan.shape, True)
    return torch.cat([u1, _RootOfSum.apply(s2)], 1), torch.cat([s1, s2], 1)


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
    """sum_u U^q for every q: (B, P) -> (B, P * len(powers)), q fastest (u2 = U^2 is given)."""
    sums = []
    for q in powers:
        if q in (1, 2, 3):
            sums.append((u if q == 1 else u2 if q == 2 else u * u2).flatten(2).sum(-1))
        else:
            sums.append(_PowerSum.apply(u, q))
    return torch.stack(sums, -1).flatten(1)


def _components_per_sample(plan: Plan3D, bank: Bank3D) -> int:
    count = lambda blocks: sum(b.filters.shape[0] for b in blocks)
    return max(count(bank.first), count(bank.second)) * int(np.prod(plan.shape))


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
    outs = []
    for chunk in batch_chunks(flat, per_sample, CPU_BUDGET):
        u, u2 = _maps(chunk, plan, bank)
        order0 = _integrals(chunk.abs()[:, None], chunk.square()[:, None], plan.integral_powers)
        outs.append(torch.cat([order0, _integrals(u, u2, plan.integral_powers)], 1))
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
    outs = [_maps(chunk, plan, bank)[0] for chunk in batch_chunks(flat, per_sample, CPU_BUDGET)]
    return torch.cat(outs).reshape(batch + (len(plan.paths),) + plan.shape)


def harmonic_scattering3d(x: torch.Tensor, *, J: int, L: int, sigma_0: float = 1.0, max_order: int = 2,
                          integral_powers=(0.5, 1.0, 2.0, 3.0)) -> torch.Tensor:
    """Functional twin of :class:`scatlab.HarmonicScattering3D` (filters cached per dtype and device)."""
    dtype = twin_input(x, "harmonic_scattering3d", 3, "(..., M, N, O)")
    plan = plan_3d(tuple(x.shape[-3:]), J, L, sigma_0, max_order, integral_powers)
    return harmonic_scattering3d_with_plan(x, plan, cached_bank(build_bank_3d, plan, dtype, x.device))
