"""Progress reporting: long stages take a ``progress`` callable; the command line passes a bar."""
from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["Progress", "no_progress"]

Progress = Callable[..., Iterable]
"""``progress(iterable, desc=..., total=...)`` returning an iterable, e.g. ``tqdm.tqdm``."""


def no_progress(iterable: Iterable, **_) -> Iterable:
    """The silent :data:`Progress`: the iterable itself."""
    return iterable
