"""Every reader of data: user files (images, audio, .npy), the image
classification sets (Fashion-MNIST/MNIST IDX, CIFAR-10 batches), molecules (QM9, .xyz) and
scikit-image's bundled samples, and the FSDD recordings (the one data set fetched, into the user
cache, when absent). A data set that is not installed raises :class:`~scatlab.errors.MissingData`."""
from .cifar import load_cifar10, load_cifar_batch
from .classification import dataset_format, is_fashion_mnist, load_classification
from .files import read_audio, read_image, read_signal
from .fsdd import fetch_fsdd, fsdd_dir, load_fsdd
from .idx import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load_idx, load_mnist
from .qm9 import QM9, load_qm9
from .xyz import parse_xyz, read_xyz

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_DIR", "QM9", "dataset_format", "fetch_fsdd", "fsdd_dir",
           "is_fashion_mnist", "load_cifar10",
           "load_cifar_batch", "load_classification", "load_fsdd", "load_idx", "load_mnist", "load_qm9", "parse_xyz", "read_audio",
           "read_image", "read_signal", "read_xyz"]
