"""MNIST and Fashion-MNIST: gzipped IDX files read into NumPy arrays, with every field checked.

IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header, then the
uint8 values. Images: magic 2051, count, rows, cols (16 bytes); labels: magic 2049, count
(8 bytes). Fashion-MNIST (Xiao, Rasul & Vollgraf, arXiv:1708.07747, 2017) uses the same files:
60,000 training and 10,000 test images of 28 x 28 pixels, 10 classes.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError, InvalidParameterError, MissingData

__all__ = ["FASHION_MNIST_DIR", "FASHION_MNIST_CLASSES", "load_idx", "load_mnist"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
INSTALL = ("Install the Debian package with 'apt-get install dataset-fashion-mnist' or pass the directory"
           " holding the files")


def load_mnist(directory: str | Path = FASHION_MNIST_DIR, split: str = "train", *,
               image_shape: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) uint8 and labels (n,) int64 of one split ('train' or 't10k'/'test').

    Reads ``{split}-images-idx3-ubyte.gz`` and ``{split}-labels-idx1-ubyte.gz`` in ``directory``;
    raises :class:`DataError` if a file is missing, truncated or corrupt, if the images are not
    ``image_shape``, if a label is outside 0..9 or if the two counts differ.
    """
    names = {"train": "train", "t10k": "t10k", "test": "t10k"}
    if split not in names:
        raise InvalidParameterError(f"The 'split' parameter of load_mnist must be 'train' or 't10k'. Got {split!r}.")
    directory = Path(directory)
    images = load_idx(directory / f"{names[split]}-images-idx3-ubyte.gz", IMAGES_MAGIC)
    labels = load_idx(directory / f"{names[split]}-labels-idx1-ubyte.gz", LABELS_MAGIC)
    image_file = directory / f"{names[split]}-images-idx3-ubyte.gz"
    if images.shape[1:] != tuple(image_shape):
        raise DataError(f"'{image_file}' holds images of {images.shape[1:]} pixels; expected {tuple(image_shape)}.")
    if len(images) != len(labels):
        raise DataError(f"'{image_file}' holds {len(images)} images but its label file {len(labels)} labels;"
                        f" they must match. {INSTALL}.")
    if labels.size and labels.max() > 9:
        raise DataError(f"The labels of '{directory / f'{names[split]}-labels-idx1-ubyte.gz'}' must be in 0..9;"
                        f" found {int(labels.max())}. {INSTALL}.")
    return images, labels.astype(np.int64)


def load_idx(path: str | Path, magic: int) -> np.ndarray:
    """The uint8 array of a gzipped IDX file, after checking its magic number and its size.

    ``magic`` is 2051 for images (count, rows, cols) and 2049 for labels (count).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingData(f"The IDX file '{path.name}'", f"{INSTALL}.", f"'{path}' does not exist")
    try:
        with gzip.open(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"'{path}' is not a readable gzip file ({exc}); expected a gzipped IDX file."
                        f" {INSTALL}.") from None
    ndim = {IMAGES_MAGIC: 3, LABELS_MAGIC: 1}[magic]
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise DataError(f"'{path}' is truncated: {len(raw)} bytes, less than its {header}-byte IDX header. {INSTALL}.")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"'{path}' has the magic number {found}; expected {magic}"
                        f" ({'images' if magic == IMAGES_MAGIC else 'labels'}, uint8). {INSTALL}.")
    dims = tuple(int(v) for v in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(f"'{path}' is {state}: {len(raw)} bytes for dimensions {dims}, expected {expected}. {INSTALL}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()
