"""Separation and concentration measures on cases with known answers (scatlab.theory.separation)."""
import numpy as np
import pytest
import torch

from scatlab.errors import DataError, InvalidParameterError, ShapeError
from scatlab.theory import separation as sep


def cross_classes(means, a, b):
    """Each class c: the 4 points mu_c +- a e_1, mu_c +- b e_2, so Sigma_c = diag(a^2/2, b^2/2, 0, ...) exactly."""
    means = np.asarray(means, dtype=float)
    d = means.shape[1]
    e1, e2 = np.eye(d)[0], np.eye(d)[1]
    h = np.concatenate([mu + np.stack([a * e1, -a * e1, b * e2, -b * e2]) for mu in means])
    return h, np.repeat(np.arange(len(means)), 4)


# ------------------------------------------------------------------------------ closed forms


def test_within_and_between_traces_and_nc1_in_closed_form():
    a, b, m = 0.6, 0.3, 2.0
    # means along e_1, the direction of the larger within-class variance a^2 / 2
    h, y = cross_classes([[m, 0, 0, 0], [-m, 0, 0, 0], [0, 0, 0, 0]], a, b)
    s = sep.class_statistics(h, y)
    assert s.within_trace == pytest.approx((a**2 + b**2) / 2)
    assert s.between_trace == pytest.approx(2 * m**2 / 3)
    assert sep.within_between_ratio(h, y) == pytest.approx((a**2 + b**2) / 2 / (2 * m**2 / 3))
    # Sigma_B = diag(2 m^2 / 3, 0, ...): tr(Sigma_W Sigma_B^+) / K = (a^2 / 2) (3 / (2 m^2)) / 3
    assert sep.nc1(h, y) == pytest.approx(a**2 / (4 * m**2))
    # means along e_3, orthogonal to every within-class direction: NC1 = 0 although the ratio is not
    h, y = cross_classes([[0, 0, m, 0], [0, 0, -m, 0], [0, 0, 0, 0]], a, b)
    assert sep.nc1(h, y) == pytest.approx(0.0, abs=1e-12)
    assert sep.within_between_ratio(h, y) == pytest.approx((a**2 + b**2) / 2 / (2 * m**2 / 3))
    # separation: |mu_k - mu_l| / sqrt((a^2 + b^2) / 2), pairs at distances m, m, 2m
    unit = np.sqrt((a**2 + b**2) / 2)
    found = sep.class_mean_separation(h, y)
    assert found.min == pytest.approx(m / unit) and found.mean == pytest.approx(4 * m / 3 / unit)


def test_gaussian_classes_match_the_population_values():
    rng = np.random.default_rng(0)
    d, sigma, n = 5, 0.7, 20000
    means = rng.normal(size=(3, d)) * 2
    h = np.concatenate([mu + sigma * rng.normal(size=(n, d)) for mu in means])
    y = np.repeat(np.arange(3), n)
    centred = means - means.mean(0)
    sigma_b = centred.T @ centred / 3
    nc1_true = np.trace(sigma**2 * np.eye(d) @ np.linalg.pinv(sigma_b)) / 3
    ratio_true = d * sigma**2 / np.trace(sigma_b)
    assert sep.nc1(h, y) == pytest.approx(nc1_true, rel=0.03)
    assert sep.within_between_ratio(h, y) == pytest.approx(ratio_true, rel=0.02)
    assert sep.effective_dimension(h, y) == pytest.approx(d, rel=0.02)  # isotropic within-class: d


def test_collapsed_classes():
    means = np.array([[1.0, 0, 2], [0, 3, 0], [-1, -1, 1]])
    y = np.repeat(np.arange(3), 5)
    h = means[y]
    assert sep.nc1(h, y) == 0.0
    assert sep.within_between_ratio(h, y) == 0.0
    assert sep.effective_dimension(h, y) == 0.0
    assert sep.nearest_class_mean_accuracy(h, y, h, y) == 100.0
    assert sep.class_mean_separation(h, y).min == np.inf
    # coinciding means: nothing separates them
    assert sep.within_between_ratio(np.zeros((6, 2)) + np.arange(6)[:, None] % 2, np.repeat([0, 1], 3)) < np.inf
    same = np.tile([[0.0, 1.0], [0.0, -1.0]], (3, 1))
    assert sep.nc1(same, np.repeat([0, 1, 2], 2)) == np.inf


@pytest.mark.parametrize("d, n_dims", [(6, 6), (50, 10)])  # d < n (covariance) and d > n (Gram)
def test_effective_dimension_of_isotropic_data_is_its_dimension(d, n_dims):
    # +- e_j for j < n_dims: mean 0, covariance (2 / 2 n_dims) I_{n_dims}, exactly
    points = np.concatenate([np.eye(d)[:n_dims], -np.eye(d)[:n_dims]])
    assert sep.effective_dimension(points, covariance="total") == pytest.approx(n_dims)
    # two classes, each the same cross around its own mean: within-class dimension n_dims
    h = np.concatenate([points + 5 * np.eye(d)[-1], points - 5 * np.eye(d)[-1]])
    y = np.repeat([0, 1], len(points))
    assert sep.effective_dimension(h, y) == pytest.approx(n_dims)
    # unequal eigenvalues 1 and 4 on two axes: (1 + 4)^2 / (1 + 16)
    stretched = np.array([[1.0, 0], [-1, 0], [0, 2], [0, -2]])
    assert sep.effective_dimension(stretched, covariance="total") == pytest.approx(25 / 17)


def test_nearest_class_mean_on_a_hand_example():
    fit = np.array([[0.0, 0], [0, 2], [4, 0], [4, 2]])
    fit_y = np.array([0, 0, 1, 1])  # means (0, 1) and (4, 1)
    h = np.array([[1.0, 1], [3, 1], [1.9, 5], [2.1, -5]])
    assert sep.nearest_class_mean_accuracy(fit, fit_y, h, np.array([0, 1, 0, 1])) == 100.0
    assert sep.nearest_class_mean_accuracy(fit, fit_y, h, np.array([1, 1, 0, 0])) == 50.0
    assert sep.nearest_class_mean_accuracy(torch.tensor(fit), torch.tensor(fit_y), torch.tensor(h),
                                           torch.tensor([0, 1, 0, 1])) == 100.0


# ------------------------------------------------------------------------------------- probe


def blobs(rng, n, d, gap):
    y = np.arange(n) % 2
    h = rng.normal(size=(n, d))
    h[:, 0] += gap * (2 * y - 1)
    return h, y


def test_probe_on_linearly_separable_data_is_perfect():
    rng = np.random.default_rng(1)
    train, val, test = blobs(rng, 60, 3, 10), blobs(rng, 40, 3, 10), blobs(rng, 200, 3, 10)
    result = sep.linear_probe(*train, *val, *test, Cs=(0.1, 10.0))
    assert result.test_accuracy == 100.0 and result.validation_accuracy == 100.0
    assert result.C in result.grid and len(result.scores) == 2
    # label noise-free but overlapping classes (gap 0): about chance
    train, val, test = blobs(rng, 200, 3, 0), blobs(rng, 200, 3, 0), blobs(rng, 2000, 3, 0)
    assert abs(sep.linear_probe(*train, *val, *test).test_accuracy - 50) < 5


def test_probe_in_the_span_of_the_training_features_equals_the_full_fit():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    d = 300  # more features than the 40 training samples: the probe works in their span
    train, val, test = blobs(rng, 40, d, 3), blobs(rng, 40, d, 3), blobs(rng, 300, d, 3)
    result = sep.linear_probe(*train, *val, *test, Cs=(1.0,), max_iter=5000)
    mean, std = train[0].mean(0), train[0].std(0)
    full = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit((train[0] - mean) / std / np.sqrt(d), train[1])
    expected = 100 * float((full.predict((test[0] - mean) / std / np.sqrt(d)) == test[1]).mean())
    assert result.test_accuracy == pytest.approx(expected, abs=100 / 300 + 1e-9)  # at most one borderline image
    assert 55 < result.test_accuracy < 100  # a non-trivial case (40 samples, 300 dimensions)


# -------------------------------------------------------------------------------- bad input


def test_bad_inputs_name_the_parameter():
    h, y = cross_classes([[1, 0, 0], [0, 1, 0]], 0.1, 0.1)
    with pytest.raises(InvalidParameterError, match="'labels'.*class 1 has 1.*at least 2 per class"):
        sep.nc1(np.concatenate([h[:4], h[4:5]]), np.array([0, 0, 0, 0, 1]))
    with pytest.raises(InvalidParameterError, match="'labels'.*1 class"):
        sep.within_between_ratio(h, np.zeros(len(h)))
    with pytest.raises(ShapeError, match="'labels'.*one label per sample"):
        sep.class_mean_separation(h, y[:-1])
    with pytest.raises(ShapeError, match="'features'.*\\(n, d\\)"):
        sep.nc1(np.zeros((2, 3, 4)), [0, 1])
    with pytest.raises(DataError, match="'features'.*NaN"):
        sep.nc1(np.where(np.arange(h.size).reshape(h.shape) == 3, np.nan, h), y)
    with pytest.raises(InvalidParameterError, match="'rcond'"):
        sep.nc1(h, y, rcond=-1)
    with pytest.raises(InvalidParameterError, match="'covariance'"):
        sep.effective_dimension(h, y, covariance="between")
    with pytest.raises(InvalidParameterError, match="'labels'"):
        sep.effective_dimension(h)
    with pytest.raises(InvalidParameterError, match="'labels'.*class 5.*absent from 'fit_labels'"):
        sep.nearest_class_mean_accuracy(h, y, h[:2], [0, 5])
    with pytest.raises(ShapeError, match="'features' has 2 features"):
        sep.nearest_class_mean_accuracy(h, y, h[:, :2], y)
    with pytest.raises(InvalidParameterError, match="'Cs'"):
        sep.linear_probe(h, y, h, y, h, y, Cs=(0.0,))
    with pytest.raises(InvalidParameterError, match="'max_iter'"):
        sep.linear_probe(h, y, h, y, h, y, max_iter=0)
    with pytest.raises(ShapeError, match="'test_features' has 2 features"):
        sep.linear_probe(h, y, h, y, h[:, :2], y)
