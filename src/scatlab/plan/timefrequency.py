"""The plan of a joint time-frequency scattering: first layer, frequency padding, path groups, channels.

Torch-free and cached. The first layer is the plan of a first-order :func:`plan_1d` (padding, the
Morlet bank psi1, the averaging phi_T), with the scalogram kept at full resolution so that it is a
2D array over (n1, t). The second-order 2D wavelets are grouped for the engine:

- the scalogram |x * psi1| is computed per group of first-order wavelets at subsampling
  2^min(j1, k1) and then sampled at the common subsampling 2^k1, the largest that its bandwidth
  (ALPHA times the widest psi1 bandwidth sigma1) allows, capped at log2 T;
- in time, one block per subsampling 2^k2 of the temporal wavelets psi2 (as the 1D engine); the
  temporal wavelets too fast for the scalogram's band (j2 < k1) are left out, as the 1D transform
  leaves out j2 <= j1: they would only see the aliased tail of U1;
- in frequency, one group per subsampling 2^kf of the frequential filters (both spins of the
  wavelets of one scale, or the low-pass, spin 0). Subsampling along frequency is only allowed
  up to 2^floor(log2 F), the final averaging, so it is 0 when F is None (no frequency averaging).

With ``time_lowpass_paths``, the paths (phi_T, psi_fr) come after order 1: the time-averaged
scalogram filtered along n1 by the spin +1 wavelets (its filtering by spin -1 is the conjugate, of
the same modulus, since it is real), in the order of the frequential groups.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._validation import check_choice, check_int
from ..errors import InvalidParameterError, ShapeError, parameter_error
from ..filters.morlet1d import (
    SIGMA0,
    MorletParams1D,
    gaussian_fourier_1d,
    lowpass_half_support,
    max_subsampling,
    morlet_params_1d,
)
from .scattering1d import PADDINGS, Plan1D, plan_1d
from .table import ChannelTable

__all__ = ["PlanTF", "plan_tf", "FORMATS"]

OWNER = "TimeFrequencyScattering"
FORMATS = ("time", "joint")


@dataclass(frozen=True)
class TimeBlock:
    """Temporal wavelets n2 in [start, stop) applied with time subsampling 2^k2."""

    k2: int
    start: int
    stop: int


@dataclass(frozen=True)
class FirstGroup:
    """First-order wavelets n1 in [start, stop) computed at subsampling 2^k before the modulus."""

    k: int
    start: int
    stop: int


@dataclass(frozen=True)
class FreqGroup:
    """Frequential filters applied with frequency subsampling 2^kf: ``members`` are (n_fr, spin),
    n_fr = -1 (spin 0) for the low-pass."""

    kf: int
    members: tuple[tuple[int, int], ...]

    @property
    def up(self) -> list[int]:
        """Positions in ``members`` of the spin +1 wavelets."""
        return [i for i, (_, spin) in enumerate(self.members) if spin == 1]


@dataclass(frozen=True)
class PlanTF:
    length: int
    J: int
    Q: tuple[int, int]
    J_fr: int
    Q_fr: int
    T: int
    F: int | None
    padding: str
    format: str
    time_lowpass_paths: bool  # the paths (phi_T, psi_fr, spin +1) after order 1
    first: Plan1D  # first layer: padding, psi1, phi_T (max_order 1)
    psi2: MorletParams1D  # temporal wavelets of the second layer
    psi_fr: MorletParams1D  # frequential wavelets
    sigma_fr: float  # bandwidth of the frequential low-pass of the spin-0 paths (scale 2^J_fr)
    sigma_F: float | None  # bandwidth of phi_F (None: no frequency averaging)
    log2_F: int
    n_freq: int  # first-order wavelets n1 (rows of the scalogram)
    fr_padded: int  # length of the zero-padded frequency axis
    fr_start: tuple[int, ...]  # first scalogram row after frequency subsampling by 2^k, per k
    fr_stop: tuple[int, ...]
    k1: int  # common time subsampling of the scalogram
    first_groups: tuple[FirstGroup, ...]
    time_blocks: tuple[TimeBlock, ...]
    freq_groups: tuple[FreqGroup, ...]
    paths: ChannelTable  # one row per joint path: order 1, (phi_T, psi_fr) if asked, then (n2, n_fr, spin)
    table: ChannelTable  # one row per output channel of the chosen format

    @property
    def fr_pad_left(self) -> int:
        return self.fr_start[0]

    @property
    def n_paths(self) -> int:
        return len(self.paths)

    @property
    def n_freq_out(self) -> int:
        return self.fr_stop[self.log2_F] - self.fr_start[self.log2_F]

    @property
    def output_length(self) -> int:
        return self.first.output_length

    @property
    def freq_rows(self) -> np.ndarray:
        """The scalogram row n1 of each output frequency row (the centre of its phi_F average)."""
        k = self.log2_F
        return 2**k * np.arange(self.fr_start[k], self.fr_stop[k]) - self.fr_pad_left

    @property
    def output_shape(self) -> tuple[int, ...]:
        if self.format == "joint":
            return (self.n_paths, self.n_freq_out, self.output_length)
        return (len(self.table), self.output_length)


def _normalize_Q(Q) -> tuple[int, int]:
    if isinstance(Q, (tuple, list)):
        if len(Q) not in (1, 2):
            raise parameter_error(OWNER, "Q", "an int in [1, 64] or a tuple (Q1, Q2)", Q)
        Q = tuple(Q) + ((1,) if len(Q) == 1 else ())
    else:
        Q = (Q, 1)
    return check_int(OWNER, "Q", Q[0], 1, 64), check_int(OWNER, "Q", Q[1], 1, 64)


def plan_tf(shape, J, Q=8, J_fr=3, Q_fr=1, T=None, F=None, padding="reflect", format="time",
            time_lowpass_paths=False) -> PlanTF:
    """Validate the parameters and return the (cached) plan."""
    Q = _normalize_Q(Q)
    J = check_int(OWNER, "J", J, 1, 24)
    try:
        first = plan_1d(shape, J, Q[0], T, 1, padding)
    except (InvalidParameterError, ShapeError) as exc:
        raise type(exc)(str(exc).replace("Scattering1D", OWNER)) from None
    J_fr = check_int(OWNER, "J_fr", J_fr, 1, 16)
    Q_fr = check_int(OWNER, "Q_fr", Q_fr, 1, 16)
    n_freq = len(first.psi1.xi)
    if 2**J_fr > n_freq:
        raise InvalidParameterError(
            f"The 'J_fr' parameter of {OWNER} must be at most floor(log2(number of frequencies)) ="
            f" {int(math.floor(math.log2(n_freq)))}: with J={J}, Q={Q[0]} the scalogram has {n_freq} frequencies,"
            f" fewer than 2**J_fr = {2**J_fr}. Got {J_fr} instead. Use a smaller J_fr or a larger Q or J."
        )
    if F is not None:
        F = check_int(OWNER, "F", F, 1, n_freq)
    check_choice(OWNER, "padding", padding, PADDINGS)
    check_choice(OWNER, "format", format, FORMATS)
    if not isinstance(time_lowpass_paths, (bool, np.bool_)):
        raise parameter_error(OWNER, "time_lowpass_paths", "True or False", time_lowpass_paths)
    return _plan_tf(first, J, Q, J_fr, Q_fr, F, padding, format, bool(time_lowpass_paths))


def _fr_padding(n_freq: int, sigmas: tuple[float, ...], log2_F: int) -> tuple[int, int]:
    """Zero padding of the frequency axis: room for the half support of the widest frequential
    filter on each side, so that neither the wavelets nor the averaging wrap around. The left
    padding is a multiple of 2^log2_F, so that the rows kept after frequency subsampling are
    n1 = 0, 2^log2_F, 2 * 2^log2_F, ... (the first row is the highest first-order frequency)."""
    big = 2 ** int(math.ceil(math.log2(16 * n_freq)))
    half = max(lowpass_half_support(gaussian_fourier_1d(big, s)) for s in sigmas)
    left = -(-half // 2**log2_F) * 2**log2_F
    return _smooth_multiple(left + n_freq + half, 2**log2_F), left


def _smooth_multiple(n: int, m: int) -> int:
    """Smallest multiple of m at least n whose quotient has no prime factor above 5 (fast FFTs)."""
    q = -(-n // m)
    while True:
        r = q
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return q * m
        q += 1


@lru_cache(maxsize=32)
def _plan_tf(first: Plan1D, J, Q, J_fr, Q_fr, F, padding, format, time_lowpass_paths) -> PlanTF:
    n_freq = len(first.psi1.xi)
    psi2 = morlet_params_1d(J, Q[1])
    psi_fr = morlet_params_1d(J_fr, Q_fr)
    sigma_fr = SIGMA0 / 2**J_fr
    sigma_F = None if F is None else SIGMA0 / F
    log2_F = 0 if F is None else int(math.floor(math.log2(F)))
    padded, left = _fr_padding(n_freq, (sigma_fr,) + (() if F is None else (sigma_F,)), log2_F)
    fr_start, fr_stop = [left], [left + n_freq]
    for _ in range(log2_F):
        fr_start.append(fr_start[-1] // 2 + fr_start[-1] % 2)
        fr_stop.append(fr_stop[-1] // 2 + fr_stop[-1] % 2)

    k1 = min(max(max_subsampling(0.0, max(first.psi1.sigma)), 0), first.log2_T)
    first_groups: list[FirstGroup] = []
    for n1, j1 in enumerate(first.psi1.j):
        k = min(j1, k1)
        if first_groups and first_groups[-1].k == k:
            first_groups[-1] = FirstGroup(k, first_groups[-1].start, n1 + 1)
        else:
            first_groups.append(FirstGroup(k, n1, n1 + 1))
    blocks: list[TimeBlock] = []
    for n2, j2 in enumerate(psi2.j):
        if j2 < k1:
            continue
        k2 = min(j2, first.log2_T)
        if blocks and blocks[-1].k2 == k2:
            blocks[-1] = TimeBlock(k2, blocks[-1].start, n2 + 1)
        else:
            blocks.append(TimeBlock(k2, n2, n2 + 1))

    groups: dict[int, list[tuple[int, int]]] = {}
    for n_fr, (xi, sigma) in enumerate(zip(psi_fr.xi, psi_fr.sigma)):
        kf = min(max(max_subsampling(xi, sigma), 0), log2_F)
        groups.setdefault(kf, []).extend([(n_fr, 1), (n_fr, -1)])
    kf_low = min(max(max_subsampling(0.0, sigma_fr), 0), log2_F)
    groups.setdefault(kf_low, []).append((-1, 0))
    freq_groups = tuple(FreqGroup(kf, tuple(m)) for kf, m in sorted(groups.items()))

    if not blocks:
        raise InvalidParameterError(
            f"{OWNER} with J={J}, Q={Q} has no temporal wavelet slow enough for the scalogram; use a larger J.")
    paths = _paths(psi2, range(blocks[0].start, blocks[-1].stop), psi_fr, freq_groups, time_lowpass_paths)
    rows = 2**log2_F * np.arange(fr_start[-1], fr_stop[-1]) - left
    table = paths if format == "joint" else _time_table(paths, rows, first.psi1)
    return PlanTF(
        first.length, J, Q, J_fr, Q_fr, first.T, F, padding, format, time_lowpass_paths, first, psi2, psi_fr, sigma_fr, sigma_F,
        log2_F, n_freq, padded, tuple(fr_start), tuple(fr_stop), k1,
        tuple(first_groups), tuple(blocks), freq_groups, paths, table,
    )


def _paths(psi2: MorletParams1D, kept, psi_fr: MorletParams1D, freq_groups, time_lowpass_paths) -> ChannelTable:
    """Order 1 (phi_t, phi_F), the paths (phi_T, psi_fr, spin +1) if asked (n2 = -1), then, in
    engine order, (n2, frequential filter) for every n2."""
    rows = [(1, -1, -1, 0)]
    members = [m for g in freq_groups for m in g.members]
    if time_lowpass_paths:
        rows += [(2, -1, n_fr, spin) for n_fr, spin in members if spin == 1]
    rows += [(2, n2, n_fr, spin) for n2 in kept for n_fr, spin in members]
    order, n2, n_fr, spin = (np.array(c) for c in zip(*rows))

    def column(values, index, fill):
        values = np.asarray(tuple(values) + (fill,), dtype=float if fill != -1 else int)
        return values[np.where(index >= 0, index, -1)]

    return ChannelTable({
        "order": order, "n2": n2, "j2": column(psi2.j, n2, -1),
        "xi2": np.where((order == 2) & (n2 == -1), 0.0, column(psi2.xi, n2, np.nan)),
        "n_fr": n_fr, "j_fr": np.where(spin == 0, -1, column(psi_fr.j, n_fr, -1)),
        "xi_fr": np.where(order == 2, np.where(spin == 0, 0.0, column(psi_fr.xi, n_fr, np.nan)), np.nan),
        "spin": spin,
    })


def _time_table(paths: ChannelTable, rows: np.ndarray, psi1: MorletParams1D) -> ChannelTable:
    """Order 0, then one row per (joint path, output frequency row), as the 'time' format flattens."""
    columns = {}
    for name in paths.names:
        value = paths[name]
        fill = np.nan if value.dtype.kind == "f" else (0 if name in ("order", "spin") else -1)
        columns[name] = np.concatenate([[fill], np.repeat(value, len(rows))])
    n1 = np.concatenate([[-1], np.tile(rows, len(paths))])
    columns["n1"] = n1
    columns["j1"] = np.where(n1 >= 0, np.asarray(psi1.j)[np.maximum(n1, 0)], -1)
    columns["xi1"] = np.where(n1 >= 0, np.asarray(psi1.xi)[np.maximum(n1, 0)], np.nan)
    return ChannelTable(columns)
