"""``Scattering1D``: the 1D scattering transform as a torch.nn.Module."""
from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..banks.scattering1d import build_bank_1d
from ..filters.littlewood_paley import FrameBounds, frame_bounds, littlewood_paley_sum
from ..filters.morlet1d import gaussian_fourier_1d, morlet_fourier_1d
from ..functional.scattering1d import scattering1d_with_plan
from ..plan.scattering1d import plan_1d
from ._base import ScatteringModule

__all__ = ["Scattering1D"]


class Scattering1D(ScatteringModule):
    r"""1D wavelet scattering transform (Andén & Mallat 2014), differentiable, on any device.

    Parameters
    ----------
    shape : int or tuple of one int
        Length N of the signals.
    J : int
        Log2 of the largest wavelet scale, in [1, 24]; 2**J at most twice the padded length
        (a ShapeError otherwise: the narrowest wavelets would be finer than its frequency grid).
    Q : int or tuple (Q1, Q2)
        Wavelets per octave at orders 1 and 2 (Q2 defaults to 1), each in [1, 64].
    T : int, optional
        Averaging scale of the low-pass phi, in [1, N]; defaults to 2**J. Output is subsampled by
        2**floor(log2 T).
    max_order : {1, 2}
        Highest scattering order.
    padding : {'reflect', 'periodic'}
        'reflect' (default, as Kymatio 0.3.0) pads by reflection to a power of two and crops the
        output; 'periodic' treats the signal as periodic (exact translation covariance for shifts
        by multiples of 2**floor(log2 T); N must be a multiple of it).
    normalize : {'kymatio', 'resolution'}
        'kymatio' (default) reproduces Kymatio 0.3.0. 'resolution' multiplies every filter used at
        subsampling 2**k by 2**k (the sampled continuous filter), so that coefficients do not depend
        on the internal subsampling: first-order outputs gain 2**k1, second-order 2**(2 k1 + k2).

    Shape
    -----
    Input (..., N) float32 or float64; output (..., C, N_out) with C = ``len(self.meta)`` channels
    in the order of :attr:`meta`: order 0, order 1 by n1, order 2 by (n1, n2) with j2 > j1.

    Notes
    -----
    .. math:: S x = \big(x\star\phi_T,\ |x\star\psi_{\lambda_1}|\star\phi_T,\
              ||x\star\psi_{\lambda_1}|\star\psi_{\lambda_2}|\star\phi_T\big)

    References
    ----------
    J. Andén and S. Mallat, "Deep scattering spectrum", IEEE Trans. Signal Process., 2014.

    Examples
    --------
    >>> import torch, scatlab
    >>> S = scatlab.Scattering1D(1024, J=6, Q=8)
    >>> S(torch.randn(2, 1024)).shape
    torch.Size([2, 126, 16])
    >>> first_order_at_scale_2 = S.meta.select(order=1, j1=2)
    """

    engine = staticmethod(scattering1d_with_plan)

    def __init__(self, shape, *, J: int, Q=1, T: int | None = None, max_order: int = 2,
                 padding: str = "reflect", normalize: str = "kymatio"):
        plan = plan_1d(shape, J, Q, T, max_order, padding, normalize)
        params = dict(shape=(plan.length,), J=plan.J, Q=plan.Q, T=plan.T, max_order=plan.max_order, padding=padding,
                      normalize=normalize)
        super().__init__(params, plan, build_bank_1d(plan))

    @property
    def output_shape(self) -> tuple[int, int]:
        return (self._plan.n_channels, self._plan.output_length)

    def filters_fourier(self, order: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(psi, phi): the wavelets of ``order`` (rows) and the low-pass, at the padded length (read-only)."""
        check_int("Scattering1D.filters_fourier", "order", order, 1, 2)
        params = self._plan.psi1 if order == 1 else self._plan.psi2
        N = self._plan.padded_length
        return self._view(("filters", order), lambda: (morlet_fourier_1d(N, params.xi, params.sigma),
                                                       gaussian_fourier_1d(N, self._plan.sigma_low)))

    def littlewood_paley(self, order: int = 1) -> np.ndarray:
        """LP(omega) = |phi|^2 + 1/2 sum |psi(omega)|^2 + |psi(-omega)|^2 on the padded DFT grid."""
        psi, phi = self.filters_fourier(order)
        return littlewood_paley_sum(psi, phi, ndim=1)

    def frame_bounds(self, order: int = 1) -> FrameBounds:
        psi, phi = self.filters_fourier(order)
        return frame_bounds(psi, phi, ndim=1)
