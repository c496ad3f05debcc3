"""OpenMP's wait policy, set before torch loads (this module must not import torch).

OpenMP's default waiting spins: a thread that waits for a busy core burns the time slice the
other thread needed, and torch runs 10-50x slower whenever another process shares the cores
(BENCHMARKS.md). Passive waiting costs little on an idle machine.
"""
from __future__ import annotations

import os
import sys

__all__ = ["passive_waiting"]


def passive_waiting() -> bool:
    """Ask OpenMP to sleep rather than spin while waiting, unless the user chose a policy.

    Effective only before torch is first imported (OpenMP reads the variable once, when it loads);
    returns whether the policy in force is passive.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
