r"""3D solid harmonic scattering (Eickenberg et al., NeurIPS 2017; J. Chem. Phys. 2018).

With :math:`U[j,l]x = (\sum_m |x \star \psi_{j,l,m}|^2)^{1/2}` (rotation covariant, the modulus
taken over m) and :math:`U[j_1,j_2,l]x = U[j_2,l]\,U[j_1,l]x` for :math:`j_1 < j_2` (the same l),
the integral invariants are

.. math:: S[p, q]\,x = \sum_u |U[p]x(u)|^q,

for order 0 (:math:`U = x`, as :math:`|x|^q`), 1 and 2, scales j = 0 ... J and degrees
l = 0 ... L: Kymatio 0.3.0's ``HarmonicScattering3D(method='integral')`` plus order 0.

Every filter is split into Hermitian parts (``filters.solid_harmonic.hermitian_parts``), so that
all convolutions are real FFTs; per order, one batched inverse FFT per scale computes all the
paths of that scale at once (on the filters' Fourier support only), and the sum over m is one
``index_add``.
"""
from __future__ import annotations

import dataclasses
import functools
import numbers

import numpy as np
import torch

from .._validation import check_int, check_shape
from ..errors import parameter_error
from ..filters.solid_harmonic import hermitian_parts, solid_harmonic_fourier
from ..plan.table import ChannelTable
from ._fourier import batch_chunks, check_input, empty_output

__all__ = ["Plan3D", "plan_3d", "Block", "Bank3D", "build_bank_3d", "harmonic_scattering3d", "harmonic_maps3d"]

OWNER = "HarmonicScattering3D"
NEGLIGIBLE = 1e-7  # a Hermitian part below this fraction of its filter's peak is dropped
PRUNE = 1e-10  # frequencies where a block's filters stay below this fraction of their peak are skipped
CPU_BUDGET = 2**18  # elements of the largest intermediate per batch chunk on CPU (measured at 32x24x20,
# L=2: 2^18, i.e. one signal at a time, 29 ms per signal; 2^24: 92 ms, out of the caches)


@dataclasses.dataclass(frozen=True)
class Plan3D:
    """Parameters, paths and channel tables (torch-free)."""

    shape: tuple[int, int, int]
    J: int
    L: int
    sigma_0: float
    max_order: int
    integral_powers: tuple[float, ...]

    @functools.cached_property
    def paths(self) -> tuple[tuple[int, int, int, int], ...]:
        """(order, j1, j2, l) of every map U[p], orders 1 then 2, by (j1[, j2]) then l (Kymatio's order)."""
        ls = range(self.L + 1)
        first = [(1, j, -1, l) for j in range(self.J + 1) for l in ls]
        second = [(2, j1, j2, l) for j1 in range(self.J + 1) for j2 in range(j1 + 1, self.J + 1) for l in ls]
        return tuple(first + (second if self.max_order == 2 else []))

    @functools.cached_property
    def maps_table(self) -> ChannelTable:
        cols = list(zip(*self.paths))
        return ChannelTable(dict(order=cols[0], j1=cols[1], j2=cols[2], l=cols[3]))

    @functools.cached_property
    def table(self) -> ChannelTable:
        """Integral channels: order 0 by q, then every path of ``paths`` by q."""
        rows = [(0, -1, -1, -1, q) for q in self.integral_powers]
        rows += [(o, j1, j2, l, q) for (o, j1, j2, l) in self.paths for q in self.integral_powers]
        cols = list(zip(*rows))
        return ChannelTable(dict(order=cols[0], j1=cols[1], j2=cols[2], l=cols[3], q=np.asarray(cols[4], float)))

    @property
    def n_channels(self) -> int:
        return len(self.table)


def plan_3d(shape, J, L, sigma_0, max_order, integral_powers) -> Plan3D:
    """Validate the parameters (clear errors) and build the plan."""
    shape = check_shape(OWNER, shape, 3)
    if min(shape) < 2:
        raise parameter_error(OWNER, "shape", "a tuple of 3 ints, each at least 2", shape)
    J = check_int(OWNER, "J", J, 0, 10)
    L = check_int(OWNER, "L", L, 0, 12)
    max_order = check_int(OWNER, "max_order", max_order, 1, 2)
    if isinstance(sigma_0, bool) or not isinstance(sigma_0, numbers.Real) or not 0 < sigma_0 < np.inf:
        raise parameter_error(OWNER, "sigma_0", "a positive finite number (pixels)", sigma_0)
    try:
        powers = tuple(float(q) for q in integral_powers)
    except (TypeError, ValueError):
        raise parameter_error(OWNER, "integral_powers", "a sequence of positive numbers", integral_powers) from None
    if not powers or any(not 0 < q < np.inf for q in powers):
        raise parameter_error(OWNER, "integral_powers", "a non-empty sequence of positive numbers", integral_powers)
    return Plan3D(shape, J, L, float(sigma_0), max_order, powers)


@dataclasses.dataclass(frozen=True)
class Block:
    """Filters of one scale and order, cropped in Fourier to where they are not negligible.

    ``filters`` (K, n0, n1, n2): the components at frequencies ``index0`` x ``index1`` x [0, n2) of
    the rfft half grid; ``groups`` (K,): the map each component's square adds to; ``sources`` (K,):
    the first-order map it filters (second order only, else empty).
    """

    filters: torch.Tensor
    index0: torch.Tensor
    index1: torch.Tensor
    groups: torch.Tensor
    sources: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.filters, self.index0, self.index1, self.groups, self.sources)


@dataclasses.dataclass(frozen=True)
class Bank3D:
    """The filters as blocks, first order (one per scale j) then second order (one per j2)."""

    first: tuple[Block, ...]
    second: tuple[Block, ...]

    def prepare(self, dtype: torch.dtype) -> Bank3D:
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        cast = lambda blocks: tuple(dataclasses.replace(b, filters=b.filters.to(cdtype)) for b in blocks)
        return Bank3D(cast(self.first), cast(self.second))


@functools.lru_cache(maxsize=8)
def _components(shape: tuple[int, int, int], sigma: float, l: int) -> np.ndarray:
    """Hermitian components (K, M, N, O//2+1) of the 2l+1 wavelets: non-negligible parts only."""
    a, b = hermitian_parts(solid_harmonic_fourier(shape, sigma, l))
    peak = np.abs(a).max()
    keep = [a[m] for m in range(len(a))] + [b[m] for m in range(len(b)) if np.abs(b[m]).max() > NEGLIGIBLE * peak]
    return np.stack(keep)[..., : shape[2] // 2 + 1]


def _support(profile: np.ndarray, n: int, half: bool) -> np.ndarray:
    """Frequency indices (FFT order) where a filter's profile along one axis exceeds PRUNE of its peak:
    [0, c] and [n - c, n) for the largest such |k| = c (the whole axis when they meet)."""
    k = np.nonzero(profile > PRUNE * profile.max())[0]
    c = int(np.max(np.minimum(k, n - k))) if not half else int(k.max())
    if half:
        return np.arange(c + 1)
    return np.arange(n) if 2 * c + 1 >= n else np.concatenate([np.arange(c + 1), np.arange(n - c, n)])


def _block(filters: np.ndarray, groups, sources) -> Block:
    mag = np.abs(filters)
    i0 = _support(mag.max(axis=(0, 2, 3)), mag.shape[1], False)
    i1 = _support(mag.max(axis=(0, 1, 3)), mag.shape[2], False)
    i2 = _support(mag.max(axis=(0, 1, 2)), mag.shape[3], True)
    cropped = filters[:, i0][:, :, i1][..., i2]
    long = lambda v: torch.as_tensor(np.asarray(v, dtype=np.int64))
    return Block(torch.from_numpy(np.ascontiguousarray(cropped)), long(i0), long(i1), long(groups), long(sources))


def build_bank_3d(plan: Plan3D) -> Bank3D:
    """The float64 filter bank of a plan: one block per (order, scale)."""
    index1 = {(j, l): i for i, (o, j, _, l) in enumerate(plan.paths) if o == 1}
    parts: dict[tuple[int, int], list] = {}
    for g, (order, j1, j2, l) in enumerate(plan.paths):
        j = j1 if order == 1 else j2
        comps = _components(plan.shape, plan.sigma_0 * 2**j, l)
        filters, groups, sources = parts.setdefault((order, j), ([], [], []))
        filters.append(comps)
        groups += [g if order == 1 else g - len(index1)] * len(comps)
        sources += [] if order == 1 else [index1[j1, l]] * len(comps)
    blocks = {key: _block(np.concatenate(f), g, s) for key, (f, g, s) in sorted(parts.items())}
    return Bank3D(*(tuple(b for (o, _), b in blocks.items() if o == order) for order in (1, 2)))


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


def _integrals(u: torch.Tensor, u2: torch.Tensor, powers: tuple[float, ...]) -> torch.Tensor:
    """sum_u U^q for every q: (B, P) -> (B, P * len(powers)), q fastest."""
    sums = []
    for q in powers:
        v = u2 if q == 2 else u if q == 1 else u * u2 if q == 3 else u.pow(q)
        sums.append(v.flatten(2).sum(-1))
    return torch.stack(sums, -1).flatten(1)


def _components_per_sample(plan: Plan3D, bank: Bank3D) -> int:
    count = lambda blocks: sum(b.filters.shape[0] for b in blocks)
    return max(count(bank.first), count(bank.second)) * int(np.prod(plan.shape))


def harmonic_scattering3d(x: torch.Tensor, plan: Plan3D, bank: Bank3D) -> torch.Tensor:
    """Integral invariants (..., C) in the order of ``plan.table`` (bank prepared for x's dtype)."""
    check_input(x, OWNER, plan.shape)
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


def harmonic_maps3d(x: torch.Tensor, plan: Plan3D, bank: Bank3D) -> torch.Tensor:
    """Local maps U[p]x (..., P, M, N, O) in the order of ``plan.maps_table``."""
    check_input(x, OWNER, plan.shape)
    batch = x.shape[:-3]
    flat = x.reshape((-1,) + plan.shape)
    if flat.shape[0] == 0:
        return empty_output(x, batch + (len(plan.paths),) + plan.shape)
    per_sample = _components_per_sample(plan, bank)
    outs = [_maps(chunk, plan, bank)[0] for chunk in batch_chunks(flat, per_sample, CPU_BUDGET)]
    return torch.cat(outs).reshape(batch + (len(plan.paths),) + plan.shape)
