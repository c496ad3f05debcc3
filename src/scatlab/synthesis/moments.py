r"""Scattering moments: the spatial (or temporal) average of every channel of a scattering transform.

For a stationary process X, Bruna & Mallat ("Multiscale sparse microcanonical models", Math.
Stat. Learn. 2019) estimate the expected scattering from one realisation x of d samples by

.. math:: m_0 = \overline{x},\quad m_1(\lambda_1) = \overline{|x\star\psi_{\lambda_1}|},\quad
          m_2(\lambda_1,\lambda_2) = \overline{||x\star\psi_{\lambda_1}|\star\psi_{\lambda_2}|},

where :math:`\overline{\,\cdot\,}` is the average over positions: O(log^2 d) numbers in all. They
are the averages of the channels of :math:`S_J x`: the low-pass :math:`\phi_J` has unit mean, so
averaging after it changes nothing for periodic signals, up to the aliasing of its subsampling
(the average of :math:`S_J x` sampled every :math:`2^J` adds the terms of :math:`\hat\phi_J` at
the multiples of the output sampling frequency: about 2e-3 of the standard deviation of x at
J = 2, less at larger J).

First-order moments are L1 norms: nothing in them fixes the energy (L2 norm) of a synthesis. The
microcanonical models of Bruna & Mallat (2019, section 4), the wavelet phase harmonics of Zhang &
Mallat ("Maximum entropy models from phase harmonic covariances", ACHA 2021) and Portilla &
Simoncelli (IJCV 2000) also constrain second-order moments. With ``second_moments=True``,
:func:`scattering_moments` appends, after the C scattering moments, the K + 1 numbers

.. math:: s(\lambda_1) = \big(\overline{|x\circledast\psi_{\lambda_1}|^2}\big)^{1/2}
          = \Big(\frac{1}{d^2}\sum_k |\hat x(k)|^2\, |\hat\psi_{\lambda_1}(k)|^2\Big)^{1/2},\qquad
          \sigma(x) = \Big(\overline{(x - \overline{x})^2}\Big)^{1/2},

the root mean square of every first-order wavelet band (circular convolution with the wavelets of
``S`` sampled on the signal's own DFT grid: exactly the order-1 layer of a ``padding='periodic'``
transform) and the standard deviation: the band energies (a coarse power spectrum) and the total
energy, including the frequencies the wavelets barely see. Square roots keep every moment
homogeneous of degree 1 in x, like :math:`m_1`, so the relative error weighs them alike.
"""
from __future__ import annotations

import math
import weakref

import numpy as np
import torch

from ..errors import DataError
from ..filters.morlet1d import morlet_fourier_1d
from ..filters.morlet2d import morlet_bank_2d

__all__ = ["scattering_moments", "second_order_moments", "n_moments", "relative_error", "order_errors", "parent_index",
           "signal_dims"]

SECOND = "second"
"""The key of the second-order moments (band RMS and standard deviation) in :func:`order_errors`."""


def signal_dims(S: torch.nn.Module) -> int:
    """Number of signal dimensions of a scattering module: 1 (Scattering1D) or 2 (Scattering2D)."""
    return len(S.shape)


def n_moments(S: torch.nn.Module, second_moments: bool = False) -> int:
    """Length of the moment vector: C = ``len(S.meta)``, plus K + 1 with ``second_moments`` (K order-1 wavelets)."""
    return len(S.meta) + (len(S.meta.select(order=1)) + 1 if second_moments else 0)


def scattering_moments(x, S: torch.nn.Module, *, log: bool = False, normalize: bool = False,
                       second_moments: bool = False) -> torch.Tensor:
    r"""Scattering moments of x (..., *S.shape) as (..., C), one per channel of ``S.meta``.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray
        Signals (..., N) for a ``Scattering1D`` or images (..., M, N) for a ``Scattering2D``;
        converted to the dtype and device of S. Use ``padding='periodic'`` for stationary signals.
    S : Scattering1D or Scattering2D
        The transform; the result is ``S(x)`` averaged over its last one or two axes.
    normalize : bool
        If True, orders 1 and 2 are made scale free, as in Bruna & Mallat (2019):

        .. math:: \tilde m_1(\lambda_1) = m_1(\lambda_1) / \sigma(x),\qquad
                  \tilde m_2(\lambda_1, \lambda_2) = m_2(\lambda_1, \lambda_2) / m_1(\lambda_1),

        with :math:`\sigma(x)` the standard deviation of x. Order 1 is divided by
        :math:`\sigma(x)`, not by the order-0 mean, because :math:`m_1` is homogeneous in
        :math:`x - \overline{x}` while the mean may be zero (audio). :math:`m_0` is kept.
    log : bool
        If True, orders 1 and 2 (after normalization) are replaced by their logarithm.
    second_moments : bool
        If True, the result is (..., C + K + 1): the K + 1 second-order moments of
        :func:`second_order_moments` (band RMS, then standard deviation) follow the scattering
        moments; ``normalize`` divides them by :math:`\sigma(x)` and ``log`` takes their logarithm,
        as for order 1.

    Raises
    ------
    DataError
        If x holds NaN or Inf, or if a normalization or logarithm is undefined: a constant
        signal has :math:`\sigma(x) = 0`, and an all-zero band has :math:`m_1(\lambda_1) = 0`.
    """
    buffer = next(S.buffers())
    x = torch.as_tensor(x, dtype=buffer.dtype, device=buffer.device)
    ndim = signal_dims(S)
    spatial = tuple(range(-ndim, 0))
    moments = S(x).mean(dim=spatial)
    if second_moments:
        moments = torch.cat([moments, second_order_moments(x, S)], dim=-1)
    if not (normalize or log):
        return moments
    order = torch.tensor(S.meta["order"], device=moments.device)
    C = len(S.meta)
    parts = [moments[..., :C][..., order == k] for k in range(int(order.max()) + 1)] + [moments[..., C:]]
    if normalize:
        sigma = x.std(dim=spatial, unbiased=False).unsqueeze(-1)
        if bool((sigma == 0).any()):
            raise DataError("The normalized scattering moments of a constant signal are undefined (its standard"
                            " deviation is 0). Use normalize=False, or a signal that varies.")
        parts[1], parts[-1] = parts[1] / sigma, parts[-1] / sigma
        if len(parts) > 3:
            parts[2] = parts[2] / moments[..., torch.as_tensor(parent_index(S), device=moments.device)]
    if log:
        parts[1:] = [torch.log(p) for p in parts[1:]]
    moments = torch.cat(parts, dim=-1)
    if not bool(torch.isfinite(moments).all()):
        raise DataError("Some normalized or log scattering moments are undefined: an order-1 moment is 0 (the signal"
                        " has no energy in that wavelet's band). Use normalize=False and log=False.")
    return moments


def second_order_moments(x, S: torch.nn.Module) -> torch.Tensor:
    r"""Band RMS :math:`s(\lambda_1)` of every order-1 wavelet of S and the standard deviation: (..., K + 1).

    .. math:: s(\lambda_1)^2 = \overline{|x\circledast\psi_{\lambda_1}|^2}
              = \frac{1}{d^2}\sum_k |\hat x(k)|^2\, |\hat\psi_{\lambda_1}(k)|^2

    (Parseval), in the order of the order-1 rows of ``S.meta``; the wavelets are those of S sampled
    on the DFT grid of x (any padding). x is (..., *S.shape), converted to S's dtype and device;
    differentiable.
    """
    buffer = next(S.buffers())
    x = torch.as_tensor(x, dtype=buffer.dtype, device=buffer.device)
    ndim = signal_dims(S)
    spatial = tuple(range(-ndim, 0))
    d = math.prod(S.shape)
    power = torch.fft.fftn(x, dim=spatial).abs() ** 2 / d**2
    weights = _band_weights(S, buffer.dtype, buffer.device)
    bands = (power.unsqueeze(-ndim - 1) * weights).sum(dim=spatial)
    variance = power.sum(dim=spatial) - power[(Ellipsis,) + (0,) * ndim]
    return torch.cat([bands, variance.unsqueeze(-1)], dim=-1).clamp_min(0).sqrt()


_WEIGHTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _band_weights(S: torch.nn.Module, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    r""":math:`|\hat\psi_{\lambda_1}|^2` (K, *S.shape) on the signal's DFT grid, cached per module, dtype and device."""
    cache = _WEIGHTS.setdefault(S, {})
    key = (dtype, device)
    if key not in cache:
        first = S.meta.select(order=1)
        if signal_dims(S) == 1:
            psi = morlet_fourier_1d(S.shape[0], S.meta["xi1"][first], S.meta["sigma1"][first])
        else:
            psi = morlet_bank_2d(*S.shape, S.J, S.L)[0][S.meta["j1"][first], S.meta["theta1"][first]]
        cache[key] = torch.as_tensor(np.abs(psi) ** 2, dtype=dtype, device=device)
    return cache[key]


def parent_index(S: torch.nn.Module) -> np.ndarray:
    """Index of the order-1 parent channel of every order-2 channel of ``S.meta``.

    The parent shares the first-layer columns of the table: n1 in 1D, (j1, theta1) in 2D.
    """
    meta = S.meta
    keys = [name for name in meta.names if name.endswith("1") and np.issubdtype(meta[name].dtype, np.integer)]
    first = {tuple(meta[k][i] for k in keys): i for i in meta.select(order=1)}
    return np.array([first[tuple(meta[k][i] for k in keys)] for i in meta.select(order=2)], dtype=np.int64)


def relative_error(moments: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Relative moment error :math:`\|m - m_{ref}\| / \|m_{ref}\|` along the last axis."""
    return (moments - target).norm(dim=-1) / target.norm(dim=-1)


def order_errors(moments: torch.Tensor, target: torch.Tensor, S: torch.nn.Module) -> dict:
    """The relative error of each scattering order separately: {order: error (...,)}, and
    {:data:`SECOND`: error} for the second-order moments when the vectors hold them."""
    order = torch.tensor(S.meta["order"], device=moments.device)
    C = len(S.meta)
    errors = {k: relative_error(moments[..., :C][..., order == k], target[..., :C][..., order == k])
              for k in range(int(order.max()) + 1)}
    if moments.shape[-1] > C:
        errors[SECOND] = relative_error(moments[..., C:], target[..., C:])
    return errors
