"""Closed-form NNGP/NTK of ReLU MLPs and kernel regression, on cases with known answers."""
import math

import numpy as np
import pytest
import torch

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.theory.kernels import kernel_gradient_descent, kernel_ridge, relu_kernels
from scatlab.theory.lazy import NTKMLP


@pytest.fixture
def points():
    return torch.randn(7, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_depth_zero_is_the_linear_kernel(points):
    nngp, ntk = relu_kernels(points, depth=0, sigma_w=1.5, sigma_b=0.4)
    expected = 1.5**2 * points @ points.T / 5 + 0.4**2
    torch.testing.assert_close(nngp, expected)
    torch.testing.assert_close(ntk, expected)


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_diagonal_in_closed_form(points, depth):
    # sigma_w^2 = 2, no bias: Sigma^l(x, x) = 2 |x|^2 / d at every layer and dot Sigma(x, x) = 1, so Theta = (L + 1) Sigma
    nngp, ntk = relu_kernels(points, depth=depth)
    q = 2 * (points**2).sum(1) / 5
    torch.testing.assert_close(torch.diagonal(nngp), q)
    torch.testing.assert_close(torch.diagonal(ntk), (depth + 1) * q)


def test_homogeneity_and_cross_kernel(points):
    nngp, ntk = relu_kernels(points, depth=3)
    nngp2, ntk2 = relu_kernels(3 * points, points, depth=3)
    torch.testing.assert_close(nngp2, 3 * nngp)  # positively homogeneous of degree 1 in each argument
    torch.testing.assert_close(ntk2, 3 * ntk)


def test_one_layer_arc_cosine_against_monte_carlo(points):
    # Sigma^2 = sigma_w^2 E[relu(u) relu(v)] + sigma_b^2 with (u, v) ~ N(0, Sigma^1), Sigma^1 = sigma_w^2 <x, x'>/d + sigma_b^2
    sw, sb = 1.3, 0.5
    nngp, ntk = relu_kernels(points[:3], depth=1, sigma_w=sw, sigma_b=sb)
    s1 = sw**2 * points[:3] @ points[:3].T / 5 + sb**2
    z = torch.randn(400_000, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    u = z @ torch.linalg.cholesky(s1).T
    prod = torch.relu(u)[:, :, None] * torch.relu(u)[:, None, :]
    step = (u > 0).double()[:, :, None] * (u > 0).double()[:, None, :]
    for sample, closed in ((sw**2 * prod + sb**2, nngp), (s1 * sw**2 * step + sw**2 * prod + sb**2, ntk)):
        mean, se = sample.mean(0), sample.std(0) / math.sqrt(len(z))
        assert ((mean - closed).abs() < 5 * se + 1e-12).all()


def test_nngp_against_random_networks(points):
    # outputs of random NTK-parameterized MLPs: covariance -> Sigma^{L+1}; MC error and an O(1/width) bias allowed
    x = points[:4]
    width, nets, outputs = 256, 300, 8
    nngp, _ = relu_kernels(x, depth=2, sigma_b=0.3)
    torch.manual_seed(2)
    samples = []
    with torch.no_grad():
        for _ in range(nets):
            f = NTKMLP(5, width, 2, outputs, sigma_b=0.3).double()(x)  # (4, outputs)
            samples.append(f.T[:, :, None] * f.T[:, None, :])  # one product per independent output
    samples = torch.cat(samples)
    mean, se = samples.mean(0), samples.std(0) / math.sqrt(len(samples))
    assert ((mean - nngp).abs() < 5 * se + 4 / width * nngp.abs()).all()
    assert not ((mean - 1.2 * nngp).abs() < 5 * se).all()  # the test can tell a 20 % error


def test_kernel_ridge_is_ridge_regression_for_the_linear_kernel():
    g = torch.Generator().manual_seed(3)
    x, x_test = torch.randn(20, 6, generator=g, dtype=torch.float64), torch.randn(5, 6, generator=g, dtype=torch.float64)
    y = torch.randn(20, 2, generator=g, dtype=torch.float64)
    k = x @ x.T
    ridge = 0.3
    lam = ridge * float(torch.diagonal(k).mean())
    weights = torch.linalg.solve(x.T @ x + lam * torch.eye(6, dtype=torch.float64), x.T @ y)  # primal ridge
    torch.testing.assert_close(kernel_ridge(k, y, x_test @ x.T, ridge), x_test @ weights)


def test_kernel_ridge_interpolates_without_ridge(points):
    _, ntk = relu_kernels(points, depth=2)
    y = torch.arange(7, dtype=torch.float64)
    torch.testing.assert_close(kernel_ridge(ntk, y, ntk, 0.0), y)


def test_kernel_gradient_descent_matches_the_iteration(points):
    _, k = relu_kernels(points, depth=2)
    extra = torch.randn(3, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    k_test = relu_kernels(extra, points, depth=2)[1]
    y = torch.randn(7, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    lr, n = 0.9 * 7 / float(torch.linalg.eigvalsh(k).max()), 7
    f, f_test = torch.zeros_like(y), torch.zeros(3, 3, dtype=torch.float64)
    trajectory = {}
    for t in range(1, 41):
        residual = f - y
        f, f_test = f - lr / n * k @ residual, f_test - lr / n * k_test @ residual
        trajectory[t] = (f, f_test)
    out = kernel_gradient_descent(k, y, torch.cat([k, k_test]), lr=lr, steps=[0, 10, 40])
    torch.testing.assert_close(out[0], torch.zeros(10, 3, dtype=torch.float64))
    for i, t in ((1, 10), (2, 40)):
        torch.testing.assert_close(out[i], torch.cat(trajectory[t]))
    # many steps: the interpolating kernel regression
    torch.testing.assert_close(kernel_gradient_descent(k, y, k_test, lr=lr, steps=200_000), kernel_ridge(k, y, k_test, 0.0))


def test_bad_input_is_named(points):
    with pytest.raises(InvalidParameterError, match="'depth'"):
        relu_kernels(points, depth=-1)
    with pytest.raises(InvalidParameterError, match="sigma_w"):
        relu_kernels(points, depth=1, sigma_w=0.0)
    with pytest.raises(ShapeError, match="same number of features"):
        relu_kernels(points, torch.zeros(2, 4), depth=1)
    k = torch.eye(7, dtype=torch.float64)
    with pytest.raises(InvalidParameterError, match="'ridge'"):
        kernel_ridge(k, torch.zeros(7), k, -1.0)
    with pytest.raises(ShapeError, match="'y_train'"):
        kernel_ridge(k, torch.zeros(6), k, 0.1)
    with pytest.raises(ShapeError, match="'k_test'"):
        kernel_ridge(k, torch.zeros(7), torch.zeros(3, 5), 0.1)
    with pytest.raises(InvalidParameterError, match="diverges"):
        kernel_gradient_descent(k, torch.zeros(7), k, lr=20.0, steps=3)
    with pytest.raises(InvalidParameterError, match="steps"):
        kernel_gradient_descent(k, torch.zeros(7), k, lr=1.0, steps=-1)
    assert np.isfinite(kernel_gradient_descent(k, torch.ones(7), k, lr=1.0, steps=3).numpy()).all()
