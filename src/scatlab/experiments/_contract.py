"""The contract between an experiment and its runner (:mod:`scatlab.reproduce`): what it returns,
where it checkpoints."""
from __future__ import annotations

import dataclasses

__all__ = ["CHECKPOINTS", "VERDICTS", "Result", "Selection", "Verdict"]

CHECKPOINTS = "checkpoints"
"""The subdirectory of an experiment's output directory holding its training checkpoints: the runner
continues them only when asked to resume."""


VERDICTS = ("holds", "partially", "does not hold", "not tested")
"""What a measurement says of a claim: decided by a criterion computed from the numbers."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A claim of the literature, what was measured, and what the measurement says of it.

    ``claim``: the claim as stated, with its source; ``verdict``: one of :data:`VERDICTS`, computed
    by the experiment from its numbers; ``evidence``: the numbers and the criterion that decided;
    ``anchor``: the published figure or statement compared with, if any.
    """

    claim: str
    verdict: str
    evidence: str
    anchor: str = ""


@dataclasses.dataclass(frozen=True)
class Selection:
    """A choice the experiment made on data held out from training (never on the test set).

    ``what``: the choice (e.g. 'lr'); ``grid``: the candidates; ``scores``: the held-out score of
    each candidate, in grid order; ``chosen``: the candidate kept; ``criterion``: the score and the
    data it was computed on (e.g. 'validation accuracy (%), 1,000 held-out training images, max').
    """

    what: str
    grid: list
    scores: list[float]
    chosen: object
    criterion: str


@dataclasses.dataclass
class Result:
    """What an experiment returns.

    ``metrics`` maps names to finite numbers; ``tables`` holds (title, header, rows);
    ``figures`` are PNG file names written in the experiment's directory; ``notes`` are sentences
    stating what the numbers show; ``verdicts`` say, claim by claim, whether the numbers support it;
    ``selections`` record every choice made on held-out data.
    """

    metrics: dict[str, float]
    tables: list[tuple[str, list[str], list[list]]] = dataclasses.field(default_factory=list)
    figures: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    verdicts: list[Verdict] = dataclasses.field(default_factory=list)
    selections: list[Selection] = dataclasses.field(default_factory=list)
