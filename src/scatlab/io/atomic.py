"""Atomic file writes: write a temporary file in the target's directory, then ``os.replace``.

A reader never sees a partial file: the target either keeps its previous content or holds the
complete new content, even if serialization or the write fails half way.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import DataError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_savez"]


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temporary binary file next to ``path``, then move it onto ``path``.

    The parent directory is created if needed. On any exception the temporary file is removed and
    ``path`` is left untouched. The new file gets the usual permissions (0o666 minus the umask).
    """
    path = Path(path)
    blocking = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise DataError(f"Cannot write '{path}': '{blocking}' is a file, not a folder. Choose an output path whose"
                        " folders are folders (or remove that file).")
    if path.is_dir():
        raise DataError(f"Cannot write '{path}': it is a folder. Give a file name inside it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda file: file.write(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as strict JSON (NaN and Inf refused; numpy scalars and arrays converted)."""

    def write(file: IO[bytes]) -> None:
        for chunk in json.JSONEncoder(indent=2, allow_nan=False, default=_to_builtin).iterencode(obj):
            file.write(chunk.encode("utf-8"))
        file.write(b"\n")

    return atomic_write(path, write)


def atomic_savez(path: str | os.PathLike, **arrays: Any) -> Path:
    """``numpy.savez`` to exactly ``path`` (no ``.npz`` suffix is appended), atomically."""
    return atomic_write(path, lambda file: np.savez(file, **arrays))


def _to_builtin(value: Any) -> Any:
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
