r"""Texture synthesis from scattering moments (Bruna & Mallat, "Multiscale sparse microcanonical
models", Math. Stat. Learn. 2019).

The microcanonical model of a stationary process X is the set
:math:`\{x : \|m(x) - m(X)\| \le \varepsilon\}` of signals whose scattering moments m (see
:func:`scattering_moments`) match those of X. It is sampled by gradient descent on
:math:`\|m(x) - m(X)\|^2` from Gaussian white noise of the mean and variance of X: the descent
keeps the entropy of the noise wherever the moments do not constrain it.

First-order scattering moments are L1 norms, so nothing in them fixes the energy (L2 norm) of a
sample: ``second_moments=True`` also matches the band RMS of every first-order wavelet and the
standard deviation (see :mod:`scatlab.synthesis.moments`), the second-order moments that the
microcanonical models of Bruna & Mallat (2019), Zhang & Mallat (2021) and Portilla & Simoncelli
(2000) constrain as well. The ``textures`` experiment measures both (see its ``Selection``).
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch

from .._validation import check_int
from ..errors import DataError, InvalidParameterError, ShapeError
from .descent import check_descent, descend
from .moments import n_moments, order_errors, scattering_moments
from .start import noise_level, white_noise

__all__ = ["SECOND_MOMENTS", "SynthesisResult", "synthesize", "on_device"]

SECOND_MOMENTS = True
"""Default of ``synthesize(second_moments=...)``: chosen by the ``textures`` experiment's Selection, on a
held-out histology texture (immunohistochemistry, 256 x 256, J = 5): mean distance over the three statistics
that neither variant fits (histogram, random network, multiscale kurtosis; not energy and power spectrum, which
the variant with second moments fits) in units of the crop-to-crop distance, 0.59 without, 0.28 with (energy
kept 58 % without)."""


@dataclasses.dataclass(frozen=True)
class SynthesisResult:
    r"""Samples of a microcanonical model and the record of their descent.

    ``samples`` (n_samples, *S.shape); ``target`` (C,) and ``moments`` (n_samples, C): the matched
    moments; ``history`` (n, n_samples): the relative moment error
    :math:`\|m(x) - m_{ref}\| / \|m_{ref}\|` of each sample at every evaluation from the white
    noise on, the last row at ``samples`` (see :class:`scatlab.synthesis.descent.Descent`);
    ``order_errors``: {order: (n_samples,)} the same error restricted to each order (and to the
    second-order moments, key ``'second'``, when they are matched).
    """

    samples: torch.Tensor
    target: torch.Tensor
    moments: torch.Tensor
    history: np.ndarray
    order_errors: dict[int, np.ndarray]
    evaluations: int
    converged: bool
    seconds: float

    @property
    def rel_error(self) -> np.ndarray:
        """Final relative moment error of each sample."""
        return self.history[-1]


def synthesize(reference, S: torch.nn.Module, *, n_samples: int = 1, method: str = "lbfgs", steps: int = 500,
               seed: int = 0, tol: float = 1e-3, lr: float | None = None, log: bool = False,
               normalize: bool = False, second_moments: bool | None = None,
               device: str | torch.device | None = None, progress: bool = True) -> SynthesisResult:
    r"""Sample signals whose scattering moments match those of a reference (or given moments).

    Parameters
    ----------
    reference : torch.Tensor or numpy.ndarray
        A realisation x of shape ``S.shape`` (its moments are the target), or target moments of
        shape (C,) with C = ``n_moments(S, second_moments)``, as returned by
        :func:`scattering_moments` with the same ``log``, ``normalize`` and ``second_moments`` (a 1D
        shape equal to both is taken as a signal).
    S : Scattering1D or Scattering2D
        The transform (``padding='periodic'`` for stationary textures; its dtype is used). Give it
        ``max_order=1`` for a first-order model.
    n_samples : int
        Independent samples, descended together in one batch.
    method : {'lbfgs', 'adam'}
        L-BFGS with strong Wolfe line search (default) or Adam.
    steps : int
        Budget of evaluations of the moments and their gradient.
    seed : int
        Seed of the starting white noise.
    tol : float
        Stop when every sample's relative moment error is at most ``tol``.
    lr : float, optional
        Step of the method (see :func:`scatlab.synthesis.descent.descend`).
    log, normalize : bool
        The kind of moments matched (see :func:`scattering_moments`).
    second_moments : bool, optional
        Also match the band RMS of the first-order wavelets and the standard deviation (L2
        moments, see :func:`scatlab.synthesis.moments.second_order_moments`). Default: for a
        reference signal, :data:`SECOND_MOMENTS`; for reference moments, whether their length
        includes the second moments.
    device : str or torch.device, optional
        Where to compute (default: the device of S; S is copied, not moved).
    progress : bool
        Show a tqdm bar with the largest relative moment error.

    Notes
    -----
    The error :math:`\|m(x) - m_{ref}\| / \|m_{ref}\|` weighs the moments by their size; the order-0
    mean dominates it for signals far from zero mean, so standardize such a reference first (as
    ``scatlab synthesize`` does) for the error to measure orders 1 and 2. The start is white noise
    with the reference's mean and variance (from moments, see :func:`scatlab.synthesis.start.noise_level`).
    """
    check_int("synthesize", "n_samples", n_samples, 1, 10**6)
    check_descent("synthesize", method, steps, tol, lr)
    if second_moments is not None and not isinstance(second_moments, bool):
        raise InvalidParameterError(f"The 'second_moments' parameter of synthesize must be True, False or None."
                                    f" Got {second_moments!r} instead.")
    S = on_device(S, device)
    buffer = next(S.buffers())
    reference = torch.as_tensor(reference).to(dtype=buffer.dtype, device=buffer.device)
    if not bool(torch.isfinite(reference).all()):
        raise DataError("The reference of synthesize holds NaN or Inf values; clean them first.")
    is_signal = tuple(reference.shape) == tuple(S.shape)
    if second_moments is None:  # a moment vector says by its length whether it holds the second moments
        second_moments = SECOND_MOMENTS if is_signal else tuple(reference.shape) == (n_moments(S, True),)
    C = n_moments(S, second_moments)
    if is_signal:
        if bool(reference.max() == reference.min()):
            raise DataError("The reference signal is constant: it has no texture to synthesize (its only sample"
                            " is itself). Give a signal that varies.")
        target = scattering_moments(reference, S, log=log, normalize=normalize, second_moments=second_moments)
        mean, std = float(reference.mean()), float(reference.std(unbiased=False))
    elif tuple(reference.shape) == (C,):
        target = reference
        mean, std = noise_level(target, S, log=log, normalize=normalize, seed=seed + 1)
    else:
        raise ShapeError(f"synthesize takes a reference signal of shape {tuple(S.shape)} or moments of shape"
                         f" ({C},) for this transform (second_moments={second_moments}); got shape"
                         f" {tuple(reference.shape)}.")
    if not bool(target.norm() > 0):
        raise DataError("The target moments are all zero (an all-zero reference): the relative moment error is"
                        " undefined. Give a signal that is not zero.")
    x0 = white_noise(S, n_samples, mean, std, seed=seed, like=target)
    kinds = dict(log=log, normalize=normalize, second_moments=second_moments)
    descent = descend(lambda x: scattering_moments(x, S, **kinds), target, x0,
                      method=method, steps=steps, tol=tol, lr=lr, progress=progress, desc="synthesize")
    with torch.no_grad():
        moments = scattering_moments(descent.x, S, **kinds)
    errors = {k: e.cpu().numpy() for k, e in order_errors(moments, target, S).items()}
    return SynthesisResult(descent.x, target, moments, descent.history, errors, descent.evaluations,
                           descent.converged, descent.seconds)


def on_device(S: torch.nn.Module, device: str | torch.device | None) -> torch.nn.Module:
    """S itself if ``device`` is None or S's device, else a copy of S on ``device``."""
    if device is None or next(S.buffers()).device == torch.device(device):
        return S
    return copy.deepcopy(S).to(device)
