r"""The models that scattering moments are compared with: Gaussian, and first-order moments only.

The Gaussian model of a stationary process keeps only its power spectrum: a sample is
:math:`\mathcal F^{-1}(|\hat x|\, e^{i\varphi})` with phases :math:`\varphi` of a white noise, so
that it is real. A first-order model matches :math:`\overline{|x\star\psi_{\lambda}|}`, about the
power spectrum in each wavelet band and its sparsity, but no interaction between scales.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import DataError, InvalidParameterError
from ..nn import Scattering1D, Scattering2D

__all__ = ["gaussian_model", "first_order_transform"]


def gaussian_model(x, seed: int = 0, *, ndim: int | None = None):
    r"""A sample of the Gaussian model of x: the same Fourier modulus, random phases.

    .. math:: y = \mathcal F^{-1}\big(|\hat x|\, \hat w / |\hat w|\big),\qquad \hat y(0) = \hat x(0),

    with w Gaussian white noise drawn from ``seed``. The phases of a real noise are Hermitian
    symmetric (real at the self-conjugate frequencies), so y is real; :math:`|\hat y| = |\hat x|`
    exactly (the power spectrum, hence the autocorrelation and the mean, are kept).

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
        Real signals; the Fourier transform runs over the last ``ndim`` axes.
    seed : int
        Seed of the phases.
    ndim : {1, 2}, optional
        Signal dimensions; default 2 if x has at least two axes, else 1.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same type, shape and dtype as x.
    """
    is_tensor = isinstance(x, torch.Tensor)
    array = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating) or array.ndim == 0:
        raise InvalidParameterError(f"gaussian_model takes a real float signal; got dtype {array.dtype}, shape {array.shape}.")
    if not np.isfinite(array).all():
        raise DataError("The signal given to gaussian_model holds NaN or Inf values; clean them first.")
    ndim = min(array.ndim, 2) if ndim is None else ndim
    if ndim not in (1, 2) or ndim > array.ndim:
        raise InvalidParameterError(f"The 'ndim' parameter of gaussian_model must be 1 or 2, at most x.ndim = {array.ndim}."
                                    f" Got {ndim!r} instead.")
    axes = tuple(range(-ndim, 0))
    noise = np.random.default_rng(seed).standard_normal(array.shape)
    noise_hat = np.fft.fftn(noise, axes=axes)
    magnitude = np.abs(noise_hat)
    phases = np.divide(noise_hat, magnitude, out=np.ones_like(noise_hat), where=magnitude > 0)
    phases[(Ellipsis,) + (0,) * ndim] = 1.0
    x_hat = np.fft.fftn(array.astype(np.float64), axes=axes)
    y_hat = np.abs(x_hat) * phases
    y_hat[(Ellipsis,) + (0,) * ndim] = x_hat[(Ellipsis,) + (0,) * ndim]
    y = np.fft.ifftn(y_hat, axes=axes).real.astype(array.dtype)
    return torch.from_numpy(y).to(x.device) if is_tensor else y


def first_order_transform(S: torch.nn.Module) -> torch.nn.Module:
    """A copy of the scattering transform S with ``max_order=1`` (same shape, scales, padding)."""
    if isinstance(S, Scattering2D):
        first = Scattering2D(S.shape, J=S.J, L=S.L, max_order=1, padding=S.padding)
    elif isinstance(S, Scattering1D):
        first = Scattering1D(S.shape, J=S.J, Q=S.Q, T=S.T, max_order=1, padding=S.padding, normalize=S.normalize)
    else:
        raise InvalidParameterError(f"first_order_transform takes a Scattering1D or Scattering2D; got {type(S).__name__}.")
    buffer = next(S.buffers())
    return first.to(dtype=buffer.dtype, device=buffer.device)
