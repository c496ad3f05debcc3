"""An image classification data set from a directory, whatever its format: MNIST/Fashion-MNIST
gzipped IDX files (one channel, 28 x 28) or CIFAR-10 python batches (three channels, 32 x 32).

The experiments read their data through :func:`load_classification`, so pointing their
``data_dir`` at either kind of directory runs the same code.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError, InvalidParameterError, MissingData
from .cifar import load_cifar10
from .idx import FASHION_MNIST_DIR, load_mnist

__all__ = ["load_classification", "dataset_format", "is_fashion_mnist"]


def dataset_format(directory: str | Path) -> str:
    """'cifar' if ``directory`` holds CIFAR-10 batches, 'mnist' if it holds IDX files; else DataError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MissingData("The image data set", "Install Fashion-MNIST with 'apt-get install dataset-fashion-mnist'"
                          " (it lands in /usr/share/datasets/fashion-mnist), or point data_dir at a directory of"
                          " MNIST/Fashion-MNIST IDX files or of CIFAR-10 python batches.",
                          f"the directory '{directory}' does not exist")
    if (directory / "data_batch_1").is_file() or (directory / "test_batch").is_file():
        return "cifar"
    if any(directory.glob("*-idx[13]-ubyte.gz")):
        return "mnist"
    raise DataError(f"'{directory}' holds no image data set: expected MNIST/Fashion-MNIST files"
                    " (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-...; 'apt-get install"
                    " dataset-fashion-mnist' puts them in /usr/share/datasets/fashion-mnist) or CIFAR-10 python"
                    " batches (data_batch_1 ... data_batch_5, test_batch, from 'cifar-10-batches-py').")


def load_classification(directory: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, C, M, N) uint8 and labels (n,) int64 of the 'train' or 'test' split of ``directory``."""
    if split not in ("train", "test"):
        raise InvalidParameterError(f"The 'split' parameter of load_classification must be 'train' or 'test'."
                                    f" Got {split!r}.")
    if dataset_format(directory) == "cifar":
        return load_cifar10(directory, split)
    images, labels = load_mnist(directory, split)
    return images[:, None], labels


def is_fashion_mnist(directory: str | Path) -> bool:
    """Whether ``directory`` is the installed Fashion-MNIST, the data set our published targets refer to."""
    return Path(directory).resolve() == FASHION_MNIST_DIR.resolve()
