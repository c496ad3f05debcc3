"""Errors: every invalid parameter, shape, dtype or value raises the documented class with a
message that names the culprit.

- scatlab.InvalidParameterError (ValueError and TypeError): a parameter out of range / wrong type;
- scatlab.ShapeError (ValueError): an input of the wrong shape, or a size too small for J / T;
- scatlab.DataError (ValueError): NaN or Inf values;
- TypeError: a non-float (or float16) input tensor, or an input on another device than the filters.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import scatlab
from scatlab import DataError, InvalidParameterError, ShapeError
from scatlab.functional import scattering1d, scattering2d


def test_error_hierarchy():
    assert issubclass(InvalidParameterError, ValueError) and issubclass(InvalidParameterError, TypeError)
    assert issubclass(ShapeError, ValueError) and issubclass(DataError, ValueError)
    assert not issubclass(ShapeError, TypeError)


# ----------------------------------------------------------------------------- parameters

BAD_1D = [
    ("J", 0), ("J", 25), ("J", -1), ("J", True), ("J", 2.0), ("J", "3"), ("J", None),
    ("Q", 0), ("Q", 65), ("Q", True), ("Q", 1.5), ("Q", "8"), ("Q", (1, 2, 3)), ("Q", ()), ("Q", (8, 0)),
    ("Q", (8, 1.0)),
    ("T", 0), ("T", -4), ("T", True), ("T", 4.0), ("T", "8"),
    ("max_order", 0), ("max_order", 3), ("max_order", True), ("max_order", 2.0), ("max_order", "2"),
    ("padding", "zero"), ("padding", None), ("padding", "Reflect"), ("padding", 1),
    ("normalize", "l2"), ("normalize", None), ("normalize", 1),
]


@pytest.mark.parametrize("name, value", BAD_1D, ids=[f"{n}={v!r}" for n, v in BAD_1D])
def test_scattering1d_parameters(name, value):
    kwargs = dict(J=3, Q=1)
    kwargs[name] = value
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of Scattering1D"):
        scatlab.Scattering1D(256, **kwargs)
    x = torch.zeros(256)
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        scattering1d(x, **kwargs)
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        scatlab.scattering1d_numpy(x.numpy(), **kwargs)


BAD_2D = [
    ("J", 0), ("J", 17), ("J", True), ("J", 1.0), ("J", "2"),
    ("L", 0), ("L", 65), ("L", False), ("L", 8.0), ("L", "8"), ("L", None),
    ("max_order", 0), ("max_order", 3), ("max_order", True), ("max_order", "2"),
    ("padding", "zeros"), ("padding", None), ("padding", ["reflect"]),
]


@pytest.mark.parametrize("name, value", BAD_2D, ids=[f"{n}={v!r}" for n, v in BAD_2D])
def test_scattering2d_parameters(name, value):
    kwargs = dict(J=2, L=4)
    kwargs[name] = value
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of Scattering2D"):
        scatlab.Scattering2D((16, 16), **kwargs)
    x = torch.zeros(16, 16)
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        scattering2d(x, **kwargs)
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        scatlab.scattering2d_numpy(x.numpy(), **kwargs)


def test_message_shows_the_offending_value_and_the_range():
    with pytest.raises(InvalidParameterError, match=r"int in \[1, 64\]. Got 0 instead"):
        scatlab.Scattering2D((16, 16), J=2, L=0)
    with pytest.raises(InvalidParameterError, match=r"one of 'reflect', 'periodic'. Got 'zero'"):
        scatlab.Scattering1D(64, J=2, padding="zero")


@pytest.mark.parametrize("shape", [0, -5, 64.0, True, (64, 64), (), None, "abc"])
def test_scattering1d_shape_parameter(shape):
    with pytest.raises(InvalidParameterError, match="'shape' parameter of Scattering1D"):
        scatlab.Scattering1D(shape, J=2)


@pytest.mark.parametrize("shape", [8, (8,), (8, 8, 8), (8, 0), (8.0, 8), (-8, 8), None, (True, 8)])
def test_scattering2d_shape_parameter(shape):
    with pytest.raises(InvalidParameterError, match="'shape' parameter of Scattering2D"):
        scatlab.Scattering2D(shape, J=1)


def test_numpy_integer_scalars_are_accepted():
    S = scatlab.Scattering1D(np.int64(256), J=np.int32(3), Q=np.int64(2))
    assert S.output_shape[1] == 32 and S.J == 3


# ----------------------------------------------------------------------------- sizes too small


def test_1d_averaging_scale_longer_than_the_signal():
    with pytest.raises(ShapeError, match="T=100"):
        scatlab.Scattering1D(64, J=2, T=100)
    with pytest.raises(ShapeError, match=r"2\*\*J = 128 by default"):
        scatlab.Scattering1D(64, J=7)  # T defaults to 2^J
    with pytest.raises(ShapeError, match="T=128"):
        scattering1d(torch.zeros(64), J=7)
    scatlab.Scattering1D(64, J=6)  # T = N is fine


def test_1d_signal_of_one_sample():
    with pytest.raises(ShapeError, match="at least 2 samples"):
        scatlab.Scattering1D(1, J=1, T=1)


def test_2d_image_smaller_than_2J():
    with pytest.raises(ShapeError, match=r"\(8, 7\).*J=3.*2\*\*J = 8"):
        scatlab.Scattering2D((8, 7), J=3)
    with pytest.raises(ShapeError, match="J=5"):
        scattering2d(torch.zeros(16, 40), J=5)
    scatlab.Scattering2D((8, 8), J=3)  # equal is fine


def test_periodic_size_not_a_multiple():
    with pytest.raises(ShapeError, match=r"periodic.*100.*2\*\*floor\(log2\(T\)\) = 8"):
        scatlab.Scattering1D(100, J=3, padding="periodic")
    with pytest.raises(ShapeError, match=r"periodic.*\(12, 16\).*2\*\*J = 8"):
        scatlab.Scattering2D((12, 16), J=3, padding="periodic")
    scatlab.Scattering1D(96, J=3, T=12, padding="periodic")  # floor(log2 12) = 3: 96 = 12 * 8


# ----------------------------------------------------------------------------- inputs


def test_wrong_input_shape():
    S1 = scatlab.Scattering1D(64, J=2)
    with pytest.raises(ShapeError, match=r"shape \(64\).*\(65,\)"):
        S1(torch.zeros(65))
    with pytest.raises(ShapeError, match=r"\(\)"):
        S1(torch.tensor(1.0))
    S2 = scatlab.Scattering2D((8, 8), J=1, L=4)
    with pytest.raises(ShapeError, match=r"\(8, 8\).*\(8, 9\)"):
        S2(torch.zeros(8, 9))
    with pytest.raises(ShapeError, match=r"\(8,\)"):
        S2(torch.zeros(8))  # too few dimensions
    with pytest.raises(ShapeError, match=r"\(8, 8\).*\(3, 9, 8\)"):
        S2(torch.zeros(3, 9, 8))


def test_functional_wrong_number_of_dims_is_a_shape_error():
    for call in (lambda: scattering1d(torch.tensor(1.0), J=2),
                 lambda: scattering2d(torch.zeros(8), J=1),
                 lambda: scatlab.scattering2d_numpy(np.zeros(8), J=1)):
        try:
            call()
        except ShapeError:
            continue
        except Exception as error:  # noqa: BLE001 - we report which class was raised
            raise AssertionError(f"expected ShapeError, got {type(error).__name__}: {error}") from None
        raise AssertionError("no error raised")


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool, torch.float16,
                                   torch.bfloat16, torch.complex64])
def test_non_float_input_is_a_type_error(dtype):
    S1 = scatlab.Scattering1D(64, J=2)
    S2 = scatlab.Scattering2D((8, 8), J=1, L=2)
    with pytest.raises(TypeError, match="float32 or float64"):
        S1(torch.zeros(64, dtype=dtype))
    with pytest.raises(TypeError, match="float32 or float64"):
        S2(torch.zeros(8, 8, dtype=dtype))
    with pytest.raises(TypeError, match="float32 or float64"):
        scattering1d(torch.zeros(64, dtype=dtype), J=2)
    with pytest.raises(TypeError, match="float32 or float64"):
        scattering2d(torch.zeros(8, 8, dtype=dtype), J=1, L=2)


def test_non_tensor_input_is_a_type_error():
    with pytest.raises(TypeError, match="torch.Tensor"):
        scatlab.Scattering1D(64, J=2)(np.zeros(64, dtype=np.float32))
    with pytest.raises(TypeError, match="torch.Tensor"):
        scattering2d([[0.0] * 8] * 8, J=1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_inf_are_data_errors(bad):
    x1 = torch.zeros(2, 64)
    x1[1, 17] = bad
    with pytest.raises(DataError, match="NaN or Inf"):
        scatlab.Scattering1D(64, J=2)(x1)
    x2 = torch.zeros(8, 8, dtype=torch.float64)
    x2[3, 4] = bad
    with pytest.raises(DataError, match="NaN or Inf"):
        scatlab.Scattering2D((8, 8), J=1, L=2).double()(x2)
    with pytest.raises(DataError, match="NaN or Inf"):
        scatlab.scattering2d_numpy(x2.numpy(), J=1)
    with pytest.raises(DataError, match="NaN or Inf"):
        scattering1d(x1, J=2)


def test_numpy_wrapper_rejects_non_numeric_arrays():
    with pytest.raises(TypeError, match="float32 or float64"):
        scatlab.scattering2d_numpy(np.array([["a"] * 8] * 8), J=1)
    with pytest.raises(TypeError, match="float32 or float64"):
        scatlab.scattering1d_numpy(np.zeros(64, dtype=np.complex128), J=2)


def test_numpy_wrapper_accepts_big_endian_floats():
    x = np.linspace(0, 1, 64).astype(">f8")
    out = scatlab.scattering1d_numpy(x, J=2)
    np.testing.assert_allclose(out, scatlab.scattering1d_numpy(x.astype("<f8"), J=2))


def test_filter_bank_order_is_validated():
    S = scatlab.Scattering1D(256, J=3, Q=2)
    for method in (S.filters_fourier, S.littlewood_paley, S.frame_bounds):
        for order in (0, 3, "1"):
            with pytest.raises(InvalidParameterError, match="'order'"):
                method(order)
