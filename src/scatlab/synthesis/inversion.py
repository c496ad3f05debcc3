r"""Recovering a signal from its scattering coefficients by gradient descent.

With little averaging (a ``Scattering1D`` with small T, a ``Scattering2D`` with small J), the
coefficients :math:`S y` keep most of the information of y, and y is recovered, up to the
transform's invariances, as a minimizer of :math:`\|S x - S y\|^2` (same descent as
:func:`scatlab.synthesis.synthesize`). The modulus discards the phase of each band, so the
recovery is a phase retrieval, with local minima: from white noise alone, L-BFGS stalled above
1 % coefficient error on about half of a set of 32 x 32 crops of real images (and more steps did
not help: it stops, no descent direction left). The default start is therefore the low-pass
image read off the order-0 coefficients plus noise, with a few restarts that differ by their
noise, the best (on the coefficient error) continued; see ``benchmarks/inversion.py`` for the
measured distributions. The signal error measures how much of y the coefficients pin down.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import torch

from .._validation import check_choice, check_int
from ..errors import DataError, ShapeError
from .descent import check_descent, descend
from .moments import signal_dims
from .start import noise_level, white_noise
from .synthesis import on_device

__all__ = ["INITS", "InversionResult", "invert", "signal_error"]

INITS = ("lowpass", "noise")
LOWPASS_STEPS = 60  # evaluations of the low-pass fit (a linear least squares: converged well before)
LOWPASS_TOL = 1e-4  # relative error of the order-0 coefficients at which the low-pass fit stops
RESTART_SEED = 7919  # seed offset between the noises of successive starts


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
           progress: bool = True, init: str = "lowpass", restarts: int = 4, probe: int = 50,
           start=None) -> InversionResult:
    r"""Find x with :math:`S x \approx` ``coefficients`` by descent from a low-pass image plus noise.

    Parameters
    ----------
    coefficients : torch.Tensor or numpy.ndarray
        ``S(y)`` of shape (*batch, *S.output_shape); each batch item is inverted independently.
    S : Scattering1D or Scattering2D
        The transform that produced them.
    method, seed, tol, lr, device, progress
        As in :func:`scatlab.synthesis.synthesize`; the error is :math:`\|Sx - Sy\| / \|Sy\|`.
    steps : int
        Budget of evaluations of S with its gradient, all stages included (the low-pass fit, the
        probes of the restarts and the final descent).
    init : {'lowpass', 'noise'}
        The start. ``'lowpass'`` (default): the order-0 coefficients :math:`y \star \phi_J`
        (subsampled) are a linear measurement of y; up to ``LOWPASS_STEPS`` L-BFGS evaluations
        fit them from the constant image of their mean, which gives a smooth image of the coarse
        content of y, and white noise is added for the finer scales. ``'noise'``: white noise
        alone (the earlier default). The noise has the mean (for ``'noise'``) and standard
        deviation estimated from the spatial averages of the coefficients (see
        :func:`scatlab.synthesis.start.noise_level`).
    restarts : int
        Starts tried (default 4), differing by their noise (seeds ``seed + b + RESTART_SEED * r``
        for batch item b, start r = 0, ..., restarts - 1; r = 0 is the single start of
        ``restarts=1``). Each descends ``probe`` evaluations; each batch item continues from the
        start with the lowest coefficient error (a choice on the objective only). The descent
        stalls in local minima of this phase retrieval (L-BFGS stops early, more steps do not
        help), from which another start escapes.
    probe : int
        Evaluations of each start before the choice (default 50), at most ``steps // (2 *
        restarts)`` so that the probes take at most half the budget (none: a single start).
    start : torch.Tensor or numpy.ndarray, optional
        A signal (*batch, *S.shape) to descend from instead (a warm start): ``init``, ``restarts``
        and ``probe`` are then unused.

    Notes
    -----
    The defaults were chosen on 32 x 32 crops of real images (``benchmarks/inversion.py``): with
    white noise and one start, the descent stalled above 1 % coefficient error on about half of
    them. Compare the result with y by :func:`signal_error`.

    ``history`` holds the errors along the path to the result: the chosen start's probe (each
    item's own, its last row repeated to the longest), then the final descent; ``evaluations``
    counts every evaluation, the unchosen probes and the low-pass fit included.
    """
    check_descent("invert", method, steps, tol, lr)
    check_choice("invert", "init", init, INITS)
    check_int("invert", "restarts", restarts, 1, 1000)
    check_int("invert", "probe", probe, 1, 10**7)
    probe = min(probe, steps // (2 * restarts))
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
    B = math.prod(batch)
    target = coefficients.reshape(B, -1)
    if not bool((target.norm(dim=-1) > 0).all()):
        raise DataError("Some coefficients given to invert are all zero (an all-zero signal): the relative error"
                        " is undefined, and the answer is the zero signal.")
    start_time = time.perf_counter()
    given = None
    if start is not None:
        given = torch.as_tensor(start).to(dtype=buffer.dtype, device=buffer.device)
        if tuple(given.shape) != (*batch, *S.shape):
            raise ShapeError(f"The start given to invert must have shape {(*batch, *S.shape)} (the batch of the"
                             f" coefficients, then S.shape); got {tuple(given.shape)}.")
        given = given.reshape(B, *S.shape)
    spatial = tuple(range(-signal_dims(S), 0))
    moments = coefficients.reshape(-1, *out_shape).mean(dim=spatial)
    levels = [noise_level(m, S, seed=seed + 1) for m in moments]
    used = 0
    if given is not None:
        base = given
    elif init == "lowpass":
        base, used = _lowpass(S, target, [mean for mean, _ in levels], min(LOWPASS_STEPS, max(steps // 4, 1)))
    else:
        base = torch.cat([torch.full((1, *S.shape), mean, dtype=target.dtype, device=target.device)
                          for mean, _ in levels])

    def noisy(r: int) -> torch.Tensor:
        return base + torch.cat([white_noise(S, 1, 0.0, std, seed=seed + b + RESTART_SEED * r, like=target)
                                 for b, (_, std) in enumerate(levels)])

    def features(x: torch.Tensor) -> torch.Tensor:
        return S(x).flatten(1)

    paths: list[np.ndarray] = []
    x = noisy(0) if given is None else given
    if restarts > 1 and probe > 0 and given is None:
        best, errors = None, None
        for r in range(restarts):
            d = descend(features, target, noisy(r), method=method, steps=probe, tol=tol, lr=lr, progress=progress,
                        desc=f"invert: start {r + 1}/{restarts}")
            used += d.evaluations
            if best is None:
                best, errors, paths = d.x.clone(), d.errors.copy(), [d.history[:, b] for b in range(B)]
            else:
                better = d.errors < errors
                best[torch.as_tensor(better, device=best.device)] = d.x[torch.as_tensor(better, device=best.device)]
                errors = np.where(better, d.errors, errors)
                paths = [d.history[:, b] if better[b] else paths[b] for b in range(B)]
            if (errors <= tol).all():
                break
        x = best
    probes = _stack(paths) if paths else np.zeros((0, B))
    if paths and (probes[-1] <= tol).all():
        history, converged = probes, True
    else:
        d = descend(features, target, x, method=method, steps=max(steps - used, 1), tol=tol, lr=lr,
                    progress=progress, desc="invert")
        used += d.evaluations
        x, history, converged = d.x, np.concatenate([probes, d.history]), d.converged
    with torch.no_grad():
        recovered = S(x)
    return InversionResult(x.reshape(*batch, *S.shape), recovered.reshape(coefficients.shape), history, used,
                           converged, time.perf_counter() - start_time)


def _lowpass(S: torch.nn.Module, target: torch.Tensor, means: list[float], steps: int) -> tuple[torch.Tensor, int]:
    """Smooth signals (B, *S.shape) whose order-0 coefficients fit those of ``target`` (B, K), and the evaluations.

    L-BFGS from the constant signals ``means``, at most ``steps`` evaluations (``LOWPASS_STEPS``, or a
    quarter of the inversion's budget if that is smaller, so the budget holds): the order-0
    coefficients are linear in x, and descent from a constant adds only what they see.
    """
    C = len(S.meta)
    zero = torch.as_tensor(S.meta.select(order=0), device=target.device)
    order0 = target.reshape(len(target), C, -1)[:, zero].flatten(1)
    constant = torch.cat([torch.full((1, *S.shape), m, dtype=target.dtype, device=target.device) for m in means])
    if not bool((order0.norm(dim=-1) > 0).all()):
        return constant, 0
    d = descend(lambda x: S(x).reshape(len(x), C, -1)[:, zero].flatten(1), order0, constant, steps=steps,
                tol=LOWPASS_TOL, progress=False)
    return d.x, d.evaluations


def _stack(paths: list[np.ndarray]) -> np.ndarray:
    """(n, B) from B error paths, each padded by its last value to the longest."""
    n = max(len(p) for p in paths)
    return np.stack([np.concatenate([p, np.full(n - len(p), p[-1])]) for p in paths], axis=1)


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
