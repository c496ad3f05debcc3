"""Scattering2D: agreement with the direct oracle at every order, output shapes, the channel table,
and the module API on real images (camera, brick, grass crops) plus noise."""
from __future__ import annotations

import copy
import functools
import importlib
import io
import pickle

import numpy as np
import pytest
import torch

import scatlab
from scatlab.functional import scattering2d
from scatlab.plan.padding import reflect_indices
from scatlab.testing import assert_matches_oracle, oracle_scattering2d

from conftest import crop, rel_err

ORACLE_CONFIGS = [
    ((16, 16), dict(J=2, L=4)),
    ((12, 20), dict(J=2, L=4)),
    ((16, 16), dict(J=2, L=4, padding="periodic")),
    ((12, 20), dict(J=2, L=4, padding="periodic")),
    ((16, 24), dict(J=3, L=2, padding="periodic")),
    ((9, 11), dict(J=3, L=3)),  # odd sides, 2^J close to the size
    ((16, 16), dict(J=2, L=4, max_order=1)),
    ((4, 6), dict(J=2, L=2)),  # reflection wider than the image
]


def _id(item):
    shape, kw = item
    return f"{shape[0]}x{shape[1]}-" + "-".join(f"{k}{v}" for k, v in kw.items())


def image_batch(shape) -> np.ndarray:
    """Crops of camera, brick and grass, plus one white-noise image."""
    M, N = shape
    rng = np.random.default_rng(M * 100 + N)
    return np.stack([
        crop("camera", 130, 210, M, N),
        crop("brick", 200, 100, M, N),
        crop("grass", 300, 300, M, N),
        rng.uniform(0, 1, shape),
    ])


def per_order_errors(S, fast, slow):
    out = {}
    for order in (0, 1, 2):
        rows = S.meta.select(order=order)
        if len(rows):
            assert np.linalg.norm(slow[..., rows, :, :]) > 0
            out[order] = rel_err(fast[..., rows, :, :], slow[..., rows, :, :])
    return out


@functools.lru_cache(maxsize=None)
def oracle_case(index):
    """(input batch, oracle output) of ORACLE_CONFIGS[index], computed once per session."""
    shape, kw = ORACLE_CONFIGS[index]
    x = image_batch(shape)
    return x, oracle_scattering2d(scatlab.Scattering2D(shape, **kw), x)


@pytest.mark.parametrize("index", range(len(ORACLE_CONFIGS)), ids=[_id(c) for c in ORACLE_CONFIGS])
def test_functional_float64_matches_oracle_at_every_order(index):
    shape, kw = ORACLE_CONFIGS[index]
    S = scatlab.Scattering2D(shape, **kw)
    x, slow = oracle_case(index)
    fast = scattering2d(torch.from_numpy(x), **kw).numpy()
    assert fast.shape == slow.shape == (4,) + S.output_shape
    errors = per_order_errors(S, fast, slow)
    assert set(errors) == ({0, 1} if kw.get("max_order", 2) == 1 else {0, 1, 2})
    # measured 2e-16..6e-16; 1e-8 leaves room for documented approximations far below float32
    # (the engine skips spectral periods where a filter is below 1e-9 of its peak)
    assert max(errors.values()) < 1e-8, errors


@pytest.mark.parametrize("index", range(3), ids=[_id(c) for c in ORACLE_CONFIGS[:3]])
def test_module_matches_oracle_float64_and_float32(index):
    shape, kw = ORACLE_CONFIGS[index]
    S = scatlab.Scattering2D(shape, **kw)
    x, slow = oracle_case(index)
    fast32 = S(torch.from_numpy(x).float()).double().numpy()
    assert max(per_order_errors(S, fast32, slow).values()) < 1e-5
    fast64 = S.to(torch.float64)(torch.from_numpy(x)).numpy()
    assert max(per_order_errors(S, fast64, slow).values()) < 1e-6


class _Scaled(torch.nn.Module):
    """A module whose outputs are off by 0.1%."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.plan, self.meta = inner, inner.plan, inner.meta
        self.filters_fourier = inner.filters_fourier

    def forward(self, x):
        return self.inner(x) * 1.001


def test_assert_matches_oracle_helper():
    S = scatlab.Scattering2D((12, 20), J=2, L=4).double()
    x = torch.from_numpy(image_batch((12, 20))[:2])
    assert_matches_oracle(S, x, rtol=1e-6)
    with pytest.raises(AssertionError, match="relative error"):
        assert_matches_oracle(_Scaled(S), x, rtol=1e-6)


def test_oracle_is_sensitive_to_orientation_order():
    S = scatlab.Scattering2D((16, 16), J=2, L=4).double()
    x = torch.from_numpy(image_batch((16, 16)))
    fast = S(x).numpy()
    slow = oracle_scattering2d(S, x.numpy())
    a, b = S.meta.select(order=1, j1=0, theta1=[0, 1])
    swapped = fast.copy()
    swapped[:, [a, b]] = fast[:, [b, a]]
    assert rel_err(swapped, slow) > 1e-3


def test_module_converted_to_float64_has_float64_accurate_filters():
    S = scatlab.Scattering2D((16, 16), J=2, L=4).to(torch.float64)
    x = torch.from_numpy(image_batch((16, 16)))
    assert rel_err(S(x), scattering2d(x, J=2, L=4)) < 1e-12


@pytest.mark.parametrize("n, left, right", [(2, 5, 7), (3, 10, 4), (5, 1, 1), (4, 9, 9), (16, 8, 8), (1, 2, 3)])
def test_reflect_indices_equal_numpy_reflect(n, left, right):
    """Reflection without repeating the edge, of any width (numpy's 'reflect' mode)."""
    a = np.arange(n)
    expected = np.pad(a, (left, right), mode="reflect") if n > 1 else np.zeros(n + left + right, int)
    np.testing.assert_array_equal(a[reflect_indices(n, left, right)], expected)


# ----------------------------------------------------------------------------- shapes and table


@pytest.mark.parametrize("shape, J, L", [((32, 32), 2, 8), ((30, 41), 3, 6), ((32, 32), 5, 8), ((28, 28), 2, 8),
                                         ((8, 8), 1, 8), ((17, 64), 4, 4), ((9, 11), 3, 3)])
@pytest.mark.parametrize("max_order", [1, 2])
def test_channel_count_and_output_shape(shape, J, L, max_order):
    S = scatlab.Scattering2D(shape, J=J, L=L, max_order=max_order)
    C = 1 + J * L + (L * L * J * (J - 1) // 2 if max_order == 2 else 0)
    # reflect: pad to a multiple of 2^J at least 2^J larger, then drop one output sample per side
    assert S.output_shape == (C, shape[0] // 2**J, shape[1] // 2**J)
    assert len(S.meta) == C


def test_periodic_output_shape():
    S = scatlab.Scattering2D((32, 48), J=3, L=4, padding="periodic")
    assert S.output_shape == (1 + 12 + 16 * 3, 4, 6)
    assert S(torch.zeros(32, 48)).shape == S.output_shape


def test_channel_table():
    J, L = 3, 6
    S = scatlab.Scattering2D((32, 32), J=J, L=L)
    meta = S.meta
    for name in ("order", "j1", "theta1", "j2", "theta2", "angle1", "angle2"):
        assert name in meta
    # Kymatio's order: 0; (j1, theta1); (j1, theta1, j2, theta2) with j2 > j1, lexicographic
    expected = [(0, -1, -1, -1, -1)]
    expected += [(1, j1, t1, -1, -1) for j1 in range(J) for t1 in range(L)]
    expected += [(2, j1, t1, j2, t2)
                 for j1 in range(J) for t1 in range(L) for j2 in range(j1 + 1, J) for t2 in range(L)]
    got = list(zip(*(meta[c].tolist() for c in ("order", "j1", "theta1", "j2", "theta2"))))
    assert got == expected
    np.testing.assert_array_equal(S.meta.select(order=1, j1=1), np.arange(1 + L, 1 + 2 * L))
    assert np.isnan(meta["angle2"][meta.select(order=1)]).all()
    assert len(meta.records()) == len(meta) and meta.records()[0]["order"] == 0


def test_docstring_example():
    S = scatlab.Scattering2D((32, 32), J=2, L=8)
    assert S(torch.randn(4, 3, 32, 32)).shape == (4, 3, 81, 8, 8)
    np.testing.assert_array_equal(S.meta.select(order=1, j1=1), np.arange(9, 17))


# ----------------------------------------------------------------------------- algebraic properties


def test_order0_linear_orders_12_sign_invariant(image_crops):
    S = scatlab.Scattering2D((32, 32), J=2, L=8).double()
    x = torch.from_numpy(image_crops["camera"])
    y = torch.from_numpy(image_crops["grass"])
    o0, rest = S.meta.select(order=0), S.meta.select(order=[1, 2])
    Sx, Sy = S(x), S(y)
    torch.testing.assert_close(S(x - 2 * y)[o0], Sx[o0] - 2 * Sy[o0], rtol=1e-10, atol=1e-12)
    S_neg = S(-x)
    torch.testing.assert_close(S_neg[o0], -Sx[o0], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(S_neg[rest], Sx[rest], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(S(3 * x), 3 * Sx, rtol=1e-12, atol=1e-14)
    assert bool((Sx[rest] >= -1e-12).all())


@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_constant_image(padding):
    S = scatlab.Scattering2D((32, 32), J=3, L=4, padding=padding).double()
    out = S(torch.full((32, 32), 0.25, dtype=torch.float64))
    psi_f, phi_f = S.filters_fourier()
    o0 = S.meta.select(order=0)
    torch.testing.assert_close(out[o0], torch.full_like(out[o0], 0.25 * phi_f[0, 0]), rtol=1e-6, atol=1e-9)
    # zero-mean wavelets: |psi^(0)| is the only leak
    assert float(out[S.meta.select(order=[1, 2])].abs().max()) < 0.25 * 1e-5


def test_transposed_image_swaps_orientations():
    """Transposing swaps the axes: theta -> pi/2 - theta, i.e. index t -> (L/2 - 2 - t) mod L for
    the angles theta_t = (L/2 - 1 - t) pi / L (orientations are defined modulo pi)."""
    L = 8
    S = scatlab.Scattering2D((32, 32), J=2, L=L, padding="periodic").double()
    x = torch.from_numpy(crop("brick", 40, 60, 32))
    Sx, St = S(x), S(x.T.contiguous())
    meta = S.meta
    perm = []
    for order, j1, t1, j2, t2 in zip(meta["order"], meta["j1"], meta["theta1"], meta["j2"], meta["theta2"]):
        if order == 0:
            perm.append(0)
        elif order == 1:
            perm.append(meta.select(order=1, j1=j1, theta1=(L // 2 - 2 - t1) % L)[0])
        else:
            perm.append(meta.select(order=2, j1=j1, theta1=(L // 2 - 2 - t1) % L,
                                    j2=j2, theta2=(L // 2 - 2 - t2) % L)[0])
    expected = Sx[perm].transpose(-1, -2)
    assert rel_err(St, expected) < 1e-6
    assert rel_err(St, Sx.transpose(-1, -2)) > 1e-2  # the permutation matters


# ----------------------------------------------------------------------------- module API


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_batch_shapes(batch, image_crops):
    S = scatlab.Scattering2D((32, 32), J=2, L=8)
    rng = np.random.default_rng(0)
    x = torch.from_numpy((image_crops["camera"] + 0.01 * rng.standard_normal(batch + (32, 32))).astype(np.float32))
    out = S(x)
    assert out.shape == batch + S.output_shape and out.dtype == torch.float32
    flat = x.reshape(-1, 32, 32)
    stacked = out.reshape((-1,) + S.output_shape)
    for i in range(flat.shape[0]):
        torch.testing.assert_close(stacked[i], S(flat[i]), rtol=1e-5, atol=1e-7)


def many_crops(size, count):
    names = ["camera", "brick", "grass"]
    return torch.from_numpy(np.stack([
        crop(names[k % 3], 17 * k % 400, 29 * k % 400, size) for k in range(count)
    ]).astype(np.float32))


def test_large_batch_matches_images_one_by_one():
    """Batches are split into chunks internally (at the time of writing 10 images per chunk at
    this size): chunking must not change the result."""
    S = scatlab.Scattering2D((64, 64), J=3, L=8)
    x = many_crops(64, 12)
    out = S(x)
    for i in (0, 9, 10, 11):
        torch.testing.assert_close(out[i], S(x[i]), rtol=1e-5, atol=1e-6)


def test_orientation_groups_match_one_pass(monkeypatch):
    """Large images have their second order computed in groups of theta1 (memory): with a budget
    small enough to split every group, outputs and gradients must not change."""
    engine = importlib.import_module("scatlab.functional.scattering2d")  # the module, not the function
    S = scatlab.Scattering2D((64, 64), J=3, L=8)
    x = many_crops(64, 2).double().requires_grad_()
    S = S.to(torch.float64)
    whole = S(x)
    (grad_whole,) = torch.autograd.grad(whole.square().sum(), x)
    monkeypatch.setattr(engine, "CHUNK_ELEMENTS", 4096)  # one image per chunk
    monkeypatch.setattr(engine, "GROUP_ELEMENTS", 4096)  # one theta1 per group
    split = S(x)
    (grad_split,) = torch.autograd.grad(split.square().sum(), x)
    torch.testing.assert_close(split, whole, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad_split, grad_whole, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("L, per_orientation, expected", [(8, 100, 4), (8, 60, 4), (6, 80, 3), (8, 500, 1), (7, 50, 7)])
def test_orientation_groups_are_equal_divisors_within_budget(monkeypatch, L, per_orientation, expected):
    engine = importlib.import_module("scatlab.functional.scattering2d")
    monkeypatch.setattr(engine, "GROUP_ELEMENTS", 400)
    assert engine._group_size(L, per_orientation) == expected


def test_non_contiguous_input():
    S = scatlab.Scattering2D((24, 24), J=2, L=4)
    x = many_crops(24, 3)
    xt = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    assert not xt.is_contiguous()
    torch.testing.assert_close(S(xt), S(x))


def test_float32_matches_float64(image_crops):
    x = torch.from_numpy(np.stack(list(image_crops.values())))
    S32 = scatlab.Scattering2D((32, 32), J=3, L=8)
    S64 = scatlab.Scattering2D((32, 32), J=3, L=8).to(torch.float64)
    assert S64(x).dtype == torch.float64
    assert rel_err(S32(x.float()), S64(x)) < 1e-5
    assert rel_err(scattering2d(x.float(), J=3, L=8), scattering2d(x, J=3, L=8)) < 1e-5


def test_functional_equals_module():
    x = many_crops(40, 3)[..., :30, :]
    S = scatlab.Scattering2D((30, 40), J=3, L=6)
    torch.testing.assert_close(scattering2d(x, J=3, L=6), S(x), rtol=1e-6, atol=1e-8)


def test_input_on_another_device_is_a_clear_type_error():
    S = scatlab.Scattering2D((16, 16), J=2, L=4)
    with pytest.raises(TypeError, match="meta.*filters are on cpu"):
        S(torch.zeros(16, 16, device="meta"))


@pytest.mark.parametrize("batch", [(0,), (2, 0)])
def test_empty_batch(batch):
    S = scatlab.Scattering2D((16, 16), J=2, L=4)
    out = S(torch.zeros(batch + (16, 16)))
    assert out.shape == batch + S.output_shape


def test_state_dict_round_trip():
    S = scatlab.Scattering2D((28, 28), J=2, L=4)
    features = int(np.prod(S.output_shape))
    model = torch.nn.Sequential(S, torch.nn.Flatten(), torch.nn.Linear(features, 10))
    assert set(model.state_dict()) == {"2.weight", "2.bias"}
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(7)
    other = torch.nn.Sequential(scatlab.Scattering2D((28, 28), J=2, L=4), torch.nn.Flatten(),
                                torch.nn.Linear(features, 10))
    x = many_crops(28, 5)
    assert not torch.allclose(other(x), model(x))
    other.load_state_dict(torch.load(buf, weights_only=True))
    torch.testing.assert_close(other(x), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pickle_round_trip(dtype):
    S = scatlab.Scattering2D((20, 28), J=2, L=6, max_order=2, padding="reflect").to(dtype)
    clone = pickle.loads(pickle.dumps(S))
    assert (clone.shape, clone.J, clone.L, clone.padding) == ((20, 28), 2, 6, "reflect")
    x = many_crops(28, 2)[..., :20, :].to(dtype)
    torch.testing.assert_close(clone(x), S(x), rtol=0, atol=0)
    torch.testing.assert_close(copy.deepcopy(S)(x), S(x), rtol=0, atol=0)
    # a whole model saved with torch.save (pickle) and loaded back
    model = torch.nn.Sequential(S, torch.nn.Flatten())
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    torch.testing.assert_close(torch.load(buf, weights_only=False)(x), model(x), rtol=0, atol=0)


def test_immutable_parameters():
    S = scatlab.Scattering2D((16, 16), J=2, L=4)
    for name, value in (("J", 3), ("L", 8), ("max_order", 1), ("padding", "periodic")):
        with pytest.raises(AttributeError, match=f"'{name}'"):
            setattr(S, name, value)
    assert (S.J, S.L) == (2, 4)
