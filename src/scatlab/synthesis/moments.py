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
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import DataError

__all__ = ["scattering_moments", "relative_error", "order_errors", "parent_index", "signal_dims"]


def signal_dims(S: torch.nn.Module) -> int:
    """Number of signal dimensions of a scattering module: 1 (Scattering1D) or 2 (Scattering2D)."""
    return len(S.shape)


def scattering_moments(x, S: torch.nn.Module, *, log: bool = False, normalize: bool = False) -> torch.Tensor:
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
    if not (normalize or log):
        return moments
    order = torch.tensor(S.meta["order"], device=moments.device)
    parts = [moments[..., order == k] for k in range(int(order.max()) + 1)]
    if normalize:
        sigma = x.std(dim=spatial, unbiased=False).unsqueeze(-1)
        if bool((sigma == 0).any()):
            raise DataError("The normalized scattering moments of a constant signal are undefined (its standard"
                            " deviation is 0). Use normalize=False, or a signal that varies.")
        parts[1] = parts[1] / sigma
        if len(parts) > 2:
            parts[2] = parts[2] / moments[..., torch.as_tensor(parent_index(S), device=moments.device)]
    if log:
        parts[1:] = [torch.log(p) for p in parts[1:]]
    moments = torch.cat(parts, dim=-1)
    if not bool(torch.isfinite(moments).all()):
        raise DataError("Some normalized or log scattering moments are undefined: an order-1 moment is 0 (the signal"
                        " has no energy in that wavelet's band). Use normalize=False and log=False.")
    return moments


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


def order_errors(moments: torch.Tensor, target: torch.Tensor, S: torch.nn.Module) -> dict[int, torch.Tensor]:
    """The relative error of each scattering order separately: {order: error (...,)}."""
    order = torch.tensor(S.meta["order"], device=moments.device)
    return {k: relative_error(moments[..., order == k], target[..., order == k])
            for k in range(int(order.max()) + 1)}
