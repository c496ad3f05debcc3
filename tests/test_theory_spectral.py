"""scatlab.theory.spectral: operator norms against dense SVDs, row norms against dense rows, the
spectral complexity on cases computed by hand, and the margin bound's arithmetic."""
import math

import pytest
import torch
from torch import nn
from torch.func import jacrev

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.networks.plain import PlainCNN
from scatlab.theory.spectral import (linear_layers, operator_norm, row_norms, spectral_complexity,
                                     spectral_margin_bound)


def dense(layer, shape):
    """The matrix of the linear part of ``layer`` on inputs of ``shape`` (float64), via jacrev."""
    zero = torch.zeros((1, *shape), dtype=torch.float64)
    out = layer(zero)
    return jacrev(lambda x: layer(x) - out)(zero).reshape(out.numel(), -1)


CONVOLUTIONS = {  # name: (constructor, input shape)
    "3x3": (lambda: nn.Conv2d(2, 3, 3, 1, 1, bias=False), (2, 7, 6)),
    "3x3 stride 2 bias": (lambda: nn.Conv2d(2, 3, 3, 2, 1, bias=True), (2, 7, 6)),
    "5x5 valid": (lambda: nn.Conv2d(3, 4, 5, 1, 0, bias=False), (3, 7, 6)),
    "dilated grouped": (lambda: nn.Conv2d(4, 4, 3, 1, 2, dilation=2, groups=2, bias=False), (4, 7, 6)),
    "1d stride 2": (lambda: nn.Conv1d(2, 3, 5, 2, 2, bias=False), (2, 9)),
}


@pytest.mark.parametrize("name", CONVOLUTIONS)
def test_operator_norm_of_convolutions_equals_the_dense_svd(name):
    make, shape = CONVOLUTIONS[name]
    torch.manual_seed(0)
    conv = make().double()
    matrix = dense(conv, shape)
    expected = torch.linalg.matrix_norm(matrix, 2).item()
    assert operator_norm(conv, shape, tol=1e-11) == pytest.approx(expected, rel=1e-7)
    assert operator_norm(conv, shape) == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(row_norms(conv, shape), matrix.norm(dim=1))


def test_operator_norm_of_linear_layers_and_known_matrix():
    layer = nn.Linear(4, 3, bias=True).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 0, 0, 0], [0, -5.0, 0, 0], [0, 0, 1.0, 1.0]]))
    assert operator_norm(layer, (4,)) == pytest.approx(5.0, rel=1e-7)
    torch.testing.assert_close(row_norms(layer, (4,)), torch.tensor([3.0, 5.0, math.sqrt(2)], dtype=torch.float64))
    reference = torch.tensor([[3.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 1.0, 0]])
    torch.testing.assert_close(row_norms(layer, (4,), reference), torch.tensor([0.0, 4.0, 1.0], dtype=torch.float64))


def test_spectral_complexity_of_a_linear_model_is_its_21_norm():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5, bias=False)).double()
    c = spectral_complexity(model, (3, 4))
    w = model[1].weight.detach()
    assert c.value == pytest.approx(float(w.norm(dim=1).sum()), rel=1e-6)
    assert c.lipschitz_product == pytest.approx(torch.linalg.matrix_norm(w, 2).item(), rel=1e-6)
    assert c.max_units == 12 and c.units == (5,)


def test_spectral_complexity_of_two_diagonal_layers_by_hand():
    model = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 2, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.diag(torch.tensor([2.0, 1.0])))
        model[2].weight.copy_(torch.diag(torch.tensor([3.0, 3.0])))
    c = spectral_complexity(model, (2,))
    # s = (2, 3), b = (3, 6): R = 6 * ((3/2)^(2/3) + (6/3)^(2/3))^(3/2)
    assert c.value == pytest.approx(6 * (1.5 ** (2 / 3) + 2 ** (2 / 3)) ** 1.5, rel=1e-9)
    init = [torch.diag(torch.tensor([2.0, 0.0])), torch.zeros(2, 2)]
    assert spectral_complexity(model, (2,), reference=init).l21_norms == pytest.approx((1.0, 6.0))


def test_linear_layers_in_call_order_with_input_shapes():
    model = PlainCNN(3, 10, (9, 8), widths=(4, 5))
    layers = linear_layers(model, (3, 9, 8))
    assert [shape for _, shape in layers] == [(3, 9, 8), (4, 9, 8), (5 * 5 * 4,)]
    assert layers[-1][0] is model.classifier


def test_margin_bound_arithmetic():
    model = nn.Sequential(nn.Linear(2, 2, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(2))
    c = spectral_complexity(model, (2,))  # R_A = ||I^T||_{2,1} = 2, W = 2
    margins = torch.tensor([0.5, 1.0, 2.0, 3.0])
    out = spectral_margin_bound(margins, 1.0, c, data_norm=2.0, delta=0.1)
    assert out["margin_risk"] == 0.5
    term = 72 * 2.0 * 2.0 * math.log(4) * math.log(4) / 4
    assert out["complexity_term"] == pytest.approx(term)
    assert out["bound"] == pytest.approx(0.5 + 2 + term + 3 * math.sqrt(math.log(10) / 8))


def test_bad_inputs_name_the_parameter():
    conv = nn.Conv2d(1, 2, 3)
    with pytest.raises(InvalidParameterError, match="input_shape"):
        operator_norm(conv, ())
    with pytest.raises(InvalidParameterError, match="'tol'"):
        operator_norm(conv, (1, 5, 5), tol=0.0)
    with pytest.raises(ShapeError, match="shape"):
        operator_norm(conv, (3, 5, 5))
    with pytest.raises(InvalidParameterError, match="layer"):
        row_norms(nn.ReLU(), (3,))
    with pytest.raises(InvalidParameterError, match="padding_mode"):
        row_norms(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular"), (1, 5, 5))
    with pytest.raises(ShapeError, match="reference"):
        row_norms(nn.Linear(3, 2), (3,), torch.zeros(3, 3))
    with pytest.raises(InvalidParameterError, match="normalization"):
        spectral_complexity(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), (1, 5, 5))
    with pytest.raises(InvalidParameterError, match="no Linear or Conv"):
        spectral_complexity(nn.Sequential(nn.ReLU()), (1, 5, 5))
    with pytest.raises(InvalidParameterError, match="reference"):
        spectral_complexity(nn.Linear(2, 2), (2,), reference=[])
    with pytest.raises(InvalidParameterError, match="gamma"):
        spectral_margin_bound(torch.ones(3), 0.0, spectral_complexity(nn.Linear(2, 2), (2,)), 1.0)
