"""CIFAR-10 from its python-pickle batches (Krizhevsky, "Learning multiple layers of features
from tiny images", 2009): ``data_batch_1`` ... ``data_batch_5`` (10,000 images each) and
``test_batch``, each a dict with ``data`` (n, 3072) uint8, rows of R, G, B planes of 32 x 32, and
``labels`` in 0..9.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..errors import DataError, InvalidParameterError, MissingData

__all__ = ["load_cifar10", "load_cifar_batch"]

INSTALL = ("Download 'CIFAR-10 python version' from https://www.cs.toronto.edu/~kriz/cifar.html and pass the"
           " directory 'cifar-10-batches-py'")


def load_cifar10(directory: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 3, 32, 32) uint8 and labels (n,) int64 of the 'train' (5 batches) or 'test' split."""
    if split not in ("train", "test"):
        raise InvalidParameterError(f"The 'split' parameter of load_cifar10 must be 'train' or 'test'. Got {split!r}.")
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    batches = [load_cifar_batch(Path(directory) / name) for name in names]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds NumPy arrays and plain containers, and refuses every other class: a
    batch is data, so a crafted file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR-10 batch")
        return super().find_class(module, name)


def load_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch as images (n, 3, 32, 32) uint8 and labels (n,) int64, after checks.

    Only the ``data`` and ``labels`` entries are used; a missing or unreadable file, rows that are
    not 3072 bytes, a label count that differs or a label outside 0..9 raise :class:`DataError`.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingData(f"The CIFAR-10 batch '{path.name}'", f"{INSTALL}.", f"'{path}' does not exist")
    try:
        with path.open("rb") as file:
            batch = _ArraysOnly(file, encoding="bytes").load()
    except Exception as exc:  # pickle raises many types on corrupt input (UnpicklingError, EOFError, ValueError...)
        raise DataError(f"'{path}' is not a readable CIFAR-10 pickle ({type(exc).__name__}: {exc})."
                        f" {INSTALL}.") from None
    if not isinstance(batch, dict):
        raise DataError(f"'{path}' holds a {type(batch).__name__}; expected a dict with b'data' and b'labels'.")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"'{path}' has the keys {sorted(map(str, batch))}; expected 'data' and 'labels'. {INSTALL}.")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"'{path}' holds data of shape {data.shape} and dtype {data.dtype};"
                        " expected (n, 3072) uint8 (3 x 32 x 32 images).")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"'{path}' holds {labels.shape} labels of dtype {labels.dtype} for {len(data)} images;"
                        " expected one integer label per image.")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"The labels of '{path}' must be in 0..9; found {int(labels.min())}..{int(labels.max())}.")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)
