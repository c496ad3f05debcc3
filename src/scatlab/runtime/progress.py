"""Progress reporting: long stages take a ``progress`` callable; the command line passes
:func:`console_progress`."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

__all__ = ["Progress", "no_progress", "console_progress"]

Progress = Callable[..., Iterable]
"""``progress(iterable, desc=..., total=...)`` returning an iterable, e.g. ``tqdm.tqdm``."""


def no_progress(iterable: Iterable, **_) -> Iterable:
    """The silent :data:`Progress`: the iterable itself."""
    return iterable


def console_progress(stream: TextIO | None = None) -> Progress:
    """A :data:`Progress` for people: on a terminal, a bar with rate and ETA that redraws at least twice a
    second; otherwise (a log file, CI), one line per finished stage with its count, time and rate."""
    stream = stream or sys.stderr
    if stream.isatty():
        from tqdm import tqdm

        return lambda iterable, **kwargs: tqdm(iterable, file=stream, leave=False, dynamic_ncols=True,
                                               mininterval=0.5, **kwargs)
    return lambda iterable, **kwargs: _lines(iterable, stream, **kwargs)


def _lines(iterable: Iterable, stream: TextIO, desc: str = "", total: int | None = None, **_) -> Iterator:
    start, count = time.perf_counter(), 0
    for count, item in enumerate(iterable, 1):
        yield item
    seconds = time.perf_counter() - start
    rate = f", {count / seconds:.3g}/s" if seconds > 0 and count else ""
    of = f"/{total}" if total is not None and total != count else ""
    print(f"  {desc or 'stage'}: {count}{of} in {seconds:.1f} s{rate}", file=stream, flush=True)
