"""scatlab.theory.margins: output margins, first-order and DeepFool input margins exact on a linear
classifier, Jacobian norms against the matrix, and the Jacobian penalty's gradient."""
import pytest
import torch
from torch import nn

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.theory.margins import (JacobianRegularized, deepfool_margins, first_order_margins, jacobian_frobenius,
                                    output_margins)


def linear_classifier(seed=0, d=12, k=4):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(d, k)).double()


def exact_distances(model, x, y):
    """Distance from x to the complement of its class polytope: min_j (f_y - f_j) / ||w_y - w_j||."""
    w, b = model[1].weight.detach(), model[1].bias.detach()
    f = x.flatten(1) @ w.T + b
    out = []
    for i in range(len(x)):
        c = int(y[i])
        out.append(min(float((f[i, c] - f[i, j]) / (w[c] - w[j]).norm()) for j in range(w.shape[0]) if j != c))
    return torch.tensor(out, dtype=torch.float64)


def test_output_margins():
    logits = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 5.5]])
    torch.testing.assert_close(output_margins(logits, torch.tensor([0, 1])), torch.tensor([1.0, -0.5]))


def test_first_order_margin_is_exact_for_a_linear_classifier():
    model = linear_classifier()
    x = torch.rand(20, 3, 4, dtype=torch.float64)
    y = model(x).argmax(1)
    y[:3] = (y[:3] + 1) % 4  # three misclassified points: negative margins
    got = first_order_margins(model, x, y, batch_size=7)
    torch.testing.assert_close(got, exact_distances(model, x, y))
    assert (got[:3] < 0).all() and (got[3:] > 0).all()


def test_deepfool_finds_the_minimal_perturbation_of_a_linear_classifier():
    model = linear_classifier(1)
    x = 0.45 + 0.1 * torch.rand(10, 3, 4, dtype=torch.float64)  # far from the [0, 1] clipping box
    y = model(x).argmax(1)
    exact = exact_distances(model, x, y)
    assert exact.max() < 0.4  # the minimal perturbations stay inside the box
    norms, fooled = deepfool_margins(model, x, y, overshoot=0.02)
    assert fooled.all()
    torch.testing.assert_close(norms, 1.02 * exact, rtol=1e-6, atol=1e-9)
    wrong = (y + 1) % 4
    assert torch.equal(deepfool_margins(model, x, wrong)[0], torch.zeros(10, dtype=torch.float64))


def test_jacobian_frobenius_of_a_linear_map_is_the_matrix_norm():
    model = linear_classifier(2)
    x = torch.rand(5, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(jacobian_frobenius(model, x), model[1].weight.norm().expand(5).detach())


def test_jacobian_penalty_gradient_is_unbiased():
    """Linear f(x) = W x: ||J||_F^2 = ||W||_F^2, whose gradient in W is 2 W; the projected estimate's
    mean gradient over many steps must match it (Monte Carlo, fixed seed, 5 % tolerance)."""
    torch.manual_seed(0)
    inner = nn.Linear(6, 3, bias=False).double()
    model = JacobianRegularized(inner, weight=0.5)
    x = torch.rand(400, 6, dtype=torch.float64)
    model.train()
    out = model(x)
    torch.testing.assert_close(out, inner(x))  # the logits are unchanged
    out.sum().backward()  # gradient of sum(logits) is sum_i x_i in every row; the penalty adds 0.5 * 2 W
    data = torch.ones(3, 1, dtype=torch.float64) * x.sum(0)[None]
    penalty_grad = inner.weight.grad - data
    torch.testing.assert_close(penalty_grad, inner.weight.detach(), rtol=0.1, atol=0.05)
    model.eval()
    inner.weight.grad = None
    model(x).sum().backward()
    torch.testing.assert_close(inner.weight.grad, data)  # eval mode: no penalty


def test_bad_inputs_name_the_parameter():
    model = linear_classifier()
    x, y = torch.rand(4, 3, 4, dtype=torch.float64), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ShapeError, match="label"):
        first_order_margins(model, x, y[:3])
    with pytest.raises(InvalidParameterError, match="batch_size"):
        first_order_margins(model, x, y, batch_size=0)
    with pytest.raises(InvalidParameterError, match="model"):
        first_order_margins(nn.Flatten(), x, y)
    with pytest.raises(InvalidParameterError, match="steps"):
        deepfool_margins(model, x, y, steps=0)
    with pytest.raises(InvalidParameterError, match=r"\[0, 1\]"):
        deepfool_margins(model, x + 2, y)
    with pytest.raises(InvalidParameterError, match="weight"):
        JacobianRegularized(model, -1.0)
    with pytest.raises(ShapeError, match="logits"):
        output_margins(torch.zeros(3), torch.zeros(3, dtype=torch.long))
