"""A folder of features computed batch by batch, resumable after a kill and writable by several ranks.

Layout of a store folder:

- ``coefficients.npy``: one float32 array (n_files, *feature_shape), a standard ``.npy`` file
  written through a memory map (rows in the order of ``files.txt``), never held in memory whole;
- ``files.txt``: the inputs, one path per line;
- ``meta.npz``: anything the writer attaches (transform parameters, channel table);
- ``store.json``: shape, batch size and the identity of the computation (written last: a folder
  without it is not a store yet);
- ``done/NNNNNNN``: an empty marker per batch whose rows are flushed to disk.

A batch's marker is created only after its rows are flushed, so a killed run loses at most the
batches in flight; :meth:`FeatureStore.pending` lists what remains. Batches are independent, so
ranks can fill disjoint batches of one store (:meth:`FeatureStore.pending` with ``rank, world``).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from ..errors import DataError
from .atomic import atomic_savez, atomic_write_json, atomic_write_text

__all__ = ["FeatureStore", "load_store"]

_COEFFICIENTS, _FILES, _META, _HEADER, _DONE = "coefficients.npy", "files.txt", "meta.npz", "store.json", "done"


def _digest(files: list[str]) -> str:
    return hashlib.sha256("\n".join(files).encode()).hexdigest()


class FeatureStore:
    """Rows of ``coefficients.npy`` filled batch by batch (``batch_size`` rows each, in file order)."""

    def __init__(self, folder: Path, header: dict):
        self.folder = Path(folder)
        self.header = header
        self.n_files = int(header["n_files"])
        self.batch_size = int(header["batch_size"])
        self.n_batches = -(-self.n_files // self.batch_size)
        self._data_offset: int | None = None  # bytes before the first row of coefficients.npy

    # ----------------------------------------------------------------------------- creation
    @classmethod
    def create_or_open(cls, folder: str | os.PathLike, files: list[str], feature_shape: tuple[int, ...],
                       batch_size: int, identity: dict, meta: dict[str, np.ndarray] | None = None) -> FeatureStore:
        """Open the store in ``folder`` if it holds this computation, else create it there.

        ``identity`` (JSON-able: the transform and its parameters) and the file list must match an
        existing store exactly; otherwise a :class:`~scatlab.errors.DataError` says so rather than
        mixing two computations. A folder that holds other files is refused.
        """
        folder = Path(folder)
        wanted = {"n_files": len(files), "feature_shape": [int(s) for s in feature_shape], "batch_size": int(batch_size),
                  "files_sha256": _digest(files), "identity": identity}
        wanted = json.loads(json.dumps(wanted))  # as read back from store.json (tuples become lists)
        header_path = folder / _HEADER
        if header_path.is_file():
            header = json.loads(header_path.read_text())
            if header != wanted:
                differ = sorted(k for k in wanted if header.get(k) != wanted[k])
                raise DataError(f"The folder '{folder}' holds features of another computation (different"
                                f" {', '.join(differ)}). Choose another output folder, or delete it to start afresh.")
            return cls(folder, header)
        ours = (_COEFFICIENTS, _FILES, _META, _DONE)  # and '.*.tmp' files of an interrupted atomic write
        if folder.exists() and (not folder.is_dir() or any(p.name not in ours and not p.name.startswith(".")
                                                            for p in folder.iterdir())):
            raise DataError(f"The output '{folder}' exists and is not a feature store. Choose a new or empty folder.")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _DONE).mkdir(exist_ok=True)
        for stale in (folder / _DONE).iterdir():  # markers of an interrupted creation
            stale.unlink()
        np.lib.format.open_memmap(folder / _COEFFICIENTS, mode="w+", dtype=np.float32,
                                  shape=(len(files), *feature_shape)).flush()
        atomic_write_text(folder / _FILES, "".join(f"{f}\n" for f in files))
        atomic_savez(folder / _META, **(meta or {}))
        atomic_write_json(header_path, wanted)
        return cls(folder, wanted)

    @classmethod
    def wait_for(cls, folder: str | os.PathLike, timeout_s: float = 600.0) -> FeatureStore:
        """The store another rank is creating in ``folder``, once its ``store.json`` exists."""
        header_path = Path(folder) / _HEADER
        deadline = time.monotonic() + timeout_s
        while not header_path.is_file():
            if time.monotonic() > deadline:
                raise DataError(f"No feature store appeared in '{folder}' within {timeout_s:.0f} s: rank 0 failed or"
                                " was not started. Check its output.")
            time.sleep(0.2)
        return cls(Path(folder), json.loads(header_path.read_text()))

    # ------------------------------------------------------------------------------ batches
    def rows(self, batch: int) -> range:
        """The rows (file indices) of ``batch``."""
        return range(batch * self.batch_size, min((batch + 1) * self.batch_size, self.n_files))

    def _marker(self, batch: int) -> Path:
        return self.folder / _DONE / f"{batch:07d}"

    def pending(self, rank: int = 0, world: int = 1) -> list[int]:
        """The batches of ``rank`` (every ``world``-th, from ``rank``) whose rows are not written yet."""
        return [b for b in range(rank, self.n_batches, world) if not self._marker(b).exists()]

    def done(self) -> int:
        """How many batches are written."""
        return sum(1 for _ in (self.folder / _DONE).iterdir())

    def write(self, batch: int, values: np.ndarray) -> None:
        """Write the rows of ``batch`` at their offset in ``coefficients.npy``, sync them to disk, then
        mark the batch done. Only the batch's bytes are written and synced: the cost does not grow
        with the store (a flush of the whole memory map would visit every page of a large store)."""
        rows = self.rows(batch)
        values = np.asarray(values, dtype=np.float32)
        expected = (len(rows), *self.header["feature_shape"])
        if values.shape != expected:
            raise DataError(f"Batch {batch} of the store '{self.folder}' needs values of shape {expected}; got"
                            f" {values.shape}.")
        row_bytes = values[:1].nbytes if len(rows) else 0
        if self._data_offset is None:
            self._data_offset = _data_offset(self.folder / _COEFFICIENTS)
        with open(self.folder / _COEFFICIENTS, "r+b") as file:
            file.seek(self._data_offset + rows.start * row_bytes)
            file.write(np.ascontiguousarray(values, dtype="<f4").tobytes())
            file.flush()
            os.fsync(file.fileno())
        self._marker(batch).touch()


def _data_offset(path: Path) -> int:
    """Where the rows of the .npy file ``path`` begin (after its header), checking that it holds
    little-endian float32 rows in C order, as :meth:`FeatureStore.create_or_open` made it."""
    with open(path, "rb") as file:
        version = np.lib.format.read_magic(file)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        _, fortran, dtype = read(file)
        if fortran or dtype != np.dtype("<f4"):
            raise DataError(f"'{path}' must hold C-order float32 rows; got dtype {dtype}, fortran_order={fortran}."
                            " Delete the store's folder to start afresh.")
        return file.tell()


def load_store(folder: str | os.PathLike, *, complete: bool = True) -> dict:
    """``coefficients`` (a read-only memory map), ``files``, the attached ``meta`` arrays and the
    ``header`` of a store; with ``complete`` (default), a store with batches missing raises."""
    folder = Path(folder)
    if not (folder / _HEADER).is_file():
        raise DataError(f"'{folder}' is not a feature store (no {_HEADER}). Give the output folder of"
                        " `scatlab transform ... -o FOLDER`.")
    store = FeatureStore(folder, json.loads((folder / _HEADER).read_text()))
    missing = len(store.pending())
    if complete and missing:
        raise DataError(f"The feature store '{folder}' misses {missing} of {store.n_batches} batches (an interrupted"
                        " run): run the same command again to finish it, or pass complete=False.")
    with np.load(folder / _META) as meta:
        arrays = {key: meta[key] for key in meta.files}
    return {"coefficients": np.load(folder / _COEFFICIENTS, mmap_mode="r"),
            "files": (folder / _FILES).read_text().splitlines(), "meta": arrays, "header": store.header}
