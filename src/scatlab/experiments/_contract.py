"""The contract between an experiment and its runner (:mod:`scatlab.reproduce`): what it returns,
where it checkpoints."""
from __future__ import annotations

import dataclasses

__all__ = ["CHECKPOINTS", "Result"]

CHECKPOINTS = "checkpoints"
"""The subdirectory of an experiment's output directory holding its training checkpoints: the runner
continues them only when asked to resume."""


@dataclasses.dataclass
class Result:
    """What an experiment returns.

    ``metrics`` maps names to finite numbers; ``tables`` holds (title, header, rows);
    ``figures`` are PNG file names written in the experiment's directory; ``notes`` are sentences
    stating what the numbers show.
    """

    metrics: dict[str, float]
    tables: list[tuple[str, list[str], list[list]]] = dataclasses.field(default_factory=list)
    figures: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
