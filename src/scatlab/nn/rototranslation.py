"""``RotoTranslationScattering2D``: rigid-motion scattering as a torch.nn.Module."""
from __future__ import annotations

from ..banks.rototranslation import build_bank_roto
from ..functional.rototranslation import rototranslation_scattering2d_with_plan
from ..plan.rototranslation import plan_roto
from ._base import ScatteringModule

__all__ = ["RotoTranslationScattering2D"]


class RotoTranslationScattering2D(ScatteringModule):
    r"""Roto-translation scattering (Sifre & Mallat 2013): invariant to rotations and to translations
    up to 2^J, differentiable, batched, on any device.

    Parameters
    ----------
    shape : tuple (M, N)
        Image size; both sides at least 2**J.
    J : int
        Number of dyadic scales, in [1, 12]; output sampled every 2**J pixels.
    L : int
        Orientations of the first-layer wavelets over [0, pi), in [1, 64] (2L angles of
        [0, 2pi) on the group). Exact invariance to 90-degree rotations needs L even.
    K : int, optional
        Angular scales: periodic Morlet wavelets along theta at 2^k samples, k < K, in
        [0, floor(log2 L)] (default: the maximum). K = 0 keeps only the angular average.
    max_order : {1, 2}
        Highest order.
    padding : {'reflect', 'periodic'}
        'reflect' (default): padding by reflection, with an output grid centred on the image
        (M // 2**J samples, symmetric about pixel M // 2; not Scattering2D's Kymatio grid, which
        starts at pixel 0): a 90-degree rotation of a square image about that pixel (``np.rot90``
        for odd sides) rotates the output grid exactly when the reflected borders rotate with the
        image (e.g. an image that vanishes near its border); ``np.rot90`` of an even side moves
        the grid by one pixel. 'periodic': no padding, sides multiples of 2**J, exact rotation
        covariance about pixel (0, 0) for square images.

    Shape
    -----
    Input (..., M, N) float32 or float64; output (..., C, M', N') with C = 1 + J at order 1 and
    C = 1 + J + J K + L (1 + 2K) J (J - 1) / 2 at order 2, in the order of :attr:`meta`.

    Notes
    -----
    .. math:: S x = \Big(x\star\phi_J,\ \overline{U_1x\star\phi_J},\
              \overline{|U_1x\star\phi_J \circledast \psi_k|},\
              \overline{\big|U_1x \circledast \psi_{j_2,\theta_2}\psi_k\big|\star\phi_J}\Big),

    :math:`U_1x(u,\theta_1) = |x\star\psi_{j_1,\theta_1}|`, :math:`\circledast` the convolution on
    the roto-translation group (spatial wavelet rotated with :math:`\theta_1`, periodic wavelet along
    :math:`\theta_1`), the bar the mean over :math:`\theta_1`. See
    :mod:`scatlab.functional.rototranslation`.

    Channels are indexed by the relative orientation ``theta2`` (of :math:`\theta_2-\theta_1`),
    the angular scale ``k`` and ``spin``: rotating the image leaves them unchanged (exactly for
    90-degree rotations about the pixel named under ``padding``, with L even; the output grid
    rotates with the image). A mirror symmetry permutes them by ``meta['mirror']`` (theta2 -> L - theta2,
    spin -> -spin), so ``Sx + Sx[..., meta['mirror'], :, :]`` is also mirror invariant.

    References
    ----------
    L. Sifre and S. Mallat, "Rotation, scaling and deformation invariant scattering for texture
    discrimination", CVPR 2013. L. Sifre, "Rigid-motion scattering for image classification",
    PhD thesis, 2014.

    Examples
    --------
    >>> import torch
    >>> from scatlab.nn.rototranslation import RotoTranslationScattering2D
    >>> S = RotoTranslationScattering2D((32, 32), J=3, L=8)
    >>> S(torch.randn(2, 32, 32)).shape
    torch.Size([2, 181, 4, 4])
    >>> S.meta.select(order=2, j1=0, j2=1, theta2=0, k=-1)
    array([7])
    """

    engine = staticmethod(rototranslation_scattering2d_with_plan)

    def __init__(self, shape, *, J: int, L: int = 8, K: int | None = None, max_order: int = 2,
                 padding: str = "reflect"):
        plan = plan_roto(shape, J, L, K, max_order, padding)
        params = dict(shape=plan.shape, J=plan.J, L=plan.L, K=plan.K, max_order=plan.max_order, padding=padding)
        super().__init__(params, plan, build_bank_roto(plan))

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self._plan.n_channels,) + self._plan.output_shape
