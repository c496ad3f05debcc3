"""Scattering1D: agreement with the direct oracle at every order, the channel table, and the module
API (batch shapes, dtypes, serialization) on real speech (FSDD) plus noise."""
from __future__ import annotations

import functools
import io
import math
import pickle

import numpy as np
import pytest
import torch

import scatlab
from scatlab.functional import scattering1d
from scatlab.testing import assert_matches_oracle, oracle_scattering1d

from conftest import recording_segment, rel_err

# small sizes for the O(n^2) oracle; every padding, T, Q, normalization and order
ORACLE_CONFIGS = [
    dict(N=64, J=3, Q=2),
    dict(N=128, J=3, Q=2, padding="periodic"),
    dict(N=128, J=4, Q=(2, 2)),
    dict(N=100, J=4, Q=2, T=12),  # T not a power of two, N not a multiple of 2^J
    dict(N=128, J=3, Q=2, normalize="resolution"),
    dict(N=128, J=4, Q=1, T=32, padding="periodic"),
    dict(N=96, J=3, Q=2, T=1),  # no averaging: every path at full resolution
    dict(N=128, J=4, Q=2, max_order=1),
    dict(N=7, J=2, Q=1),  # padding wider than the signal's half
]


def _id(cfg):
    return "-".join(f"{k}{v}" for k, v in cfg.items())


def speech_batch(N: int) -> np.ndarray:
    """Two real recordings (N samples from their middle) and one white-noise signal."""
    rng = np.random.default_rng(N)
    return np.stack([
        recording_segment("0_george_0.wav", N),
        recording_segment("1_jackson_0.wav", N),
        0.1 * rng.standard_normal(N),
    ])


def split(cfg):
    cfg = dict(cfg)
    return cfg.pop("N"), cfg


def per_order_errors(S, fast, slow):
    out = {}
    for order in (0, 1, 2):
        rows = S.meta.select(order=order)
        if len(rows):
            assert np.linalg.norm(slow[..., rows, :]) > 0
            out[order] = rel_err(fast[..., rows, :], slow[..., rows, :])
    return out


@functools.lru_cache(maxsize=None)
def oracle_case(index):
    """(input batch, oracle output) of ORACLE_CONFIGS[index], computed once per session."""
    N, kw = split(ORACLE_CONFIGS[index])
    x = speech_batch(N)
    return x, oracle_scattering1d(scatlab.Scattering1D(N, **kw), x)


@pytest.mark.parametrize("index", range(len(ORACLE_CONFIGS)), ids=[_id(c) for c in ORACLE_CONFIGS])
def test_functional_float64_matches_oracle_at_every_order(index):
    N, kw = split(ORACLE_CONFIGS[index])
    S = scatlab.Scattering1D(N, **kw)
    x, slow = oracle_case(index)
    fast = scattering1d(torch.from_numpy(x), **kw).numpy()
    assert fast.shape == slow.shape == (3,) + S.output_shape
    errors = per_order_errors(S, fast, slow)
    assert set(errors) == ({0, 1, 2} if kw.get("max_order", 2) == 2 and len(S.meta.select(order=2)) else {0, 1})
    # measured 2e-16..6e-16; 1e-8 leaves room for documented approximations far below float32
    # (the engine skips spectral periods where a filter is below 1e-9 of its peak)
    assert max(errors.values()) < 1e-8, errors


@pytest.mark.parametrize("index", range(4), ids=[_id(c) for c in ORACLE_CONFIGS[:4]])
def test_module_matches_oracle_float64_and_float32(index):
    N, kw = split(ORACLE_CONFIGS[index])
    S = scatlab.Scattering1D(N, **kw)
    x, slow = oracle_case(index)
    fast32 = S(torch.from_numpy(x).float()).double().numpy()
    assert max(per_order_errors(S, fast32, slow).values()) < 1e-5
    fast64 = S.to(torch.float64)(torch.from_numpy(x)).numpy()
    assert max(per_order_errors(S, fast64, slow).values()) < 1e-6


def test_assert_matches_oracle_helper():
    S = scatlab.Scattering1D(100, J=4, Q=2, T=12).double()
    assert_matches_oracle(S, torch.from_numpy(speech_batch(100)), rtol=1e-6)


def test_oracle_is_sensitive_to_the_channel_order():
    """The comparison is not vacuous: swapping two order-1 channels breaks it."""
    S = scatlab.Scattering1D(128, J=4, Q=2).double()
    x = torch.from_numpy(speech_batch(128))
    fast = S(x).numpy()
    slow = oracle_scattering1d(S, x.numpy())
    rows = S.meta.select(order=1)
    swapped = fast.copy()
    swapped[..., [rows[0], rows[1]], :] = fast[..., [rows[1], rows[0]], :]
    assert rel_err(swapped, slow) > 1e-3


def test_module_converted_to_float64_has_float64_accurate_filters():
    S = scatlab.Scattering1D(128, J=3, Q=2).to(torch.float64)
    x = torch.from_numpy(speech_batch(128))
    assert rel_err(S(x), scattering1d(x, J=3, Q=2)) < 1e-12


# ----------------------------------------------------------------------------- channel table


@pytest.mark.parametrize("N, J, Q", [(1024, 6, 8), (1000, 5, (8, 2)), (777, 4, 1), (256, 3, 2)])
def test_channel_table(N, J, Q):
    S = scatlab.Scattering1D(N, J=J, Q=Q)
    meta = S.meta
    C = len(meta)
    assert S.output_shape[0] == C
    for name in ("order", "n1", "n2", "j1", "j2", "xi1", "xi2", "sigma1", "sigma2"):
        assert name in meta and len(meta[name]) == C
    order = meta["order"]
    assert order[0] == 0 and np.all(np.diff(order) >= 0)  # order 0, then 1, then 2
    first, second = meta.select(order=1), meta.select(order=2)
    psi1, psi2 = S.plan.psi1, S.plan.psi2
    assert len(first) == len(psi1.xi)
    np.testing.assert_array_equal(np.sort(meta["n1"][first]), np.arange(len(psi1.xi)))
    np.testing.assert_allclose(meta["xi1"][first], np.asarray(psi1.xi)[meta["n1"][first]])
    # order 2: exactly the pairs (n1, n2) with j2 > j1 (Kymatio's criterion), each once
    expected = {(n1, n2) for n1 in range(len(psi1.j)) for n2 in range(len(psi2.j)) if psi2.j[n2] > psi1.j[n1]}
    got = list(zip(meta["n1"][second], meta["n2"][second]))
    assert len(got) == len(set(got)) and set(got) == expected
    assert np.all(meta["j2"][second] > meta["j1"][second])
    assert np.all(meta["n2"][first] == -1) and np.isnan(meta["xi2"][first]).all()
    # select with several conditions and lists
    j1_2 = meta.select(order=1, j1=2)
    assert np.all(meta["j1"][j1_2] == 2) and np.all(order[j1_2] == 1)
    assert len(meta.select(order=[1, 2])) == C - 1
    with pytest.raises(KeyError, match="theta"):
        meta.select(theta=1)


@pytest.mark.parametrize("N, J, T", [(256, 3, None), (1024, 6, None), (512, 4, 32), (100, 2, 4)])
def test_periodic_output_length(N, J, T):
    S = scatlab.Scattering1D(N, J=J, T=T, padding="periodic")
    step = 2 ** int(math.floor(math.log2(T or 2**J)))
    assert S.output_shape[1] == N // step
    assert S(torch.zeros(N)).shape == S.output_shape


# ----------------------------------------------------------------------------- algebraic properties


def test_order0_is_linear_and_orders_1_2_are_sign_invariant():
    S = scatlab.Scattering1D(1024, J=5, Q=4).double()
    x = torch.from_numpy(recording_segment("0_george_0.wav", 1024))
    y = torch.from_numpy(recording_segment("3_nicolas_0.wav", 1024))
    o0, rest = S.meta.select(order=0), S.meta.select(order=[1, 2])
    Sx, Sy, Sxy = S(x), S(y), S(2 * x - 3 * y)
    torch.testing.assert_close(Sxy[o0], 2 * Sx[o0] - 3 * Sy[o0], rtol=1e-10, atol=1e-12)
    S_neg = S(-x)
    torch.testing.assert_close(S_neg[o0], -Sx[o0], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(S_neg[rest], Sx[rest], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(S(2.5 * x), 2.5 * Sx, rtol=1e-12, atol=1e-14)  # positively homogeneous
    assert bool((Sx[rest] >= -1e-12).all())  # averages of moduli are non-negative


@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_constant_signal(padding):
    """phi^(0) = 1 and zero-mean wavelets: order 0 returns the constant, orders 1-2 vanish."""
    S = scatlab.Scattering1D(256, J=4, Q=2, padding=padding).double()
    out = S(torch.full((256,), 0.7, dtype=torch.float64))
    o0 = S.meta.select(order=0)
    torch.testing.assert_close(out[o0], torch.full_like(out[o0], 0.7), rtol=1e-12, atol=1e-12)
    assert float(out[S.meta.select(order=[1, 2])].abs().max()) < 1e-6


def test_resolution_normalization_rescales_by_the_subsampling():
    """normalize='resolution' = 'kymatio' x 2^k1 at order 1 and x 2^(2 k1 + k2) at order 2, with
    k1 = min(j1, log2 T), k2 = max(min(j2, log2 T) - k1, 0) (the documented schedule)."""
    N, J, Q = 1024, 6, (4, 2)
    x = torch.from_numpy(recording_segment("1_jackson_0.wav", N))
    ky = scattering1d(x, J=J, Q=Q)
    res = scattering1d(x, J=J, Q=Q, normalize="resolution")
    meta = scatlab.Scattering1D(N, J=J, Q=Q).meta
    log2_T = J
    factors = np.ones(len(meta))
    for c, (order, j1, j2) in enumerate(zip(meta["order"], meta["j1"], meta["j2"])):
        if order >= 1:
            k1 = min(j1, log2_T)
            factors[c] = 2.0**k1
            if order == 2:
                k2 = max(min(j2, log2_T) - k1, 0)
                factors[c] = 2.0 ** (2 * k1 + k2)
    assert factors.max() > 1
    torch.testing.assert_close(res, ky * torch.from_numpy(factors)[:, None], rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- module API


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_batch_shapes(batch):
    S = scatlab.Scattering1D(512, J=4, Q=4)
    rng = np.random.default_rng(0)
    base = recording_segment("0_george_0.wav", 512)
    x = torch.from_numpy((base + 0.01 * rng.standard_normal(batch + (512,))).astype(np.float32))
    out = S(x)
    assert out.shape == batch + S.output_shape and out.dtype == torch.float32
    flat = x.reshape(-1, 512)
    for i in range(flat.shape[0]):
        torch.testing.assert_close(out.reshape((-1,) + S.output_shape)[i], S(flat[i]), rtol=1e-5, atol=1e-7)


def test_large_batch_matches_samples_one_by_one():
    """Batches are split into chunks internally (at the time of writing 25 signals per chunk for
    this size): chunking must not change the result."""
    N = 2048
    S = scatlab.Scattering1D(N, J=6, Q=8)
    x = load_many(N, 60)
    out = S(x)
    for i in (0, 24, 25, 26, 49, 50, 59):
        torch.testing.assert_close(out[i], S(x[i]), rtol=1e-5, atol=1e-7)


def load_many(N, count):
    names = ["0_george_0.wav", "1_jackson_0.wav", "3_nicolas_0.wav", "7_theo_0.wav", "9_yweweler_0.wav"]
    from conftest import load_recording

    rows = []
    for k in range(count):
        x = load_recording(names[k % len(names)])
        offset = (k * 37) % max(len(x) - N, 1)
        rows.append(np.resize(x[offset:], N))
    return torch.from_numpy(np.stack(rows).astype(np.float32))


def test_non_contiguous_input():
    S = scatlab.Scattering1D(256, J=3, Q=2)
    x = load_many(256, 4)
    xt = x.t().contiguous().t()  # same values, column-major
    assert not xt.is_contiguous()
    torch.testing.assert_close(S(xt), S(x))


def test_float32_matches_float64():
    x = torch.from_numpy(recording_segment("7_theo_0.wav", 1024))
    S32 = scatlab.Scattering1D(1024, J=6, Q=8)
    S64 = scatlab.Scattering1D(1024, J=6, Q=8).to(torch.float64)
    out32, out64 = S32(x.float()), S64(x)
    assert out32.dtype == torch.float32 and out64.dtype == torch.float64
    assert rel_err(out32, out64) < 1e-5
    assert rel_err(scattering1d(x.float(), J=6, Q=8), scattering1d(x, J=6, Q=8)) < 1e-5


def test_functional_equals_module():
    x = load_many(1000, 3)
    S = scatlab.Scattering1D(1000, J=5, Q=(8, 2))
    torch.testing.assert_close(scattering1d(x, J=5, Q=(8, 2)), S(x), rtol=1e-6, atol=1e-8)


def test_one_module_serves_both_precisions():
    S = scatlab.Scattering1D(256, J=3, Q=2)
    x = load_many(256, 2).double()
    out64, out32 = S(x), S(x.float())
    assert (out64.dtype, out32.dtype) == (torch.float64, torch.float32)
    torch.testing.assert_close(out32.double(), out64, rtol=1e-4, atol=1e-6)
    S.to(torch.float32)  # the filters stay float64 masters: float64 input keeps full accuracy
    torch.testing.assert_close(S(x), out64, rtol=1e-12, atol=0)


@pytest.mark.parametrize("batch", [(0,), (2, 0)])
def test_empty_batch(batch):
    S = scatlab.Scattering1D(256, J=3, Q=2)
    out = S(torch.zeros(batch + (256,)))
    assert out.shape == batch + S.output_shape


def test_state_dict_round_trip():
    N = 512
    S = scatlab.Scattering1D(N, J=4, Q=2)
    C, T = S.output_shape
    model = torch.nn.Sequential(S, torch.nn.Flatten(), torch.nn.Linear(C * T, 3))
    keys = set(model.state_dict())
    assert keys == {"2.weight", "2.bias"}  # the filters are derived, not state
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(123)  # a different initialization of the new Linear
    other = torch.nn.Sequential(scatlab.Scattering1D(N, J=4, Q=2), torch.nn.Flatten(), torch.nn.Linear(C * T, 3))
    x = load_many(N, 4)
    assert not torch.allclose(other(x), model(x))
    other.load_state_dict(torch.load(buf, weights_only=True))
    torch.testing.assert_close(other(x), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pickle_round_trip(dtype):
    S = scatlab.Scattering1D(300, J=4, Q=(4, 2), T=8, max_order=2, padding="reflect", normalize="resolution")
    S = S.to(dtype).eval()
    clone = pickle.loads(pickle.dumps(S))
    assert (clone.J, clone.Q, clone.T, clone.normalize, clone.training) == (4, (4, 2), 8, "resolution", False)
    x = load_many(300, 2).to(dtype)
    torch.testing.assert_close(clone(x), S(x), rtol=0, atol=0)


def test_immutable_parameters():
    S = scatlab.Scattering1D(256, J=3, Q=2)
    for name, value in (("J", 4), ("Q", 1), ("T", 4), ("shape", (128,))):
        with pytest.raises(AttributeError, match=name):
            setattr(S, name, value)
    assert S.J == 3 and S.Q == (2, 1)
