"""Lipschitz tools on cases with known answers: dense SVDs, affine models, closed-form cascade bounds,
and the contraction of the four scattering transforms on random pairs (property test)."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.networks import build_model
from scatlab.networks.resnet import BasicBlock
from scatlab.nn import Scattering1D, Scattering2D
from scatlab.nn.harmonic3d import HarmonicScattering3D
from scatlab.nn.rototranslation import RotoTranslationScattering2D
from scatlab.theory import lipschitz as L


def dense(f, shape):
    """The matrix of a linear map on tensors of ``shape`` (flattened), by jacrev."""
    x = torch.zeros(shape, dtype=torch.float64)
    return torch.func.jacrev(f)(x).reshape(-1, math.prod(shape)).detach()


def test_operator_norm_of_strided_conv_matches_dense_svd():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=True).double()
    f = lambda x: torch.nn.functional.conv2d(x, conv.weight.detach(), None, 2, 1)  # noqa: E731
    exact = float(torch.linalg.matrix_norm(dense(f, (1, 2, 7, 6)), ord=2))
    assert L.operator_norm(f, (1, 2, 7, 6)) == pytest.approx(exact, rel=1e-8)
    row = torch.randn(1, 5, dtype=torch.float64)  # a single output: the norm of the row
    assert L.operator_norm(lambda x: x @ row.T, (5,)) == pytest.approx(float(row.norm()), rel=1e-12)


def test_circular_conv_norm_matches_dense_svd_and_layer_norm_uses_it():
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 2, 3, padding=1, padding_mode="circular", bias=False).double()
    exact = float(torch.linalg.matrix_norm(dense(conv, (1, 3, 6, 5)), ord=2))
    assert L.circular_conv_norm(conv.weight, (6, 5)) == pytest.approx(exact, rel=1e-10)
    bound = L.network_lipschitz_bound(nn.Sequential(conv).eval(), (3, 6, 5))
    assert bound.bound == pytest.approx(exact, rel=1e-10)


def test_affine_model_bound_is_exact_and_measurements_reach_it():
    """f(x) = Wx + b: Lip = sigma_max(W); margin gradient = ||w_y - w_j||; pair along the top singular vector."""
    torch.manual_seed(2)
    model = nn.Linear(12, 4).double().eval()
    W = model.weight.detach()
    sigma = float(torch.linalg.matrix_norm(W, ord=2))
    assert L.network_lipschitz_bound(model, (12,)).bound == pytest.approx(sigma, rel=1e-12)
    x = torch.randn(30, 12, dtype=torch.float64)
    expected = torch.full((30,), sigma, dtype=torch.float64)
    assert torch.allclose(L.jacobian_norms(model, x, iterations=200), expected, rtol=1e-6)
    labels = torch.randint(0, 4, (30,))
    margins, runner = L.logit_margins(model(x).detach(), labels)
    assert torch.allclose(L.local_lipschitz(model, x, labels), (W[labels] - W[runner]).norm(dim=1), rtol=1e-10)
    top = torch.linalg.svd(W).Vh[0]
    pair = torch.stack([x[0], x[0] + 0.3 * top])
    ratio, _ = L.pairwise_lipschitz(model, torch.cat([pair, x]))
    assert ratio == pytest.approx(sigma, rel=1e-10)


def test_sequential_relu_bound_is_the_product_and_exceeds_the_jacobian():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 3)).double()
    net[2].running_var.uniform_(0.5, 2.0)
    net.eval()
    norms = [float(torch.linalg.matrix_norm(net[i].weight.detach(), ord=2)) for i in (0, 3)]
    gain = float((1 / torch.sqrt(net[2].running_var + net[2].eps) * net[2].weight.detach().abs()).max())
    bound = L.network_lipschitz_bound(net, (10,))
    assert bound.bound == pytest.approx(norms[0] * gain * norms[1], rel=1e-12)
    assert [name for name, _ in bound.factors] == ["Sequential.0", "Sequential.2", "Sequential.3"]
    assert L.jacobian_norms(net, torch.randn(50, 10, dtype=torch.float64)).max() <= bound.bound


def test_residual_block_with_zero_branch_has_bound_one():
    block = BasicBlock(4, 4, 1).double().eval()
    nn.init.zeros_(block.conv2.weight)
    bound = L.network_lipschitz_bound(block, (4, 6, 6))
    assert bound.bound == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", ["resnet", "phase-collapse"])
def test_network_bounds_exceed_measured_local_constants(name):
    torch.manual_seed(4)
    model = build_model(name, (16, 16), 10, widths=(4, 8), L=4).eval()
    x = torch.rand(8, 1, 16, 16)
    bound = L.network_lipschitz_bound(model, (1, 16, 16)).bound
    assert float(L.jacobian_norms(model, x, iterations=15).max()) <= bound


def test_cascade_bound_closed_forms():
    assert L.cascade_bound((1.0, 1.0)) == 1.0
    assert L.cascade_bound((0.5, 0.5), phi_peak=0.5) == pytest.approx(math.sqrt(0.5))
    assert L.cascade_bound((1.21, 1.21)) == pytest.approx(1.21)
    assert L.cascade_bound((1.1,), phi_peak=2.0) == pytest.approx(math.sqrt(2.2))


def test_constant_difference_reaches_the_bound_of_1d_and_2d():
    """A constant difference passes through the low-pass only: the normalized ratio is phi_hat(0) = 1."""
    for S, shape in [(Scattering1D(64, J=3, Q=2, padding="periodic", normalize="resolution"), (64,)),
                     (Scattering2D((16, 16), J=2, L=4, padding="periodic"), (16, 16))]:
        x = torch.rand((2,) + shape, dtype=torch.float64)
        assert float(L.contraction_ratios(S, x, x + 1.0).max()) == pytest.approx(1.0, abs=1e-3)
        assert L.scattering_bound(S).bound >= 1.0


TRANSFORMS = {
    "1d": (Scattering1D(64, J=3, Q=2, padding="periodic", normalize="resolution"), (64,)),
    "2d": (Scattering2D((16, 16), J=2, L=4, padding="periodic"), (16, 16)),
    "roto": (RotoTranslationScattering2D((16, 16), J=2, L=4, padding="periodic"), (16, 16)),
    "3d": (HarmonicScattering3D((8, 8, 8), J=1, L=1), (8, 8, 8)),
}


@settings(max_examples=8, deadline=None, derandomize=True)
@given(kind=st.sampled_from(sorted(TRANSFORMS)), seed=st.integers(0, 2**16), scale=st.floats(1e-3, 10.0),
       smooth=st.floats(0.0, 4.0))
def test_scattering_contraction_ratio_is_below_its_bound(kind, seed, scale, smooth):
    """Property: ||S~x - S~y|| <= bound ||x - y|| on random pairs whose difference is white noise
    smoothed by a Gaussian of width ``smooth`` pixels (plus a constant), at any scale."""
    S, shape = TRANSFORMS[kind]
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((3,) + shape, generator=g, dtype=torch.float64)
    d = torch.randn((3,) + shape, generator=g, dtype=torch.float64)
    dims = tuple(range(1, len(shape) + 1))
    freq = torch.stack(torch.meshgrid(*[torch.fft.fftfreq(n, dtype=torch.float64) for n in shape], indexing="ij"))
    d = torch.fft.ifftn(torch.fft.fftn(d, dim=dims) * torch.exp(-2 * (math.pi * smooth) ** 2 * (freq**2).sum(0)),
                        dim=dims).real + 0.3 * torch.randn((3,) + (1,) * len(shape), generator=g, dtype=torch.float64)
    ratios = L.contraction_ratios(S, x, x + scale * d / d.flatten(1).norm(dim=1).view(-1, *[1] * len(shape)))
    assert float(ratios.max()) <= L.scattering_bound(S).bound * (1 + 1e-9)


def test_errors_name_the_parameter():
    with pytest.raises(InvalidParameterError, match="'tol'"):
        L.operator_norm(lambda x: x, (3,), tol=0.0)
    with pytest.raises(ShapeError, match="input_shape"):
        L.operator_norm(lambda x: x, ())
    with pytest.raises(InvalidParameterError, match="no parameters"):
        L.network_lipschitz_bound(nn.Sequential(nn.ReLU()).eval(), (3,))
    with pytest.raises(InvalidParameterError, match="training mode"):
        L.network_lipschitz_bound(nn.Linear(3, 2), (3,))
    with pytest.raises(InvalidParameterError, match="GELU"):
        L.network_lipschitz_bound(nn.Sequential(nn.Linear(3, 3), nn.GELU()).eval(), (3,))
    with pytest.raises(ShapeError, match="input_shape"):
        L.network_lipschitz_bound(nn.Linear(3, 2).eval(), (5,))
    with pytest.raises(InvalidParameterError, match="'B'"):
        L.cascade_bound(())
    with pytest.raises(InvalidParameterError, match="'S'"):
        L.scattering_bound(nn.Linear(2, 2))
    with pytest.raises(ShapeError, match="at least 2"):
        L.pairwise_lipschitz(nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(ShapeError, match="same shape"):
        L.contraction_ratios(TRANSFORMS["2d"][0], torch.zeros(2, 16, 16), torch.zeros(3, 16, 16))
    with pytest.raises(ShapeError, match="shape"):
        L.circular_conv_norm(torch.zeros(2, 2, 3, 3), (2, 8))
