"""NumPy wrappers and the scikit-learn transformer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import scatlab
from scatlab import ShapeError
from scatlab.functional import scattering1d, scattering2d

from conftest import crop, recording_segment, require_module

sklearn = require_module("sklearn", "scikit-learn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from scatlab.sklearn import ScatteringTransformer  # noqa: E402


def n_features_2d(shape, J, L, max_order=2):
    """Channels 1 + J L + L^2 J (J-1) / 2 times the output grid floor(M / 2^J) x floor(N / 2^J)."""
    C = 1 + J * L + (L * L * J * (J - 1) // 2 if max_order == 2 else 0)
    return C * (shape[0] // 2**J) * (shape[1] // 2**J)


# ----------------------------------------------------------------------------- numpy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_2d_keeps_dtype_and_matches_torch(dtype):
    x = np.stack([crop("camera", 100, 100, 30, 41), crop("brick", 0, 0, 30, 41)]).astype(dtype)
    before = x.copy()
    out = scatlab.scattering2d_numpy(x, J=3, L=6)
    assert isinstance(out, np.ndarray) and out.dtype == dtype
    assert out.shape == (2, 127, 3, 5)
    np.testing.assert_array_equal(x, before)  # input untouched
    expected = scattering2d(torch.from_numpy(x), J=3, L=6).numpy()
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_1d_keeps_dtype_and_matches_torch(dtype):
    x = recording_segment("3_nicolas_0.wav", 1000).astype(dtype)
    out = scatlab.scattering1d_numpy(x, J=5, Q=(8, 2))
    assert out.dtype == dtype and out.shape == scatlab.Scattering1D(1000, J=5, Q=(8, 2)).output_shape
    np.testing.assert_array_equal(out, scattering1d(torch.from_numpy(x), J=5, Q=(8, 2)).numpy())


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.int64, np.bool_])
def test_numpy_integer_arrays_become_float32(dtype):
    raw = (crop("grass", 0, 0, 16) * 100).astype(dtype)
    out = scatlab.scattering2d_numpy(raw, J=2, L=4)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, scatlab.scattering2d_numpy(raw.astype(np.float32), J=2, L=4))


def test_numpy_batch_shape_and_non_contiguous_input():
    x = np.stack([crop("camera", 0, 0, 16)] * 6).reshape(2, 3, 16, 16).astype(np.float32)
    out = scatlab.scattering2d_numpy(x, J=2, L=4)
    assert out.shape == (2, 3, 25, 4, 4)
    xt = np.swapaxes(x, -1, -2)  # a non-contiguous view
    assert not xt.flags.c_contiguous
    np.testing.assert_array_equal(scatlab.scattering2d_numpy(xt, J=2, L=4),
                                  scatlab.scattering2d_numpy(np.ascontiguousarray(xt), J=2, L=4))


def test_numpy_wrapper_returns_no_autograd_graph():
    out = scatlab.scattering1d_numpy(np.ones(64, dtype=np.float32), J=2)
    assert isinstance(out, np.ndarray) and out.flags.writeable


# ----------------------------------------------------------------------------- scikit-learn


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def make_pipeline(J=1):
    return Pipeline([
        ("scat", ScatteringTransformer(shape=(8, 8), J=J, L=8)),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(max_iter=2000)),
    ])


def test_pipeline_on_digits(digits_split):
    """Measured on this split: scattering (J=1, L=8) 0.991, raw pixels (same scaler + classifier)
    0.972. We assert a robust floor."""
    Xtr, Xte, ytr, yte = digits_split
    model = make_pipeline(J=1).fit(Xtr, ytr)
    assert model.named_steps["clf"].n_features_in_ == n_features_2d((8, 8), 1, 8) == 144
    assert model.score(Xte, yte) > 0.95


def test_set_params_changes_the_output_shape(digits_split):
    Xtr, Xte, ytr, yte = digits_split
    t = ScatteringTransformer(shape=(8, 8), J=1, L=8).fit(Xtr[:10])
    assert t.transform(Xte[:5]).shape == (5, n_features_2d((8, 8), 1, 8))
    for J, L in ((2, 8), (3, 8), (2, 4), (1, 8)):
        t.set_params(J=J, L=L)
        assert t.transform(Xte[:5]).shape == (5, n_features_2d((8, 8), J, L))
    t.set_params(max_order=1, J=2)
    assert t.transform(Xte[:5]).shape == (5, n_features_2d((8, 8), 2, 8, max_order=1))
    # through a Pipeline: the classifier sees the new width after refitting
    model = make_pipeline(J=1).set_params(scat__J=2)
    model.fit(Xtr[:300], ytr[:300])
    assert model.named_steps["clf"].n_features_in_ == n_features_2d((8, 8), 2, 8) == 324


def test_transformer_matches_numpy_wrapper_and_keeps_float32():
    X = np.stack([crop("brick", 30 * k, 40, 16).ravel() for k in range(4)]).astype(np.float32)
    t = ScatteringTransformer(shape=(16, 16), J=2, L=4)
    out = t.fit_transform(X)
    assert out.dtype == np.float32
    expected = scatlab.scattering2d_numpy(X.reshape(4, 16, 16), J=2, L=4).reshape(4, -1)
    np.testing.assert_array_equal(out, expected)


def test_transformer_1d_on_speech():
    X = np.stack([recording_segment(name, 512) for name in ("0_george_0.wav", "1_jackson_0.wav")])
    t = ScatteringTransformer(shape=(512,), J=4, Q=4, T=8)
    out = t.fit_transform(X)
    expected = scatlab.scattering1d_numpy(X, J=4, Q=4, T=8).reshape(2, -1)
    np.testing.assert_array_equal(out, expected)
    assert t.n_features_in_ == 512


@pytest.mark.parametrize("normalize", ["kymatio", "resolution"])
def test_transformer_1d_normalize_and_q_pair_reach_the_transform(normalize):
    X = np.stack([recording_segment(name, 512) for name in ("2_theo_0.wav", "5_lucas_0.wav")])
    t = ScatteringTransformer(shape=(512,), J=4, Q=(4, 2), normalize=normalize)
    expected = scatlab.scattering1d_numpy(X, J=4, Q=(4, 2), normalize=normalize).reshape(2, -1)
    np.testing.assert_array_equal(t.fit_transform(X), expected)


def test_transformer_normalize_resolution_rescales_order_1_by_2_to_the_k1():
    """normalize='resolution' multiplies order 1 by 2**k1 (k1 the subsampling of its wavelet), order 0 by 1."""
    X = recording_segment("8_jackson_0.wav", 1024)[None]
    S = scatlab.Scattering1D(1024, J=5, Q=4)
    t = ScatteringTransformer(shape=(1024,), J=5, Q=4).fit(X)
    plain = t.transform(X).reshape(S.output_shape)
    scaled = t.set_params(normalize="resolution").transform(X).reshape(S.output_shape)
    order = S.meta["order"]
    k1 = np.minimum(S.meta["j1"][order == 1], 5)  # subsampling of the first modulus: min(j1, log2 T)
    np.testing.assert_allclose(scaled[order == 0], plain[order == 0], rtol=1e-6)
    np.testing.assert_allclose(scaled[order == 1], plain[order == 1] * 2.0 ** k1[:, None], rtol=1e-5)
    with pytest.raises(scatlab.InvalidParameterError, match="'normalize'"):
        t.set_params(normalize="l1").transform(X)


def test_clone_and_get_params():
    t = ScatteringTransformer(shape=(8, 8), J=2, L=6, max_order=1, padding="periodic")
    params = clone(t).get_params()
    assert params == dict(shape=(8, 8), J=2, L=6, Q=1, T=None, max_order=1, padding="periodic", normalize="kymatio")


def test_transformer_rejects_wrong_widths():
    t = ScatteringTransformer(shape=(8, 8), J=1)
    with pytest.raises(ShapeError, match=r"\(n_samples, 64\)"):
        t.fit(np.zeros((3, 65)))
    with pytest.raises(ShapeError, match=r"\(n_samples, 64\)"):
        t.fit_transform(np.zeros((3, 8, 8)))
    with pytest.raises(scatlab.InvalidParameterError, match="'J'"):
        ScatteringTransformer(shape=(8, 8), J=0).fit_transform(np.zeros((2, 64)))
