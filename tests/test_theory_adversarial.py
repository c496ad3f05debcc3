"""Adversarial tools on affine classifiers, where the minimal L2 perturbation and the universal
perturbation are known exactly."""
import pytest
import torch
from torch import nn

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.theory import adversarial as A


def affine(d: int, k: int, seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    model = nn.Linear(d, k).double().eval()
    with torch.no_grad():
        model.weight.mul_(20.0)  # distances to the boundaries ~0.01-0.1, far from the [0, 1] box edges
    return model


@pytest.mark.parametrize("k", [2, 5])
def test_attack_finds_the_exact_minimal_perturbation_of_an_affine_classifier(k):
    model = affine(16, k, seed=k)
    x = 0.4 + 0.2 * torch.rand(40, 16, dtype=torch.float64)
    exact = A.linear_minimal_distance(model.weight.detach(), model.bias.detach(), x)
    result = A.minimal_l2_perturbation(model, x, bisections=30)
    assert bool(result.found.all())
    assert torch.allclose(result.norms, exact, rtol=1e-6)
    assert torch.allclose(result.relative, exact / x.norm(dim=1), rtol=1e-6)
    changed = model(x + result.delta).argmax(1) != result.labels
    assert bool(changed.all())


def test_linear_minimal_distance_is_the_distance_to_the_nearest_face():
    """Moving to the nearest face by slightly more than the distance flips the class, slightly less does not."""
    model = affine(6, 4, seed=1)
    W, b = model.weight.detach(), model.bias.detach()
    x = torch.rand(25, 6, dtype=torch.float64)
    distance = A.linear_minimal_distance(W, b, x)
    logits = model(x).detach()
    y = logits.argmax(1)
    for i in range(len(x)):
        gaps = [(logits[i, y[i]] - logits[i, j]) / (W[y[i]] - W[j]).norm() if j != y[i] else float("inf")
                for j in range(4)]
        j = int(torch.tensor(gaps).argmin())
        direction = (W[j] - W[y[i]]) / (W[j] - W[y[i]]).norm()
        assert model(x[i] + (1 + 1e-6) * distance[i] * direction).argmax() != y[i]
        assert model(x[i] + (1 - 1e-6) * distance[i] * direction).argmax() == y[i]


def test_universal_perturbation_of_a_binary_affine_classifier():
    """Points of one class at distances d_i from the hyperplane w.x + b = 0 along w: v = budget w/||w||,
    fooling exactly the points with d_i < budget."""
    torch.manual_seed(0)
    d = 12
    w = torch.randn(d, dtype=torch.float64)
    w = w / w.norm()
    model = nn.Linear(d, 2).double().eval()
    with torch.no_grad():
        model.weight.copy_(torch.stack([w, -w]) / 2)
        model.bias.zero_()
    base = 0.5 + 0.05 * torch.randn(d, dtype=torch.float64)
    base = base - (base @ w) * w  # on the hyperplane
    distances = torch.linspace(0.02, 0.2, 20, dtype=torch.float64)
    x = base + distances[:, None] * w  # class 0 (w.x > 0), all inside [0, 1]
    budget = 0.101
    v = A.universal_perturbation(model, x, budget, passes=3, target_rate=1.0)
    assert float(v.norm()) <= budget * (1 + 1e-9)
    assert float(v @ -w) == pytest.approx(budget, rel=1e-6)
    assert A.fooling_rate(model, x, v) == pytest.approx(float((distances < budget).double().mean()))


def test_errors_name_the_parameter():
    model = affine(4, 3, seed=0)
    x = torch.rand(5, 4, dtype=torch.float64)
    with pytest.raises(InvalidParameterError, match="'budget'"):
        A.universal_perturbation(model, x, 0.0)
    with pytest.raises(InvalidParameterError, match="training mode"):
        A.minimal_l2_perturbation(nn.Linear(4, 3), x)
    with pytest.raises(InvalidParameterError, match="no parameters"):
        A.fooling_rate(nn.Sequential(nn.Identity()).eval(), x, torch.zeros(4))
    with pytest.raises(ShapeError, match="'x'"):
        A.minimal_l2_perturbation(model, torch.zeros(4, dtype=torch.float64))
    with pytest.raises(InvalidParameterError, match="steps"):
        A.minimal_l2_perturbation(model, x, steps=0)
