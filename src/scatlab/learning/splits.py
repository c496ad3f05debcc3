"""Held-out splits: class-balanced, disjoint training and validation subsets of a training set.

Every choice an experiment makes (hyperparameter, epochs, representation) is made on the
validation subset; the test set is scored once, for the chosen configuration.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import InvalidParameterError
from .regimes import image_tensors

__all__ = ["held_out_indices", "train_validation_indices", "train_validation_test"]


def train_validation_indices(labels: np.ndarray, n_train: int, n_validation: int,
                             seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint class-balanced index sets (training, validation) of ``labels``.

    Per class, the shuffled indices (seed ``seed``) give the first n_train / classes to training and
    the next n_validation / classes to validation; both sizes must be multiples of the number of
    classes and fit in the smallest class.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    k_train, k_val = n_train // len(classes), n_validation // len(classes)
    smallest = min(int((labels == c).sum()) for c in classes)
    for name, n, k in (("n_train", n_train, k_train), ("n_validation", n_validation, k_val)):
        if n < len(classes) or k * len(classes) != n:
            raise InvalidParameterError(f"'{name}' = {n} must be a positive multiple of the {len(classes)} classes.")
    if k_train + k_val > smallest:
        raise InvalidParameterError(
            f"'n_train' + 'n_validation' = {n_train + n_validation} needs {k_train + k_val} images per class, but the"
            f" smallest class has {smallest}; ask for at most {smallest * len(classes)} images in all.")
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    train = np.sort(np.concatenate([p[:k_train] for p in per_class]))
    validation = np.sort(np.concatenate([p[k_train:k_train + k_val] for p in per_class]))
    return train, validation


def held_out_indices(labels: np.ndarray, n_validation: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(every other index, a class-balanced validation set of ``n_validation`` indices) of ``labels``;
    each class keeps at least one image outside the validation set."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    k = n_validation // len(classes)
    smallest = min(int((labels == c).sum()) for c in classes)
    if n_validation < len(classes) or k * len(classes) != n_validation or k >= smallest:
        raise InvalidParameterError(
            f"'n_validation' = {n_validation} must be a positive multiple of the {len(classes)} classes and leave"
            f" images to train on: at most {(smallest - 1) * len(classes)} here (the smallest class has {smallest}).")
    rng = np.random.default_rng(seed)
    validation = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c in classes]))
    return np.setdiff1d(np.arange(len(labels)), validation), validation


def train_validation_test(data_dir: str | Path, n_train: int, n_validation: int, n_test: int,
                          seed: int) -> dict[str, torch.Tensor]:
    """The data set of ``data_dir`` (Fashion-MNIST, MNIST or CIFAR-10 files) as float32 (N, C, M, N)
    images in [0, 1] and int64 labels: x_train/y_train and x_validation/y_validation from
    :func:`train_validation_indices` of its training set, and its first ``n_test`` test images."""
    data = image_tensors(data_dir, n_test)
    if n_test < 1 or len(data["y_test"]) < n_test:
        raise InvalidParameterError(f"'n_test' = {n_test} must be between 1 and the {len(data['y_test'])} test"
                                    " images of the data set.")
    train, validation = train_validation_indices(data["y_train"].numpy(), n_train, n_validation, seed)
    train, validation = torch.as_tensor(train), torch.as_tensor(validation)
    return {"x_train": data["x_train"][train], "y_train": data["y_train"][train],
            "x_validation": data["x_train"][validation], "y_validation": data["y_train"][validation],
            "x_test": data["x_test"], "y_test": data["y_test"]}
