"""Mutual-information estimators on cases with known answers (scatlab.theory.information)."""
import math

import numpy as np
import pytest
import torch

from scatlab.errors import DataError, InvalidParameterError, ShapeError
from scatlab.theory import information as info


def h_bits(p):
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


# ------------------------------------------------------------------------------------ binning


def test_entropy_of_codes_is_exact():
    assert info.entropy_bits([0, 0, 1, 1]) == pytest.approx(1.0)
    assert info.entropy_bits([[0, 1], [0, 1], [0, 1], [1, 0]]) == pytest.approx(h_bits([0.75, 0.25]))
    assert info.entropy_bits(np.zeros((7, 3))) == 0.0


def test_binning_of_a_deterministic_function_gives_its_entropy():
    # T takes 3 values with frequencies .2, .3, .5; Y is a function of T: I(X;T) = H(T), I(T;Y) = H(Y)
    t = np.repeat([0.05, 0.55, 0.95], [20, 30, 50])
    y = (t > 0.5).astype(int)
    i_xt, i_ty = info.binning_mutual_information(t, y, bins=10, value_range=(0.0, 1.0))
    assert i_xt == pytest.approx(h_bits([0.2, 0.3, 0.5]), abs=1e-12)
    assert i_ty == pytest.approx(h_bits([0.2, 0.8]), abs=1e-12)
    # two values falling into one bin merge: the estimate depends on the bin count
    assert info.binning_mutual_information(t, y, bins=1, value_range=(0.0, 1.0)).i_xt == 0.0


def test_binning_of_a_label_independent_layer_is_zero_exactly_or_up_to_the_plug_in_bias():
    # every value of T occurs equally often in every class: the empirical joint factorizes, I = 0
    t = np.tile(np.arange(5) / 4, 8)
    y = np.repeat(np.arange(4), 10)
    assert info.binning_mutual_information(t, y, bins=5).i_ty == pytest.approx(0.0, abs=1e-12)
    # independent draws: plug-in bias (|T|-1)(|Y|-1) / (2 n ln 2), std sqrt(2 dof) / (2 n ln 2)
    rng = np.random.default_rng(0)
    n, kt, ky = 2000, 5, 4
    t, y = rng.integers(0, kt, n) / (kt - 1), rng.integers(0, ky, n)
    dof = (kt - 1) * (ky - 1)
    scale = 2 * n * math.log(2)
    i_ty = info.binning_mutual_information(t, y, bins=kt).i_ty
    assert abs(i_ty - dof / scale) < 4 * math.sqrt(2 * dof) / scale
    frequencies = np.bincount((t * 4).astype(int)) / n
    assert info.binning_mutual_information(t, y, bins=kt).i_xt == pytest.approx(h_bits(frequencies))


def test_binning_saturates_at_log_n_and_grows_with_refined_bins():
    rng = np.random.default_rng(1)
    n = 256
    wide = np.tanh(rng.standard_normal((n, 50)))
    y = rng.integers(0, 3, n)
    assert info.binning_mutual_information(wide, y, bins=30, value_range=(-1, 1)).i_xt == pytest.approx(math.log2(n))
    narrow = np.tanh(rng.standard_normal((n, 2)))
    values = [info.binning_mutual_information(narrow, y, bins=b, value_range=(-1, 1)).i_xt for b in (2, 4, 8, 16)]
    assert all(a <= b + 1e-12 for a, b in zip(values, values[1:]))  # nested bins: refinements
    assert values[0] <= 2.0 and values[-1] <= math.log2(n)


def test_bin_codes():
    codes = info.bin_activations(np.array([[-1.0, 0.0, 0.99, 1.0, 5.0]]), bins=4, value_range=(-1, 1))
    np.testing.assert_array_equal(codes, [[0, 2, 3, 3, 3]])
    assert (info.bin_activations(np.full((3, 2), 0.4), bins=7) == 0).all()


# --------------------------------------------------------------------------------- KDE bounds


def mixture_information_1d(means, variances):
    """I(X;Z) in bits of a uniform mixture of 1-D Gaussians by quadrature: H(Z) - mean H(Z|X = i)."""
    means, variances = np.asarray(means, float), np.broadcast_to(np.asarray(variances, float), means.shape)
    sd = np.sqrt(variances.max())
    grid = np.linspace(means.min() - 12 * sd, means.max() + 12 * sd, 40001)
    density = (np.exp(-(grid[:, None] - means) ** 2 / (2 * variances)) / np.sqrt(2 * np.pi * variances)).mean(1)
    h = -np.sum(density * np.log(np.maximum(density, 1e-300))) * (grid[1] - grid[0])
    h_given_x = np.mean(0.5 * np.log(2 * np.pi * np.e * variances))
    return (h - h_given_x) / math.log(2)


@pytest.mark.parametrize("noise_variance", [0.05, 0.5, 5.0])
def test_kde_bounds_bracket_the_exact_information_of_the_noisy_layer(noise_variance):
    t = np.random.default_rng(2).standard_normal(120)
    exact = mixture_information_1d(t, noise_variance)
    lower = info.kde_mutual_information(t, np.zeros(120), noise_variance=noise_variance, bound="lower").i_xt
    upper = info.kde_mutual_information(t, np.zeros(120), noise_variance=noise_variance).i_xt
    assert lower <= exact <= upper
    assert 0 <= lower and upper <= math.log2(120)


def test_kde_limits_and_scale():
    n = 40
    y = np.repeat(np.arange(4), 10)
    same = np.zeros((n, 3))
    assert info.kde_mutual_information(same, y).i_xt == pytest.approx(0.0, abs=1e-12)
    # clusters far apart, one per class, coincident inside: I(X;T) = H(T) = 2 bits, I(T;Y) = H(Y) = 2 bits
    clusters = 100.0 * np.eye(4)[y]
    for bound in ("upper", "lower"):
        i_xt, i_ty = info.kde_mutual_information(clusters, y, noise_variance=0.1, bound=bound)
        assert i_xt == pytest.approx(2.0, abs=1e-9) and i_ty == pytest.approx(2.0, abs=1e-9)
    far = 100.0 * np.arange(n)[:, None]
    assert info.kde_mutual_information(far, y).i_xt == pytest.approx(math.log2(n))
    t = np.random.default_rng(3).standard_normal((50, 4))
    a = info.kde_mutual_information(t, y[:50] if n >= 50 else np.arange(50) % 3, noise_variance=0.2)
    b = info.kde_mutual_information(3 * t, np.arange(50) % 3, noise_variance=1.8)
    c = info.kde_mutual_information(t, np.arange(50) % 3, noise_variance=0.2)
    assert b.i_xt == pytest.approx(c.i_xt) and b.i_ty == pytest.approx(c.i_ty) and a == c
    # the grid gives the single-variance estimates, and the general mixture form with a shared variance
    grid = info.kde_mutual_information_grid(t, np.arange(50) % 3, (0.2, 1.8))
    assert grid[0] == pytest.approx(c) and grid[1] == pytest.approx(info.kde_mutual_information(t, np.arange(50) % 3,
                                                                                               noise_variance=1.8))
    assert info.pairwise_mixture_information(t, 0.2, np.arange(50) % 3) == pytest.approx(c)


def test_pairwise_mixture_with_per_sample_variances():
    rng = np.random.default_rng(4)
    means, variances = rng.standard_normal(80), np.exp(rng.uniform(-1.5, 0.5, 80))
    exact = mixture_information_1d(means, variances)
    upper = info.pairwise_mixture_information(means, variances[:, None]).i_xt
    lower = info.pairwise_mixture_information(means, variances[:, None], distance="bhattacharyya").i_xt
    assert lower <= exact <= upper
    # the pairwise KL matrix against torch.distributions, on diagonal Gaussians in 3-D
    m, v = torch.randn(6, 3, dtype=torch.float64), torch.rand(6, 3, dtype=torch.float64) + 0.2
    ours = info._pairwise_divergence(m, v, "kl")
    normal = torch.distributions.Normal
    theirs = torch.distributions.kl_divergence(normal(m[:, None], v[:, None].sqrt()), normal(m[None], v[None].sqrt()))
    torch.testing.assert_close(ours, theirs.sum(-1))
    # a shared variance takes the distance path: same numbers as the per-sample formula
    shared = torch.full((6, 3), 0.7, dtype=torch.float64)
    torch.testing.assert_close(info._pairwise_divergence(m, shared, "kl"),
                               torch.distributions.kl_divergence(normal(m[:, None], shared[:, None].sqrt()),
                                                                 normal(m[None], shared[None].sqrt())).sum(-1))
    # Bhattacharyya of two 1-D Gaussians: (m1 - m2)^2 / (4 (v1 + v2)) + log((v1 + v2) / (2 sqrt(v1 v2))) / 2
    two_m, two_v = torch.tensor([[0.0], [1.5]], dtype=torch.float64), torch.tensor([[0.5], [2.0]], dtype=torch.float64)
    expected = 1.5 ** 2 / (4 * 2.5) + 0.5 * math.log(2.5 / (2 * 1.0))
    assert float(info._pairwise_divergence(two_m, two_v, "bhattacharyya")[0, 1]) == pytest.approx(expected)


# ---------------------------------------------------------------------------------------- KSG


def test_ksg_on_correlated_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(5)
    n = 2000
    # at n = 2000, k = 3 the estimator's spread over seeds was about 0.02 bits (measured): 0.08 is 4 of them
    for rho in (0.0, 0.6, 0.9):
        x = rng.standard_normal(n)
        y = rho * x + math.sqrt(1 - rho ** 2) * rng.standard_normal(n)
        exact = -0.5 * math.log2(1 - rho ** 2)
        assert exact == pytest.approx(info.gaussian_mutual_information([[1, rho], [rho, 1]], 1))
        assert info.ksg_mutual_information(x, y, k=3) == pytest.approx(exact, abs=0.08)


def test_ksg_multivariate_against_log_det():
    rng = np.random.default_rng(6)
    # canonical correlations 0.7 and 0.5, each side mixed by an invertible map (I unchanged)
    canonical = np.eye(4)
    canonical[0, 2] = canonical[2, 0] = 0.7
    canonical[1, 3] = canonical[3, 1] = 0.5
    mix = np.zeros((4, 4))
    mix[:2, :2], mix[2:, 2:] = [[1.0, 0.5], [0.2, 1.0]], [[1.0, -0.4], [0.3, 0.8]]
    cov = mix @ canonical @ mix.T
    z = rng.multivariate_normal(np.zeros(4), cov, size=3000)
    exact = info.gaussian_mutual_information(cov, 2)
    assert exact == pytest.approx(-0.5 * math.log2((1 - 0.49) * (1 - 0.25)))
    assert info.ksg_mutual_information(z[:, :2], z[:, 2:], k=4) == pytest.approx(exact, abs=0.12)


# ------------------------------------------------------------------------------------ errors


def test_bad_inputs_name_the_parameter():
    y = np.zeros(10)
    with pytest.raises(InvalidParameterError, match="'bins'"):
        info.binning_mutual_information(np.ones((10, 2)), y, bins=0)
    with pytest.raises(InvalidParameterError, match="'noise_variance'"):
        info.kde_mutual_information(np.ones((10, 2)), y, noise_variance=0.0)
    with pytest.raises(InvalidParameterError, match="'noise_variances'"):
        info.kde_mutual_information_grid(np.ones((10, 2)), y, ())
    with pytest.raises(InvalidParameterError, match="'bound'"):
        info.kde_mutual_information(np.ones((10, 2)), y, bound="middle")
    with pytest.raises(InvalidParameterError, match="'k'"):
        info.ksg_mutual_information(np.ones(5), np.ones(5), k=5)
    with pytest.raises(InvalidParameterError, match="at least 2"):
        info.kde_mutual_information(np.ones((1, 2)), np.zeros(1))
    with pytest.raises(ShapeError, match="'y'"):
        info.binning_mutual_information(np.ones((10, 2)), np.zeros(9))
    with pytest.raises(ShapeError, match="'t'"):
        info.binning_mutual_information(np.ones((10, 2, 2)), y)
    with pytest.raises(DataError, match="NaN"):
        info.kde_mutual_information(np.full((10, 2), np.nan), y)
    with pytest.raises(InvalidParameterError, match="'variance'"):
        info.pairwise_mixture_information(np.ones((10, 2)), -1.0)
    with pytest.raises(ShapeError, match="'variance'"):
        info.pairwise_mixture_information(np.ones((10, 2)), np.ones((3, 2)))
    with pytest.raises(InvalidParameterError, match="'covariance'"):
        info.gaussian_mutual_information(np.ones((2, 2)), 1)
