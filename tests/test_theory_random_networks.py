"""Random Gaussian networks: the arc-cosine angle map, expected distances, Gaussian mean width,
intrinsic dimension and inversion, each against a known answer (closed form, exact small case, or
Monte Carlo with a tolerance set from its standard error and a fixed seed)."""
import math

import numpy as np
import pytest
import torch

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.theory import random_networks as rn


def _pair(theta: float, n: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two unit vectors of R^n at angle theta, in a random plane."""
    q, _ = torch.linalg.qr(torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q[:, 0], math.cos(theta) * q[:, 0] + math.sin(theta) * q[:, 1]


# ------------------------------------------------------------------------------- angle map


def test_angle_map_closed_values_and_shape():
    assert rn.relu_angle_map(0.0) == pytest.approx(0.0, abs=1e-7)
    assert rn.relu_angle_map(math.pi) == pytest.approx(math.pi / 2)
    assert rn.relu_angle_map(math.pi / 2) == pytest.approx(math.acos(1 / math.pi))
    theta = np.linspace(0.01, math.pi, 50)
    mapped = rn.relu_angle_map(theta)
    assert isinstance(mapped, np.ndarray) and np.all(mapped < theta) and np.all(np.diff(mapped) > 0)
    it = rn.iterated_angle_map(theta, 4)
    assert it.shape == (5, 50) and np.array_equal(it[0], theta)
    np.testing.assert_allclose(it[2], rn.relu_angle_map(rn.relu_angle_map(theta)))
    assert np.all(np.diff(it, axis=0) < 0)  # every positive angle shrinks at every layer


@pytest.mark.parametrize("theta", [0.3, 1.0, math.pi / 2, 2.2, 3.0])
def test_angle_map_against_monte_carlo(theta):
    """E[relu(g.x) relu(g.y)] / E[relu(g.x)^2] over g ~ N(0, I): the cosine of the mapped angle."""
    x, y = _pair(theta, n=3, seed=1)
    g = torch.randn(100, 4000, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    a, b = torch.relu(g @ x), torch.relu(g @ y)  # (batches, draws)
    cos_mc = float((a * b).mean() / torch.sqrt((a**2).mean() * (b**2).mean()))
    per_batch = (a * b).mean(1) / torch.sqrt((a**2).mean(1) * (b**2).mean(1))
    stderr = float(per_batch.std() / math.sqrt(len(per_batch)))  # standard error from 100 batches
    expected = math.cos(rn.relu_angle_map(theta))
    assert abs(cos_mc - expected) < 5 * stderr + 1e-12
    assert abs(cos_mc - math.cos(theta)) > 10 * stderr  # the map differs from the identity here


def test_wide_network_follows_the_iterated_map_and_keeps_norms():
    x, y = _pair(2.5, n=20, seed=3)
    net = rn.RandomGaussianNetwork(20, (4096, 4096, 4096), seed=4)
    outs = net.layers(torch.stack([x, y]))
    predicted = rn.iterated_angle_map(2.5, 3)
    for depth, h in enumerate(outs, start=1):
        angle = float(rn.pair_angles(h[:1], h[1:]))
        # per-pair fluctuation of the cosine ~ 1/sqrt(m) (0.016 here): 5 sigma in angle
        assert abs(angle - predicted[depth]) < 5 / math.sqrt(4096) / math.sin(predicted[depth])
        # ||h||^2 / ||x||^2 has relative sd sqrt(5/m) per layer (variance of 2 relu(z)^2 is 5)
        assert float(h[0].norm() ** 2) == pytest.approx(1.0, abs=5 * math.sqrt(5 * depth / 4096))


def test_expected_sq_distance_against_monte_carlo_and_identity():
    theta = 2.0
    x, y = _pair(theta, n=6, seed=5)
    x = 1.5 * x
    expected = float(rn.relu_expected_sq_distance(1.5, 1.0, theta))
    # the two written forms of the formula agree
    alt = float(((x - y) ** 2).sum()) - 2 / math.pi * 1.5 * (math.sin(theta) - theta * math.cos(theta))
    assert expected == pytest.approx(alt, rel=1e-12) and expected < float(((x - y) ** 2).sum())
    m = 200_000
    net = rn.RandomGaussianNetwork(6, (m,), seed=6, dtype=torch.float64)
    fx, fy = net(torch.stack([x, y]))
    per_unit = (fx - fy) ** 2 * m  # m i.i.d. terms whose mean is the expected squared distance
    stderr = float(per_unit.std() / math.sqrt(m))
    assert abs(float(per_unit.mean()) - expected) < 5 * stderr
    ratio = float(rn.distance_ratios(x[None], y[None], fx[None], fy[None]))
    assert ratio == pytest.approx(1.0, abs=5 * stderr / expected)
    # the linear reference: an output equal to the input is kept exactly
    ones = rn.distance_ratios(x[None], y[None], x[None], y[None], activation="linear")
    assert float(ones) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_pairwise_ratios_match_the_pair_by_pair_ones(activation):
    x = torch.randn(12, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    net = rn.RandomGaussianNetwork(9, (50,), activation=activation, seed=1, dtype=torch.float64)
    fx = net(x)
    i, j = torch.triu_indices(12, 12, 1)
    torch.testing.assert_close(rn.pairwise_distance_ratios(x, fx, activation),
                               rn.distance_ratios(x[i], x[j], fx[i], fx[j], activation))


def test_pair_angles_exact_small_cases():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = torch.tensor([[0.0, 2.0], [-3.0, 0.0], [2.0, 2.0], [1.0, 0.0]])
    np.testing.assert_allclose(rn.pair_angles(a, b).numpy(), [math.pi / 2, math.pi, 0.0, math.pi / 2], atol=1e-6)


def test_network_is_deterministic_and_lazily_equal():
    kept = rn.RandomGaussianNetwork(7, (11, 5), seed=9)
    lazy = rn.RandomGaussianNetwork(7, (11, 5), seed=9, materialize=False)
    longer = rn.RandomGaussianNetwork(7, (11, 5, 3), seed=9)
    x = torch.randn(4, 7)
    torch.testing.assert_close(kept(x), lazy(x))
    torch.testing.assert_close(kept(x), longer.layers(x)[1])  # first layers do not depend on later ones
    assert not torch.equal(kept(x), rn.RandomGaussianNetwork(7, (11, 5), seed=10)(x))
    linear = rn.RandomGaussianNetwork(7, 5000, activation="linear", seed=1, dtype=torch.float64)
    assert float(linear.weight(0).var()) == pytest.approx(1 / 5000, rel=0.02)
    assert float(kept.weight(0).var() * 11 / 2) == pytest.approx(1.0, abs=0.6)  # N(0, 2/m), small sample


# ------------------------------------------------------------------------------- mean width


def test_mean_width_of_a_segment_l1_ball_and_cube():
    a, b = torch.tensor([1.0, 2.0, -1.0, 0.5]), torch.tensor([0.0, -1.0, 1.0, 0.5])
    segment = rn.gaussian_mean_width(torch.stack([a, b]), draws=20_000, seed=1)
    assert abs(segment.width - float((a - b).norm()) * math.sqrt(2 / math.pi)) < 4 * segment.stderr
    d = 20
    vertices = torch.cat([torch.eye(d), -torch.eye(d)])  # the l1 ball is their convex hull
    l1 = rn.gaussian_mean_width(vertices, draws=20_000, seed=2)
    assert abs(l1.width - rn.l1_ball_mean_width(d)) < 4 * l1.stderr
    k = 8
    cube = torch.cartesian_prod(*[torch.tensor([-1.0, 1.0])] * k) / math.sqrt(k)  # sup <g, x> = ||g||_1 / sqrt(k)
    w = rn.gaussian_mean_width(cube, draws=20_000, seed=3)
    assert abs(w.width - 2 * math.sqrt(2 * k / math.pi)) < 4 * w.stderr
    scaled = rn.gaussian_mean_width(3 * cube, draws=500, seed=3, normalize=True)  # normalization undoes the 3
    assert scaled.width == pytest.approx(rn.gaussian_mean_width(cube, draws=500, seed=3).width, rel=1e-6)


def test_mean_width_standard_error_is_honest():
    """Independent estimates spread like the reported standard error (factor 1.5 either way)."""
    points = torch.randn(30, 10, generator=torch.Generator().manual_seed(0))
    estimates = [rn.gaussian_mean_width(points, draws=300, seed=s) for s in range(40)]
    spread = np.std([e.width for e in estimates], ddof=1)
    mean_se = np.mean([e.stderr for e in estimates])
    assert 1 / 1.5 < spread / mean_se < 1.5


def test_secant_width_known_cases():
    two = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    w = rn.secant_half_width(two, draws=20_000, seed=0)  # S = {+-u}: E|<g, u>| = sqrt(2 / pi)
    assert abs(w.width - math.sqrt(2 / math.pi)) < 4 * w.stderr
    generator = torch.Generator().manual_seed(1)
    basis, _ = torch.linalg.qr(torch.randn(30, 3, generator=generator, dtype=torch.float64))
    plane = torch.randn(150, 3, generator=generator, dtype=torch.float64) @ basis.T  # secants fill the 3-dim sphere
    w3 = rn.secant_half_width(plane, draws=400, seed=2)
    assert w3.width > 0.93 * rn.l2_ball_mean_width(3) / 2  # 11,175 secants: a fine net of the sphere
    assert w3.width <= rn.l2_ball_mean_width(3) / 2 + 4 * w3.stderr  # never above the whole sphere's
    # the brute-force secant set agrees
    i, j = torch.triu_indices(40, 40, 1)
    few = plane[:40]
    secants = (few[i] - few[j]) / (few[i] - few[j]).norm(dim=1, keepdim=True)
    brute = rn.gaussian_mean_width(torch.cat([secants, -secants]), draws=300, seed=5).width / 2
    assert rn.secant_half_width(few, draws=300, seed=5).width == pytest.approx(brute, rel=1e-9)


def test_ball_widths_closed_forms():
    assert rn.l2_ball_mean_width(1) == pytest.approx(2 * math.sqrt(2 / math.pi))
    assert rn.l1_ball_mean_width(1) == pytest.approx(2 * math.sqrt(2 / math.pi), rel=1e-7)
    g = torch.randn(200_000, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64).norm(dim=1)
    assert abs(rn.l2_ball_mean_width(5) - 2 * float(g.mean())) < 5 * 2 * float(g.std()) / math.sqrt(len(g))
    assert rn.l2_ball_mean_width(10_000) == pytest.approx(2 * math.sqrt(10_000 - 0.5), rel=1e-6)
    # E max |g_i| grows like sqrt(2 log d)
    assert rn.l1_ball_mean_width(10_000) / 2 == pytest.approx(math.sqrt(2 * math.log(10_000)), rel=0.12)


def test_gordon_bound_holds_on_a_subspace():
    """Unit vectors of a 6-dim subspace of R^50: a Gaussian map keeps all their norms within the bound."""
    q, _ = torch.linalg.qr(torch.randn(50, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    u = torch.randn(2000, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64) @ q.T
    u = u / u.norm(dim=1, keepdim=True)
    half = rn.gaussian_mean_width(torch.cat([u, -u]), draws=2000, seed=2).width / 2
    assert half == pytest.approx(rn.l2_ball_mean_width(6) / 2, rel=0.05)  # dense sample of the 6-dim sphere
    for m in (50, 400):
        a = rn.RandomGaussianNetwork(50, m, activation="linear", seed=m, dtype=torch.float64)
        distortion = float((a(u).norm(dim=1) - 1).abs().max())
        bound = rn.gordon_distortion_bound(half, m)
        assert distortion <= bound
        assert distortion > 0.25 * bound  # the bound is not vacuous on a subspace
    assert rn.gordon_distortion_bound(2.0, 400) < rn.gordon_distortion_bound(2.0, 100)


# ---------------------------------------------------------------------- intrinsic dimension


def test_pca_dimension_of_a_subspace_and_mle_of_a_cube():
    generator = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(30, 7, generator=generator, dtype=torch.float64))
    flat = torch.randn(500, 7, generator=generator, dtype=torch.float64) @ basis.T + 3.0
    assert rn.pca_dimension(flat, energy=0.999999) == 7
    assert rn.pca_dimension(flat, energy=0.5) < 7
    embed, _ = torch.linalg.qr(torch.randn(40, 5, generator=generator, dtype=torch.float64))
    cube = torch.rand(2000, 5, generator=generator, dtype=torch.float64) @ embed.T
    assert rn.mle_intrinsic_dimension(cube, k=10) == pytest.approx(5.0, rel=0.15)
    direction = torch.randn(1, 40, generator=generator, dtype=torch.float64)
    line = torch.rand(1000, 1, generator=generator, dtype=torch.float64) * direction
    assert rn.mle_intrinsic_dimension(line, k=10) == pytest.approx(1.0, rel=0.1)


# -------------------------------------------------------------------------------- inversion


def test_layerwise_inversion_is_exact_for_expansive_layers_only():
    x = torch.randn(20, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expansive = rn.RandomGaussianNetwork(10, (40, 160), seed=1, dtype=torch.float64)
    recovered = rn.invert_layerwise(expansive, expansive(x))
    assert float(((recovered - x).norm(dim=1) / x.norm(dim=1)).max()) < 1e-8
    narrow = rn.RandomGaussianNetwork(10, (12,), seed=1, dtype=torch.float64)  # m < 2n: not injective
    error = (rn.invert_layerwise(narrow, narrow(x)) - x).norm(dim=1) / x.norm(dim=1)
    assert float(error.median()) > 0.05


def test_gradient_inversion_recovers_an_expansive_network_input():
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    net = rn.RandomGaussianNetwork(5, (40, 80), seed=4, dtype=torch.float64)
    z, recorded = rn.invert_gradient(net, net(x), steps=400, lr=0.3, seed=5, record_at=(10, 400))
    error = (z - x).norm(dim=1) / x.norm(dim=1)
    assert float(error.median()) < 1e-4
    assert set(recorded) == {10, 400} and torch.equal(recorded[400], z)
    early = (recorded[10] - x).norm(dim=1) / x.norm(dim=1)
    assert float(early.median()) > float(error.median())


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("call, match", [
    (lambda: rn.RandomGaussianNetwork(0, (3,)), "'in_features'"),
    (lambda: rn.RandomGaussianNetwork(3, (4, 0)), "'widths'"),
    (lambda: rn.RandomGaussianNetwork(3, ()), "'widths'"),
    (lambda: rn.RandomGaussianNetwork(3, (4,), activation="tanh"), "'activation'"),
    (lambda: rn.RandomGaussianNetwork(3, (4,)).weight(1), "'layer'"),
    (lambda: rn.relu_angle_map(-0.1), r"\[0, pi\]"),
    (lambda: rn.iterated_angle_map(0.5, -1), "'depth'"),
    (lambda: rn.gaussian_mean_width(torch.ones(1, 3)), "at least 2 points"),
    (lambda: rn.gaussian_mean_width(torch.randn(4, 3), draws=0), "'draws'"),
    (lambda: rn.gaussian_mean_width(torch.zeros(2, 3), normalize=True), "zero point"),
    (lambda: rn.l2_ball_mean_width(0), "'d'"),
    (lambda: rn.secant_half_width(torch.ones(3, 2)), "duplicated"),
    (lambda: rn.pairwise_distance_ratios(torch.ones(3, 2), torch.ones(3, 2)), "equal rows"),
    (lambda: rn.gordon_distortion_bound(1.0, 0), "'m'"),
    (lambda: rn.pca_dimension(torch.randn(5, 3), energy=0.0), "'energy'"),
    (lambda: rn.mle_intrinsic_dimension(torch.randn(5, 3), k=10), "k < the number of points"),
    (lambda: rn.distance_ratios(torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 2), torch.zeros(1, 2)), "x == y"),
    (lambda: rn.distance_ratios(torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 2), torch.zeros(1, 2),
                                activation="abs"), "'activation'"),
    (lambda: rn.invert_layerwise(rn.RandomGaussianNetwork(3, (4,), activation="linear"), torch.ones(1, 4)), "'relu'"),
    (lambda: rn.invert_gradient(rn.RandomGaussianNetwork(3, (4,)), torch.ones(1, 4), steps=0, lr=0.1), "'steps'"),
    (lambda: rn.invert_gradient(rn.RandomGaussianNetwork(3, (4,)), torch.ones(1, 4), steps=5, lr=0.0), "'lr'"),
])
def test_bad_parameters_are_named(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: rn.RandomGaussianNetwork(3, (4,))(torch.ones(2, 5)),
    lambda: rn.RandomGaussianNetwork(3, (4,))(torch.ones(3)),
    lambda: rn.pair_angles(torch.ones(2, 3), torch.ones(3, 3)),
    lambda: rn.invert_layerwise(rn.RandomGaussianNetwork(3, (4,)), torch.ones(2, 5)),
])
def test_bad_shapes_raise_shape_error(call):
    with pytest.raises(ShapeError):
        call()
