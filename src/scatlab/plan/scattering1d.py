"""The plan of a 1D scattering transform: padding, subsampling schedule, path groups, channels.

Torch-free and cached: computed once from the validated parameters. The paths are grouped so the
engine runs one batched product and one inverse FFT per group, not per path:

- order 1: one group per first-order scale j1 (all wavelets sharing it, contiguous in n1);
- order 2: inside each group, one block per second-order subsampling k2 (contiguous in n2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._validation import check_choice, check_int, check_shape
from ..errors import InvalidParameterError, ShapeError, parameter_error
from ..filters.morlet1d import (
    SIGMA0,
    MorletParams1D,
    gaussian_fourier_1d,
    lowpass_half_support,
    morlet_params_1d,
)
from .padding import reflect_indices
from .table import ChannelTable

__all__ = ["Plan1D", "plan_1d", "PADDINGS", "NORMALIZATIONS_1D"]

OWNER = "Scattering1D"
PADDINGS = ("reflect", "periodic")
NORMALIZATIONS_1D = ("kymatio", "resolution")


@dataclass(frozen=True)
class Block2:
    """Second-order wavelets n2 in [start, stop) with the same extra subsampling 2^k2."""

    k2: int
    start: int
    stop: int


@dataclass(frozen=True)
class Group1:
    """First-order wavelets n1 in [start, stop) of scale j1, computed at subsampling 2^k1."""

    j1: int
    k1: int
    start: int
    stop: int
    blocks: tuple[Block2, ...]

    @property
    def n2_start(self) -> int:
        return self.blocks[0].start if self.blocks else 0

    @property
    def n2_stop(self) -> int:
        return self.blocks[-1].stop if self.blocks else 0


@dataclass(frozen=True)
class Plan1D:
    length: int
    J: int
    Q: tuple[int, int]
    T: int
    max_order: int
    padding: str
    normalize: str
    log2_T: int
    padded_length: int
    pad_left: int
    pad_right: int
    start: tuple[int, ...]  # first sample of the signal after subsampling by 2^k, per k
    stop: tuple[int, ...]
    psi1: MorletParams1D
    psi2: MorletParams1D
    sigma_low: float
    groups: tuple[Group1, ...]
    table: ChannelTable

    @property
    def n_channels(self) -> int:
        return len(self.table)

    @property
    def output_length(self) -> int:
        return self.stop[self.log2_T] - self.start[self.log2_T]

    @property
    def pad_index(self) -> np.ndarray:
        return reflect_indices(self.length, self.pad_left, self.pad_right)


def _normalize_Q(Q) -> tuple[int, int]:
    if isinstance(Q, (tuple, list)):
        if not 1 <= len(Q) <= 2:
            raise parameter_error(OWNER, "Q", "an int in [1, 64] or a tuple (Q1, Q2)", Q)
        Q = tuple(Q) + ((1,) if len(Q) == 1 else ())
    else:
        Q = (Q, 1)
    return check_int(OWNER, "Q", Q[0], 1, 64), check_int(OWNER, "Q", Q[1], 1, 64)


def plan_1d(shape, J, Q=1, T=None, max_order=2, padding="reflect", normalize="kymatio") -> Plan1D:
    """Validate the parameters and return the (cached) plan."""
    (length,) = check_shape(OWNER, shape, 1)
    J = check_int(OWNER, "J", J, 1, 24)
    Q = _normalize_Q(Q)
    origin = f"T = 2**J = {2**J} by default" if T is None else "T as given"
    T = check_int(OWNER, "T", 2**J if T is None else T, 1, 2**30)
    if T > length:
        raise ShapeError(
            f"The signal length {length} is shorter than the averaging scale T={T} of Scattering1D"
            f" ({origin}). Use a smaller J or T, or pad the signal to at least {T} samples."
        )
    max_order = check_int(OWNER, "max_order", max_order, 1, 2)
    check_choice(OWNER, "padding", padding, PADDINGS)
    check_choice(OWNER, "normalize", normalize, NORMALIZATIONS_1D)
    return _plan_1d(length, J, Q, T, max_order, padding, normalize)


def _padding(length: int, T: int, padding: str) -> tuple[int, int, int]:
    if padding == "periodic":
        return length, 0, 0
    # enough room for 3 half-supports of phi on each side, as in Kymatio 0.3.0, but never more
    # than the signal can reflect (N - 1 on each side)
    phi_f = gaussian_fourier_1d(length, SIGMA0 / T)
    min_to_pad = 3 * lowpass_half_support(phi_f)
    log2_pad = min(
        int(math.ceil(math.log2(length + 2 * min_to_pad))), int(math.floor(math.log2(3 * length - 2)))
    )
    padded = 2**log2_pad
    left = (padded - length) // 2
    return padded, left, padded - length - left


@lru_cache(maxsize=64)
def _plan_1d(length, J, Q, T, max_order, padding, normalize) -> Plan1D:
    log2_T = int(math.floor(math.log2(T)))
    if length < 2:
        raise ShapeError(f"Scattering1D needs a signal of at least 2 samples; got shape ({length},).")
    padded, left, right = _padding(length, T, padding)
    if padding == "periodic" and padded % 2**log2_T:
        raise ShapeError(
            f"With padding='periodic', the length ({length}) must be a multiple of 2**floor(log2(T))"
            f" = {2**log2_T}. Use padding='reflect', or crop the signal to"
            f" {length - length % 2**log2_T} samples."
        )
    if padding == "reflect" and max(left, right) >= length:
        raise ShapeError(f"The signal length {length} is too short for J={J}: use a smaller J.")
    # the narrowest wavelets have bandwidth SIGMA0 / 2^J, 1/20 of a DFT bin at 2^J = 2 * padded; past
    # that, all their samples can underflow to 0 and the l1 normalization divides by 0 (NaN filters)
    if 2**J > 2 * padded:
        raise ShapeError(
            f"The signal length {length} (padded to {padded}) is too short for J={J} in Scattering1D: the"
            f" narrowest wavelets (bandwidth 0.1 / 2**J) are finer than the frequency grid of the padded"
            f" signal. Use J <= {int(math.floor(math.log2(2 * padded)))} or a longer signal."
        )
    start, stop = [left], [left + length]
    for _ in range(max(log2_T, J) + 1):
        start.append(start[-1] // 2 + start[-1] % 2)
        stop.append(stop[-1] // 2 + stop[-1] % 2)
    psi1 = morlet_params_1d(J, Q[0])
    psi2 = morlet_params_1d(J, Q[1])
    if not psi1.xi:
        raise InvalidParameterError(f"Scattering1D with J={J}, Q={Q} has no first-order wavelet; use a larger J.")

    groups = []
    j1s = np.asarray(psi1.j)
    for j1 in sorted(set(psi1.j)):
        members = np.nonzero(j1s == j1)[0]
        k1 = min(j1, log2_T)
        blocks = []
        if max_order >= 2:
            valid = [n2 for n2, j2 in enumerate(psi2.j) if j2 > j1]
            for n2 in valid:
                k2 = max(min(psi2.j[n2], log2_T) - k1, 0)
                if blocks and blocks[-1].k2 == k2 and blocks[-1].stop == n2:
                    blocks[-1] = Block2(k2, blocks[-1].start, n2 + 1)
                else:
                    blocks.append(Block2(k2, n2, n2 + 1))
        groups.append(Group1(j1, k1, int(members[0]), int(members[-1]) + 1, tuple(blocks)))
    table = _table(psi1, psi2, groups)
    return Plan1D(
        length, J, Q, T, max_order, padding, normalize, log2_T, padded, left, right,
        tuple(start), tuple(stop), psi1, psi2, SIGMA0 / T, tuple(groups), table,
    )


def _table(psi1: MorletParams1D, psi2: MorletParams1D, groups) -> ChannelTable:
    rows = [(0, -1, -1)]
    for g in groups:
        rows += [(1, n1, -1) for n1 in range(g.start, g.stop)]
    for g in groups:
        rows += [(2, n1, n2) for n1 in range(g.start, g.stop) for n2 in range(g.n2_start, g.n2_stop)]
    order, n1, n2 = (np.array(c) for c in zip(*rows))

    def column(values, index, fill):
        values = np.asarray(values + (fill,), dtype=float if fill != -1 else int)
        return values[np.where(index >= 0, index, -1)]

    return ChannelTable(
        {
            "order": order,
            "n1": n1,
            "n2": n2,
            "j1": column(psi1.j, n1, -1),
            "j2": column(psi2.j, n2, -1),
            "xi1": column(psi1.xi, n1, np.nan),
            "xi2": column(psi2.xi, n2, np.nan),
            "sigma1": column(psi1.sigma, n1, np.nan),
            "sigma2": column(psi2.sigma, n2, np.nan),
        }
    )
