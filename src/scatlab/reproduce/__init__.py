"""The main job: find the experiments (:mod:`.registry`), configure them (:mod:`.config`), run and
record them (:mod:`.runner`, :mod:`.records`) with their provenance (:mod:`.provenance`)."""
from .config import ConfigOverrideError, configure
from .registry import EXPERIMENTS, UnknownExperiment, experiment_names, load
from .runner import CHECKPOINTS, USER_ERRORS, CheckpointsExist, reproduce, run_experiment

__all__ = ["CHECKPOINTS", "EXPERIMENTS", "USER_ERRORS", "CheckpointsExist", "ConfigOverrideError", "UnknownExperiment",
           "configure", "experiment_names", "load", "reproduce", "run_experiment"]
