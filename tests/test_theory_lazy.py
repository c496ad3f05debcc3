"""Empirical NTK, alpha-scaled and linearized models, on cases with known answers."""
import math

import pytest
import torch
from torch import nn

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.theory.kernels import kernel_gradient_descent, relu_kernels
from scatlab.theory.lazy import (AlphaScaled, Linearized, NTKMLP, empirical_ntk, gradient_descent_mse,
                                 ntk_relative_change, output_mean_kernel, relative_weight_change)


def _x(n, d, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).double()


@pytest.mark.parametrize("bias", [False, True])
def test_ntk_of_a_linear_model_is_the_gram_matrix(bias):
    x, x2 = _x(5, 4), _x(3, 4, seed=1)
    model = nn.Linear(4, 3, bias=bias).double()
    theta = empirical_ntk(model, x, x2, chunk=2)
    gram = x @ x2.T + float(bias)  # d f_k / d W_kj = x_j, d f_k / d b_k = 1: Theta = (x.x' + 1) I_K
    torch.testing.assert_close(theta, gram[:, :, None, None] * torch.eye(3, dtype=torch.float64))


def test_layer_structure_equals_torch_func_and_layers_add_up():
    x, x2 = _x(6, 5), _x(4, 5, seed=1)
    torch.manual_seed(0)
    net = NTKMLP(5, 7, 2, 3, sigma_b=0.3).double()
    torch.testing.assert_close(net.ntk(x, x2), empirical_ntk(net, x, x2, chunk=4))
    torch.testing.assert_close(net.ntk(x), empirical_ntk(net, x))
    cnn, images = _cnn(), _x(4, 2 * 36).reshape(4, 2, 6, 6)
    per_layer = empirical_ntk(cnn, images, layers=["0"]) + empirical_ntk(cnn, images, layers="3")
    torch.testing.assert_close(per_layer, empirical_ntk(cnn, images))


def test_wide_network_ntk_matches_the_closed_form():
    # fluctuations O(width^-1/2): relative error below 4 / sqrt(width) at width 2048 (measured 0.04 at seed 0),
    # whereas width 32 misses it
    x = _x(8, 6)
    _, theta_inf = relu_kernels(x, depth=2, sigma_b=0.2)
    errors = {}
    for width in (32, 2048):
        torch.manual_seed(0)
        net = NTKMLP(6, width, 2, 2, sigma_b=0.2).double()
        theta = net.ntk(x)
        errors[width] = ntk_relative_change(theta_inf[:, :, None, None] * torch.eye(2, dtype=torch.float64), theta)
        assert output_mean_kernel(theta).shape == (8, 8)
    assert errors[2048] < 4 / math.sqrt(2048) < errors[32]


def test_linearization_is_first_order():
    cnn, images = _cnn(), _x(3, 72).reshape(3, 2, 6, 6)
    direction = [torch.randn(p.shape, generator=torch.Generator().manual_seed(i), dtype=p.dtype)
                 for i, p in enumerate(cnn.parameters())]
    linear, scaled = Linearized(cnn, 1.0), AlphaScaled(cnn, 1.0)
    gaps = []
    for t in (1e-3, 5e-4):
        with torch.no_grad():
            for d, p, p0, v in zip(linear.delta, scaled.model.parameters(), scaled.initial.parameters(), direction):
                d.copy_(t * v)
                p.copy_(p0 + t * v)
            gaps.append(float((linear(images) - scaled(images)).norm() / linear(images).norm()))
    # remainder O(t^2): relative gap O(t), halves when t halves
    assert gaps[1] < 1e-2 and 1.7 < gaps[0] / gaps[1] < 2.3
    with torch.no_grad():
        assert torch.allclose(Linearized(cnn, 3.0).forward(images), torch.zeros(3, 2, dtype=torch.float64))


def test_alpha_scaling_and_weight_change():
    cnn, images = _cnn(), _x(3, 72).reshape(3, 2, 6, 6)
    scaled = AlphaScaled(cnn, 4.0)
    assert scaled(images).abs().max() == 0  # centred at initialization
    with torch.no_grad():
        for p in scaled.model.parameters():
            p.mul_(1.5)
        expected = 4.0 * (scaled.model(images) - scaled.initial(images))
    torch.testing.assert_close(scaled(images), expected)
    assert scaled.weight_change() == pytest.approx(0.5)
    assert relative_weight_change(scaled.model, scaled.initial) == pytest.approx(0.5)
    linear = Linearized(cnn, 2.0)
    with torch.no_grad():
        for d, p in zip(linear.delta, linear.base.parameters()):
            d.copy_(-0.25 * p)
    assert linear.weight_change() == pytest.approx(0.25)
    out = linear(images)
    out.sum().backward()  # gradients reach the displacements through the jvp
    assert all(d.grad is not None and d.grad.abs().sum() > 0 for d in linear.delta)
    assert sorted(n for n, p in linear.named_parameters() if p.requires_grad) == [f"delta.{i}" for i in range(4)]


def test_gradient_descent_on_the_linearization_is_kernel_gradient_descent():
    # a linear model in w trained by GD on the MSE follows the kernel iteration with its empirical NTK, exactly
    torch.manual_seed(1)
    net = NTKMLP(5, 16, 1, 1).double()
    x, x_test, y = _x(10, 5), _x(4, 5, seed=2), _x(10, 1, seed=3)
    theta = empirical_ntk(net, torch.cat([x, x_test]), x)[..., 0, 0]
    linear = Linearized(net)
    lr = 10 / float(torch.linalg.eigvalsh(theta[:10]).max())
    losses = gradient_descent_mse(linear, x, y, lr=lr, steps=30)
    expected = kernel_gradient_descent(theta[:10], y, theta, lr=lr, steps=30)
    with torch.no_grad():
        torch.testing.assert_close(linear(torch.cat([x, x_test])), expected)
    assert losses[-1] < losses[0]


def test_bad_input_is_named():
    with pytest.raises(InvalidParameterError, match="'width'"):
        NTKMLP(5, 0, 2)
    with pytest.raises(InvalidParameterError, match="'depth'"):
        NTKMLP(5, 8, -1)
    with pytest.raises(ShapeError, match="input features"):
        NTKMLP(5, 8, 1)(torch.zeros(2, 6))
    for alpha in (0.0, -1.0, math.inf):
        with pytest.raises(InvalidParameterError, match="'alpha'"):
            AlphaScaled(nn.Linear(2, 2), alpha)
        with pytest.raises(InvalidParameterError, match="'alpha'"):
            Linearized(nn.Linear(2, 2), alpha)
    with pytest.raises(InvalidParameterError, match="parameters"):
        Linearized(nn.ReLU())
    with pytest.raises(InvalidParameterError, match="'model'"):
        empirical_ntk(nn.ReLU(), torch.zeros(2, 3))
    with pytest.raises(InvalidParameterError, match="'layers'.*do not exist"):
        empirical_ntk(_cnn(), torch.zeros(2, 2, 6, 6, dtype=torch.float64), layers=["7"])
    with pytest.raises(ShapeError):
        ntk_relative_change(torch.zeros(2, 2), torch.zeros(3, 3))
    with pytest.raises(InvalidParameterError, match="'steps'"):
        gradient_descent_mse(nn.Linear(2, 1), torch.zeros(3, 2), torch.zeros(3, 1), lr=0.1, steps=0)
    with pytest.raises(ShapeError, match="same shape"):
        gradient_descent_mse(nn.Linear(2, 1), torch.zeros(3, 2), torch.zeros(3), lr=0.1, steps=1)
