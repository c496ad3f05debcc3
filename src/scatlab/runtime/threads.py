"""One thread for calls too small to pay for two.

Splitting a small input across threads costs more in waking and joining them than it saves, and
far more when another process holds a core; :func:`threads_for` runs such a call on one thread.
(The other half of running well on a shared machine, passive OpenMP waiting, is set when scatlab
is imported: :mod:`scatlab._openmp`.)
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["ONE_THREAD_BELOW", "threads_for"]

ONE_THREAD_BELOW = 1 << 16
"""Inputs with fewer elements than this run on one thread (calibrated by benchmarks/bench_threads.py)."""


@contextlib.contextmanager
def threads_for(elements: int) -> Iterator[None]:
    """Run the block on one thread if it handles fewer than :data:`ONE_THREAD_BELOW` elements."""
    threads = torch.get_num_threads()
    if threads == 1 or elements >= ONE_THREAD_BELOW:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
