"""A scikit-learn transformer: flattened signals or images in, flattened scattering features out."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ._validation import check_shape
from .errors import InvalidParameterError, ShapeError, parameter_error
from .numpy_api import scattering1d_numpy, scattering2d_numpy

__all__ = ["ScatteringTransformer"]


class ScatteringTransformer(TransformerMixin, BaseEstimator):
    """Scattering features for scikit-learn pipelines.

    Parameters are stored verbatim and read at every ``transform``, so ``set_params`` never leaves
    stale filters. ``shape`` is (N,) for 1D and (M, N) for 2D; X is (n_samples, prod(shape)).
    ``Q`` (an int or a pair (Q1, Q2)), ``T`` and ``normalize`` ('kymatio' or 'resolution') are those
    of :class:`scatlab.Scattering1D` and apply to 1D only; ``L`` to 2D only.
    """

    def __init__(self, shape=(28, 28), J=2, L=8, Q=1, T=None, max_order=2, padding="reflect",
                 normalize="kymatio"):
        self.shape = shape
        self.J = J
        self.L = L
        self.Q = Q
        self.T = T
        self.max_order = max_order
        self.padding = padding
        self.normalize = normalize

    def fit(self, X, y=None):
        self._check(X)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def _sample_shape(self) -> tuple[int, ...]:
        owner = "ScatteringTransformer"
        try:
            two = not isinstance(self.shape, (str, bytes)) and len(self.shape) == 2
        except TypeError:  # an int, None, a 0-d array
            two = False
        try:
            return check_shape(owner, self.shape, 2 if two else 1)
        except InvalidParameterError:
            raise parameter_error(owner, "shape", "an int N or a tuple (N,) for 1D, (M, N) for 2D, of positive"
                                  " ints", self.shape) from None

    def _check(self, X) -> np.ndarray:
        X = np.asarray(X)
        size = int(np.prod(self._sample_shape()))
        if X.ndim != 2 or X.shape[1] != size:
            raise ShapeError(
                f"ScatteringTransformer expects X of shape (n_samples, {size}) for shape={self.shape!r};"
                f" got {X.shape}. Flatten each sample, or set shape to the sample shape."
            )
        return X

    def transform(self, X) -> np.ndarray:
        X = self._check(X)
        shape = self._sample_shape()
        samples = X.reshape((X.shape[0],) + shape)
        if len(shape) == 1:
            S = scattering1d_numpy(samples, J=self.J, Q=self.Q, T=self.T, max_order=self.max_order,
                                   padding=self.padding, normalize=self.normalize)
        else:
            S = scattering2d_numpy(samples, J=self.J, L=self.L, max_order=self.max_order, padding=self.padding)
        return S.reshape(X.shape[0], -1)
