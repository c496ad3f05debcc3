"""Gradients at exact zeros: finite everywhere, the true derivative where the transform is
differentiable, and 0 at the cusps (|z| at z = 0, |x|^q and U^q with q < 1 at 0: the subgradient of
least norm).

Before the fix, HarmonicScattering3D gave NaN at every exact zero of the input (order 0, sum |x|^0.5:
autograd's pow gives inf there, times sign(0) = 0 from |x|); the moduli of every transform gave NaN
in double backward (d/dgrad of grad / |z| is 0 / 0 where z = 0).
"""
from __future__ import annotations

import pytest
import torch

from scatlab import (HarmonicScattering3D, RotoTranslationScattering2D, Scattering1D, Scattering2D,
                     TimeFrequencyScattering)
from scatlab.chem.features import FeatureSpec, Featurizer
from scatlab.chem.molecules import densities
from scatlab.datasets.qm9 import FILES, load_qm9, qm9_dir
from scatlab.errors import DataError

try:
    HAVE_QM9 = all((qm9_dir() / f).is_file() for f in FILES)
except DataError:
    HAVE_QM9 = False


def _sparse_gaussians(n: int) -> torch.Tensor:
    """Three unit Gaussians (width 1 point) on an n^3 grid, float64, values below 1e-8 set to 0."""
    axis = torch.arange(n, dtype=torch.float64)
    X, Y, Z = torch.meshgrid(axis, axis, axis, indexing="ij")
    centers = [(0.31, 0.38, 0.44), (0.62, 0.5, 0.34), (0.47, 0.69, 0.62)]
    x = sum(torch.exp(-((X - a * n) ** 2 + (Y - b * n) ** 2 + (Z - c * n) ** 2) / 2) for a, b, c in centers)
    return torch.where(x < 1e-8, 0.0, x)


def test_3d_sparse_density_gradient_is_finite_and_zero_at_the_cusps():
    """The issue's case (32^3, J=2, L=2, float64): about 30,000 of the 32,768 gradients were NaN.
    Only order 0 with q = 0.5 is not differentiable at the zeros of x (U > 0 everywhere here): there
    it contributes 0, elsewhere its derivative 0.5 x^-0.5."""
    x0 = _sparse_gaussians(32)
    zeros = x0 == 0
    assert zeros.sum() > 29_000
    S = HarmonicScattering3D((32, 32, 32), J=2, L=2).double()
    x = x0.clone().requires_grad_(True)
    out = S(x)
    (grad,) = torch.autograd.grad(out.sum(), x, retain_graph=True)
    assert torch.isfinite(grad).all()
    cusp = S.meta.select(order=0, q=0.5)
    (rest,) = torch.autograd.grad(out.sum() - out[cusp].sum(), x)
    assert torch.equal(grad[zeros], rest[zeros])
    torch.testing.assert_close(grad[~zeros] - rest[~zeros], 0.5 * x0[~zeros] ** -0.5, rtol=1e-10, atol=0)


def test_3d_gradcheck_with_exact_zeros_in_the_input():
    """A positive density with exact zeros at 10 % of the voxels; float64, powers below and above 1.

    At x_i = 0 the order-0 terms |x_i|^q are even in x_i, so gradcheck's central differences are
    exactly 0 there, the convention (they are not differentiable for q <= 1: at a cusp gradcheck
    checks the convention, nothing more). Every other term is differentiable at this point: U[p]x
    stays far above 0 (min 1.5e-4 here, eps = 1e-6), so U^q with q < 1 is smooth around it.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.rand(10, 10, 10, generator=g, dtype=torch.float64) + 0.1
    x[torch.rand(10, 10, 10, generator=g) < 0.1] = 0
    S = HarmonicScattering3D((10, 10, 10), J=1, L=1, integral_powers=(0.25, 0.5, 1.0, 1.5, 2.0, 3.0)).double()
    assert (x == 0).sum() > 50 and S.local(x).min() > 1e-4
    assert torch.autograd.gradcheck(S, (x.requires_grad_(True),), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_3d_second_derivatives_with_powers_below_and_above_one():
    """create_graph through the integrals U^q of non-integer q (at a point without zeros: at a zero
    of x, |x|^q with q < 2 has no second derivative)."""
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(1, 5, 4, 4, generator=g, dtype=torch.float64) + 0.1).requires_grad_(True)
    S = HarmonicScattering3D((5, 4, 4), J=1, L=1, sigma_0=0.8, integral_powers=(0.25, 1.5)).double()
    assert torch.autograd.gradgradcheck(S, (x,), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_rototranslation_second_derivatives():
    """create_graph through _PairModulus (the angular modulus), at a generic point."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(8, 8, generator=g, dtype=torch.float64).requires_grad_(True)
    S = RotoTranslationScattering2D((8, 8), J=2, L=4, K=1, padding="periodic").double()
    assert torch.autograd.gradgradcheck(S, (x,), eps=1e-6, atol=1e-6, rtol=1e-5, fast_mode=True)


@pytest.mark.requires_data("QM9")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_3d_gradient_is_finite_on_qm9_densities(dtype):
    """Two QM9 molecules (methane, ammonia) on the Featurizer's grid, as it computes them (aligned,
    cast to float32): the Gaussian tails underflow to exact zeros (about a quarter of the voxels),
    where every gradient was NaN. J = 1, L = 1 keeps it fast."""
    spec = FeatureSpec()
    featurizer = Featurizer(spec)
    molecules = [featurizer.prepare(m) for m in load_qm9(limit=2).molecules]
    rho = torch.from_numpy(densities(molecules, spec.grid)).float().to(dtype)  # (2, 3, 48, 36, 30)
    assert (rho == 0).float().mean() > 0.2
    S = HarmonicScattering3D(spec.shape, J=1, L=1, sigma_0=spec.sigma / spec.spacing,
                             integral_powers=spec.integral_powers)
    S = S.double() if dtype == torch.float64 else S.float()
    x = rho.requires_grad_(True)
    S(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() > 0


def _inputs(shape):
    half = torch.rand(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64) + 0.5
    half[..., : shape[-1] // 2] = 0  # a zero half: every coefficient that sees only it vanishes
    return {"zero": torch.zeros(shape, dtype=torch.float64), "zero half": half}


TRANSFORMS = {
    "Scattering1D": lambda: (Scattering1D(64, J=3, Q=2), (64,)),
    "Scattering2D": lambda: (Scattering2D((16, 16), J=2, L=4), (16, 16)),
    "RotoTranslationScattering2D": lambda: (RotoTranslationScattering2D((16, 16), J=2, L=4, K=1), (16, 16)),
    "TimeFrequencyScattering": lambda: (TimeFrequencyScattering(128, J=3, Q=4, J_fr=1, F=2), (128,)),
    "HarmonicScattering3D": lambda: (HarmonicScattering3D((8, 8, 8), J=1, L=1), (8, 8, 8)),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_gradients_are_finite_at_zero_and_on_a_zero_half(name):
    """First derivatives (``.sum().backward()``) and second derivatives through the moduli: the
    gradient of <w, S(x)> taken with create_graph, differentiated w.r.t. w and x (as a gradient
    penalty does; d/dw was NaN wherever a modulus vanished, in every transform)."""
    S, shape = TRANSFORMS[name]()
    S = S.double()
    for case, x0 in _inputs(shape).items():
        x = x0.clone().requires_grad_(True)
        S(x).sum().backward()
        assert torch.isfinite(x.grad).all(), case
        x = x0.clone().requires_grad_(True)
        out = S(x)
        w = torch.linspace(-1, 2, out.numel(), dtype=torch.float64).reshape(out.shape).requires_grad_(True)
        (grad,) = torch.autograd.grad((out * w).sum(), x, create_graph=True)
        d_w, d_x = torch.autograd.grad(grad.square().sum() + grad.sum(), (w, x), allow_unused=True)
        assert torch.isfinite(d_w).all(), case
        assert d_x is None or torch.isfinite(d_x).all(), case
