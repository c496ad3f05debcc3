r"""Capacity of a model class and the randomization tests of Zhang et al.: corrupted data sets, the
empirical Rademacher complexity measured by fitting random signs, and the VC bound.

Randomization tests (Zhang, Bengio, Hardt, Recht & Vinyals, "Understanding deep learning requires
rethinking generalization", ICLR 2017, Section 2): the same network is trained on the true labels,
on labels replaced by uniform random classes with probability p (:func:`corrupt_labels`), on
images whose pixels are all moved by one fixed permutation (:func:`shuffle_pixels`) and on
Gaussian images with the mean and standard deviation of the data (:func:`gaussian_images`). All
are deterministic functions of a seed.

Empirical Rademacher complexity of a class H of functions with values in [-1, 1] on n points
(Bartlett & Mendelson, JMLR 2002):

.. math:: \hat{\mathfrak R}_S(H) = \mathbb E_\sigma \sup_{h\in H}\frac1n\sum_{i=1}^n \sigma_i h(x_i),

:math:`\sigma_i` independent uniform signs. :func:`empirical_rademacher` estimates it by Monte Carlo
over ``draws`` sign vectors, the supremum replaced by what a fitting procedure reaches (training
the network on the signs as binary labels): the estimate is thus a lower estimate of
:math:`\hat{\mathfrak R}_S` (training finds a correlation at most the supremum), with the Monte
Carlo standard error over draws. For the linear class on the ball of radius r the supremum is
:math:`r\|\sum_i\sigma_i x_i\| / n`, whose expectation :func:`linear_ball_rademacher` computes
exactly by enumerating the :math:`2^n` sign vectors.

Bounds on the generalization gap of a binary classifier (Mohri, Rostamizadeh & Talwalkar,
"Foundations of Machine Learning", 2nd ed. 2018): with probability :math:`1-\delta`,
:math:`R(h) - \hat R(h) \le \hat{\mathfrak R}_S(H) + 3\sqrt{\ln(2/\delta)/(2n)}` (Theorem 3.5 with
Lemma 3.4, :func:`rademacher_gap_bound`) and :math:`R(h) - \hat R(h) \le \sqrt{2\ln\Pi_H(n)/n} +
\sqrt{\ln(1/\delta)/(2n)}` with the growth function :math:`\ln\Pi_H(n) \le \min(n\ln 2,\,
d\ln(en/d))` for VC dimension d (Corollaries 3.8 and 3.18 with Sauer's lemma, :func:`vc_gap_bound`).
For a ReLU network the VC dimension is at least of order P L log(P / L) for P parameters and L
layers (Bartlett, Harvey, Liaw & Mehrabian, JMLR 2019), so the bound at d = P is a lower value of
the VC bound: when it already exceeds 1, the VC bound is vacuous.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable

import numpy as np
import torch

from ..errors import DataError, InvalidParameterError, ShapeError, parameter_error

__all__ = ["RademacherEstimate", "corrupt_labels", "empirical_rademacher", "gaussian_images",
           "linear_ball_rademacher", "rademacher_gap_bound", "rademacher_signs", "shuffle_pixels", "vc_gap_bound"]


# ------------------------------------------------------------------------------------ corruptions


def corrupt_labels(labels: torch.Tensor, fraction: float, num_classes: int, seed: int, *,
                   exclude_true: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels of which exactly round(fraction * n) are replaced, and the mask of the replaced ones.

    The replaced positions are the first of a random permutation (``seed``); each gets a uniform
    random class among ``num_classes`` (Zhang et al. 2017: it may equal the true one, so about
    fraction * (1 - 1/K) of the labels change) or, with ``exclude_true``, a uniform class other
    than the true one (then exactly the replaced labels change).
    """
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ShapeError(f"'labels' must be a 1-D integer tensor; got shape {tuple(labels.shape)}, {labels.dtype}.")
    if not 0 <= fraction <= 1:
        raise parameter_error("corrupt_labels", "fraction", "a number in [0, 1]", fraction)
    if num_classes < 2 or (labels.numel() and int(labels.max()) >= num_classes) or (
            labels.numel() and int(labels.min()) < 0):
        raise parameter_error("corrupt_labels", "num_classes", "at least 2 and above every label", num_classes)
    n = labels.numel()
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(n)[: round(fraction * n)]
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.as_tensor(chosen, dtype=torch.long)] = True
    out = labels.clone().long()
    if exclude_true:  # a uniform class among the K - 1 others: shift by 1 ... K - 1
        shift = torch.as_tensor(rng.integers(1, num_classes, size=len(chosen)))
        out[mask] = (out[mask] + shift) % num_classes
    else:
        out[mask] = torch.as_tensor(rng.integers(0, num_classes, size=len(chosen)))
    return out.to(labels.dtype), mask


def _check_images(x: torch.Tensor, owner: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() < 3 or not x.is_floating_point():
        raise ShapeError(f"{owner} takes float images (B, C, *spatial); got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}.")


def shuffle_pixels(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Images (B, C, *spatial) whose pixel positions are all moved by ONE random permutation
    (``seed``), the same for every image and every channel (Zhang et al. 2017, 'shuffled pixels')."""
    _check_images(x, "shuffle_pixels")
    flat = x.flatten(2)
    permutation = torch.as_tensor(np.random.default_rng(seed).permutation(flat.shape[-1]), device=x.device)
    return flat[..., permutation].reshape(x.shape)


def gaussian_images(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Gaussian images of the shape of ``x`` (B, C, *spatial), independent pixels with the mean and
    standard deviation of ``x`` channel by channel (Zhang et al. 2017, 'Gaussian')."""
    _check_images(x, "gaussian_images")
    dims = [0, *range(2, x.dim())]
    mean, std = x.mean(dim=dims, keepdim=True), x.std(dim=dims, keepdim=True)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return mean + std * noise


# ---------------------------------------------------------------------------------- Rademacher


def rademacher_signs(n: int, seed: int) -> torch.Tensor:
    """n independent uniform signs in {-1, +1} (float32), from ``seed``."""
    if n < 1:
        raise parameter_error("rademacher_signs", "n", "an integer >= 1", n)
    return torch.as_tensor(np.random.default_rng(seed).integers(0, 2, size=n) * 2 - 1, dtype=torch.float32)


@dataclasses.dataclass(frozen=True)
class RademacherEstimate:
    """Monte Carlo estimate of an empirical Rademacher complexity: the correlation
    :math:`\\frac1n\\sum_i\\sigma_i h_\\sigma(x_i)` reached for each sign draw, their mean and its
    standard error (std / sqrt(draws); 0 for one draw)."""

    correlations: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.correlations))

    @property
    def stderr(self) -> float:
        k = len(self.correlations)
        return float(np.std(self.correlations, ddof=1) / math.sqrt(k)) if k > 1 else 0.0


def empirical_rademacher(fit: Callable[[torch.Tensor, int], torch.Tensor], n: int, draws: int,
                         seed: int) -> RademacherEstimate:
    """Estimate :math:`\\hat{\\mathfrak R}_S(H)` by fitting ``draws`` random sign vectors.

    ``fit(sigma, k)`` receives the k-th sign vector (n,) and returns the values (n,) in [-1, 1] of
    the function of H it found for them on the n points (for a classifier, the signs it predicts).
    Draw k uses the seed ``seed + k``.
    """
    if n < 1 or draws < 1:
        raise parameter_error("empirical_rademacher", "n, draws", "integers >= 1", (n, draws))
    correlations = []
    for k in range(draws):
        sigma = rademacher_signs(n, seed + k)
        values = torch.as_tensor(fit(sigma, k)).detach().flatten().cpu().double()
        if values.numel() != n:
            raise ShapeError(f"'fit' returned {values.numel()} values for {n} points; return one value per point.")
        if not torch.isfinite(values).all() or values.abs().max() > 1 + 1e-6:
            raise DataError("'fit' returned values outside [-1, 1] (or not finite); return the signs of the fitted"
                            " classifier, or values clipped to [-1, 1].")
        correlations.append(float((sigma.double() * values).mean()))
    return RademacherEstimate(tuple(correlations))


def linear_ball_rademacher(x: torch.Tensor, radius: float = 1.0) -> float:
    r"""Exact :math:`\hat{\mathfrak R}_S` of the linear functions :math:`x \mapsto \langle w, x\rangle`,
    :math:`\|w\| \le r`, on the rows of ``x`` (n, d): :math:`\frac rn\mathbb E_\sigma\|\sum_i\sigma_i x_i\|`,
    the expectation computed over all :math:`2^n` sign vectors (n <= 20)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.dim() != 2:
        raise ShapeError(f"'x' must be (n, d); got shape {tuple(x.shape)}.")
    n = x.shape[0]
    if not 1 <= n <= 20:
        raise parameter_error("linear_ball_rademacher", "x", "between 1 and 20 points (2^n sign vectors)", n)
    if not radius > 0:
        raise parameter_error("linear_ball_rademacher", "radius", "a number > 0", radius)
    signs = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=n)), dtype=torch.float64)
    return float(radius * (signs @ x).norm(dim=1).mean() / n)


# --------------------------------------------------------------------------------------- bounds


def _check_bound(n: int, delta: float, owner: str) -> None:
    if n < 1:
        raise parameter_error(owner, "n", "an integer >= 1 (training points)", n)
    if not 0 < delta < 1:
        raise parameter_error(owner, "delta", "a probability in (0, 1)", delta)


def vc_gap_bound(n: int, vc_dimension: int, *, delta: float = 0.05) -> float:
    r""":math:`\sqrt{2\ln\Pi(n)/n} + \sqrt{\ln(1/\delta)/(2n)}` with
    :math:`\ln\Pi(n) = \min(n\ln 2, d\ln(en/d))` (the second only when n >= d): the VC bound on the
    gap between test and training error of a binary classifier (a fraction; >= 1 is vacuous)."""
    _check_bound(n, delta, "vc_gap_bound")
    if vc_dimension < 1:
        raise parameter_error("vc_gap_bound", "vc_dimension", "an integer >= 1", vc_dimension)
    d = vc_dimension
    log_growth = n * math.log(2) if n < d else min(n * math.log(2), d * math.log(math.e * n / d))
    return math.sqrt(2 * log_growth / n) + math.sqrt(math.log(1 / delta) / (2 * n))


def rademacher_gap_bound(rademacher: float, n: int, *, delta: float = 0.05) -> float:
    r""":math:`\hat{\mathfrak R}_S(H) + 3\sqrt{\ln(2/\delta)/(2n)}`: the bound on the gap between test
    and training error of a binary classifier from the empirical Rademacher complexity of its class
    (values in {-1, 1})."""
    _check_bound(n, delta, "rademacher_gap_bound")
    if not 0 <= rademacher <= 1:
        raise InvalidParameterError(f"The 'rademacher' complexity of a class of [-1, 1]-valued functions is in [0, 1];"
                                    f" got {rademacher!r}.")
    return rademacher + 3 * math.sqrt(math.log(2 / delta) / (2 * n))
