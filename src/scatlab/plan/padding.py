"""Index maps for padding: reflection (without repeating the edge) of any width, and periodic."""
from __future__ import annotations

import numpy as np

__all__ = ["reflect_indices"]


def reflect_indices(n: int, left: int, right: int) -> np.ndarray:
    """Indices into a length-n axis that pad it by reflection about its first and last samples.

    Widths may reach or exceed n: the reflection then continues periodically with period 2(n-1),
    so x[-k] = x[k] and x[n-1+k] = x[n-1-k] for every k.
    """
    positions = np.arange(-left, n + right)
    if n == 1:
        return np.zeros_like(positions)
    period = 2 * (n - 1)
    folded = np.mod(positions, period)
    return np.where(folded < n, folded, period - folded)
