"""The solid harmonic filters of 3D scattering laid out for its engine (:mod:`scatlab.functional.harmonic3d`).

Every filter is split into Hermitian parts (:func:`~scatlab.filters.solid_harmonic.hermitian_parts`),
so that all convolutions are real FFTs; the parts of one (order, scale) form a :class:`Block`,
cropped in Fourier to where they are not negligible.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from ..filters.solid_harmonic import hermitian_parts, solid_harmonic_fourier
from ..plan.harmonic3d import Plan3D
from ._base import COMPLEX, Bank, applied_as, as_tensor

__all__ = ["Block", "Bank3D", "build_bank_3d"]

NEGLIGIBLE = 1e-7  # a Hermitian part below this fraction of its filter's peak is dropped
PRUNE = 1e-10  # frequencies where a block's filters stay below this fraction of their peak are skipped


@dataclasses.dataclass(frozen=True)
class Block(Bank):
    """Filters of one scale and order, cropped in Fourier to where they are not negligible.

    ``filters`` (K, n0, n1, n2): the components at frequencies ``index0`` x ``index1`` x [0, n2) of
    the rfft half grid; ``groups`` (K,): the map each component's square adds to; ``sources`` (K,):
    the first-order map it filters (second order only, else empty).
    """

    filters: torch.Tensor = applied_as(COMPLEX)
    index0: torch.Tensor
    index1: torch.Tensor
    groups: torch.Tensor
    sources: torch.Tensor


@dataclasses.dataclass(frozen=True)
class Bank3D(Bank):
    """The filters as blocks, first order (one per scale j) then second order (one per j2)."""

    first: tuple[Block, ...]
    second: tuple[Block, ...]


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
    long = lambda v: as_tensor(np.asarray(v, dtype=np.int64))  # noqa: E731
    return Block(as_tensor(cropped), long(i0), long(i1), long(groups), long(sources))


def build_bank_3d(plan: Plan3D, device=None) -> Bank3D:
    """The complex128 filters of ``plan``, one block per (order, scale) (cast by :meth:`Bank.prepare`)."""
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
    bank = Bank3D(*(tuple(b for (o, _), b in blocks.items() if o == order) for order in (1, 2)))
    return bank if device is None else bank.with_tensors(t.to(device) for _, t in bank.named_tensors())
