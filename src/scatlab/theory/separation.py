r"""Separation and concentration of classes in a representation: the per-layer measures of
progressive linear separation (Oyallon), neural collapse (Papyan, Han & Donoho) and class-mean
separation (Zarka, Guth & Mallat; Guth, Zarka & Mallat).

Notation. A representation gives features :math:`h_i \in \mathbb R^d` of n samples with labels
:math:`y_i \in \{1, \dots, K\}`; class c has :math:`n_c` samples, mean :math:`\mu_c` and covariance
:math:`\Sigma_c = \frac1{n_c}\sum_{y_i = c}(h_i - \mu_c)(h_i - \mu_c)^\top`. Every class weighs the
same, as in Papyan, Han & Donoho ("Prevalence of neural collapse during the terminal phase of deep
learning training", PNAS 117, 2020):

.. math::
    \mu_G = \frac1K\sum_c \mu_c, \qquad
    \Sigma_W = \frac1K\sum_c \Sigma_c, \qquad
    \Sigma_B = \frac1K\sum_c (\mu_c - \mu_G)(\mu_c - \mu_G)^\top,

and :math:`\Sigma_T = \Sigma_W + \Sigma_B` is the covariance of the class-balanced mixture (for
balanced classes, the sample covariance). The measures:

* :func:`nc1`: :math:`\mathrm{NC1} = \frac1K \mathrm{tr}(\Sigma_W \Sigma_B^{+})` (Papyan et al. 2020,
  Figure 6), :math:`\Sigma_B^+` the pseudo-inverse (rank <= K - 1): the within-class variability
  measured in the directions of the class means, each in units of the means' spread along it.
  0 when every class is collapsed to its mean; it falls during training and with depth.
* :func:`within_between_ratio`: :math:`\mathrm{tr}\,\Sigma_W / \mathrm{tr}\,\Sigma_B`, the simpler,
  isotropic form (the inverse of a Fisher ratio computed without whitening).
* :func:`class_mean_separation`: for each pair of classes,
  :math:`s_{kl} = \|\mu_k - \mu_l\| / \sqrt{(\mathrm{tr}\,\Sigma_k + \mathrm{tr}\,\Sigma_l)/2}`,
  the distance between the two means in units of the classes' root-mean-square spread around
  them (an isotropic Fisher discriminant ratio, Zarka, Guth & Mallat, "Separation and
  concentration in deep networks", ICLR 2021; Guth, Zarka & Mallat, "Phase collapse in neural
  networks", ICLR 2022: a modulus separates the class means, a soft-thresholding concentrates the
  classes around means it does not move apart). Returns the smallest (hardest pair) and the mean
  over the K (K - 1) / 2 pairs. The mean of :math:`\|\mu_k - \mu_l\|^2` over pairs is
  :math:`\frac{2K}{K-1}\mathrm{tr}\,\Sigma_B`, so the mean separation moves with
  :func:`within_between_ratio` (about :math:`\sqrt{2K/((K-1)\,\mathrm{ratio})}`): on a layer of
  arbitrary scale, separation and concentration are two readings of one ratio; the smallest pair
  says more.
* :func:`effective_dimension`: the participation ratio
  :math:`(\mathrm{tr}\,\Sigma)^2 / \mathrm{tr}(\Sigma^2) = (\sum_j\lambda_j)^2 / \sum_j\lambda_j^2` of
  the within-class covariance :math:`\Sigma_W` (``covariance='within'``: the dimension of the
  variability left inside the classes) or of the sample covariance of all features
  (``covariance='total'``). It equals m for m equal eigenvalues and 0 others, and lies in
  [1, rank].
* :func:`nearest_class_mean_accuracy`: class means fitted on one set, each sample of another set
  assigned to the class of the nearest mean (Euclidean), in % (Papyan et al.'s NC4 classifier).
* :func:`linear_probe`: multinomial logistic regression (scikit-learn) on standardized features,
  its inverse penalty C chosen on a validation set, scored once on a test set (the linear probes
  of Alain & Bengio, "Understanding intermediate layers using linear classifier probes", 2016;
  Oyallon, "Building a regular decision boundary with deep networks", CVPR 2017, measures the
  progressive linear separability of a CNN's layers this way).

Every function takes (n, d) arrays or tensors (a vector is n samples of one feature) and
computes in float64. When d > n the d x d covariances are never formed: traces and Frobenius
norms come from the n x n Gram matrices, and the probe is fitted in the span of its training
features, which gives the same classifier (an L2-penalized linear model's weights lie in that span).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from ._checks import as_labels
from ..errors import DataError, InvalidParameterError, ShapeError, parameter_error

__all__ = ["ClassStatistics", "MeanSeparation", "ProbeResult", "class_statistics", "nc1", "within_between_ratio",
           "class_mean_separation", "effective_dimension", "nearest_class_mean_accuracy", "linear_probe"]

MIN_PER_CLASS = 2  # samples per class needed for a within-class covariance


class ClassStatistics(NamedTuple):
    """Per-class moments of a labelled representation (classes weighted equally).

    ``classes`` (K,) sorted labels; ``counts`` (K,); ``means`` (K, d) float64; ``global_mean`` (d,)
    the average of the class means; ``class_traces`` (K,) :math:`\\mathrm{tr}\\,\\Sigma_c`;
    ``within_trace`` :math:`\\mathrm{tr}\\,\\Sigma_W`; ``between_trace`` :math:`\\mathrm{tr}\\,\\Sigma_B`.
    """

    classes: np.ndarray
    counts: np.ndarray
    means: np.ndarray
    global_mean: np.ndarray
    class_traces: np.ndarray
    within_trace: float
    between_trace: float


class MeanSeparation(NamedTuple):
    """Distances between class means in units of the classes' spread: the hardest pair and the mean over pairs."""

    min: float
    mean: float


class ProbeResult(NamedTuple):
    """A linear probe: its test and validation accuracy (%) at the chosen C, and the choice itself
    (``grid`` of C, validation accuracy ``scores`` in grid order, ``C`` chosen), the data of a Selection."""

    test_accuracy: float
    validation_accuracy: float
    C: float
    grid: list
    scores: list


# ------------------------------------------------------------------------------------- checks


def _features(owner: str, name: str, h) -> np.ndarray:
    """``h`` as a finite float64 (n, d) array (a vector is n samples of one feature)."""
    if isinstance(h, torch.Tensor):
        h = h.detach().cpu().double().numpy()
    h = np.asarray(h, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    if h.ndim != 2 or h.shape[0] == 0 or h.shape[1] == 0:
        raise ShapeError(f"The '{name}' argument of {owner} must be a non-empty (n, d) array of n samples; got shape"
                         f" {h.shape}. Flatten each sample first (h.reshape(n, -1)).")
    if not np.all(np.isfinite(h)):
        raise DataError(f"The '{name}' argument of {owner} holds NaN or infinite values; remove them first.")
    return h


def _classes(owner: str, name: str, y: np.ndarray, min_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise InvalidParameterError(f"The '{name}' argument of {owner} holds {len(classes)} class; at least 2 are"
                                    " needed to compare classes.")
    if counts.min() < min_per_class:
        small = classes[counts < min_per_class]
        raise InvalidParameterError(
            f"The '{name}' argument of {owner} has too few samples per class: class {small[0].item()!r} has"
            f" {int(counts[classes == small[0]][0])}, at least {min_per_class} per class are needed. Give more samples"
            " per class (or drop the small classes).")
    return classes, counts


def _labelled(owner: str, h, y, min_per_class: int = MIN_PER_CLASS):
    h = _features(owner, "features", h)
    y = as_labels(owner, "labels", y, len(h))
    classes, counts = _classes(owner, "labels", y, min_per_class)
    return h, y, classes, counts


def _within_rows(h: np.ndarray, y: np.ndarray, classes: np.ndarray, means: np.ndarray) -> np.ndarray:
    r"""Rows :math:`(h_i - \mu_{y_i}) / \sqrt{K n_{y_i}}`: their Gram :math:`A^\top A = \Sigma_W`."""
    index = np.searchsorted(classes, y)
    counts = np.bincount(index, minlength=len(classes))
    return (h - means[index]) / np.sqrt(len(classes) * counts[index])[:, None]


def _squared_frobenius_of_gram(a: np.ndarray) -> float:
    r""":math:`\|A^\top A\|_F^2 = \|A A^\top\|_F^2`, from the smaller of the two Gram matrices."""
    gram = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
    return float(np.sum(gram * gram))


# ----------------------------------------------------------------------------------- measures


def class_statistics(features, labels) -> ClassStatistics:
    """Class means, the average of the means, and the traces of the class, within- and between-class
    covariances (module docstring), every class weighted equally; at least 2 samples per class."""
    h, y, classes, counts = _labelled("class_statistics", features, labels)
    index = np.searchsorted(classes, y)
    means = np.zeros((len(classes), h.shape[1]))
    np.add.at(means, index, h)
    means /= counts[:, None]
    traces = np.bincount(index, weights=((h - means[index]) ** 2).sum(1), minlength=len(classes)) / counts
    global_mean = means.mean(0)
    between = float(((means - global_mean) ** 2).sum(1).mean())
    return ClassStatistics(classes, counts, means, global_mean, traces, float(traces.mean()), between)


def within_between_ratio(features, labels) -> float:
    r""":math:`\mathrm{tr}\,\Sigma_W / \mathrm{tr}\,\Sigma_B` (classes weighted equally); infinite when
    the class means coincide, 0 when every class is collapsed to its mean."""
    s = class_statistics(features, labels)
    return s.within_trace / s.between_trace if s.between_trace > 0 else float("inf")


def nc1(features, labels, *, rcond: float = 1e-10) -> float:
    r"""Papyan, Han & Donoho's within-class variability collapse
    :math:`\mathrm{NC1} = \frac1K\,\mathrm{tr}(\Sigma_W\Sigma_B^+)` (PNAS 2020).

    With :math:`\Sigma_B = B^\top B`, B the (K, d) centred means over :math:`\sqrt K`, and its SVD
    :math:`B = U S V^\top`, :math:`\mathrm{tr}(\Sigma_W\Sigma_B^+) = \sum_j v_j^\top\Sigma_W v_j / s_j^2`
    over the singular values :math:`s_j > ` ``rcond`` :math:`\cdot s_{\max}`; :math:`v_j^\top\Sigma_W v_j`
    is computed from the within-class deviations, never forming a d x d matrix. Infinite when the
    class means coincide.

    Parameters
    ----------
    features : (n, d) array or tensor
    labels : (n,) labels, at least 2 classes and 2 samples per class
    rcond : float
        Relative cutoff of the pseudo-inverse (directions of :math:`\Sigma_B` with smaller singular
        values are dropped).
    """
    if not 0 <= rcond < 1:
        raise parameter_error("nc1", "rcond", "a float in [0, 1)", rcond)
    h, y, classes, _ = _labelled("nc1", features, labels)
    s = class_statistics(h, y)
    B = (s.means - s.global_mean) / np.sqrt(len(classes))
    _, sv, vt = np.linalg.svd(B, full_matrices=False)
    if sv.max() <= 0:
        return float("inf")
    keep = sv > rcond * sv.max()
    A = _within_rows(h, y, classes, s.means)
    projected = A @ vt[keep].T  # (n, r): A v_j; sum of squares = v_j' Sigma_W v_j
    return float(((projected ** 2).sum(0) / sv[keep] ** 2).sum() / len(classes))


def class_mean_separation(features, labels) -> MeanSeparation:
    r"""Pairwise distances between class means in units of the classes' rms spread,
    :math:`s_{kl} = \|\mu_k - \mu_l\| / \sqrt{(\mathrm{tr}\,\Sigma_k + \mathrm{tr}\,\Sigma_l)/2}`: the
    smallest over the pairs and their mean (module docstring). Infinite for a pair of collapsed
    classes with distinct means."""
    s = class_statistics(features, labels)
    k, l = np.triu_indices(len(s.classes), 1)
    distance = np.linalg.norm(s.means[k] - s.means[l], axis=1)
    spread = np.sqrt((s.class_traces[k] + s.class_traces[l]) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(spread > 0, distance / np.where(spread > 0, spread, 1), np.where(distance > 0, np.inf, 0.0))
    return MeanSeparation(float(ratio.min()), float(ratio.mean()))


def effective_dimension(features, labels=None, *, covariance: str = "within") -> float:
    r"""Participation ratio :math:`(\mathrm{tr}\,\Sigma)^2 / \mathrm{tr}(\Sigma^2)` of a covariance.

    ``covariance='within'``: :math:`\Sigma_W` (needs ``labels``; classes weighted equally), the
    dimension of the variability inside the classes; ``'total'``: the sample covariance of all the
    features (``labels`` unused). m for a covariance with m equal non-zero eigenvalues; in
    [1, rank]; 0 for a constant representation. Computed from the smaller Gram matrix, so a d
    much larger than n costs :math:`O(n^2 d)`.
    """
    if covariance not in ("within", "total"):
        raise parameter_error("effective_dimension", "covariance", "'within' or 'total'", covariance)
    if covariance == "within":
        if labels is None:
            raise InvalidParameterError("effective_dimension(covariance='within') needs the 'labels' argument; pass"
                                        " them, or covariance='total'.")
        h, y, classes, _ = _labelled("effective_dimension", features, labels)
        A = _within_rows(h, y, classes, class_statistics(h, y).means)
    else:
        h = _features("effective_dimension", "features", features)
        if len(h) < 2:
            raise InvalidParameterError("The 'features' argument of effective_dimension has 1 sample; at least 2 are"
                                        " needed for a covariance.")
        A = (h - h.mean(0)) / np.sqrt(len(h))
    trace = float((A ** 2).sum())
    if trace <= 0:
        return 0.0
    return trace ** 2 / _squared_frobenius_of_gram(A)


def nearest_class_mean_accuracy(fit_features, fit_labels, features, labels) -> float:
    """Accuracy (%) on (``features``, ``labels``) of the nearest-class-mean classifier whose means are
    those of (``fit_features``, ``fit_labels``) (Euclidean distance; ties to the smaller label); every
    label of ``labels`` must be a class of ``fit_labels``."""
    owner = "nearest_class_mean_accuracy"
    fit = _features(owner, "fit_features", fit_features)
    fit_y = as_labels(owner, "fit_labels", fit_labels, len(fit))
    classes, _ = _classes(owner, "fit_labels", fit_y, 1)
    h = _features(owner, "features", features)
    y = as_labels(owner, "labels", labels, len(h))
    if h.shape[1] != fit.shape[1]:
        raise ShapeError(f"{owner}: 'features' has {h.shape[1]} features per sample, 'fit_features' {fit.shape[1]}.")
    unknown = np.setdiff1d(y, classes)
    if len(unknown):
        raise InvalidParameterError(f"The 'labels' argument of {owner} holds class {unknown[0].item()!r}, absent from"
                                    " 'fit_labels': its mean cannot be fitted. Fit on samples of every class.")
    index = np.searchsorted(classes, fit_y)
    means = np.zeros((len(classes), fit.shape[1]))
    np.add.at(means, index, fit)
    means /= np.bincount(index, minlength=len(classes))[:, None]
    distance = (means ** 2).sum(1)[None, :] - 2 * h @ means.T  # ||h - mu||^2 up to ||h||^2
    return 100.0 * float((classes[distance.argmin(1)] == y).mean())


def _span_coordinates(train: np.ndarray, others: Sequence[np.ndarray], tol: float = 1e-10):
    r"""Coordinates of the rows in an orthonormal basis V of the span of the training rows,
    :math:`X V = U \Lambda^{1/2}` and :math:`X' V = X' X^\top U \Lambda^{-1/2}` from the Gram matrix
    :math:`X X^\top = U \Lambda U^\top` (eigenvalues below ``tol`` times the largest dropped)."""
    gram = train @ train.T
    eigenvalues, U = np.linalg.eigh(gram)
    keep = eigenvalues > tol * max(eigenvalues.max(), 0.0)
    if not keep.any():
        return np.zeros((len(train), 1)), [np.zeros((len(o), 1)) for o in others]
    U, root = U[:, keep], np.sqrt(eigenvalues[keep])
    return U * root, [(o @ train.T) @ U / root for o in others]


def linear_probe(train_features, train_labels, validation_features, validation_labels, test_features, test_labels,
                 *, Cs: Sequence[float] = (0.1, 1.0, 10.0, 100.0, 1000.0), max_iter: int = 500) -> ProbeResult:
    r"""A linear probe: multinomial logistic regression (scikit-learn ``LogisticRegression``, lbfgs,
    intercept not penalized) on the standardized features, its C chosen on the validation set,
    scored once on the test set.

    Each feature is standardized by its mean and standard deviation on the training set (constant
    features are only centred), then divided by :math:`\sqrt d` so that the mean squared norm is 1
    whatever the layer's width: C has the same meaning at every layer. The loss is
    :math:`\sum_i \ell(W h_i + b, y_i) + \frac1{2C}\|W\|_F^2`. When d exceeds the number of training
    samples the probe is fitted on the coordinates of the features in the span of the training
    features, which gives the same classifier (the penalized solution W lies in that span, and the
    part of a validation or test feature orthogonal to it is multiplied by 0).

    Parameters
    ----------
    train_features, validation_features, test_features : (n, d) arrays or tensors, the same d
    train_labels, validation_labels, test_labels : (n,) labels; the training set needs 2 classes
    Cs : sequence of float > 0
        The inverse penalties tried; the one of best validation accuracy is kept (ties: the smallest C).
    max_iter : int
        lbfgs iterations per fit (a fit stopped there is used as it is).

    Returns
    -------
    ProbeResult
        test and validation accuracy (%) at the chosen C, C, the grid and the validation scores.
    """
    owner = "linear_probe"
    if not len(Cs) or any(isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0 for c in Cs):
        raise parameter_error(owner, "Cs", "a non-empty sequence of positive numbers", Cs)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise parameter_error(owner, "max_iter", "an int >= 1", max_iter)
    sets = {}
    for split, (h, y) in {"train": (train_features, train_labels), "validation": (validation_features,
                                                                                  validation_labels),
                          "test": (test_features, test_labels)}.items():
        h = _features(owner, f"{split}_features", h)
        sets[split] = (h, as_labels(owner, f"{split}_labels", y, len(h)))
    d = sets["train"][0].shape[1]
    for split in ("validation", "test"):
        if sets[split][0].shape[1] != d:
            raise ShapeError(f"{owner}: '{split}_features' has {sets[split][0].shape[1]} features per sample,"
                             f" 'train_features' {d}.")
    _classes(owner, "train_labels", sets["train"][1], 1)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    train, y_train = sets["train"]
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 1e-12 * max(float(std.max()), 1e-300), std, 1.0)
    scaled = {k: (h - mean) / std / np.sqrt(d) for k, (h, _) in sets.items()}
    if d > len(train):
        z_train, (z_val, z_test) = _span_coordinates(scaled["train"], [scaled["validation"], scaled["test"]])
    else:
        z_train, z_val, z_test = scaled["train"], scaled["validation"], scaled["test"]
    scores, fitted = [], []
    for C in Cs:
        model = LogisticRegression(C=float(C), max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(z_train, y_train)
        fitted.append(model)
        scores.append(100.0 * float((model.predict(z_val) == sets["validation"][1]).mean()))
    best = int(np.argmax(scores))
    test = 100.0 * float((fitted[best].predict(z_test) == sets["test"][1]).mean())
    return ProbeResult(test, scores[best], float(Cs[best]), [float(c) for c in Cs], scores)
