"""Reproducible experiments: each is a module with a ``Config`` and a ``run`` (see ``registry``)."""
from .registry import EXPERIMENTS, Result, experiment_names, reproduce, run_experiment

__all__ = ["EXPERIMENTS", "Result", "experiment_names", "reproduce", "run_experiment"]
