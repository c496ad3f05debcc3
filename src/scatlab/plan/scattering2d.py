"""The plan of a 2D scattering transform: padding, path groups per scale, channel table.

Paths are grouped by first-order scale j1 (its L orientations) and, inside, by second-order
scale j2 > j1 (its L orientations), so the engine issues O(J^2) batched FFT calls, not one per path.
Output channels follow Kymatio 0.3.0: order 0; order 1 by (j1, theta1); order 2 by
(j1, theta1, j2, theta2).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._validation import check_choice, check_int, check_shape
from ..errors import ShapeError
from ..filters.morlet2d import orientation_angles
from .scattering1d import PADDINGS
from .padding import reflect_indices
from .table import ChannelTable

__all__ = ["Plan2D", "plan_2d"]

OWNER = "Scattering2D"


@dataclass(frozen=True)
class Plan2D:
    shape: tuple[int, int]
    J: int
    L: int
    max_order: int
    padding: str
    padded_shape: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    output_shape: tuple[int, int]
    crop: int  # samples removed before the output grid (Kymatio: as many after it; centred roto grid: none)
    table: ChannelTable

    @property
    def n_channels(self) -> int:
        return len(self.table)

    @property
    def pad_index(self) -> tuple[np.ndarray, np.ndarray]:
        top, bottom, left, right = self.pads
        return reflect_indices(self.shape[0], top, bottom), reflect_indices(self.shape[1], left, right)

    def second_order_scales(self, j1: int) -> range:
        return range(j1 + 1, self.J) if self.max_order >= 2 else range(0)


def plan_2d(shape, J, L=8, max_order=2, padding="reflect") -> Plan2D:
    """Validate the parameters and return the (cached) plan."""
    shape = check_shape(OWNER, shape, 2)
    J = check_int(OWNER, "J", J, 1, 16)
    L = check_int(OWNER, "L", L, 1, 64)
    max_order = check_int(OWNER, "max_order", max_order, 1, 2)
    check_choice(OWNER, "padding", padding, PADDINGS)
    return _plan_2d(shape, J, L, max_order, padding)


@lru_cache(maxsize=64)
def _plan_2d(shape, J, L, max_order, padding) -> Plan2D:
    M, N = shape
    if min(M, N) < 2**J:
        raise ShapeError(
            f"The image shape {shape} is too small for J={J} in Scattering2D: both sides must be at"
            f" least 2**J = {2**J}. Use J <= {max(int(np.log2(min(M, N))), 0)} or a larger image."
        )
    if padding == "periodic":
        if M % 2**J or N % 2**J:
            raise ShapeError(
                f"With padding='periodic', both sides of the image {shape} must be multiples of"
                f" 2**J = {2**J}. Use padding='reflect' or crop the image."
            )
        padded, pads, crop = (M, N), (0, 0, 0, 0), 0
    else:
        # as Kymatio 0.3.0: pad to the next multiple of 2^J past size + 2^J, split evenly
        padded = tuple(((s + 2**J) // 2**J + 1) * 2**J for s in (M, N))
        pads = ((padded[0] - M) // 2, (padded[0] - M + 1) // 2, (padded[1] - N) // 2, (padded[1] - N + 1) // 2)
        crop = 1
    output = tuple(p // 2**J - 2 * crop for p in padded)
    return Plan2D(shape, J, L, max_order, padding, padded, pads, output, crop, _table(J, L, max_order))


def _table(J: int, L: int, max_order: int) -> ChannelTable:
    rows = [(0, -1, -1, -1, -1)]
    rows += [(1, j1, t1, -1, -1) for j1 in range(J) for t1 in range(L)]
    if max_order >= 2:
        rows += [
            (2, j1, t1, j2, t2)
            for j1 in range(J)
            for t1 in range(L)
            for j2 in range(j1 + 1, J)
            for t2 in range(L)
        ]
    order, j1, t1, j2, t2 = (np.array(c) for c in zip(*rows))
    angles = np.append(orientation_angles(L), np.nan)
    return ChannelTable(
        {
            "order": order,
            "j1": j1,
            "theta1": t1,
            "j2": j2,
            "theta2": t2,
            "angle1": angles[t1],
            "angle2": angles[t2],
        }
    )
