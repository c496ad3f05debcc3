r"""Sparse linear regression by orthogonal matching pursuit: the whole path M = 1 ... M_max at once.

Hirn, Mallat & Poilvert (Multiscale Model. Simul. 15, 2017) select M terms of a dictionary
:math:`\{\phi_n\}` greedily and fit :math:`f_M(x) = b + \sum_{k \le M} w_k \phi_{n_k}(x)` by least
squares on the selected terms. Here (scikit-learn's ``orthogonal_mp``, Pati et al. 1993): the
columns are standardized on the training data (those constant there are left out), the intercept b
is the training mean of y, and step M adds the column most correlated with the residual of step
M - 1, then refits all M weights by least squares; the training error is non-increasing in M. The
path ends early (``stopped``) when the residual vanishes or the next column is linearly dependent on
the selected ones.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..errors import InvalidParameterError, ShapeError

__all__ = ["SparsePath", "omp_path", "with_squares", "first_reaching"]


def with_squares(x: np.ndarray) -> np.ndarray:
    """The dictionary [x, x ** 2] (n, 2 d): each coefficient and its square."""
    x = np.asarray(x, dtype=np.float64)
    return np.hstack([x, x**2])


@dataclasses.dataclass(frozen=True)
class SparsePath:
    """The OMP path: ``selected`` (M_max,) column indices in the order chosen, ``coefs`` (d, M_max)
    the weights of step M in column M - 1 (on standardized columns), ``mean``/``scale`` (d,) the
    standardization, ``intercept``; ``stopped``: True when a vanishing residual or linear dependence
    ended it before the M_max asked for."""

    selected: np.ndarray
    coefs: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    intercept: float
    stopped: bool

    @property
    def n_terms(self) -> int:
        return self.coefs.shape[1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n, M_max): column M - 1 is f_M(x)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ShapeError(f"SparsePath.predict needs x of shape (n, {len(self.mean)}); got {x.shape}.")
        return self.intercept + ((x - self.mean) / self.scale) @ self.coefs

    def rmse(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Root mean squared error (M_max,) of f_1 ... f_M_max on (x, y)."""
        return np.sqrt(np.mean((self.predict(x) - np.asarray(y, dtype=np.float64)[:, None]) ** 2, axis=0))


def omp_path(x: np.ndarray, y: np.ndarray, m_max: int) -> SparsePath:
    """The OMP path of y on the standardized columns of x up to ``m_max`` terms (fewer if the
    dictionary holds fewer non-constant columns than m_max, or fewer than n - 1 samples allow)."""
    from sklearn.linear_model import orthogonal_mp

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.shape != (len(x),) or len(x) < 3:
        raise ShapeError(f"omp_path needs x (n, d) and y (n,) with n >= 3; got {x.shape} and {y.shape}.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InvalidParameterError("omp_path got NaN or Inf in x or y; drop those rows first.")
    if int(m_max) < 1:
        raise InvalidParameterError(f"The 'm_max' parameter of omp_path must be an int >= 1. Got {m_max!r} instead.")
    mean, scale = x.mean(0), x.std(0)
    varying = scale > 1e-12 * np.maximum(np.abs(mean), 1e-300)
    unit = (x[:, varying] - mean[varying]) / scale[varying] / np.sqrt(len(x))  # unit-norm columns
    steps = min(int(m_max), int(varying.sum()), len(x) - 1)
    with warnings.catch_warnings():  # an exact fit or linear dependence ends the path: ``stopped`` says so
        warnings.filterwarnings("ignore", message="Orthogonal matching pursuit ended prematurely")
        coefs = orthogonal_mp(unit, y - y.mean(), n_nonzero_coefs=steps, return_path=True, precompute=False)
    coefs = coefs.reshape(unit.shape[1], -1) / np.sqrt(len(x))  # weights on standardized columns
    full = np.zeros((x.shape[1], coefs.shape[1]))
    full[varying] = coefs
    return SparsePath(_selection_order(full), full, mean, np.where(varying, scale, 1.0), float(y.mean()),
                      stopped=coefs.shape[1] < steps)


def _selection_order(coefs: np.ndarray) -> np.ndarray:
    """The column entering at each step: the new non-zero of column M - 1 (the OMP supports are nested)."""
    active = coefs != 0
    order, seen = [], np.zeros(len(coefs), bool)
    for m in range(coefs.shape[1]):
        new = np.flatnonzero(active[:, m] & ~seen)
        order.append(int(new[0]) if len(new) else -1)
        seen[new] = True
    return np.array(order, dtype=np.int64)


def first_reaching(curve: np.ndarray, level: float) -> int | None:
    """The smallest M (1-based) with curve[M - 1] <= level, or None when the curve never reaches it."""
    hits = np.flatnonzero(np.asarray(curve) <= level)
    return int(hits[0]) + 1 if len(hits) else None
