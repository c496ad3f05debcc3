"""``Scattering2D``: the 2D scattering transform as a torch.nn.Module."""
from __future__ import annotations

import numpy as np

from ..banks.scattering2d import build_bank_2d
from ..filters.littlewood_paley import FrameBounds, frame_bounds, littlewood_paley_sum
from ..filters.morlet2d import morlet_bank_2d
from ..functional.scattering2d import scattering2d_with_plan
from ..plan.scattering2d import plan_2d
from ._base import ScatteringModule

__all__ = ["Scattering2D"]


class Scattering2D(ScatteringModule):
    r"""2D wavelet scattering transform (Bruna & Mallat 2013), differentiable, on any device.

    Parameters
    ----------
    shape : tuple (M, N)
        Image size; both sides at least 2**J (any size, odd included).
    J : int
        Number of dyadic scales, in [1, 16]; output sampled every 2**J pixels.
    L : int
        Number of orientations over [0, pi), in [1, 64].
    max_order : {1, 2}
        Highest scattering order.
    padding : {'reflect', 'periodic'}
        'reflect' (default, as Kymatio 0.3.0, also when 2**J equals a side); 'periodic' has no
        padding and exact covariance to shifts by multiples of 2**J (M, N multiples of 2**J).

    Shape
    -----
    Input (..., M, N) float32 or float64; output (..., C, M', N') with
    C = 1 + J L + L^2 J (J - 1) / 2 at order 2, in the order of :attr:`meta`: order 0; order 1 by
    (j1, theta1); order 2 by (j1, theta1, j2, theta2).

    Notes
    -----
    .. math:: S_J x = \big(x\star\phi_J,\ |x\star\psi_{j_1,\theta_1}|\star\phi_J,\
              ||x\star\psi_{j_1,\theta_1}|\star\psi_{j_2,\theta_2}|\star\phi_J\big)_{j_1<j_2}

    References
    ----------
    J. Bruna and S. Mallat, "Invariant scattering convolution networks", IEEE TPAMI, 2013.

    Examples
    --------
    >>> import torch, scatlab
    >>> S = scatlab.Scattering2D((32, 32), J=2, L=8)
    >>> S(torch.randn(4, 3, 32, 32)).shape
    torch.Size([4, 3, 81, 8, 8])
    >>> S.meta.select(order=1, j1=1)
    array([ 9, 10, 11, 12, 13, 14, 15, 16])
    """

    engine = staticmethod(scattering2d_with_plan)

    def __init__(self, shape, *, J: int, L: int = 8, max_order: int = 2, padding: str = "reflect"):
        plan = plan_2d(shape, J, L, max_order, padding)
        params = dict(shape=plan.shape, J=plan.J, L=plan.L, max_order=plan.max_order, padding=padding)
        super().__init__(params, plan, build_bank_2d(plan))

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self._plan.n_channels,) + self._plan.output_shape

    def filters_fourier(self) -> tuple[np.ndarray, np.ndarray]:
        """(psi, phi): wavelets (J, L, M_pad, N_pad) and low-pass (M_pad, N_pad) in Fourier (read-only)."""
        return self._view("filters", lambda: morlet_bank_2d(*self._plan.padded_shape, self._plan.J, self._plan.L))

    def littlewood_paley(self) -> np.ndarray:
        psi, phi = self.filters_fourier()
        return littlewood_paley_sum(psi, phi, ndim=2)

    def frame_bounds(self) -> FrameBounds:
        psi, phi = self.filters_fourier()
        return frame_bounds(psi, phi, ndim=2)
