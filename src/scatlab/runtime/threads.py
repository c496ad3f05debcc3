"""One thread for calls too small to pay for two.

Splitting a small input across threads costs more in waking and joining them than it saves, and
far more when another process holds a core; :func:`threads_for` runs such a call on one thread.
(The other half of running well on a shared machine, passive OpenMP waiting, is set when scatlab
is imported: :mod:`scatlab._openmp`.)
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

import torch

__all__ = ["ONE_THREAD_BELOW", "threads_for", "small_calls_on_one_thread"]

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


def small_calls_on_one_thread(engine: Callable) -> Callable:
    """Decorate an engine ``engine(x, ...)`` so that it runs under :func:`threads_for` (``x.numel()``):
    the module and its functional twin, which both call the engine, then sum in the same order."""

    @functools.wraps(engine)
    def wrapped(x, *args, **kwargs):
        with threads_for(x.numel() if isinstance(x, torch.Tensor) else 0):
            return engine(x, *args, **kwargs)

    return wrapped
