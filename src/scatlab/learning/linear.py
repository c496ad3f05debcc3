r"""Classifiers on fixed features: standardization + linear model, or a Gaussian-kernel SVM.

- ``logistic``: multinomial logistic regression (L2 penalty, strength 1/C) on standardized features;
- ``linear-svm``: one-vs-rest linear SVM (squared hinge, liblinear);
- ``gaussian-svm``: SVM with :math:`k(x, y) = \exp(-\gamma\|x - y\|^2)`, exact (libsvm) up to
  ``exact_max`` training samples; beyond, the kernel is replaced by the Nystroem feature map of
  ``n_components`` random landmarks (Williams & Seeger, NIPS 2001), :math:`k(x, y) \approx
  \langle\Phi(x), \Phi(y)\rangle`, followed by a multinomial logistic regression (lbfgs, whose cost
  is bounded by ``max_iter``; a linear SVM by liblinear converges too slowly there at large C).
  Bruna & Mallat (TPAMI 2013) classify scattering vectors with a Gaussian SVM.
"""
from __future__ import annotations

from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from ..errors import parameter_error

__all__ = ["CLASSIFIERS", "make_classifier"]

CLASSIFIERS = ("logistic", "linear-svm", "gaussian-svm")


def make_classifier(kind: str, n_train: int, *, C: float = 1.0, max_iter: int = 300, gamma: float | str = "scale",
                    exact_max: int = 10000, n_components: int = 3000, seed: int = 0) -> Pipeline:
    """An unfitted scikit-learn pipeline StandardScaler -> classifier ``kind`` (one of :data:`CLASSIFIERS`).

    ``n_train`` (the number of training samples it will be fitted on) selects the exact or the
    Nystroem Gaussian SVM; ``gamma='scale'`` is 1 / (d Var(x)), i.e. 1/d after standardization.
    """
    if kind not in CLASSIFIERS:
        raise parameter_error("make_classifier", "kind", f"one of {CLASSIFIERS}", kind)
    if not C > 0:
        raise parameter_error("make_classifier", "C", "> 0", C)
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    if kind == "linear-svm":
        return make_pipeline(StandardScaler(), LinearSVC(C=C, max_iter=max_iter * 10, random_state=seed))
    if n_train <= exact_max:
        return make_pipeline(StandardScaler(), SVC(C=C, kernel="rbf", gamma=gamma, cache_size=1000))
    return make_pipeline(StandardScaler(), Nystroem(kernel="rbf", gamma=None if gamma == "scale" else gamma,
                                                    n_components=n_components, random_state=seed),
                         LogisticRegression(C=C, max_iter=max_iter))
