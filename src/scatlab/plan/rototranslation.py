r"""The plan of a roto-translation scattering transform: validated parameters, geometry, channel table.

The spatial geometry (padding, subsampling by 2^J, crop) is a :class:`~scatlab.plan.scattering2d.Plan2D`.
With ``padding='periodic'`` it is that of :func:`~scatlab.plan.scattering2d.plan_2d` (no padding, the
whole grid). With ``padding='reflect'`` it is *centred* (:func:`centred_padding`), unlike Scattering2D's
Kymatio geometry: the output grid is symmetric about the image centre, so a rotation about the centre
maps it onto itself (exactly for odd sides, up to one pixel for even ones). Kymatio's grid starts at
pixel 0 and ends 2^J - 1 + (M mod 2^J) pixels before the last one, so a 90-degree rotation about
the centre maps it onto a grid shifted by that many pixels (7 for M = 64, J = 3): ``np.rot90`` of
64 x 64 and 128 x 128 crops of six real images changed the space-averaged output by 0.2-11 %
(median about 2 %), against 0.02-1 % (median 0.2-0.3 %) with the centred grid
(``benchmarks/rotation_invariance.py``, crops without window).

Channels, in output order (``-1`` where a field does not apply):

- order 0: :math:`x\star\phi_J`;
- order 1, by ``j1``: :math:`|x\star\psi_{j_1,\theta_1}|\star\phi_J` averaged over :math:`\theta_1`;
- order 2, by ``j1``, then ``j2`` (``-1`` first: the spatial low-pass, with angular wavelets ``k``
  only), then the relative orientation ``theta2`` (of :math:`\theta_2 - \theta_1`, index in
  ``0..L-1``, angle ``theta2 * pi / L``), then the angular filter: ``k = -1`` (angular average,
  ``spin = 0``), then ``k = 0..K-1`` with ``spin = +1``, then with ``spin = -1``.

Column ``mirror`` gives, for each channel, the channel that a mirror symmetry of the image maps it
to (see :func:`scatlab.functional.rototranslation.rototranslation_scattering2d`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .._validation import check_choice, check_int, check_shape
from ..errors import ShapeError, parameter_error
from .scattering1d import PADDINGS
from .table import ChannelTable
from .scattering2d import Plan2D, plan_2d

__all__ = ["PlanRoto", "plan_roto", "max_angular_scales", "centred_padding"]

OWNER = "RotoTranslationScattering2D"


def max_angular_scales(L: int) -> int:
    """Largest K: the coarsest angular wavelet (centre 0.35 * 2^-(K-1) cycles per sample on the
    2L samples of [0, 2pi)) must keep its peak at least one frequency bin away from 0."""
    return int(np.floor(np.log2(L))) if L >= 2 else 0


@dataclass(frozen=True)
class PlanRoto:
    shape: tuple[int, int]
    J: int
    L: int
    K: int
    max_order: int
    padding: str
    geometry: Plan2D  # padding, padded shape, pads, output shape, crop (its table is not used)
    table: ChannelTable

    @property
    def n_channels(self) -> int:
        return len(self.table)

    @property
    def output_shape(self) -> tuple[int, int]:
        return self.geometry.output_shape

    @property
    def padded_shape(self) -> tuple[int, int]:
        return self.geometry.padded_shape

    def second_order_scales(self, j1: int) -> range:
        return range(j1 + 1, self.J) if self.max_order >= 2 else range(0)

    @property
    def angular_filters(self) -> int:
        """Angular filters per (j1, j2, theta2): the average and K wavelets of each spin."""
        return 1 + 2 * self.K


def plan_roto(shape, J, L=8, K=None, max_order=2, padding="reflect") -> PlanRoto:
    """Validate the parameters (errors name the parameter and the fix) and return the cached plan."""
    shape = check_shape(OWNER, shape, 2)
    J = check_int(OWNER, "J", J, 1, 12)
    L = check_int(OWNER, "L", L, 1, 64)
    k_max = max_angular_scales(L)
    K = k_max if K is None else K
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 0 <= K <= k_max:
        raise parameter_error(OWNER, "K", f"an int in [0, floor(log2(L))] = [0, {k_max}] for L={L} (angular"
                              " scales along theta; raise L for more)", K)
    max_order = check_int(OWNER, "max_order", max_order, 1, 2)
    check_choice(OWNER, "padding", padding, PADDINGS)
    M, N = shape
    if min(M, N) < 2**J:
        raise ShapeError(
            f"The image shape {shape} is too small for J={J} in {OWNER}: both sides must be at least"
            f" 2**J = {2**J}. Use J <= {max(int(np.log2(min(M, N))), 0)} or a larger image."
        )
    if padding == "periodic" and (M % 2**J or N % 2**J):
        raise ShapeError(
            f"With padding='periodic', both sides of the image {shape} must be multiples of 2**J = {2**J}"
            f" in {OWNER}. Use padding='reflect' or crop the image."
        )
    return _plan(shape, J, L, int(K), max_order, padding)


def centred_padding(n: int, J: int) -> tuple[int, int, int, int]:
    """(padded length, pad before, pad after, output length) of one axis of length ``n`` padded by
    reflection for an output grid symmetric about the centre of the axis.

    The output has n // 2^J samples (as Kymatio's geometry), at pixels first + 2^J i with
    first = (n mod 2^J + 2^J) // 2, so that they are symmetric about the centre pixel (n - 1) / 2 for
    odd n and about pixel n / 2, half a pixel from the centre, for even n (no grid of even step is
    symmetric about a half-integer). The padded length is 2^J (n // 2^J + 1): the output grid and
    one dropped sample (the crop, one on the leading side) at the periodic wrap, so every output
    sample is 2^J pixels from the wrap, as Kymatio's first one. The pads are equal for even n (a
    rotation about the centre commutes with the padding) and differ by one for odd n.
    """
    step = 2**J
    out = n // step
    first = (n % step + step) // 2
    before = step - first  # the first output sample lands on padded pixel 2^J (crop 1)
    after = before if n % 2 == 0 else before - 1
    assert n + before + after == step * (out + 1), (n, J)
    return n + before + after, before, after, out


def _geometry(shape, J, L, padding) -> Plan2D:
    geometry = plan_2d(shape, J, L, 1, padding)
    if padding == "periodic":
        return geometry
    (M, top, bottom, m), (N, left, right, n) = (centred_padding(s, J) for s in shape)
    return replace(geometry, padded_shape=(M, N), pads=(top, bottom, left, right), output_shape=(m, n), crop=1)


@lru_cache(maxsize=32)
def _plan(shape, J, L, K, max_order, padding) -> PlanRoto:
    return PlanRoto(shape, J, L, K, max_order, padding, _geometry(shape, J, L, padding), _table(J, L, K, max_order))


def _angular(K: int) -> list[tuple[int, int]]:
    """(k, spin) of the angular filters, in output order."""
    return [(-1, 0)] + [(k, 1) for k in range(K)] + [(k, -1) for k in range(K)]


def _table(J: int, L: int, K: int, max_order: int) -> ChannelTable:
    rows = [(0, -1, -1, -1, -1, 0)]
    rows += [(1, j1, -1, -1, -1, 0) for j1 in range(J)]
    if max_order >= 2:
        for j1 in range(J):
            rows += [(2, j1, -1, -1, k, 1) for k in range(K)]
            rows += [(2, j1, j2, t2, k, s) for j2 in range(j1 + 1, J) for t2 in range(L) for k, s in _angular(K)]
    order, j1, j2, t2, k, spin = (np.array(c) for c in zip(*rows))
    angle2 = np.where(t2 >= 0, t2 * np.pi / L, np.nan)
    return ChannelTable({"order": order, "j1": j1, "j2": j2, "theta2": t2, "angle2": angle2, "k": k,
                         "spin": spin, "mirror": _mirror(order, j1, j2, t2, k, spin, L)})


def _mirror(order, j1, j2, t2, k, spin, L) -> np.ndarray:
    """Index of the channel (j1, j2, (L - theta2) mod L, k, -spin) for theta2 >= 1; itself otherwise."""
    index = {key: i for i, key in enumerate(zip(order, j1, j2, t2, k, spin))}
    out = np.arange(len(order))
    for i, key in enumerate(zip(order, j1, j2, t2, k, spin)):
        if key[3] >= 1:
            out[i] = index[(key[0], key[1], key[2], L - key[3], key[4], -key[5])]
    return out
