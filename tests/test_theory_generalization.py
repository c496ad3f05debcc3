"""scatlab.theory.generalization: exact corruption fractions, pixel shuffles and Gaussian images,
the Rademacher estimator on the linear class (exact values), and the bounds' arithmetic."""
import math

import pytest
import torch

from scatlab.errors import DataError, InvalidParameterError, ShapeError
from scatlab.theory.generalization import (corrupt_labels, empirical_rademacher, gaussian_images,
                                           linear_ball_rademacher, rademacher_gap_bound, rademacher_signs,
                                           shuffle_pixels, vc_gap_bound)


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 1.0])
def test_label_corruption_fraction_is_exact(fraction):
    y = torch.arange(1000) % 10
    out, mask = corrupt_labels(y, fraction, 10, seed=3)
    assert int(mask.sum()) == round(fraction * 1000)
    assert torch.equal(out[~mask], y[~mask])
    strict, strict_mask = corrupt_labels(y, fraction, 10, seed=3, exclude_true=True)
    assert torch.equal(strict_mask, mask) and torch.equal(strict != y, mask)
    assert torch.equal(corrupt_labels(y, fraction, 10, seed=3)[0], out)  # deterministic
    if fraction == 1.0:  # uniform new labels: each class ~ 100 +- 3 sigma (sigma = sqrt(1000 * 0.09) = 9.5)
        assert (torch.bincount(out, minlength=10) - 100).abs().max() < 30
        changed = float((out != y).double().mean())  # expected 0.9, sigma = 0.0095
        assert abs(changed - 0.9) < 0.04


def test_shuffled_pixels_use_one_permutation_for_all_images():
    x = torch.rand(5, 3, 4, 6)
    s = shuffle_pixels(x, seed=1)
    flat_x, flat_s = x.flatten(2), s.flatten(2)
    # recover the permutation from image 0, channel 0 (distinct values) and check it everywhere
    perm = torch.tensor([int((flat_x[0, 0] == v).nonzero()) for v in flat_s[0, 0]])
    torch.testing.assert_close(flat_s, flat_x[..., perm])
    assert sorted(perm.tolist()) == list(range(24)) and perm.tolist() != list(range(24))
    torch.testing.assert_close(shuffle_pixels(x, seed=1), s)


def test_gaussian_images_match_channel_statistics():
    torch.manual_seed(0)
    x = torch.rand(200, 2, 8, 8) * torch.tensor([1.0, 3.0])[None, :, None, None]
    g = gaussian_images(x, seed=0)
    assert g.shape == x.shape
    # 12,800 pixels per channel: mean within 4 std/sqrt(N), std within 2 %
    for c in range(2):
        assert abs(g[:, c].mean() - x[:, c].mean()) < 4 * x[:, c].std() / math.sqrt(12800)
        assert g[:, c].std() == pytest.approx(float(x[:, c].std()), rel=0.02)


def linear_fit(x):
    """The exact sup over the unit ball: w = sum sigma_i x_i / ||.||, values <w, x_i>."""
    def fit(sigma, k):
        w = sigma.double() @ x
        return x @ (w / w.norm())
    return fit


def test_rademacher_of_orthonormal_points_is_one_over_sqrt_n():
    x = torch.eye(16, dtype=torch.float64)  # ||sum sigma_i e_i|| = 4 for every sign vector
    estimate = empirical_rademacher(linear_fit(x), 16, draws=5, seed=0)
    assert estimate.correlations == pytest.approx([0.25] * 5, abs=1e-12)
    assert linear_ball_rademacher(x) == pytest.approx(0.25, abs=1e-12)


def test_rademacher_monte_carlo_against_exact_enumeration():
    torch.manual_seed(0)
    x = torch.randn(10, 3, dtype=torch.float64)
    x = x / x.norm(dim=1).max()  # points in the unit ball: values of the unit-ball class in [-1, 1]
    exact = linear_ball_rademacher(x)
    assert exact <= math.sqrt(float((x ** 2).sum())) / 10  # Jensen: r sqrt(sum ||x_i||^2) / n
    assert linear_ball_rademacher(x, radius=2.0) == pytest.approx(2 * exact)
    estimate = empirical_rademacher(linear_fit(x), 10, draws=400, seed=1)
    assert estimate.stderr > 0 and abs(estimate.mean - exact) < 4 * estimate.stderr  # MC error: 4 standard errors


def test_rademacher_of_a_class_that_fits_every_sign_is_one():
    estimate = empirical_rademacher(lambda s, k: s, 50, draws=3, seed=0)
    assert estimate.mean == 1.0 and estimate.stderr == 0.0


def test_signs_are_balanced_and_deterministic():
    s = rademacher_signs(10000, seed=2)
    assert set(s.unique().tolist()) == {-1.0, 1.0} and abs(float(s.mean())) < 4 / 100
    assert torch.equal(s, rademacher_signs(10000, seed=2))


def test_bounds_by_hand():
    # n < d: growth function 2^n, the bound is sqrt(2 ln 2) + sqrt(ln 20 / 2n) > 1
    assert vc_gap_bound(100, 1000) == pytest.approx(math.sqrt(2 * math.log(2)) + math.sqrt(math.log(20) / 200))
    n, d = 10000, 10
    assert vc_gap_bound(n, d, delta=0.1) == pytest.approx(math.sqrt(2 * d * math.log(math.e * n / d) / n)
                                                          + math.sqrt(math.log(10) / (2 * n)))
    assert rademacher_gap_bound(0.5, 200) == pytest.approx(0.5 + 3 * math.sqrt(math.log(40) / 400))


def test_bad_inputs_name_the_parameter():
    y = torch.arange(10) % 3
    with pytest.raises(InvalidParameterError, match="fraction"):
        corrupt_labels(y, 1.5, 3, 0)
    with pytest.raises(InvalidParameterError, match="num_classes"):
        corrupt_labels(y, 0.5, 2, 0)
    with pytest.raises(ShapeError, match="labels"):
        corrupt_labels(y.float(), 0.5, 3, 0)
    with pytest.raises(ShapeError, match="shuffle_pixels"):
        shuffle_pixels(torch.zeros(3, 4), 0)
    with pytest.raises(InvalidParameterError, match="draws"):
        empirical_rademacher(lambda s, k: s, 5, draws=0, seed=0)
    with pytest.raises(ShapeError, match="fit"):
        empirical_rademacher(lambda s, k: s[:3], 5, draws=1, seed=0)
    with pytest.raises(DataError, match="fit"):
        empirical_rademacher(lambda s, k: 2 * s, 5, draws=1, seed=0)
    with pytest.raises(InvalidParameterError, match="x"):
        linear_ball_rademacher(torch.zeros(30, 2))
    with pytest.raises(InvalidParameterError, match="vc_dimension"):
        vc_gap_bound(10, 0)
    with pytest.raises(InvalidParameterError, match="delta"):
        rademacher_gap_bound(0.5, 10, delta=1.0)
