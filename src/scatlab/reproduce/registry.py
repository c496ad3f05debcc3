"""The registered experiments: every module of :mod:`scatlab.experiments` but those named ``_*``.

Adding an experiment is adding its module: :data:`EXPERIMENTS` lists them (:func:`discover`, which
imports none) in the order of :data:`ORDER`, then alphabetically; a module is imported only when
it runs (:func:`load`).
"""
from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Sequence
from pathlib import Path

from .. import experiments
from ..errors import InvalidParameterError

__all__ = ["EXPERIMENTS", "ORDER", "UnknownExperiment", "discover", "experiment_names", "load"]

ORDER: tuple[str, ...] = (
    "stability",
    "textures",
    "fmnist-linear",
    "fmnist-hybrid",
    "fmnist-phase-collapse",
    "rotation",
    "audio",
    "qm9",
    "qm9-sparse",
    "qm9-invariants",
    "lipschitz",
    "random-networks",
    "generalization",
    "information",
    "global-optimality",
    "lazy-training",
    "separability",
    "rainbow",
    "invertible",
    "phi4",
    "wsgm",
)
"""The listing order of these experiments; the other discovered ones follow, alphabetically."""


def discover(path: str | Path = Path(experiments.__file__).parent) -> tuple[str, ...]:
    """The experiment names in ``path``: its modules but ``_*``, with ``-`` for ``_``."""
    found = {info.name.replace("_", "-") for info in pkgutil.iter_modules([str(path)])
             if not info.name.startswith("_") and not info.ispkg}
    return tuple(name for name in ORDER if name in found) + tuple(sorted(found.difference(ORDER)))


EXPERIMENTS: tuple[str, ...] = discover()
"""The registered experiments, in the order ``scatlab reproduce`` runs them."""


class UnknownExperiment(InvalidParameterError):
    """A name that is not a registered experiment (``name``; ``known``: the registered ones)."""

    def __init__(self, name: str, known: Sequence[str]):
        self.name, self.known = name, tuple(known)
        super().__init__(f"{name!r} is not a registered experiment; the experiments are: {', '.join(known)}.")


def experiment_names(names: Sequence[str] = ()) -> list[str]:
    """The registered names to run: all of them if ``names`` is empty; an unknown name raises."""
    for name in names:
        if name not in EXPERIMENTS:
            raise UnknownExperiment(name, EXPERIMENTS)
    return list(dict.fromkeys(names)) if names else list(EXPERIMENTS)


def load(name: str) -> types.ModuleType:
    """Import the module of the registered experiment ``name``; it must define ``Config`` and ``run``."""
    experiment_names([name])
    module_name = name.replace("-", "_")
    module = importlib.import_module(f"{experiments.__name__}.{module_name}")
    missing = [attr for attr in ("Config", "run") if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"The module {module.__name__} is discovered as experiment {name!r} but defines no"
                        f" {' and no '.join(missing)}. Add them, or rename it _{module_name}.py if it is a helper.")
    return module
