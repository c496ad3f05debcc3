"""``HarmonicScattering3D``: 3D solid harmonic scattering as a torch.nn.Module."""
from __future__ import annotations

import torch

from ..banks.harmonic3d import build_bank_3d
from ..functional.harmonic3d import harmonic_maps3d_with_plan, harmonic_scattering3d_with_plan
from ..plan.harmonic3d import plan_3d
from ..plan.table import ChannelTable
from ._base import ScatteringModule

__all__ = ["HarmonicScattering3D"]


class HarmonicScattering3D(ScatteringModule):
    r"""3D solid harmonic scattering (Eickenberg et al. 2017, 2018), rotation and translation invariant.

    Parameters
    ----------
    shape : tuple (M, N, O)
        Grid size (periodic boundary).
    J : int
        Largest scale: wavelets of width sigma_0 2^j pixels, j = 0 ... J (J + 1 scales, as Kymatio).
    L : int
        Largest degree l of the solid harmonics (l = 0 ... L).
    sigma_0 : float
        Width in pixels of the finest wavelet, in (0, 1e6].
    max_order : {1, 2}
        Highest scattering order; order 0 (sum |x|^q) is always included.
    integral_powers : sequence of float
        The powers q of the integral invariants sum_u |U[p]x(u)|^q.

    Shape
    -----
    ``forward``: input (..., M, N, O) float32/float64, output (..., C) in the order of :attr:`meta`:
    order 0 by q; order 1 by (j1, l, q); order 2 by (j1, j2, l, q), j1 < j2. Without order 0,
    Kymatio 0.3.0's ``HarmonicScattering3D(...)(x).reshape(B, -1)`` (its default
    ``rotation_covariant=True, method='integral'``). ``local(x)`` gives the maps
    U[p]x, shape (..., P, M, N, O), described by :attr:`local_meta`.

    Notes
    -----
    .. math:: U[j,l]x = \Big(\sum_{m=-l}^{l} |x \star \psi_{j,l,m}|^2\Big)^{1/2},\quad
              U[j_1,j_2,l]x = U[j_2,l]\,U[j_1,l]x,\quad S[p,q]x = \sum_u |U[p]x(u)|^q

    References
    ----------
    M. Eickenberg, G. Exarchakis, M. Hirn, S. Mallat, L. Thiry, "Solid harmonic wavelet scattering
    for predictions of molecule properties", J. Chem. Phys. 148, 241732 (2018).

    Examples
    --------
    >>> import torch, scatlab
    >>> S = scatlab.HarmonicScattering3D((16, 16, 16), J=1, L=1)
    >>> S(torch.rand(2, 16, 16, 16)).shape
    torch.Size([2, 28])
    >>> S.meta.select(order=1, l=1, q=2.0)
    array([10, 18])
    """

    engine = staticmethod(harmonic_scattering3d_with_plan)

    def __init__(self, shape, *, J: int, L: int, sigma_0: float = 1.0, max_order: int = 2,
                 integral_powers=(0.5, 1.0, 2.0, 3.0)):
        plan = plan_3d(shape, J, L, sigma_0, max_order, integral_powers)
        params = dict(shape=plan.shape, J=plan.J, L=plan.L, sigma_0=plan.sigma_0, max_order=plan.max_order,
                      integral_powers=plan.integral_powers)
        super().__init__(params, plan, build_bank_3d(plan))

    @property
    def local_meta(self) -> ChannelTable:
        """Channels of :meth:`local`: order, j1, j2, l."""
        return self._plan.maps_table

    @property
    def output_shape(self) -> tuple[int]:
        return (self._plan.n_channels,)

    def local(self, x: torch.Tensor) -> torch.Tensor:
        """The local (non-integrated) maps U[p]x of orders 1 and 2."""
        return harmonic_maps3d_with_plan(x, self._plan, self._prepared_bank(x))
