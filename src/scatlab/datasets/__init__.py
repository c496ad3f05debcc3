"""Image classification data sets read from local files (no download): Fashion-MNIST/MNIST, CIFAR-10."""
from .cifar import load_cifar10, load_cifar_batch
from .classification import dataset_format, is_fashion_mnist, load_classification
from .idx import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load_idx, load_mnist

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_DIR", "dataset_format", "load_cifar10", "load_cifar_batch",
           "is_fashion_mnist", "load_classification", "load_idx", "load_mnist"]
