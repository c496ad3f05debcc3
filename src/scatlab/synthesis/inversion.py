r"""Recovering a signal from its scattering coefficients by gradient descent.

With little averaging (a ``Scattering1D`` with small T, a ``Scattering2D`` with small J), the
coefficients :math:`S y` keep most of the information of y, and y is recovered, up to the
transform's invariances, as a minimizer of :math:`\|S x - S y\|^2` started from white noise
(same descent as :func:`scatlab.synthesis.synthesize`). The modulus discards the phase of each
band, so the recovery is a phase retrieval: it converges to coefficients close to :math:`Sy`, and
the signal error measures how much of y they pin down.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ..errors import DataError, ShapeError
from .descent import check_descent, descend
from .moments import signal_dims
from .start import noise_level, white_noise
from .synthesis import on_device

__all__ = ["InversionResult", "invert", "signal_error"]


@dataclasses.dataclass(frozen=True)
class InversionResult:
    r"""A signal recovered from scattering coefficients and the record of its descent.

    ``signal`` (*batch, *S.shape); ``coefficients``: its transform S(signal); ``history``
    (n, B): the relative coefficient error :math:`\|Sx - Sy\| / \|Sy\|` of each of
    the B flattened batch items at every evaluation, the last row at ``signal``.
    """

    signal: torch.Tensor
    coefficients: torch.Tensor
    history: np.ndarray
    evaluations: int
    converged: bool
    seconds: float

    @property
    def rel_error(self) -> np.ndarray:
        """Final relative coefficient error of each batch item (flattened)."""
        return self.history[-1]


def invert(coefficients, S: torch.nn.Module, *, method: str = "lbfgs", steps: int = 500, seed: int = 0,
           tol: float = 1e-3, lr: float | None = None, device: str | torch.device | None = None,
           progress: bool = True) -> InversionResult:
    r"""Find x with :math:`S x \approx` ``coefficients`` by descent from white noise.

    Parameters
    ----------
    coefficients : torch.Tensor or numpy.ndarray
        ``S(y)`` of shape (*batch, *S.output_shape); each batch item is inverted independently.
    S : Scattering1D or Scattering2D
        The transform that produced them.
    method, steps, seed, tol, lr, device, progress
        As in :func:`scatlab.synthesis.synthesize`; the error is :math:`\|Sx - Sy\| / \|Sy\|`.

    Notes
    -----
    The start is white noise with the mean and standard deviation estimated from the spatial
    averages of the coefficients (see :func:`scatlab.synthesis.start.noise_level`). Compare the
    result with y by :func:`signal_error`.
    """
    check_descent("invert", method, steps, tol, lr)
    S = on_device(S, device)
    buffer = next(S.buffers())
    coefficients = torch.as_tensor(coefficients).to(dtype=buffer.dtype, device=buffer.device)
    out_shape = tuple(S.output_shape)
    if coefficients.dim() < len(out_shape) or tuple(coefficients.shape[-len(out_shape):]) != out_shape:
        raise ShapeError(f"invert takes coefficients of shape (..., {', '.join(map(str, out_shape))}) for this"
                         f" transform; got shape {tuple(coefficients.shape)}. Pass the output of the same S.")
    if not bool(torch.isfinite(coefficients).all()):
        raise DataError("The coefficients given to invert hold NaN or Inf values; clean them first.")
    batch = coefficients.shape[:-len(out_shape)]
    target = coefficients.reshape(math.prod(batch), -1)
    if not bool((target.norm(dim=-1) > 0).all()):
        raise DataError("Some coefficients given to invert are all zero (an all-zero signal): the relative error"
                        " is undefined, and the answer is the zero signal.")
    spatial = tuple(range(-signal_dims(S), 0))
    moments = coefficients.reshape(-1, *out_shape).mean(dim=spatial)
    starts = []
    for b, m in enumerate(moments):
        mean, std = noise_level(m, S, seed=seed + 1)
        starts.append(white_noise(S, 1, mean, std, seed=seed + b, like=target))
    descent = descend(lambda x: S(x).flatten(1), target, torch.cat(starts), method=method, steps=steps, tol=tol,
                      lr=lr, progress=progress, desc="invert")
    with torch.no_grad():
        recovered = S(descent.x)
    return InversionResult(descent.x.reshape(*batch, *S.shape), recovered.reshape(coefficients.shape),
                           descent.history, descent.evaluations, descent.converged, descent.seconds)


def signal_error(x, reference, ndim: int | None = None) -> np.ndarray:
    r"""Relative error of x to the reference up to a global sign and a circular translation.

    .. math:: \min_{\epsilon = \pm 1,\ \tau} \|\epsilon\, x(\cdot - \tau) - y\| / \|y\|,

    computed for every circular shift :math:`\tau` at once by FFT cross-correlation over the last
    ``ndim`` axes (default: 2 if the arrays have at least two axes, else 1). These are the
    transform's invariances (up to shifts by less than its subsampling); the minimum over a
    larger set can only lower the error.

    Returns
    -------
    numpy.ndarray
        The error for every leading index (a 0-d array for single signals).
    """
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    y = np.asarray(reference.detach().cpu() if isinstance(reference, torch.Tensor) else reference, dtype=np.float64)
    if x.shape != y.shape:
        raise ShapeError(f"signal_error compares arrays of one shape; got {x.shape} and {y.shape}.")
    ndim = min(x.ndim, 2) if ndim is None else ndim
    axes = tuple(range(-ndim, 0))
    correlation = np.fft.irfftn(np.fft.rfftn(y, axes=axes) * np.conj(np.fft.rfftn(x, axes=axes)),
                                s=x.shape[-ndim:], axes=axes)
    best = np.abs(correlation).max(axis=axes)
    energy = (x**2).sum(axis=axes) + (y**2).sum(axis=axes)
    return np.sqrt(np.maximum(energy - 2 * best, 0.0)) / np.sqrt((y**2).sum(axis=axes))
