r"""Mutual-information estimators for the information plane of a network, in bits.

The information plane (Shwartz-Ziv & Tishby, "Opening the black box of deep neural networks via
information", arXiv:1703.00810, 2017) places a layer T of a network at (I(X;T), I(T;Y)), with X
uniform over a sample of n inputs and Y their labels. A deterministic layer of a continuous input
has I(X;T) = infinity, so every estimate adds a quantization or a noise, and its value depends on
that choice. Three estimators are given, each with its bias:

* :func:`binning_mutual_information` (Shwartz-Ziv & Tishby 2017): every unit of T is cut into
  ``bins`` equal bins; T deterministic and X uniform over the n inputs give
  :math:`I(X;T) = H(\mathrm{bin}(T))` and :math:`I(T;Y) = H(\mathrm{bin}(T)) - H(\mathrm{bin}(T)\mid Y)`
  (plug-in entropies). Bias: the estimate grows with ``bins`` and saturates at
  :math:`\log_2 n` as soon as the n codes are distinct (wide layers, many bins), whatever the
  network does; for few occupied cells the plug-in :math:`I(T;Y)` is biased up by about
  :math:`(|T|-1)(|Y|-1)/(2 n \ln 2)` bits (Miller-Madow), e.g. for independent T and Y.
* :func:`kde_mutual_information` (Kolchinsky & Tracey, "Estimating mixture entropy with
  pairwise distances", Entropy 2017; Saxe et al., "On the information bottleneck theory of deep
  learning", ICLR 2018): T is made noisy, :math:`\tilde T = T + \mathcal N(0, \sigma^2 I)`; then
  :math:`\tilde T` is a mixture of n Gaussians and
  :math:`I(X;\tilde T) \le -\frac1n\sum_i \log_2 \frac1n \sum_j e^{-\|t_i - t_j\|^2 / 2\sigma^2}`
  (pairwise KL; with the Bhattacharyya distance :math:`\|t_i - t_j\|^2 / 8\sigma^2` it is a lower
  bound). It is an upper bound on the noisy layer's information, which depends on
  :math:`\sigma^2` relative to the scale of T (multiplying T by c is dividing :math:`\sigma^2` by
  :math:`c^2`), also saturates at :math:`\log_2 n`; :math:`I(\tilde T;Y)` is the difference of two
  bounds, neither an upper nor a lower bound. :func:`pairwise_mixture_information` is the general
  form (one diagonal Gaussian per input, e.g. a variational bottleneck's encoder).
* :func:`ksg_mutual_information` (Kraskov, Stoegbauer & Grassberger, Phys. Rev. E 69, 066138,
  2004, estimator 1) between two continuous variables from k-nearest-neighbour counts: nearly
  unbiased for independent variables, biased down for strongly dependent ones (the bias grows
  with I and with the dimension and falls with n).

:func:`gaussian_mutual_information` is the closed form for jointly Gaussian variables
(:func:`scatlab.theory.activations.layer_activations` records the layers' outputs).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma

from ._checks import as_labels
from ..errors import DataError, InvalidParameterError, ShapeError, parameter_error

__all__ = ["PlanePoint", "entropy_bits", "bin_activations", "binning_mutual_information",
           "pairwise_mixture_information", "kde_mutual_information", "kde_mutual_information_grid",
           "ksg_mutual_information",
           "gaussian_mutual_information"]

LN2 = math.log(2.0)


class PlanePoint(NamedTuple):
    """A layer's place in the information plane: I(X;T) and I(T;Y), in bits."""

    i_xt: float
    i_ty: float


# ------------------------------------------------------------------------------------- checks


def _as_samples(owner: str, name: str, t, min_samples: int = 2) -> np.ndarray:
    """``t`` as a finite float64 (n, d) array (a vector is n samples of one dimension)."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().double().numpy()
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise ShapeError(f"The '{name}' argument of {owner} must be an (n, d) array of n samples; got shape"
                         f" {t.shape}. Flatten each sample first (t.reshape(n, -1)).")
    if len(t) < min_samples:
        raise InvalidParameterError(f"The '{name}' argument of {owner} has {len(t)} samples; at least {min_samples}"
                                    " are needed to estimate an information.")
    if not np.all(np.isfinite(t)):
        raise DataError(f"The '{name}' argument of {owner} holds NaN or infinite values; remove them first.")
    return t


# ----------------------------------------------------------------------------------- binning


def entropy_bits(codes) -> float:
    r"""Plug-in entropy :math:`-\sum_c p_c \log_2 p_c` (bits) of the rows of ``codes`` (n, d) (or of
    the values of a vector), each distinct row one symbol with frequency :math:`p_c`."""
    codes = np.asarray(codes)
    if codes.ndim == 1:
        codes = codes[:, None]
    if codes.ndim != 2 or len(codes) == 0:
        raise ShapeError(f"The 'codes' argument of entropy_bits must be a non-empty (n, d) array; got shape"
                         f" {codes.shape}.")
    _, counts = np.unique(codes, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def bin_activations(t, bins: int = 30, value_range: tuple[float, float] | None = None) -> np.ndarray:
    r"""Integer codes (n, d): unit k of sample i in bin :math:`\lfloor b\,(t_{ik} - lo) / (hi - lo)\rfloor`
    of ``bins`` = b equal bins over ``value_range`` = (lo, hi) (default: the min and max of all of
    ``t``); values outside go to the first or last bin; a constant ``t`` is all in bin 0."""
    t = _as_samples("bin_activations", "t", t, min_samples=1)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise parameter_error("bin_activations", "bins", "an int >= 1", bins)
    lo, hi = (float(t.min()), float(t.max())) if value_range is None else map(float, value_range)
    if not hi >= lo:
        raise parameter_error("bin_activations", "value_range", "a pair (lo, hi) with lo <= hi", value_range)
    if hi == lo:
        return np.zeros(t.shape, dtype=np.int64)
    return np.clip(np.floor((t - lo) / (hi - lo) * bins), 0, bins - 1).astype(np.int64)


def binning_mutual_information(t, y, *, bins: int = 30, value_range: tuple[float, float] | None = None) -> PlanePoint:
    r"""(I(X;T), I(T;Y)) in bits by binning (Shwartz-Ziv & Tishby 2017).

    With X uniform over the n samples and T = f(X) deterministic, :math:`I(X;T) = H(B)` and
    :math:`I(T;Y) = H(B) - \sum_y p(y) H(B \mid Y = y)`, B = :func:`bin_activations` (t, bins,
    value_range), plug-in entropies. Biased: grows with ``bins``, at most :math:`\log_2 n`
    (reached when the n codes are distinct), and the plug-in :math:`I(T;Y)` is biased up by about
    :math:`(|B|-1)(|Y|-1) / (2 n \ln 2)` for independent T and Y with few occupied cells.

    Parameters
    ----------
    t : (n, d) array or tensor
        The layer's activations on the n inputs.
    y : (n,) labels
    bins : int
        Bins per unit (Shwartz-Ziv & Tishby: 30 over [-1, 1] for tanh).
    value_range : (lo, hi), optional
        The binned interval; default the min and max of ``t``.
    """
    t = _as_samples("binning_mutual_information", "t", t)
    y = as_labels("binning_mutual_information", "y", y, len(t))
    codes = bin_activations(t, bins, value_range)
    h = entropy_bits(codes)
    classes, counts = np.unique(y, return_counts=True)
    h_given_y = sum(c / len(y) * entropy_bits(codes[y == label]) for label, c in zip(classes, counts))
    return PlanePoint(float(h), float(max(h - h_given_y, 0.0)))


# ------------------------------------------------------------------------------ pairwise / KDE


def _pairwise_divergence(mean: torch.Tensor, variance: torch.Tensor, distance: str, chunk: int = 256) -> torch.Tensor:
    """(n, n) KL(p_i || p_j) or Bhattacharyya distance between diagonal Gaussians N(mean_i, variance_i)."""
    if bool((variance == variance[0, 0]).all()):  # one shared variance s: both are scaled squared distances
        s = float(variance[0, 0])
        squared = torch.cdist(mean, mean).square()
        return squared / (2 * s) if distance == "kl" else squared / (8 * s)
    variance = variance.expand_as(mean)
    if distance == "kl":  # sum_d [v_i/v_j + (m_i - m_j)^2 / v_j - 1 + log v_j - log v_i] / 2, by matrix products
        inv = 1 / variance
        log_v = variance.log().sum(1)
        quad = (mean.square() @ inv.T - 2 * mean @ (mean * inv).T + (mean.square() * inv).sum(1)[None, :])
        return 0.5 * (variance @ inv.T + quad - mean.shape[1] + log_v[None, :] - log_v[:, None])
    rows = []
    log_v = variance.log()
    for start in range(0, len(mean), chunk):  # Bhattacharyya: needs (v_i + v_j) / 2 for every pair
        rows_ = slice(start, start + chunk)
        m, v, lv = mean[rows_, None], variance[rows_, None], log_v[rows_, None]
        average = (v + variance[None]) / 2
        rows.append(((m - mean[None]).square() / average).sum(-1) / 8
                    + 0.5 * (average.log() - (lv + log_v[None]) / 2).sum(-1))
    return torch.cat(rows)


def _mixture_term(divergence: torch.Tensor) -> float:
    r""":math:`-\frac1n\sum_i \log \frac1n \sum_j e^{-D_{ij}}` in bits."""
    n = divergence.shape[0]
    return float((math.log(n) - torch.logsumexp(-divergence, dim=1).mean()) / LN2)


def pairwise_mixture_information(mean, variance, y=None, *, distance: str = "kl") -> PlanePoint:
    r"""Information of a mixture of diagonal Gaussians :math:`Z \mid X = x_i \sim \mathcal N(\mu_i,
    \mathrm{diag}\, v_i)`, X uniform over the n samples (Kolchinsky & Tracey, Entropy 2017), in bits.

    With a pairwise divergence D (``distance`` 'kl': Kullback-Leibler; 'bhattacharyya'),
    :math:`\hat I(X;Z) = -\frac1n \sum_i \log_2 \frac1n \sum_j e^{-D(p_i \| p_j)}` is an upper
    bound on I(X;Z) with the KL divergence and a lower bound with the Bhattacharyya distance
    (exact when the components coincide, 0, or are far apart, :math:`\log_2 n`).
    :math:`\hat I(Z;Y) = \hat H(Z) - \sum_y p(y) \hat H(Z \mid Y = y)` with the same estimate within
    each class: a difference of bounds, not a bound (Saxe et al. 2018). ``y`` None gives
    I(Z;Y) = 0.

    Parameters
    ----------
    mean : (n, d) array or tensor
    variance : float, (d,), (n, 1) or (n, d)
        Variances, > 0 (a scalar: the same isotropic noise for every sample).
    y : (n,) labels, optional
    distance : 'kl' or 'bhattacharyya'
    """
    owner = "pairwise_mixture_information"
    if distance not in ("kl", "bhattacharyya"):
        raise parameter_error(owner, "distance", "'kl' or 'bhattacharyya'", distance)
    m = torch.as_tensor(_as_samples(owner, "mean", mean))
    v = torch.as_tensor(variance.detach().cpu() if isinstance(variance, torch.Tensor) else variance,
                        dtype=torch.float64)
    if v.ndim == 0:
        v = v.reshape(1, 1)
    elif v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[0] not in (1, len(m)) or v.shape[1] not in (1, m.shape[1]):
        raise ShapeError(f"The 'variance' argument of {owner} must be a number or broadcast to the mean's shape"
                         f" {tuple(m.shape)}; got shape {tuple(v.shape)}.")
    if not bool(torch.isfinite(v).all()) or not bool((v > 0).all()):
        raise parameter_error(owner, "variance", "finite and > 0", "a value <= 0 or not finite")
    v = v.expand(len(m), -1)
    if v.shape[1] == 1 and m.shape[1] > 1:
        v = v.expand(-1, m.shape[1])
    divergence = _pairwise_divergence(m, v.contiguous(), distance)
    h = _mixture_term(divergence)
    if y is None:
        return PlanePoint(float(h), 0.0)
    y = as_labels(owner, "y", y, len(m))
    classes, counts = np.unique(y, return_counts=True)
    h_given_y = 0.0
    for label, count in zip(classes, counts):
        index = torch.as_tensor(np.flatnonzero(y == label))
        h_given_y += count / len(y) * _mixture_term(divergence[index][:, index])
    return PlanePoint(float(h), float(h - h_given_y))


def kde_mutual_information(t, y, *, noise_variance: float = 0.1, bound: str = "upper") -> PlanePoint:
    r"""(I(X;T~), I(T~;Y)) in bits of the noisy layer :math:`\tilde T = T + \mathcal N(0, \sigma^2 I)`,
    X uniform over the n samples (Kolchinsky & Tracey 2017; Saxe et al., ICLR 2018).

    ``bound`` 'upper' (pairwise KL, the estimate of Saxe et al.):
    :math:`I(X;\tilde T) \le -\frac1n\sum_i \log_2 \frac1n\sum_j e^{-\|t_i - t_j\|^2/2\sigma^2}`;
    'lower' (Bhattacharyya): the same with :math:`8\sigma^2`. Both saturate at :math:`\log_2 n` when
    the points are far apart compared with :math:`\sigma` and depend on the scale of T relative to
    ``noise_variance`` = :math:`\sigma^2` (Saxe et al. use 0.1 on tanh and ReLU units).
    I(T~;Y) is the difference of the bounds on H(T~) and H(T~|Y), not itself a bound.
    """
    return kde_mutual_information_grid(t, y, (noise_variance,), bound=bound)[0]


def kde_mutual_information_grid(t, y, noise_variances: Sequence[float], *, bound: str = "upper") -> list[PlanePoint]:
    """:func:`kde_mutual_information` for several noise variances, the pairwise distances computed once."""
    owner = "kde_mutual_information"
    noise_variances = tuple(noise_variances)
    for value in noise_variances:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
            raise parameter_error(owner, "noise_variance", "a finite number > 0", value)
    if not noise_variances:
        raise parameter_error(owner, "noise_variances", "a non-empty sequence of numbers > 0", noise_variances)
    if bound not in ("upper", "lower"):
        raise parameter_error(owner, "bound", "'upper' or 'lower'", bound)
    t = torch.as_tensor(_as_samples(owner, "t", t))
    y = as_labels(owner, "y", y, len(t))
    squared = torch.cdist(t, t).square()
    groups = [torch.as_tensor(np.flatnonzero(y == label)) for label in np.unique(y)]
    points = []
    for variance in noise_variances:
        divergence = squared / ((2 if bound == "upper" else 8) * variance)
        h = _mixture_term(divergence)
        h_given_y = sum(len(g) / len(y) * _mixture_term(divergence[g][:, g]) for g in groups)
        points.append(PlanePoint(float(h), float(h - h_given_y)))
    return points


# --------------------------------------------------------------------------------------- KSG


def ksg_mutual_information(x, y, *, k: int = 3) -> float:
    r"""I(X;Y) in bits between continuous samples x (n, dx) and y (n, dy), Kraskov, Stoegbauer &
    Grassberger (2004), estimator 1:

    .. math:: \hat I = \psi(k) + \psi(n) - \langle \psi(n_x + 1) + \psi(n_y + 1) \rangle,

    :math:`\varepsilon_i` the max-norm distance from :math:`(x_i, y_i)` to its k-th neighbour in the
    joint space, :math:`n_x(i)` the number of other points with :math:`\|x_j - x_i\|_\infty <
    \varepsilon_i` (same for y). Nearly unbiased at I = 0; biased down at strong dependence (more
    so in high dimension and at small n). Ties (discrete values) break it: add tiny noise first.
    """
    owner = "ksg_mutual_information"
    x, y = _as_samples(owner, "x", x, 3), _as_samples(owner, "y", y, 3)
    n = len(x)
    if len(y) != n:
        raise ShapeError(f"The 'x' and 'y' arguments of {owner} must hold the same number of samples; got {n} and"
                         f" {len(y)}.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise parameter_error(owner, "k", f"an int in [1, {n - 1}] (fewer than the samples)", k)
    joint = np.hstack([x, y])
    distances, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf)
    radius = np.nextafter(distances[:, -1], 0)  # strictly closer than the k-th neighbour
    n_x = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True) - 1
    n_y = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True) - 1
    nats = digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1))
    return float(nats / LN2)


def gaussian_mutual_information(covariance, dx: int) -> float:
    r"""I(X;Y) in bits of jointly Gaussian (X, Y) with joint covariance ``covariance`` ((dx + dy)^2,
    X the first ``dx`` coordinates): :math:`\frac12 \log_2 \frac{\det\Sigma_{XX}\det\Sigma_{YY}}{\det\Sigma}`;
    for scalars of correlation :math:`\rho`, :math:`-\frac12\log_2(1 - \rho^2)`."""
    c = np.asarray(covariance, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not 1 <= dx < c.shape[0]:
        raise ShapeError(f"The 'covariance' argument of gaussian_mutual_information must be a square matrix larger"
                         f" than 'dx' = {dx}; got shape {c.shape}.")
    signs_logdets = [np.linalg.slogdet(m) for m in (c[:dx, :dx], c[dx:, dx:], c)]
    if any(sign <= 0 for sign, _ in signs_logdets):
        raise parameter_error("gaussian_mutual_information", "covariance", "positive definite", "a singular matrix")
    (_, a), (_, b), (_, joint) = signs_logdets
    return float((a + b - joint) / (2 * LN2))
