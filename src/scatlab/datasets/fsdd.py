"""The Free Spoken Digit Dataset (FSDD): 3,000 recordings of the digits 0-9 by 6 speakers, 8 kHz.

Jackson et al., github.com/Jakobovski/free-spoken-digit-dataset (CC BY-SA 4.0); recordings with
index 0-4 are the official test set. Its location is, in order: the ``data_dir`` a caller gives,
the environment variable ``SCATLAB_FSDD_DIR``, or the user cache (``$XDG_CACHE_HOME/scatlab`` or
``~/.cache/scatlab``), where :func:`fetch_fsdd` downloads the pinned commit once and keeps it
after checking the recordings against :data:`FSDD_DIGEST`.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import DataError, MissingData
from .files import read_audio

__all__ = ["FSDD_COMMIT", "FSDD_DIGEST", "FSDD_URL", "fetch_fsdd", "fsdd_dir", "fsdd_files", "load_fsdd",
           "recordings_digest"]

FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{FSDD_COMMIT}.tar.gz"
FSDD_DIGEST = "3ee995d6778c7ff34ae05297eb4f0002f5097dec693dcf8735ec30e8d8146944"
""":func:`recordings_digest` of the 3,000 recordings of :data:`FSDD_COMMIT`."""
FILE_NAME = re.compile(r"(\d)_([a-z]+)_(\d+)\.wav")
HOW = (f"It is fetched from {FSDD_URL} when the network allows; otherwise download that archive, unpack it and"
       " set SCATLAB_FSDD_DIR (or the experiment's data_dir, e.g. --set data_dir=DIR) to the folder holding"
       " recordings/.")


def recordings_digest(folder: str | Path) -> str:
    """SHA-256 over the sorted (name, SHA-256 of the bytes) of the ``*.wav`` files of ``folder``."""
    lines = [f"{p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}" for p in sorted(Path(folder).glob("*.wav"))]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "scatlab" / f"fsdd-{FSDD_COMMIT[:8]}"


def fsdd_dir(data_dir: str | Path | None = None, *, fetch: bool = True) -> Path:
    """The folder holding ``recordings/``: ``data_dir`` if given, else ``SCATLAB_FSDD_DIR``, else the user
    cache (fetched into it first if ``fetch`` and absent). Raises :class:`MissingData` if none holds it."""
    given = data_dir or os.environ.get("SCATLAB_FSDD_DIR")
    if given:
        folder = Path(given).expanduser()
        if not (folder / "recordings").is_dir():
            raise MissingData("FSDD", HOW, f"'{folder}' holds no recordings/ folder")
        return folder
    cache = _cache()
    if not (cache / "recordings").is_dir():
        if not fetch:
            raise MissingData("FSDD", HOW, f"the cache '{cache}' is empty")
        fetch_fsdd(cache)
    return cache


def fetch_fsdd(destination: str | Path, *, url: str | None = None, digest: str | None = None,
               opener: Callable | None = None) -> Path:
    """Download the archive at ``url`` (:data:`FSDD_URL`) with ``opener`` (``urllib.request.urlopen``)
    and keep its recordings as ``destination/recordings``.

    Only ``*/recordings/*.wav`` members are unpacked; the folder appears (by a rename) only after
    :func:`recordings_digest` matched ``digest`` (:data:`FSDD_DIGEST`), so an interrupted or altered
    download leaves nothing. A network failure raises :class:`MissingData`; a mismatch raises
    :class:`DataError`.
    """
    url, digest, opener = url or FSDD_URL, digest or FSDD_DIGEST, opener or urllib.request.urlopen
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination, prefix=".fetch-") as tmp:
        archive = Path(tmp) / "fsdd.tar.gz"
        try:
            with opener(url, timeout=60) as response, archive.open("wb") as file:
                shutil.copyfileobj(response, file)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise MissingData("FSDD", HOW, f"downloading {url} failed ({exc})") from None
        unpacked = Path(tmp) / "recordings"
        unpacked.mkdir()
        try:
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    parts = Path(member.name).parts
                    inside = ".." not in parts and not Path(member.name).is_absolute()
                    if (member.isfile() and inside and len(parts) >= 2 and parts[-2] == "recordings"
                            and FILE_NAME.fullmatch(parts[-1])):
                        with tar.extractfile(member) as source:
                            (unpacked / parts[-1]).write_bytes(source.read())
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"The archive downloaded from {url} is not a readable .tar.gz ({exc}). {HOW}") from None
        found = recordings_digest(unpacked)
        if found != digest:
            count = len(list(unpacked.glob("*.wav")))
            raise DataError(f"The recordings downloaded from {url} ({count} files) do not match the pinned FSDD"
                            f" (digest {found[:12]}..., expected {digest[:12]}...); nothing was kept. {HOW}")
        final = destination / "recordings"
        if not final.exists():
            unpacked.rename(final)
    return destination


def fsdd_files(folder: str | Path, indices: tuple[int, int]) -> list[tuple[Path, int, int]]:
    """(path, digit, recording index) of the recordings of ``folder/recordings`` with index in
    [start, stop), sorted by name."""
    files = []
    for path in sorted((Path(folder) / "recordings").glob("*.wav")):
        match = FILE_NAME.fullmatch(path.name)
        if match is not None and indices[0] <= int(match[3]) < indices[1]:
            files.append((path, int(match[1]), int(match[3])))
    return files


def load_fsdd(data_dir: str | Path | None, indices: tuple[int, int], n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(signals (n, n_samples) float32 with peak 1, digits (n,)) of the recordings with index in
    [start, stop) of :func:`fsdd_dir` (``data_dir``), sorted by name; each is cut or zero-padded."""
    folder = fsdd_dir(data_dir)
    signals, labels = [], []
    for path, digit, _ in fsdd_files(folder, indices):
        x, _ = read_audio(path)
        out = np.zeros(n_samples, dtype=np.float32)
        x = x[:n_samples]
        peak = np.abs(x).max()
        out[: len(x)] = x / peak if peak > 0 else x
        signals.append(out)
        labels.append(digit)
    if not signals:
        raise DataError(f"No FSDD recording with index in [{indices[0]}, {indices[1]}) under '{folder / 'recordings'}'.")
    return np.stack(signals), np.asarray(labels)
