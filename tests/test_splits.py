"""Held-out splits: class-balanced, disjoint, deterministic, and clear errors."""
import numpy as np
import pytest

from scatlab.errors import InvalidParameterError
from scatlab.learning.splits import train_validation_indices


def test_train_and_validation_are_balanced_disjoint_and_seeded():
    labels = np.repeat(np.arange(4), [30, 25, 40, 20])
    train, validation = train_validation_indices(labels, 40, 20, seed=3)
    assert not set(train) & set(validation)
    assert np.bincount(labels[train]).tolist() == [10] * 4
    assert np.bincount(labels[validation]).tolist() == [5] * 4
    again = train_validation_indices(labels, 40, 20, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, validation), again))
    other = train_validation_indices(labels, 40, 20, seed=4)
    assert not np.array_equal(train, other[0])


@pytest.mark.parametrize("n_train, n_validation, match", [
    (41, 20, "'n_train'"), (40, 0, "'n_validation'"), (40, 44, "smallest class has 20")])
def test_bad_sizes_name_the_parameter(n_train, n_validation, match):
    labels = np.repeat(np.arange(4), [30, 25, 40, 20])
    with pytest.raises(InvalidParameterError, match=match):
        train_validation_indices(labels, n_train, n_validation, seed=0)


def test_held_out_indices_balanced_complementary_and_bounded():
    from scatlab.learning.splits import held_out_indices

    labels = np.repeat(np.arange(4), [30, 25, 40, 20])
    rest, validation = held_out_indices(labels, 40, seed=1)
    assert np.bincount(labels[validation]).tolist() == [10] * 4
    assert sorted(np.concatenate([rest, validation]).tolist()) == list(range(len(labels)))
    with pytest.raises(InvalidParameterError, match="'n_validation' = 80 .* at most 76"):
        held_out_indices(labels, 80, seed=1)
