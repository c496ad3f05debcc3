"""Is one classifier better than another on the same test set? McNemar's exact test.

For paired predictions, only the discordant items count: b items right for A and wrong for B, c the
reverse. Under the null hypothesis of equal accuracy, b ~ Binomial(b + c, 1/2); the two-sided
p-value is that of the exact binomial test (McNemar, Psychometrika 1947; Dietterich, Neural
Computation 1998, recommends it for comparing classifiers on one test set).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InvalidParameterError

__all__ = ["Comparison", "mcnemar"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """``only_a``/``only_b``: items right for one classifier only; ``p_value``: exact two-sided."""

    only_a: int
    only_b: int
    p_value: float

    def wording(self, alpha: float = 0.05) -> str:
        """'better', 'worse' (A against B, significant at ``alpha``) or 'on par'."""
        if self.p_value >= alpha or self.only_a == self.only_b:
            return "on par"
        return "better" if self.only_a > self.only_b else "worse"


def mcnemar(correct_a, correct_b) -> Comparison:
    """McNemar's exact test of two classifiers' per-item correctness (boolean arrays of one length)."""
    from scipy.stats import binomtest

    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise InvalidParameterError(f"mcnemar needs two 1-D boolean arrays of one length; got shapes {a.shape} and"
                                    f" {b.shape}.")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return Comparison(only_a, only_b, p)
