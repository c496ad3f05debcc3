"""The solid harmonic filters of 3D scattering laid out for its engine (:mod:`scatlab.functional.harmonic3d`).

Every filter is split into Hermitian parts (:func:`~scatlab.filters.solid_harmonic.hermitian_parts`),
so that all convolutions have real outputs; the parts of one (order, scale) form a :class:`Block`,
cropped in Fourier to where they are not negligible. A block whose support is narrow enough is
inverted by matrix products with the DFT matrices of its support (:func:`dft_matrices`), which
skip the zeros outside it; the others by FFTs of the zero-padded support (:func:`use_products`).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from ..filters.solid_harmonic import hermitian_parts, solid_harmonic_fourier
from ..plan.harmonic3d import Plan3D
from ._base import COMPLEX, REAL, Bank, applied_as, as_tensor

__all__ = ["Block", "Bank3D", "build_bank_3d", "dft_matrices", "use_products"]

NEGLIGIBLE = 1e-7  # a Hermitian part below this fraction of its filter's peak is dropped
PRUNE = 1e-10  # frequencies where a block's filters stay below this fraction of their peak are skipped
FFT_COST = 12.5  # multiply-adds of a matrix product that take as long as one n log2 n unit of an inverse
# 3D FFT (measured on one core: see use_products)


@dataclasses.dataclass(frozen=True)
class Block(Bank):
    """Filters of one scale and order, cropped in Fourier to where they are not negligible.

    ``filters`` (K, n0, n1, n2): the components at frequencies ``index0`` x ``index1`` x [0, n2) of
    the rfft half grid, laid out (K, n2, n0, n1) where the block is inverted by FFTs (planes of
    the half axis, so that the 2D inverse FFTs of the first two axes read contiguous planes); ``pool`` (G, K): 1 where component k belongs to the block's map g, whose
    place in the plan's paths is ``maps[g]``; ``sources`` (K,): the first-order map a component
    filters (second order only, else empty). ``rows`` (M, n0), ``cols`` (N, n1) and ``half``
    (O, 2 n2): the inverse DFT restricted to the support (:func:`dft_matrices`), or None where the
    block is inverted by FFTs.
    """

    filters: torch.Tensor = applied_as(COMPLEX)
    index0: torch.Tensor
    index1: torch.Tensor
    pool: torch.Tensor = applied_as(REAL)
    maps: torch.Tensor
    sources: torch.Tensor
    rows: torch.Tensor | None = applied_as(COMPLEX)
    cols: torch.Tensor | None = applied_as(COMPLEX)
    half: torch.Tensor | None = applied_as(REAL)


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


def dft_matrices(shape: tuple[int, int, int], index0: np.ndarray, index1: np.ndarray, n2: int):
    r"""The inverse real 3D DFT of a spectrum supported on ``index0`` x ``index1`` x [0, n2) of the
    rfft half grid, as three factors: ``rows`` (M, n0) :math:`e^{2\pi i k u / M}`, ``cols`` (N, n1)
    the same along the second axis, and ``half`` (O, 2 n2), real, the last axis with the real and
    imaginary parts of each frequency k interleaved (columns 2k, 2k+1): :math:`c_k \cos(2\pi k u / O)
    / (M N O)` and :math:`-c_k \sin(2\pi k u / O) / (M N O)`, c_k = 1 at k = 0 and at the Nyquist
    frequency O / 2, else 2 (the conjugate half), as ``torch.fft.irfftn``."""
    M, N, O = shape
    rows = np.exp(2j * np.pi * np.outer(np.arange(M), index0) / M)
    cols = np.exp(2j * np.pi * np.outer(np.arange(N), index1) / N)
    k = np.arange(n2)
    c = np.where((k == 0) | (2 * k == O), 1.0, 2.0)[:, None]
    angle = 2 * np.pi * np.outer(k, np.arange(O)) / O
    half = np.stack([c * np.cos(angle), -c * np.sin(angle)], 1).reshape(2 * n2, O).T / (M * N * O)
    return rows, cols, half


def use_products(shape: tuple[int, int, int], K: int, n0: int, n1: int, n2: int) -> bool:
    """Whether the K components of a block on an n0 x n1 x n2 support are inverted faster by the
    products with :func:`dft_matrices` than by FFTs on the padded grid: their multiply-adds (complex
    ones count 4) against FFT_COST times K M N O log2(M N O). FFT_COST: on one core (float32),
    products of 1.27e9 multiply-adds took 25 ms, 15 inverse FFTs of 64^3 points (7.1e7 units) 17 ms.
    With it, the A/B of the whole transform: faster than all-products or all-FFTs on 64^3 and than
    all-FFTs on the QM9 grids, where it nearly always picks products."""
    M, N, O = shape
    products = K * (4 * n0 * n1 * N * n2 + 4 * M * n0 * N * n2 + 2 * M * N * n2 * O)
    return products < FFT_COST * K * M * N * O * np.log2(M * N * O)


def _block(shape, filters: np.ndarray, counts, maps, sources) -> Block:
    mag = np.abs(filters)
    i0 = _support(mag.max(axis=(0, 2, 3)), mag.shape[1], False)
    i1 = _support(mag.max(axis=(0, 1, 3)), mag.shape[2], False)
    i2 = _support(mag.max(axis=(0, 1, 2)), mag.shape[3], True)
    cropped = filters[:, i0][:, :, i1][..., i2]
    pool = np.repeat(np.eye(len(counts)), counts, axis=1)  # (G, K)
    long = lambda v: as_tensor(np.asarray(v, dtype=np.int64))  # noqa: E731
    matrices = (None,) * 3
    if use_products(shape, len(filters), len(i0), len(i1), len(i2)):
        matrices = tuple(as_tensor(a) for a in dft_matrices(shape, i0, i1, len(i2)))
    else:
        cropped = cropped.transpose(0, 3, 1, 2)
    return Block(as_tensor(cropped), long(i0), long(i1), as_tensor(pool), long(maps), long(sources), *matrices)


def build_bank_3d(plan: Plan3D, device=None) -> Bank3D:
    """The complex128 filters of ``plan``, one block per (order, scale) (cast by :meth:`Bank.prepare`)."""
    index1 = {(j, l): i for i, (o, j, _, l) in enumerate(plan.paths) if o == 1}
    parts: dict[tuple[int, int], list] = {}
    for g, (order, j1, j2, l) in enumerate(plan.paths):
        j = j1 if order == 1 else j2
        comps = _components(plan.shape, plan.sigma_0 * 2**j, l)
        filters, counts, maps, sources = parts.setdefault((order, j), ([], [], [], []))
        filters.append(comps)
        counts.append(len(comps))
        maps.append(g)
        sources += [] if order == 1 else [index1[j1, l]] * len(comps)
    blocks = {key: _block(plan.shape, np.concatenate(f), c, m, s) for key, (f, c, m, s) in sorted(parts.items())}
    bank = Bank3D(*(tuple(b for (o, _), b in blocks.items() if o == order) for order in (1, 2)))
    return bank if device is None else bank.with_tensors(t.to(device) for _, t in bank.named_tensors())
