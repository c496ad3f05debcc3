"""Learning with scattering invariants: features, linear/kernel classifiers, regression, training."""
from .features import log_features, order_channels, scattering_features
from .linear import CLASSIFIERS, make_classifier
from .training import TrainSettings, evaluate, train

__all__ = ["CLASSIFIERS", "TrainSettings", "evaluate", "log_features", "make_classifier", "order_channels",
           "scattering_features", "train"]
