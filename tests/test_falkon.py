"""FALKON (Nyström + preconditioned CG) against closed-form solutions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from scatlab.errors import InvalidParameterError
from scatlab.learning import falkon
from scatlab.learning.falkon import fit_falkon, fit_falkon_path, gaussian_kernel


def _data(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] + 0.1 * rng.standard_normal(n)
    return torch.as_tensor(x), torch.as_tensor(y)


@pytest.mark.parametrize("store", [True, False])
def test_with_every_point_as_a_centre_it_is_exact_kernel_ridge(store):
    x, y = _data()
    penalty, ell = 1e-1, 1.0
    model = fit_falkon(x, y, centres=len(x), lengthscale=ell, penalty=penalty, store=store, block=64, tol=1e-10)
    k = gaussian_kernel(x, x, ell)
    exact = torch.linalg.solve(k + penalty * torch.eye(len(x), dtype=k.dtype), y)
    x_new, _ = _data(50, seed=1)
    expected = gaussian_kernel(x_new, x, ell) @ exact
    # float32 storage of K_nM bounds the agreement at ~1e-6 of the predictions' scale
    tolerance = 1e-5 if store else 1e-8
    assert torch.allclose(model.predict(x_new), expected, atol=tolerance * float(expected.abs().max()))


def test_with_fewer_centres_it_solves_the_nystrom_normal_equations():
    x, y = _data(400)
    penalty, ell, m = 1e-2, 1.5, 60
    model = fit_falkon(x, y, centres=m, lengthscale=ell, penalty=penalty, store=False, tol=1e-12, iterations=200)
    knm, kmm = gaussian_kernel(x, model.centres, ell), gaussian_kernel(model.centres, model.centres, ell)
    alpha = torch.linalg.lstsq(knm.T @ knm + penalty * kmm, knm.T @ y).solution
    assert torch.allclose(knm @ model.alpha, knm @ alpha, atol=1e-6 * float(y.abs().max()))
    assert model.residuals[0] == 1.0 and model.residuals[-1] < 1e-10
    assert len(model.residuals) < 100  # preconditioned: far fewer iterations than centres


def test_it_learns_a_smooth_function_from_many_points_with_few_centres():
    x, y = _data(3000)
    x_test, y_test = _data(500, seed=2)
    model = fit_falkon(x, y, centres=300, lengthscale=1.0, penalty=1e-1, iterations=30)
    mse = float(((model.predict(x_test) - y_test) ** 2).mean())
    baseline = float(((y_test - y.mean()) ** 2).mean())
    assert mse < 0.2 * baseline  # measured 0.025-0.036 of the variance over data and centre seeds 0-4


def test_a_penalty_path_equals_one_fit_per_penalty():
    x, y = _data(400)
    penalties = [1e-3, 1e-2, 1e-1]
    models = fit_falkon_path(x, y, centres=80, lengthscale=1.2, penalties=penalties, tol=1e-9)
    for penalty, model in zip(penalties, models):
        alone = fit_falkon(x, y, centres=80, lengthscale=1.2, penalty=penalty, tol=1e-9)
        assert torch.equal(model.centres, alone.centres)
        assert torch.allclose(model.alpha, alone.alpha, rtol=0, atol=1e-12 * float(alone.alpha.abs().max()))
    # larger penalties shrink the fit: the norm of the predictions on the training set decreases
    norms = [float(model.predict(x).norm()) for model in models]
    assert norms[0] > norms[1] > norms[2]


def test_a_breakdown_is_none_on_the_path_and_an_error_alone(monkeypatch):
    x, y = _data(100)
    monkeypatch.setattr(falkon._CrossKernel, "gram_times", lambda self, u: -u)  # a negative definite "K^T K"
    assert fit_falkon_path(x, y, centres=20, lengthscale=1.0, penalties=[1e-6]) == [None]
    with pytest.raises(torch.linalg.LinAlgError, match="broke down"):
        fit_falkon(x, y, centres=20, lengthscale=1.0, penalty=1e-6)


@pytest.mark.parametrize("kwargs, name", [(dict(centres=0), "centres"), (dict(centres=1000), "centres"),
                                          (dict(penalty=0.0), "penalty"), (dict(lengthscale=-1.0), "lengthscale"),
                                          (dict(penalty=float("nan")), "penalty")])
def test_bad_parameters_are_named(kwargs, name):
    x, y = _data(50)
    settings = dict(centres=10, lengthscale=1.0, penalty=1e-2) | kwargs
    with pytest.raises(InvalidParameterError, match=name):
        fit_falkon(x, y, **settings)


@pytest.mark.parametrize("penalties", [[], [1e-2, -1.0]])
def test_a_bad_penalty_path_is_named(penalties):
    x, y = _data(50)
    with pytest.raises(InvalidParameterError, match="penalt"):
        fit_falkon_path(x, y, centres=10, lengthscale=1.0, penalties=penalties)
