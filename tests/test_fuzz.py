"""Property-based fuzzing (hypothesis) of every transform: constructors, forwards, functional twins,
the NumPy API and the scikit-learn transformer.

- valid parameters and inputs give finite outputs of shape ``batch + module.output_shape``, in the
  input's dtype, equal to the functional twin's;
- invalid ones raise the library's errors (InvalidParameterError, ShapeError, DataError, or a
  TypeError for an input that is not a float32/float64 tensor) whose message names the culprit,
  never an error from deep inside (IndexError, RuntimeError, NumPy warnings, ...);
- NumPy integers are accepted wherever an int is (and stored as int); bools never are.

Deterministic (``derandomize=True``, no example database) and small: the file runs in well under
a minute on one core.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import scatlab
from scatlab import (
    DataError,
    HarmonicScattering3D,
    InvalidParameterError,
    RotoTranslationScattering2D,
    Scattering1D,
    Scattering2D,
    ShapeError,
    TimeFrequencyScattering,
)
from scatlab.functional import (
    harmonic_scattering3d,
    rototranslation_scattering2d,
    scattering1d,
    scattering2d,
    timefrequency_scattering,
)
from conftest import require_module


def fuzz(max_examples: int):
    """Deterministic hypothesis settings: the same examples on every run, no deadline."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


NUMPY_INTS = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
BAD_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool, torch.float16,
              torch.bfloat16, torch.complex64, torch.complex128)

# ----------------------------------------------------------------------------- strategies

float_dtypes = st.sampled_from([torch.float32, torch.float64])
# no batch, an empty batch, several leading dimensions (at most 8 signals)
batch_shapes = st.lists(st.integers(0, 3), max_size=3).map(tuple).filter(lambda b: math.prod(b) <= 8)
small_batches = st.lists(st.integers(0, 2), max_size=2).map(tuple).filter(lambda b: math.prod(b) <= 2)


@st.composite
def signals(draw, batch: tuple, signal_shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """Gaussian noise of a drawn scale, sometimes a non-contiguous view."""
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    strided = draw(st.booleans())
    x = torch.randn(batch + signal_shape + ((2,) if strided else ()), generator=generator, dtype=torch.float64)
    x = x[..., 0] if strided else x
    return (scale * x).to(dtype)


def numpy_ints(values: st.SearchStrategy) -> st.SearchStrategy:
    """The drawn (non-negative, small) ints as a NumPy integer of any width."""
    return st.tuples(values, st.sampled_from(NUMPY_INTS)).map(lambda v: v[1](v[0]))


def out_of_range(low: int, high: int | None) -> st.SearchStrategy:
    """Ints (Python or np.int64) outside [low, high]."""
    below = st.integers(max_value=low - 1)
    outside = below if high is None else below | st.integers(min_value=high + 1)
    return outside | st.integers(max(-2**62, low - 2**62), low - 1).map(np.int64)


# values that are never an int: floats (integral ones too), bools, strings, None, containers, arrays
not_int = st.one_of(
    st.floats(), st.integers(-3, 8).map(float), st.integers(0, 8).map(np.float64), st.booleans(),
    st.just(np.bool_(True)), st.text(max_size=3), st.integers(0, 8).map(str), st.none(), st.just(2 + 0j),
    st.just(np.array(2)), st.just(np.array([2])), st.just(torch.tensor(2)), st.just({}), st.just(b"2"),
)
not_int_or_none = not_int.filter(lambda v: v is not None)


def bad_choice(choices: tuple) -> st.SearchStrategy:
    """Anything but one of the strings ``choices`` (other strings, their case variants, arrays)."""
    return st.one_of(
        st.text(max_size=8).filter(lambda s: s not in choices),
        st.sampled_from([c.upper() for c in choices] + [c + " " for c in choices]),
        st.sampled_from([None, 0, 1, True, b"reflect", ["reflect"], ("periodic",), np.array(choices[:1]),
                         np.array(choices)]),
    )


def bad_q(high: int) -> st.SearchStrategy:
    """Q that is neither an int in [1, high] nor a tuple/list (Q1[, Q2]) of such ints."""
    good = st.integers(1, high)
    bad = out_of_range(1, high) | not_int
    return st.one_of(
        bad,
        st.tuples(bad), st.tuples(good, bad), st.tuples(bad, good), st.lists(bad, min_size=1, max_size=2),
        st.lists(good, min_size=3, max_size=4).map(tuple), st.just(()), st.just([]),
    )


def bad_shape(ndim: int) -> st.SearchStrategy:
    """Shapes of the wrong length or with a non-positive / non-int side."""
    side = st.integers(1, 8)
    bad_side = out_of_range(1, None) | not_int
    wrong_length = st.lists(side, max_size=5).filter(lambda s: len(s) != ndim).map(tuple)
    one_bad = st.tuples(st.lists(side, min_size=ndim - 1, max_size=ndim - 1), bad_side, st.integers(0, ndim - 1))
    one_bad = one_bad.map(lambda t: tuple(t[0][: t[2]] + [t[1]] + t[0][t[2]:]))
    scalars = (out_of_range(1, None) | not_int) if ndim == 1 else (st.integers(1, 8) | not_int)
    return st.one_of(wrong_length, one_bad, scalars.filter(lambda v: not isinstance(v, np.ndarray) or v.ndim == 0))


def bad_parameters(spec: dict) -> st.SearchStrategy:
    """(name, bad value) for any parameter of ``spec``."""
    return st.one_of([st.tuples(st.just(name), values) for name, values in spec.items()])


def expect(error: type, names: tuple[str, ...], call):
    """Run ``call``, which must raise exactly the library's ``error`` naming one of ``names``."""
    with pytest.raises(Exception) as info:
        call()
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert any(name in message for name in names), (names, message)
    return message


def check_forward(module, twin, x: torch.Tensor, ndim: int) -> torch.Tensor:
    """Finite output of shape batch + output_shape in x's dtype, equal to the functional twin's."""
    out = module(x)
    assert out.shape == x.shape[: x.dim() - ndim] + tuple(module.output_shape)
    assert out.dtype == x.dtype
    assert bool(torch.isfinite(out).all())
    torch.testing.assert_close(twin(x), out, rtol=0, atol=0)
    return out


# ----------------------------------------------------------------------------- Scattering1D


@st.composite
def valid_1d(draw):
    """(N, params) with 2**J <= N and T in [1, N]: always accepted."""
    N = draw(st.integers(2, 256))
    J = draw(st.integers(1, int(math.log2(N))))
    T = draw(st.none() | st.integers(1, N))
    step = 2 ** int(math.log2(T or 2**J))
    padding = draw(st.sampled_from(["reflect", "periodic"] if N % step == 0 else ["reflect"]))
    Q = draw(st.integers(1, 8) | st.tuples(st.integers(1, 8), st.integers(1, 3)) | st.tuples(st.integers(1, 8)))
    return N, dict(J=J, Q=Q, T=T, max_order=draw(st.sampled_from([1, 2])), padding=padding,
                   normalize=draw(st.sampled_from(["kymatio", "resolution"])))


@fuzz(50)
@given(st.data(), valid_1d(), batch_shapes, float_dtypes)
def test_scattering1d_valid(data, case, batch, dtype):
    N, params = case
    S = Scattering1D(N, **params)
    x = data.draw(signals(batch, (N,), dtype))
    check_forward(S, lambda x: scattering1d(x, **params), x, 1)
    if x.numel():
        np.testing.assert_array_equal(scatlab.scattering1d_numpy(x.numpy(), **params), S(x).numpy())


@fuzz(60)
@given(st.data(), st.integers(1, 256), st.integers(1, 10) | st.integers(1, 24), st.integers(1, 64),
       st.sampled_from(["reflect", "periodic"]))
def test_scattering1d_any_size(data, N, J, Q, padding):
    """Any J, T, Q in range: a finite transform, or a ShapeError naming what does not fit."""
    T = data.draw(st.none() | st.integers(1, N) | st.integers(1, 300), label="T")
    try:
        S = Scattering1D(N, J=J, Q=Q, T=T, max_order=2 if Q <= 4 else 1, padding=padding)
    except ShapeError as error:
        event("ShapeError")
        message, T_eff = str(error), T or 2**J
        if T_eff > N:
            assert f"T={T_eff}" in message
        elif N < 2:
            assert "at least 2 samples" in message
        elif padding == "periodic" and N % 2 ** int(math.log2(T_eff)):
            assert "periodic" in message
        else:
            assert f"J={J}" in message and 2**J > N, message  # 2**J <= N is always accepted
        return
    event("accepted")
    out = S(torch.randn(1, N, generator=torch.Generator().manual_seed(N * J)))
    assert out.shape == (1,) + S.output_shape and bool(torch.isfinite(out).all())


BAD_1D = dict(
    J=out_of_range(1, 24) | not_int, Q=bad_q(64), T=out_of_range(1, 2**30) | not_int_or_none,
    max_order=out_of_range(1, 2) | not_int, padding=bad_choice(("reflect", "periodic")),
    normalize=bad_choice(("kymatio", "resolution")),
)


@fuzz(100)
@given(bad_parameters(BAD_1D))
def test_scattering1d_bad_parameter(bad):
    name, value = bad
    params = {**dict(J=3, Q=2), name: value}
    expect(InvalidParameterError, (f"'{name}' parameter of Scattering1D",), lambda: Scattering1D(64, **params))
    expect(InvalidParameterError, (f"'{name}'",), lambda: scattering1d(torch.zeros(2, 64), **params))
    expect(InvalidParameterError, (f"'{name}'",), lambda: scatlab.scattering1d_numpy(np.zeros(64), **params))


@fuzz(30)
@given(bad_shape(1))
def test_scattering1d_bad_shape(shape):
    expect(InvalidParameterError, ("'shape' parameter of Scattering1D",), lambda: Scattering1D(shape, J=1, T=1))


# ----------------------------------------------------------------------------- Scattering2D


@st.composite
def valid_2d(draw):
    """((M, N), params) with 2**J <= min(M, N): always accepted."""
    M, N = draw(st.integers(2, 32)), draw(st.integers(2, 32))
    J = draw(st.integers(1, int(math.log2(min(M, N)))))
    periodic_ok = M % 2**J == 0 and N % 2**J == 0
    return (M, N), dict(J=J, L=draw(st.integers(1, 8)), max_order=draw(st.sampled_from([1, 2])),
                        padding=draw(st.sampled_from(["reflect", "periodic"] if periodic_ok else ["reflect"])))


@fuzz(40)
@given(st.data(), valid_2d(), batch_shapes, float_dtypes)
def test_scattering2d_valid(data, case, batch, dtype):
    shape, params = case
    S = Scattering2D(shape, **params)
    x = data.draw(signals(batch, shape, dtype))
    check_forward(S, lambda x: scattering2d(x, **params), x, 2)
    if x.numel():
        np.testing.assert_array_equal(scatlab.scattering2d_numpy(x.numpy(), **params), S(x).numpy())


sides = st.integers(1, 32) | st.sampled_from([8, 16, 32])  # multiples of 2**J are needed by 'periodic'


def too_small_2d(shape, J, padding) -> bool:
    M, N = shape
    return min(M, N) < 2**J or (padding == "periodic" and (M % 2**J or N % 2**J))


@fuzz(50)
@given(st.tuples(sides, sides), st.integers(1, 5) | st.integers(1, 16), st.integers(1, 64),
       st.sampled_from(["reflect", "periodic"]))
def test_scattering2d_any_size(shape, J, L, padding):
    """A ShapeError naming J exactly when the image is smaller than 2**J (or not a multiple of it)."""
    event("ShapeError" if too_small_2d(shape, J, padding) else "accepted")
    if too_small_2d(shape, J, padding):
        expect(ShapeError, (f"J={J}", "2**J"), lambda: Scattering2D(shape, J=J, L=L, padding=padding))
        expect(ShapeError, (f"J={J}", "2**J"), lambda: scattering2d(torch.zeros(shape), J=J, L=L, padding=padding))
        return
    S = Scattering2D(shape, J=J, L=L, max_order=2 if L <= 8 else 1, padding=padding)
    out = S(torch.randn((1,) + shape, generator=torch.Generator().manual_seed(J * L)))
    assert out.shape == (1,) + S.output_shape and bool(torch.isfinite(out).all())


BAD_2D = dict(J=out_of_range(1, 16) | not_int, L=out_of_range(1, 64) | not_int,
              max_order=out_of_range(1, 2) | not_int, padding=bad_choice(("reflect", "periodic")))


@fuzz(80)
@given(bad_parameters(BAD_2D))
def test_scattering2d_bad_parameter(bad):
    name, value = bad
    params = {**dict(J=2, L=4), name: value}
    expect(InvalidParameterError, (f"'{name}' parameter of Scattering2D",), lambda: Scattering2D((16, 16), **params))
    expect(InvalidParameterError, (f"'{name}'",), lambda: scattering2d(torch.zeros(16, 16), **params))
    expect(InvalidParameterError, (f"'{name}'",), lambda: scatlab.scattering2d_numpy(np.zeros((16, 16)), **params))


@fuzz(30)
@given(bad_shape(2))
def test_scattering2d_bad_shape(shape):
    expect(InvalidParameterError, ("'shape' parameter of Scattering2D",), lambda: Scattering2D(shape, J=1))
    expect(InvalidParameterError, ("'shape' parameter of RotoTranslationScattering2D",),
           lambda: RotoTranslationScattering2D(shape, J=1))


# ----------------------------------------------------------------------------- roto-translation


@st.composite
def valid_roto(draw):
    shape, params = draw(valid_2d())
    L = draw(st.integers(1, 8))
    K = draw(st.none() | st.integers(0, int(math.log2(L))))
    return shape, dict(params, L=L, K=K, J=min(params["J"], 3))


@fuzz(30)
@given(st.data(), valid_roto(), small_batches, float_dtypes)
def test_rototranslation_valid(data, case, batch, dtype):
    shape, params = case
    S = RotoTranslationScattering2D(shape, **params)
    assert S.K == (int(math.log2(params["L"])) if params["K"] is None else params["K"])
    x = data.draw(signals(batch, shape, dtype))
    check_forward(S, lambda x: rototranslation_scattering2d(x, **params), x, 2)


@fuzz(30)
@given(st.tuples(sides, sides), st.integers(1, 5) | st.integers(1, 12), st.integers(1, 16),
       st.sampled_from(["reflect", "periodic"]))
def test_rototranslation_any_size(shape, J, L, padding):
    event("ShapeError" if too_small_2d(shape, J, padding) else "accepted")
    if too_small_2d(shape, J, padding):
        expect(ShapeError, (f"J={J}", "2**J"), lambda: RotoTranslationScattering2D(shape, J=J, L=L, padding=padding))
        return
    S = RotoTranslationScattering2D(shape, J=J, L=L, max_order=2 if L <= 8 else 1, padding=padding)
    out = S(torch.randn((1,) + shape, generator=torch.Generator().manual_seed(J * L)))
    assert out.shape == (1,) + S.output_shape and bool(torch.isfinite(out).all())


@st.composite
def bad_roto(draw):
    """(name, value, L): K is checked against floor(log2 L)."""
    L = draw(st.integers(1, 8))
    spec = dict(BAD_2D, J=out_of_range(1, 12) | not_int, K=out_of_range(0, int(math.log2(L))) | not_int_or_none)
    name, value = draw(bad_parameters(spec))
    return name, value, L


@fuzz(80)
@given(bad_roto())
def test_rototranslation_bad_parameter(bad):
    name, value, L = bad
    params = {**dict(J=2, L=L), name: value}
    owner = "RotoTranslationScattering2D"
    expect(InvalidParameterError, (f"'{name}' parameter of {owner}",),
           lambda: RotoTranslationScattering2D((16, 16), **params))
    expect(InvalidParameterError, (f"'{name}'",), lambda: rototranslation_scattering2d(torch.zeros(16, 16), **params))


# ----------------------------------------------------------------------------- time-frequency


def n_frequencies(N, J, Q1, T, padding) -> int:
    """First-order wavelets of the matching Scattering1D (the rows of the scalogram)."""
    return int((Scattering1D(N, J=J, Q=Q1, T=T, max_order=1, padding=padding).meta["order"] == 1).sum())


@fuzz(50)
@given(st.data(), st.integers(2, 128) | st.just(128), st.integers(1, 5) | st.integers(1, 9), st.integers(1, 8),
       st.integers(1, 3), float_dtypes)
def test_timefrequency_any(data, N, J, Q1, Q2, dtype):
    """Valid exactly when the matching Scattering1D is and J_fr, F fit the number of frequencies."""
    T = data.draw(st.none() | st.integers(1, N), label="T")
    padding = data.draw(st.sampled_from(["reflect", "periodic"]), label="padding")
    try:
        n_freq = n_frequencies(N, J, Q1, T, padding)
    except ShapeError as error:
        event("ShapeError")
        message = str(error).replace("Scattering1D", "TimeFrequencyScattering")
        with pytest.raises(ShapeError) as info:
            TimeFrequencyScattering(N, J=J, Q=(Q1, Q2), J_fr=1, T=T, padding=padding)
        assert str(info.value) == message
        return
    J_fr = data.draw(st.integers(1, max(int(math.log2(n_freq)), 1)) | st.just(int(math.log2(n_freq)) + 1), label="J_fr")
    F = data.draw(st.none() | st.integers(1, n_freq) | st.just(n_freq + 1), label="F")
    params = dict(J=J, Q=(Q1, Q2), J_fr=J_fr, Q_fr=data.draw(st.integers(1, 3), label="Q_fr"), T=T, F=F,
                  padding=padding, format=data.draw(st.sampled_from(["time", "joint"]), label="format"),
                  time_lowpass_paths=data.draw(st.booleans(), label="time_lowpass_paths"))
    if 2**J_fr > n_freq:
        event("J_fr too large")
        expect(InvalidParameterError, ("'J_fr' parameter of TimeFrequencyScattering",),
               lambda: TimeFrequencyScattering(N, **params))
        return
    if F is not None and F > n_freq:
        event("F too large")
        expect(InvalidParameterError, ("'F' parameter of TimeFrequencyScattering",),
               lambda: TimeFrequencyScattering(N, **params))
        return
    try:
        S = TimeFrequencyScattering(N, **params)
    except InvalidParameterError as error:  # J too small for the band of the scalogram (see the docstring)
        event("J too small")
        assert f"J={J}" in str(error) and "no temporal wavelet" in str(error), str(error)
        expect(InvalidParameterError, (f"J={J}",), lambda: timefrequency_scattering(torch.zeros(N), **params))
        return
    event("accepted")
    x = data.draw(signals(data.draw(small_batches, label="batch"), (N,), dtype))
    check_forward(S, lambda x: timefrequency_scattering(x, **params), x, 1)


N_FREQ_TF = n_frequencies(128, 4, 4, None, "reflect")  # the scalogram rows of the baseline below
BAD_TF = dict(
    J=out_of_range(1, 24) | not_int, Q=bad_q(64), J_fr=out_of_range(1, 16) | not_int,
    Q_fr=out_of_range(1, 16) | not_int, T=out_of_range(1, 2**30) | not_int_or_none,
    F=out_of_range(1, N_FREQ_TF) | not_int_or_none,
    padding=bad_choice(("reflect", "periodic")), format=bad_choice(("time", "joint")),
    time_lowpass_paths=st.sampled_from([0, 1, "True", None, 1.0]),
)


@fuzz(100)
@given(bad_parameters(BAD_TF))
def test_timefrequency_bad_parameter(bad):
    name, value = bad
    params = {**dict(J=4, Q=4, J_fr=2), name: value}
    owner = "TimeFrequencyScattering"
    expect(InvalidParameterError, (f"'{name}' parameter of {owner}",), lambda: TimeFrequencyScattering(128, **params))
    expect(InvalidParameterError, (f"'{name}'",), lambda: timefrequency_scattering(torch.zeros(128), **params))


@fuzz(20)
@given(bad_shape(1))
def test_timefrequency_bad_shape(shape):
    expect(InvalidParameterError, ("'shape' parameter of TimeFrequencyScattering",),
           lambda: TimeFrequencyScattering(shape, J=1, Q=4, J_fr=1, T=1))


# ----------------------------------------------------------------------------- harmonic 3D

powers = st.lists(st.floats(0.25, 4.0), min_size=1, max_size=4)


@st.composite
def valid_3d(draw):
    shape = tuple(draw(st.lists(st.integers(2, 8), min_size=3, max_size=3)))
    return shape, dict(J=draw(st.integers(0, 2)), L=draw(st.integers(0, 2)), sigma_0=draw(st.floats(0.5, 2.0)),
                       max_order=draw(st.sampled_from([1, 2])),
                       integral_powers=draw(powers | powers.map(tuple) | powers.map(np.asarray)))


@fuzz(25)
@given(st.data(), valid_3d(), small_batches, float_dtypes)
def test_harmonic3d_valid(data, case, batch, dtype):
    shape, params = case
    S = HarmonicScattering3D(shape, **params)
    x = data.draw(signals(batch, shape, dtype))
    check_forward(S, lambda x: harmonic_scattering3d(x, **params), x, 3)
    maps = S.local(x)
    assert maps.shape == batch + (len(S.local_meta),) + shape and maps.dtype == dtype
    assert bool(torch.isfinite(maps).all())


@fuzz(20)
@given(st.tuples(st.integers(2, 5), st.integers(2, 5), st.integers(2, 5)), st.integers(0, 10), st.integers(0, 12),
       st.floats(1e-3, 1e6) | st.sampled_from([5e-324, 1e-300, 1e6]))
def test_harmonic3d_extreme_scales(shape, J, L, sigma_0):
    """Any J, L and sigma_0 in range, even absurd ones, give finite invariants."""
    S = HarmonicScattering3D(shape, J=J, L=L, sigma_0=sigma_0, max_order=1, integral_powers=(1.0, 2.0))
    out = S(torch.rand((1,) + shape, generator=torch.Generator().manual_seed(J * 7 + L), dtype=torch.float64))
    assert out.shape == (1,) + S.output_shape and bool(torch.isfinite(out).all())


bad_powers = st.one_of(
    st.just([]), st.just(()), st.text(min_size=1, max_size=3), st.none(), st.floats(0.5, 4), st.integers(1, 4),
    st.lists(st.floats(max_value=0.0) | st.just(float("inf")) | st.just(float("nan")), min_size=1, max_size=2),
    st.lists(st.booleans() | st.text(max_size=2) | st.none() | st.just(1 + 1j), min_size=1, max_size=2),
    st.lists(st.floats(0.5, 3.0), min_size=1, max_size=2).map(lambda v: v + ["2"]),
)
BAD_3D = dict(
    J=out_of_range(0, 10) | not_int, L=out_of_range(0, 12) | not_int, max_order=out_of_range(1, 2) | not_int,
    sigma_0=st.floats(max_value=0.0) | st.floats(min_value=1e6, exclude_min=True)
    | st.sampled_from([float("nan"), None, "1", True, np.bool_(True), 1 + 0j, [1.0], np.array([1.0])]),
    integral_powers=bad_powers,
)


@fuzz(80)
@given(bad_parameters(BAD_3D))
def test_harmonic3d_bad_parameter(bad):
    name, value = bad
    params = {**dict(J=1, L=1), name: value}
    owner = "HarmonicScattering3D"
    expect(InvalidParameterError, (f"'{name}' parameter of {owner}",),
           lambda: HarmonicScattering3D((4, 4, 4), **params))
    expect(InvalidParameterError, (f"'{name}'",), lambda: harmonic_scattering3d(torch.zeros(4, 4, 4), **params))


@fuzz(20)
@given(bad_shape(3) | st.tuples(st.integers(1, 4), st.integers(1, 4), st.just(1)).map(lambda s: s[::-1]))
def test_harmonic3d_bad_shape(shape):
    expect(InvalidParameterError, ("'shape' parameter of HarmonicScattering3D",),
           lambda: HarmonicScattering3D(shape, J=0, L=0))


# ----------------------------------------------------------------------------- NumPy integers


@st.composite
def numpy_params(draw):
    """(constructor, shape, Python-int params, the same as NumPy ints)."""
    kind = draw(st.sampled_from(["1d", "2d", "roto", "tf", "3d"]))
    np_int = lambda v: draw(numpy_ints(st.just(v)))  # noqa: E731
    if kind == "1d":
        shape, params = 64, dict(J=draw(st.integers(1, 4)), Q=(draw(st.integers(1, 4)), 2), T=16, max_order=2)
        np_params = dict(params, J=np_int(params["J"]), Q=tuple(np_int(q) for q in params["Q"]), T=np_int(16),
                         max_order=np_int(2))
        return Scattering1D, shape, np_int(shape), params, np_params
    if kind == "tf":
        shape, params = 64, dict(J=3, Q=(4, 1), J_fr=2, Q_fr=2, T=8, F=2)
        np_params = {k: (tuple(np_int(q) for q in v) if isinstance(v, tuple) else np_int(v)) for k, v in params.items()}
        return TimeFrequencyScattering, shape, np_int(shape), params, np_params
    if kind == "3d":
        shape, params = (4, 5, 6), dict(J=1, L=draw(st.integers(0, 2)), max_order=draw(st.integers(1, 2)))
        np_params = {k: np_int(v) for k, v in params.items()}
        sigma = draw(st.sampled_from([1, 1.5]))
        params.update(sigma_0=sigma, integral_powers=[1, 2.0])
        np_params.update(sigma_0=np.float32(sigma), integral_powers=np.array([1, 2], dtype=np.int64))
        return HarmonicScattering3D, shape, tuple(np_int(s) for s in shape), params, np_params
    shape = (16, 12)
    params = dict(J=draw(st.integers(1, 2)), L=draw(st.integers(1, 8)), max_order=draw(st.integers(1, 2)))
    if kind == "roto":
        params["K"] = draw(st.integers(0, int(math.log2(params["L"]))))
    np_params = {k: np_int(v) for k, v in params.items()}
    cls = Scattering2D if kind == "2d" else RotoTranslationScattering2D
    return cls, shape, np.array(shape, dtype=draw(st.sampled_from(NUMPY_INTS))), params, np_params


@fuzz(40)
@given(numpy_params())
def test_numpy_integers_are_ints(case):
    """NumPy integers (any width) build the same transform as Python ints, and are stored as ints."""
    cls, shape, np_shape, params, np_params = case
    S, S_np = cls(shape, **params), cls(np_shape, **np_params)
    assert S_np.output_shape == S.output_shape
    for name in params:
        value = getattr(S_np, name)
        assert value == getattr(S, name), name
        for v in (value if isinstance(value, tuple) else (value,)):
            assert type(v) in (int, float), (name, type(v))
    x = torch.rand((2,) + S.plan.shape if hasattr(S.plan, "shape") else (2, S.plan.length),
                   generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(S_np(x), S(x), rtol=0, atol=0)


# ----------------------------------------------------------------------------- inputs


TRANSFORMS = {  # class, functional twin, signal shape, parameters
    "1d": (Scattering1D, scattering1d, (32,), dict(J=2, Q=2)),
    "2d": (Scattering2D, scattering2d, (8, 6), dict(J=1, L=4)),
    "roto": (RotoTranslationScattering2D, rototranslation_scattering2d, (8, 8), dict(J=1, L=4)),
    "tf": (TimeFrequencyScattering, timefrequency_scattering, (64,), dict(J=3, Q=4, J_fr=1)),
    "3d": (HarmonicScattering3D, harmonic_scattering3d, (4, 4, 5), dict(J=1, L=1)),
}
_BUILT: dict = {}


def module(kind: str):
    if kind not in _BUILT:
        cls, _, shape, params = TRANSFORMS[kind]
        _BUILT[kind] = cls(shape, **params)
    return _BUILT[kind]


def twin(kind: str):
    _, function, _, params = TRANSFORMS[kind]
    return lambda x: function(x, **params)


kinds = st.sampled_from(sorted(TRANSFORMS))


@fuzz(50)
@given(kinds, st.sampled_from(BAD_DTYPES), small_batches)
def test_non_float_input_is_a_type_error(kind, dtype, batch):
    x = torch.zeros(batch + TRANSFORMS[kind][2], dtype=dtype)
    for call in (module(kind), twin(kind)):
        with pytest.raises(TypeError, match="float32 or float64") as info:
            call(x)
        assert not isinstance(info.value, InvalidParameterError)  # a TypeError about the input, as documented


@fuzz(30)
@given(st.data(), kinds, st.sampled_from([float("nan"), float("inf"), -float("inf")]), float_dtypes)
def test_nan_and_inf_are_data_errors(data, kind, bad, dtype):
    batch = data.draw(st.lists(st.integers(1, 2), max_size=2).map(tuple), label="batch")
    x = data.draw(signals(batch, TRANSFORMS[kind][2], dtype)).clone()
    position = tuple(data.draw(st.integers(0, n - 1)) for n in x.shape)
    x[position] = bad
    for call in (module(kind), twin(kind)):
        with pytest.raises(DataError, match="NaN or Inf"):
            call(x)


@fuzz(60)
@given(kinds, st.lists(st.integers(0, 9), max_size=5).map(tuple))
def test_wrong_input_shape(kind, shape):
    """A module refuses any other signal shape with a ShapeError; its functional twin, which reads
    the shape from the input, transforms it exactly as a module built for it, or raises the
    library's error for it."""
    cls, _, signal_shape, params = TRANSFORMS[kind]
    d = len(signal_shape)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(len(shape)))
    if shape[len(shape) - d:] != signal_shape or len(shape) < d:
        expect(ShapeError, ("was built for signals of shape",), lambda: module(kind)(x))
    if len(shape) < d:
        expect(ShapeError, ("takes inputs of shape",), lambda: twin(kind)(x))
        return
    try:
        out = twin(kind)(x)
    except (ShapeError, InvalidParameterError) as error:
        assert re.search(r"'shape'|J=|T=|samples|J_fr", str(error)), str(error)
        with pytest.raises(type(error)) as info:  # the same error as the constructor's
            cls(shape[-1] if d == 1 else shape[len(shape) - d:], **params)
        assert str(info.value) == str(error)
        return
    S = cls(shape[len(shape) - d:], **params)
    torch.testing.assert_close(out, S(x), rtol=0, atol=0)
    assert bool(torch.isfinite(out).all()) and out.shape == shape[: len(shape) - d] + S.output_shape


@fuzz(10)
@given(kinds, st.sampled_from([np.zeros(3), [0.0] * 4, 1.0, None, "x"]))
def test_non_tensor_input_is_a_type_error(kind, x):
    for call in (module(kind), twin(kind)):
        with pytest.raises(TypeError, match="torch.Tensor"):
            call(x)


# ----------------------------------------------------------------------------- NumPy API, scikit-learn

NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64, ">f8": np.float64, ">f4": np.float32,
                "float16": np.float32, "int8": np.float32, "int64": np.float32, "uint8": np.float32,
                "bool": np.float32}


@fuzz(20)
@given(st.sampled_from(sorted(NUMPY_DTYPES)), st.sampled_from(["1d", "2d"]), small_batches)
def test_numpy_api_dtypes(dtype, kind, batch):
    """float64 (any byte order) stays float64, other real arrays become float32."""
    shape, call, twin = ((32,), scatlab.scattering1d_numpy, scattering1d) if kind == "1d" else \
        ((8, 8), scatlab.scattering2d_numpy, scattering2d)
    x = (np.random.default_rng(len(batch)).random(batch + shape) * 3).astype(dtype)
    out = call(x, J=2)
    assert out.dtype == NUMPY_DTYPES[dtype]
    expected = twin(torch.from_numpy(x.astype(NUMPY_DTYPES[dtype])), J=2).numpy()
    np.testing.assert_array_equal(out, expected)


@fuzz(10)
@given(st.sampled_from(["complex64", "complex128", "U1", "object", "datetime64[s]"]), st.sampled_from(["1d", "2d"]))
def test_numpy_api_refuses_non_real_arrays(dtype, kind):
    shape, call = ((32,), scatlab.scattering1d_numpy) if kind == "1d" else ((8, 8), scatlab.scattering2d_numpy)
    x = np.zeros(shape).astype(dtype)
    with pytest.raises(InvalidParameterError, match="float32 or float64"):
        call(x, J=2)


@fuzz(15)
@given(st.sampled_from([(32,), 32, (8, 8), (6, 10)]), st.integers(1, 3), st.integers(1, 2))
def test_sklearn_transformer_shapes(shape, n, J):
    require_module("sklearn", "scikit-learn")
    from scatlab.sklearn import ScatteringTransformer

    X = np.random.default_rng(n).random((n, int(np.prod(shape))))
    features = ScatteringTransformer(shape=shape, J=J, L=2).fit(X).transform(X)
    S = Scattering1D(shape, J=J) if np.ndim(shape) == 0 or len(shape) == 1 else Scattering2D(shape, J=J, L=2)
    assert features.shape == (n, int(np.prod(S.output_shape))) and np.isfinite(features).all()


def bad_transformer_shape() -> st.SearchStrategy:
    """Neither an int N, (N,) nor (M, N) of positive ints."""
    side, bad_side = st.integers(1, 8), out_of_range(1, None) | not_int
    return st.one_of(
        st.lists(side, max_size=5).filter(lambda s: len(s) not in (1, 2)).map(tuple),
        st.tuples(bad_side), st.tuples(side, bad_side), st.tuples(bad_side, side), out_of_range(1, None),
        not_int.filter(lambda v: not (isinstance(v, np.ndarray) and v.ndim == 1)),
    )


@fuzz(30)
@given(bad_transformer_shape())
def test_sklearn_transformer_bad_shape(shape):
    require_module("sklearn", "scikit-learn")
    from scatlab.sklearn import ScatteringTransformer

    expect(InvalidParameterError, ("'shape' parameter of ScatteringTransformer",),
           lambda: ScatteringTransformer(shape=shape, J=1).fit(np.zeros((2, 4))))


@fuzz(40)
@given(st.sampled_from(["1d", "2d"]).flatmap(lambda kind: st.tuples(st.just(kind), bad_parameters(
    BAD_1D if kind == "1d" else BAD_2D))))
def test_sklearn_transformer_bad_parameter(case):
    """Parameters are read at transform time, with the transforms' errors."""
    require_module("sklearn", "scikit-learn")
    from scatlab.sklearn import ScatteringTransformer

    kind, (name, value) = case
    shape = (32,) if kind == "1d" else (8, 8)
    X = np.zeros((2, int(np.prod(shape))))
    transformer = ScatteringTransformer(shape=shape, J=1, L=2).set_params(**{name: value}).fit(X)
    expect(InvalidParameterError, (f"'{name}' parameter",), lambda: transformer.transform(X))
