"""Scattering coefficients of files: in memory, as arrays ready for ``numpy.savez``
(:func:`transform_files`), or streamed in batches into a resumable feature store on disk
(:func:`transform_to_store`, for tens of thousands of files).

All files of one call must be of one kind (1D audio or 2D images) and one shape, so that their
coefficients stack into a single array (n_files, C, ...) sharing one channel table.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import DataError, parameter_error
from ..io.store import FeatureStore
from ..nn import Scattering1D, Scattering2D
from ..datasets.files import ARRAY_SUFFIXES, AUDIO_SUFFIXES, IMAGE_SUFFIXES, read_signal
from ..runtime import shard_of

__all__ = ["KINDS", "StoreReport", "input_files", "transform_files", "transform_to_store"]

KINDS = ("auto", "1d", "2d")


def transform_files(
    paths: Sequence[str | os.PathLike],
    *,
    kind: str = "auto",
    J: int = 2,
    L: int = 8,
    Q: int = 1,
    T: int | None = None,
    max_order: int = 2,
    padding: str = "reflect",
    normalize: str = "kymatio",
    length: int | None = None,
    progress: Callable[..., Iterable] = lambda iterable, **_: iterable,
) -> dict[str, np.ndarray]:
    r"""Read every file and apply one scattering transform to all of them.

    Parameters
    ----------
    paths : sequence of paths
        WAV, image or ``.npy`` files (see :func:`scatlab.io.read_signal`), all of one kind and shape.
    kind : {'auto', '1d', '2d'}
        'auto' takes 1D for audio and 1D arrays, 2D for images; '1d' or '2d' requires that kind.
    J, L, Q, T, max_order, padding, normalize
        Parameters of :class:`scatlab.Scattering1D` (J, Q, T, normalize) or
        :class:`scatlab.Scattering2D` (J, L).
    length : int, optional
        1D only: cut every signal to its first ``length`` samples, or pad it with zeros at its end,
        so that recordings of different lengths stack (None: all must have one length).
    progress : callable
        ``progress(iterable, desc=..., total=...)`` wrapping the loop over files (e.g. ``tqdm``).

    Returns
    -------
    dict
        ``coefficients`` float32 (n_files, C, ...), ``files`` (str), ``kind``, the transform
        parameters, ``sample_rate`` when the files carry one, and every channel-table column as
        ``meta_<column>``.
    """
    if kind not in KINDS:
        raise parameter_error("transform_files", "kind", "one of " + ", ".join(KINDS), kind)
    if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
        raise parameter_error("transform_files", "length", "a positive number of samples or None", length)
    paths = [Path(p) for p in paths]
    if not paths:
        raise DataError("No input file was given. Pass one or more WAV, image or .npy files.")
    transform, first, coefficients, rates = None, None, [], set()
    for path in progress(paths, desc="transform", total=len(paths)):
        signal, rate = _read(path, kind, length)
        if transform is None:
            first = (path, signal.shape)
            transform = _build(signal.shape, J, L, Q, T, max_order, padding, normalize)
        _check_shape(path, signal.shape, first)
        if rate is not None:
            rates.add(rate)
        with torch.no_grad():
            coefficients.append(transform(torch.from_numpy(signal)).numpy())
    if len(rates) > 1:
        raise DataError(f"The audio files have different sample rates {sorted(rates)}; resample them to one rate.")
    return {"coefficients": np.stack(coefficients).astype(np.float32), "files": np.array([str(p) for p in paths]),
            **_parameters(transform, rates.pop() if rates else None)}


@dataclasses.dataclass(frozen=True)
class StoreReport:
    """What :func:`transform_to_store` did: the store and its coefficients' shape, its batches (all,
    written by this call, found done before it), the files this call transformed, its wall time
    and the part of it spent in the transform itself (the rest is reading, decoding and writing)."""

    folder: Path
    shape: tuple[int, ...]
    batches: int
    written: int
    resumed: int
    files: int
    seconds: float
    transform_seconds: float

    @property
    def files_per_s(self) -> float:
        """Files per second of wall time, reading and writing included."""
        return self.files / self.seconds if self.seconds > 0 else float("nan")

    @property
    def transform_files_per_s(self) -> float:
        """Files per second of the transform alone: what the pipeline would reach if I/O were free."""
        return self.files / self.transform_seconds if self.transform_seconds > 0 else float("nan")


def transform_to_store(
    paths: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    kind: str = "auto",
    J: int = 2,
    L: int = 8,
    Q: int = 1,
    T: int | None = None,
    max_order: int = 2,
    padding: str = "reflect",
    normalize: str = "kymatio",
    length: int | None = None,
    batch_size: int = 64,
    workers: int = 2,
    device: str | torch.device = "cpu",
    rank: int | None = None,
    world: int | None = None,
    progress: Callable[..., Iterable] = lambda iterable, **_: iterable,
) -> StoreReport:
    r"""Transform many files in batches into the feature store ``output`` (a folder), resumably.

    Files are decoded by ``workers`` DataLoader processes while the transform runs; each batch of
    coefficients is written to ``output/coefficients.npy`` through a memory map and marked done
    (:class:`scatlab.io.FeatureStore`), so memory stays at a few batches whatever the number of
    files, and running the same call again after a kill does only the batches left. Under
    ``torchrun`` (or with ``rank``, ``world``), rank r does batches r, r + world, ... of the same
    store; rank 0 creates it. Read the result with :func:`scatlab.io.load_store`.

    Parameters are those of :func:`transform_files`, plus ``batch_size`` (files per batch),
    ``workers`` (decoding processes; 0 reads in this process) and ``device`` (where the transform
    runs).
    """
    if kind not in KINDS:
        raise parameter_error("transform_to_store", "kind", "one of " + ", ".join(KINDS), kind)
    for name, value, low in (("batch_size", batch_size, 1), ("workers", workers, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise parameter_error("transform_to_store", name, f"an integer >= {low}", value)
    paths = [Path(p) for p in paths]
    if not paths:
        raise DataError("No input file was given. Pass one or more WAV, image or .npy files, or folders of them.")
    rank, world = shard_of(rank, world)
    first_signal, rate = _read(paths[0], kind, length)
    transform = _build(first_signal.shape, J, L, Q, T, max_order, padding, normalize).to(device)
    # the resolved kind (in the parameters), the absolute paths and each file's size and modification
    # time: a store is resumed only by the same computation on the same, unchanged files
    identity = {"transform": type(transform).__name__, "length": length, "signal_shape": list(first_signal.shape),
                "inputs_sha256": _stat_digest(paths), **_parameters(transform, rate)}
    identity = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in identity.items()
                if not k.startswith("meta_")}
    files = [str(p.resolve()) for p in paths]
    if rank != 0:
        FeatureStore.wait_for(output)
    store = FeatureStore.create_or_open(output, files, tuple(transform.output_shape), batch_size, identity,
                                        meta=_parameters(transform, rate))
    pending = store.pending(rank, world)
    resumed = len(range(rank, store.n_batches, world)) - len(pending)
    loader = DataLoader(_Files(paths, kind, length, (paths[0], first_signal.shape), rate),
                        batch_sampler=[list(store.rows(b)) for b in pending], num_workers=workers)
    start, in_transform, written_files = time.perf_counter(), 0.0, 0
    for batch, x in zip(pending, progress(loader, desc="transform (batches)", total=len(pending))):
        tick = time.perf_counter()
        with torch.no_grad():
            values = transform(x.to(device)).cpu().numpy()
        in_transform += time.perf_counter() - tick
        store.write(batch, values)
        written_files += len(values)
    return StoreReport(folder=store.folder, shape=(store.n_files, *transform.output_shape), batches=store.n_batches,
                       written=len(pending), resumed=resumed, files=written_files,
                       seconds=time.perf_counter() - start, transform_seconds=in_transform)


def _stat_digest(paths: list[Path]) -> str:
    """SHA-256 of every file's size and modification time (ns), in order."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def input_files(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """The files of ``inputs``: files as given; folders expanded, recursively and sorted, to the
    files scatlab reads (images, WAV, .npy). A missing path or a folder without such files raises."""
    suffixes = IMAGE_SUFFIXES + AUDIO_SUFFIXES + ARRAY_SUFFIXES
    files = []
    for entry in map(Path, inputs):
        if entry.is_dir():
            found = sorted(p for p in entry.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
            if not found:
                raise DataError(f"The folder '{entry}' holds no {', '.join(suffixes)} file.")
            files += found
        elif entry.exists():
            files.append(entry)
        else:
            raise DataError(f"The input '{entry}' does not exist. Check the path.")
    return files


class _Files(Dataset):
    """The signals of ``paths``, checked against the first file's shape and sample rate."""

    def __init__(self, paths: list[Path], kind: str, length: int | None, first: tuple, rate: int | None):
        self.paths, self.kind, self.length, self.first, self.rate = paths, kind, length, first, rate

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        path = self.paths[index]
        signal, rate = _read(path, self.kind, self.length)
        _check_shape(path, signal.shape, self.first)
        if rate != self.rate:
            raise DataError(f"'{path}' has sample rate {rate} but '{self.first[0]}' has {self.rate}; resample the"
                            " files to one rate.")
        return torch.from_numpy(signal)


def _read(path: Path, kind: str, length: int | None) -> tuple[np.ndarray, int | None]:
    signal, rate = read_signal(path)
    if length is not None and signal.ndim == 1:
        signal = np.pad(signal[:length], (0, max(length - len(signal), 0)))
    if kind != "auto" and f"{signal.ndim}d" != kind:
        raise DataError(f"'{path}' holds a {signal.ndim}D signal of shape {signal.shape}, but the kind is"
                        f" {kind!r}. Pass files of that kind, or kind 'auto'.")
    return signal, rate


def _check_shape(path: Path, shape: tuple[int, ...], first: tuple[Path, tuple[int, ...]]) -> None:
    if shape != first[1]:
        fix = "set 'length' to cut or zero-pad every recording to one length" if len(shape) == 1 else \
            "crop or resize them"
        raise DataError(f"'{path}' has shape {shape} but '{first[0]}' has shape {first[1]}: all inputs of one"
                        f" call must share one shape. To fix it, {fix}, or run one call per shape.")


def _build(shape: tuple[int, ...], J: int, L: int, Q: int, T: int | None, max_order: int, padding: str,
           normalize: str):
    if len(shape) == 1:
        return Scattering1D(shape, J=J, Q=Q, T=T, max_order=max_order, padding=padding, normalize=normalize)
    return Scattering2D(shape, J=J, L=L, max_order=max_order, padding=padding)


def _parameters(transform, rate: int | None) -> dict[str, np.ndarray]:
    """The transform's parameters and channel table (``meta_<column>``), and the sample rate if any."""
    is_1d = isinstance(transform, Scattering1D)
    arrays = {
        "kind": np.array("1d" if is_1d else "2d"),
        "shape": np.array(transform.shape),
        "J": np.array(transform.J),
        "max_order": np.array(transform.max_order),
        "padding": np.array(transform.padding),
    }
    if is_1d:
        arrays.update(Q=np.array(transform.Q), T=np.array(transform.T), normalize=np.array(transform.normalize))
    else:
        arrays["L"] = np.array(transform.L)
    if rate is not None:
        arrays["sample_rate"] = np.array(rate)
    arrays.update({f"meta_{name}": transform.meta[name] for name in transform.meta.names})
    return arrays
