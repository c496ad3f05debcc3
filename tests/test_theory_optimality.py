"""The optimality tools against known answers: the SVT optimum, polar certificates, zero slices, ReLU polars."""
import math

import numpy as np
import pytest
import torch

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.theory import optimality as opt


def _matrix(n=12, d=9, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _lam_for_rank(Y, k):
    s = torch.linalg.svdvals(Y)
    return float((s[k - 1] * s[k]).sqrt())


def _svt_factors(Y, lam, r):
    """A factorization of the SVT optimum with r >= rank columns (zero columns after the rank)."""
    P, s, Qh = torch.linalg.svd(Y, full_matrices=False)
    x = (s - lam).clamp_min(0).sqrt()
    U, V = torch.zeros(Y.shape[0], r, dtype=Y.dtype), torch.zeros(Y.shape[1], r, dtype=Y.dtype)
    k = int((x > 0).sum())
    U[:, :k], V[:, :k] = P[:, :k] * x[:k], Qh[:k].T * x[:k]
    return U, V


def test_svt_is_the_nuclear_norm_optimum_by_its_subgradient_conditions():
    Y = _matrix()
    lam = _lam_for_rank(Y, 3)
    sol = opt.svt(Y, lam)
    assert sol.rank == 3
    R = Y - sol.X
    # optimality: Y - X* = lam (P Q^T + W), ||W|| <= 1  <=>  ||R||_2 <= lam and <R, X*> = lam ||X*||_*
    nuclear = torch.linalg.svdvals(sol.X).sum()
    assert torch.linalg.matrix_norm(R, ord=2) <= lam * (1 + 1e-12)
    assert torch.isclose((R * sol.X).sum(), lam * nuclear)
    assert math.isclose(sol.objective, float(0.5 * (R**2).sum() + lam * nuclear), rel_tol=1e-12)
    for _ in range(5):  # no random perturbation does better
        X = sol.X + 1e-3 * torch.randn_like(Y)
        assert float(0.5 * ((Y - X) ** 2).sum() + lam * torch.linalg.svdvals(X).sum()) > sol.objective


def test_svt_with_rank_is_the_rank_constrained_optimum():
    Y = _matrix(6, 5, seed=3)
    lam = _lam_for_rank(Y, 4)
    s = torch.linalg.svdvals(Y)
    low = opt.svt(Y, lam, rank=2)
    assert low.rank == 2 and low.objective > opt.svt(Y, lam).objective
    expected = 0.5 * float((s[2:] ** 2).sum()) + sum(0.5 * lam**2 + lam * float(v - lam) for v in s[:2])
    assert math.isclose(low.objective, expected, rel_tol=1e-12)


def test_factorize_reaches_the_svt_optimum_when_r_exceeds_the_rank():
    Y = _matrix()
    lam = _lam_for_rank(Y, 3)
    f = opt.factorize(Y, 5, lam, starts=4, seed=1)
    gap = (f.objective - opt.svt(Y, lam).objective) / opt.svt(Y, lam).objective
    assert bool(f.converged.all()) and float(gap.abs().max()) < 1e-6
    torch.testing.assert_close(f.objective, opt.factorization_objective(Y, f.U, f.V, lam))
    assert float((opt.polar_ratio(Y, f.U, f.V, lam) - 1).abs().max()) < 1e-3


def test_descent_stays_at_a_zero_slice_saddle_and_the_escape_leaves_it():
    Y = _matrix()
    lam = _lam_for_rank(Y, 3)
    best = opt.svt(Y, lam).objective
    U, V = _svt_factors(Y, lam, 3)
    U[:, 0], V[:, 0] = 0, 0  # the top component is missing: a stationary point with an all-zero slice
    f = opt.factorize(Y, 3, lam, init=(U[None], V[None]))
    assert float((f.objective - best) / best) > 1e-3  # a first-order method cannot leave the exact zero slice
    check = opt.zero_slice_check(Y, f.U, f.V, lam, tol=1e-3)
    assert bool(check.has_zero_slice) and not bool(check.local_min) and float(check.polar_ratio) > 1.01
    U2, V2, moved = opt.escape_zero_slice(Y, f.U, f.V, lam)
    g = opt.factorize(Y, 3, lam, init=(U2, V2))
    assert bool(moved) and float((g.objective - best) / best) < 1e-6


def test_factorize_below_the_rank_reaches_the_rank_constrained_optimum_only():
    Y = _matrix()
    lam = _lam_for_rank(Y, 3)
    f = opt.factorize(Y, 2, lam, starts=3, seed=2)
    low = opt.svt(Y, lam, rank=2).objective
    assert low > opt.svt(Y, lam).objective * (1 + 1e-5)
    assert float(((f.objective - low) / low).abs().max()) < 1e-6


def test_objective_never_increases_and_rebalancing_keeps_it():
    Y = _matrix(8, 7, seed=4)
    lam = _lam_for_rank(Y, 2)
    f1 = opt.factorize(Y, 4, lam, starts=2, seed=0, max_iter=1, check_every=1)
    f2 = opt.factorize(Y, 4, lam, init=(f1.U, f1.V), max_iter=5, check_every=1)
    assert bool((f2.objective <= f1.objective + 1e-9).all())
    U, V = opt._rebalance(f1.U * torch.tensor([1.0, 0.0, 1, 1]), f1.V)
    assert bool(opt.zero_slices(U, V)[:, 1].all())
    torch.testing.assert_close(opt.factorization_objective(Y, U, V, lam),
                               opt.factorization_objective(Y, f1.U * torch.tensor([1.0, 0.0, 1, 1]), f1.V, lam))


def test_certificate_at_the_svt_solution_and_at_a_bad_point():
    Y = _matrix()
    lam = _lam_for_rank(Y, 3)
    U, V = _svt_factors(Y, lam, 4)
    assert float(opt.polar_ratio(Y, U, V, lam)) <= 1 + 1e-9
    s1 = float(torch.linalg.matrix_norm(Y, ord=2))
    bad = opt.polar_ratio(Y, torch.zeros_like(U), torch.zeros_like(V), lam)
    assert math.isclose(float(bad), s1 / lam, rel_tol=1e-12) and float(bad) > 1


def test_zero_slice_check_on_a_global_point_and_on_a_saddle():
    Y = _matrix()
    lam = _lam_for_rank(Y, 3)
    U, V = _svt_factors(Y, lam, 4)  # column 4 is an all-zero slice of the global optimum
    good = opt.zero_slice_check(Y, U, V, lam)
    assert bool(good.has_zero_slice) and bool(good.local_min) and float(good.stationarity) < 1e-10
    # drop the top component: stationary on the others, zero slices, but sigma_1(R) > lam: not a local min
    U2, V2 = U.clone(), V.clone()
    U2[:, 0], V2[:, 0] = 0, 0
    saddle = opt.zero_slice_check(Y, U2, V2, lam)
    assert bool(saddle.has_zero_slice) and float(saddle.stationarity) < 1e-10 and not bool(saddle.local_min)
    assert float(saddle.polar_ratio) > 1
    U3, V3, moved = opt.escape_zero_slice(Y, U2, V2, lam)
    before, after = (opt.factorization_objective(Y, A, B, lam) for A, B in ((U2, V2), (U3, V3)))
    t = float(torch.linalg.matrix_norm(Y - U2 @ V2.T, ord=2)) - lam
    assert bool(moved) and math.isclose(float(before - after), t**2 / 2, rel_tol=1e-9)  # the predicted decrease
    assert math.isclose(float(after), opt.svt(Y, lam).objective, rel_tol=1e-12)  # here it lands on the optimum
    # no zero slice: the check says so and the escape does nothing
    none = opt.zero_slice_check(Y, U[:, :3], V[:, :3], lam)
    assert not bool(none.has_zero_slice) and not bool(none.local_min)
    assert not bool(opt.escape_zero_slice(Y, U[:, :3], V[:, :3], lam)[2])


def test_relu_polar_against_a_grid_in_two_dimensions():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 1, generator=g, dtype=torch.float64)
    X = torch.cat([x, torch.ones(40, 1, dtype=torch.float64)], dim=1)  # (w, b) on the unit circle
    G = torch.randn(40, 3, generator=g, dtype=torch.float64)
    angles = torch.linspace(0, 2 * math.pi, 200001, dtype=torch.float64)
    W = torch.stack([angles.cos(), angles.sin()])
    brute = float((G.T @ torch.relu(X @ W)).norm(dim=0).max())
    value, w = opt.relu_polar(X, G, starts=16, steps=400, seed=1)
    assert math.isclose(value, brute, rel_tol=1e-6) and math.isclose(float(w.norm()), 1.0, rel_tol=1e-12)


def test_relu_polar_on_the_identity_is_the_larger_signed_part():
    g = torch.tensor([3.0, -1.0, 2.0, -4.0, 0.5], dtype=torch.float64)
    # relu(w) for unit w: max |g . relu(w)| = max(||g_+||, ||g_-||)
    value, _ = opt.relu_polar(torch.eye(5, dtype=torch.float64), g[:, None], starts=32, steps=400)
    assert math.isclose(value, max(float(g.clamp_min(0).norm()), float(g.clamp_max(0).norm())), rel_tol=1e-6)


def test_relu_certificate_is_one_on_active_neurons_at_a_stationary_point():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    X = torch.randn(60, 3, generator=g, dtype=torch.float64)
    Y = torch.relu(X @ torch.randn(3, 2, generator=g, dtype=torch.float64)) + 0.1
    model = opt.TwoLayerReLU(3, 32, 2).double()
    fit = opt.fit_two_layer_relu(model, X, Y, 0.1, max_iter=3000)
    cert = opt.relu_certificate(model, X, Y, 0.1, starts=32, steps=200)
    # L-BFGS stops at a kink of the ReLUs (measured gradient ~ 6e-3); the active neurons are stationary to ~5e-4
    assert fit["gradient_norm"] < 1e-2 and fit["iterations"] > 100
    assert abs(cert["active_ratio"] - 1) < 2e-3 and cert["ratio"] >= cert["active_ratio"] - 1e-9
    assert cert["ratio"] < 1.01 and 0 <= cert["gap_bound"] < 0.02  # wide enough: near the global certificate
    # a narrow network misses neurons: its polar exceeds lambda
    narrow = opt.TwoLayerReLU(3, 1, 2).double()
    opt.fit_two_layer_relu(narrow, X, Y, 0.1, max_iter=500)
    assert opt.relu_certificate(narrow, X, Y, 0.1, starts=32, steps=200)["ratio"] > 1.2
    # squared-loss gradient is the residual / n
    G = opt.negative_output_gradient(model, X, Y, opt._squared_loss)
    torch.testing.assert_close(G, (Y - model(X).detach()) / len(X))


def test_spread():
    s = opt.spread([1.0, 2.0, 3.0, 6.0])
    assert s["range"] == 5.0 and math.isclose(s["std"], float(np.std([1, 2, 3, 6], ddof=1)))


@pytest.mark.parametrize("call, name", [
    (lambda Y: opt.factorize(Y, 0, 1.0), "'r'"),
    (lambda Y: opt.factorize(Y, 2, 0.0), "'lam'"),
    (lambda Y: opt.factorize(Y, 2, -1.0), "'lam'"),
    (lambda Y: opt.factorize(Y, 2, 1.0, starts=0), "'starts'"),
    (lambda Y: opt.svt(Y, float("nan")), "'lam'"),
    (lambda Y: opt.svt(Y, 1.0, rank=0), "'rank'"),
    (lambda Y: opt.spread([1.0]), "at least 2 runs"),
    (lambda Y: opt.spread([1.0, 2.0, 3.0], min_runs=10), "at least 10 runs"),
    (lambda Y: opt.TwoLayerReLU(3, 0, 2), "'width'"),
])
def test_bad_parameters_name_the_parameter(call, name):
    with pytest.raises(InvalidParameterError, match=name):
        call(_matrix())


def test_wrong_shapes():
    Y = _matrix()
    with pytest.raises(ShapeError, match="'Y'"):
        opt.svt(Y[0], 1.0)
    with pytest.raises(ShapeError, match="U"):
        opt.polar_ratio(Y, torch.zeros(5, 2, dtype=Y.dtype), torch.zeros(9, 2, dtype=Y.dtype), 1.0)
    with pytest.raises(ShapeError):
        opt.relu_polar(torch.zeros(4, 2), torch.zeros(5, 1))
