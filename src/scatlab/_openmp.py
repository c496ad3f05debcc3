"""Thread-pool waiting policies, set before torch and numpy load (this module imports neither).

OpenMP's default waiting spins: a thread that waits for a busy core burns the time slice the
other thread needed, and torch runs 10-50x slower whenever another process shares the cores
(BENCHMARKS.md). OpenBLAS (numpy's and scipy's BLAS) spins the same way, for 2^28 cycles by
default: with one core busy, a 750 x 750 positive-definite solve on two threads ran 10x slower
than on one. Passive waiting is not free on an idle machine (a 256 x 256 synthesis step took 1.4x
as long as with 10^4 spins), but no spin count wins both ways: with a core busy the same spins made
it 2.5x slower than passive (BENCHMARKS.md, "Threads on a shared machine").
"""
from __future__ import annotations

import os
import sys

__all__ = ["passive_waiting"]

OPENBLAS_SPIN_EXPONENT = "4"  # OpenBLAS threads spin 2^4 cycles before sleeping (its minimum)


def passive_waiting() -> bool:
    """Ask OpenMP and OpenBLAS threads to sleep rather than spin while waiting, unless the user chose.

    Effective only before torch (for OpenMP) and numpy (for OpenBLAS) are first imported: each reads
    its variable once, when it loads. Returns whether the OpenMP policy in force is passive.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", OPENBLAS_SPIN_EXPONENT)
    return os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
