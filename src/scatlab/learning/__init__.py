"""Learning with scattering invariants: features, linear/kernel classifiers, networks, training."""
from .features import log_features, order_channels, scattering_features
from .linear import CLASSIFIERS, make_classifier
from .models import MODELS, PhaseCollapseNet, ScatteringHybrid, WideResNet, build_model
from .training import TrainSettings, default_device, evaluate, init_distributed, seed_everything, train

__all__ = ["CLASSIFIERS", "MODELS", "PhaseCollapseNet", "ScatteringHybrid", "TrainSettings", "WideResNet",
           "build_model", "default_device", "evaluate", "init_distributed", "log_features", "make_classifier",
           "order_channels", "scattering_features", "seed_everything", "train"]
