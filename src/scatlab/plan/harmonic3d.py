"""The plan of 3D solid harmonic scattering: validated parameters, paths and channel tables (torch-free)."""
from __future__ import annotations

import dataclasses
import functools
import numbers

import numpy as np

from .._validation import check_int, check_shape
from ..errors import parameter_error
from .table import ChannelTable

__all__ = ["OWNER", "Plan3D", "plan_3d"]

OWNER = "HarmonicScattering3D"
SIGMA_0_MAX = 1e6


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
    # at widths sigma_0 2^J past ~1e24 pixels, (sigma |omega|)^L overflows in the filters (NaN), and
    # sigma^2 itself past 1e154 (OverflowError); 1e6 pixels keeps far from both
    if isinstance(sigma_0, bool) or not isinstance(sigma_0, numbers.Real) or not 0 < sigma_0 <= SIGMA_0_MAX:
        raise parameter_error(OWNER, "sigma_0", f"a positive number (pixels) at most {SIGMA_0_MAX:g}", sigma_0)
    try:
        if isinstance(integral_powers, (str, bytes)):
            raise TypeError  # a string would be read digit by digit
        values = tuple(integral_powers)
        if any(isinstance(q, (bool, np.bool_)) or not isinstance(q, numbers.Real) for q in values):
            raise TypeError
        powers = tuple(float(q) for q in values)
    except (TypeError, ValueError):
        raise parameter_error(OWNER, "integral_powers", "a sequence of positive numbers", integral_powers) from None
    if not powers or any(not 0 < q < np.inf for q in powers):
        raise parameter_error(OWNER, "integral_powers", "a non-empty sequence of positive numbers", integral_powers)
    return Plan3D(shape, J, L, float(sigma_0), max_order, powers)
