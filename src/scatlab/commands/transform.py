"""Scattering coefficients of a list of files, as arrays ready for ``numpy.savez``.

All files of one call must be of one kind (1D audio or 2D images) and one shape, so that their
coefficients stack into a single array (n_files, C, ...) sharing one channel table.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, parameter_error
from ..nn import Scattering1D, Scattering2D
from ..datasets.files import read_signal

__all__ = ["KINDS", "transform_files"]

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
        signal, rate = read_signal(path)
        signal_kind = f"{signal.ndim}d"
        if length is not None and signal.ndim == 1:
            signal = np.pad(signal[:length], (0, max(length - len(signal), 0)))
        if kind != "auto" and signal_kind != kind:
            raise DataError(f"'{path}' holds a {signal_kind.upper()} signal of shape {signal.shape}, but the kind is"
                            f" {kind!r}. Pass files of that kind, or kind 'auto'.")
        if transform is None:
            first = (path, signal.shape)
            transform = _build(signal.shape, J, L, Q, T, max_order, padding, normalize)
        elif signal.shape != first[1]:
            fix = ("set 'length' to cut or zero-pad every recording to one length" if signal.ndim == 1
                   else "crop or resize them")
            raise DataError(
                f"'{path}' has shape {signal.shape} but '{first[0]}' has shape {first[1]}: all inputs of one"
                f" call must share one shape. To fix it, {fix}, or run one call per shape."
            )
        if rate is not None:
            rates.add(rate)
        with torch.no_grad():
            coefficients.append(transform(torch.from_numpy(signal)).numpy())
    if len(rates) > 1:
        raise DataError(f"The audio files have different sample rates {sorted(rates)}; resample them to one rate.")
    return _arrays(transform, np.stack(coefficients), paths, rates)


def _build(shape: tuple[int, ...], J: int, L: int, Q: int, T: int | None, max_order: int, padding: str,
           normalize: str):
    if len(shape) == 1:
        return Scattering1D(shape, J=J, Q=Q, T=T, max_order=max_order, padding=padding, normalize=normalize)
    return Scattering2D(shape, J=J, L=L, max_order=max_order, padding=padding)


def _arrays(transform, coefficients: np.ndarray, paths: list[Path], rates: set[int]) -> dict[str, np.ndarray]:
    is_1d = isinstance(transform, Scattering1D)
    arrays = {
        "coefficients": coefficients.astype(np.float32),
        "files": np.array([str(p) for p in paths]),
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
    if rates:
        arrays["sample_rate"] = np.array(rates.pop())
    arrays.update({f"meta_{name}": transform.meta[name] for name in transform.meta.names})
    return arrays
