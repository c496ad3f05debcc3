"""A new texture with the scattering moments of an image or a recording (``scatlab synthesize``).

The input (PNG, JPEG, ... or a 2D ``.npy`` image; a WAV or 1D ``.npy`` signal) is centrally
cropped to a multiple of 2**J samples per axis, standardized, synthesized from white noise by
:func:`scatlab.synthesis.synthesize` with a periodic scattering transform, and mapped back to the
input's mean and standard deviation. ``energy_kept`` reports the variance of the synthesis over the
input's (before clipping): first-order moments are L1 norms and do not fix it; ``second_moments``
(default :data:`scatlab.synthesis.SECOND_MOMENTS`) also matches the band energies and the variance. The output kind follows its extension: ``.png`` (8-bit grey,
clipped to [0, 1]), ``.wav`` (16-bit PCM at the input's rate, clipped to [-1, 1]) or ``.npy``
(float32, unclipped); it is written atomically, so an existing file is replaced whole or not at all.
"""
from __future__ import annotations

import dataclasses
import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, InvalidParameterError, ShapeError
from ..io.atomic import atomic_write
from ..datasets.files import read_signal
from ..nn import Scattering1D, Scattering2D
from ..synthesis import SECOND_MOMENTS, first_order_transform, synthesize

__all__ = ["OUTPUT_SUFFIXES", "SynthesisReport", "synthesize_file"]

OUTPUT_SUFFIXES = {2: (".png", ".npy"), 1: (".wav", ".npy")}


@dataclasses.dataclass(frozen=True)
class SynthesisReport:
    """What :func:`synthesize_file` wrote: the output, its shape, the J used, and how the descent ended."""

    output: Path
    shape: tuple[int, ...]
    J: int
    order: int
    rel_error: float
    evaluations: int
    seconds: float
    converged: bool
    energy_kept: float
    second_moments: bool


def synthesize_file(input: str | os.PathLike, output: str | os.PathLike, *, order: int = 2, J: int | None = None,
                    L: int = 8, Q: int = 8, steps: int = 500, tol: float = 1e-3, method: str = "lbfgs",
                    seed: int = 0, second_moments: bool | None = None, progress: bool = True) -> SynthesisReport:
    """Synthesize ``output`` from the scattering moments (orders up to ``order``) of ``input``.

    ``J`` defaults to min(5, log2(side) - 3) for images and min(8, log2(length) - 2) for audio;
    ``L`` (images) and ``Q`` (audio) as in the transforms; ``steps``, ``tol``, ``method`` and
    ``seed`` and ``second_moments`` as in :func:`scatlab.synthesis.synthesize`. User errors raise scatlab's errors before
    any work when they can.
    """
    output = Path(output)
    _check_writable(output)
    signal, rate = read_signal(input)
    _check_suffix(output, signal.ndim, rate)
    J = _default_J(signal.shape) if J is None else J
    signal = _crop(signal, J, input)
    mean, std = float(signal.mean()), float(signal.std())
    if std == 0:
        raise DataError(f"'{input}' is constant (every sample equals {mean:g}): it has no texture to synthesize.")
    S = _transform(signal.shape, J, L, Q)
    if order == 1:
        S = first_order_transform(S)
    result = synthesize(torch.from_numpy((signal - mean) / std).float(), S, steps=steps, tol=tol, method=method,
                        seed=seed, second_moments=second_moments, progress=progress)
    sample = result.samples[0].double().numpy() * std + mean
    _write(output, sample, rate)
    return SynthesisReport(output, sample.shape, J, order, float(result.rel_error[0]), result.evaluations,
                           result.seconds, bool(result.converged), float(sample.var() / signal.var()),
                           SECOND_MOMENTS if second_moments is None else bool(second_moments))


def _default_J(shape: tuple[int, ...]) -> int:
    side = int(math.log2(max(min(shape), 1)))
    return max(1, min(5, side - 3)) if len(shape) == 2 else max(1, min(8, side - 2))


def _crop(signal: np.ndarray, J: int, path) -> np.ndarray:
    """The central part of the signal whose sides are multiples of 2**J."""
    if isinstance(J, bool) or not isinstance(J, int) or J < 1:
        raise InvalidParameterError(f"The 'J' parameter of the synthesis must be a positive int. Got {J!r} instead.")
    step = 2**J
    if min(signal.shape) < step:
        raise ShapeError(f"'{path}' has shape {signal.shape}, smaller than 2**J = {step} along an axis."
                         f" Use a smaller J (at most {int(math.log2(max(min(signal.shape), 1)))}) or a larger input.")
    sides = [s // step * step for s in signal.shape]
    index = tuple(slice((s - k) // 2, (s - k) // 2 + k) for s, k in zip(signal.shape, sides))
    return np.ascontiguousarray(signal[index], dtype=np.float64)


def _transform(shape: tuple[int, ...], J: int, L: int, Q: int) -> torch.nn.Module:
    if len(shape) == 2:
        return Scattering2D(shape, J=J, L=L, padding="periodic")
    return Scattering1D(shape, J=J, Q=(Q, 1), padding="periodic", normalize="resolution")


def _check_writable(output: Path) -> None:
    """Refuse, before any work, an output that is a directory or lies under a file or a read-only folder."""
    if output.is_dir():
        raise InvalidParameterError(f"The output '{output}' is a directory. Give a file name ending in .png, .wav or .npy.")
    parent = output.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidParameterError(f"The output '{output}' cannot be written: '{parent}' is not a writable folder."
                                    " Choose another output path.")


def _check_suffix(output: Path, ndim: int, rate: int | None) -> None:
    suffix = output.suffix.lower()
    allowed = OUTPUT_SUFFIXES[ndim]
    kind = "an image" if ndim == 2 else "a 1D signal"
    if suffix not in allowed:
        raise InvalidParameterError(f"The input is {kind}, so the output must end in {' or '.join(allowed)};"
                                    f" got '{output.name}'.")
    if suffix == ".wav" and rate is None:
        raise InvalidParameterError(f"A WAV output needs a sample rate, which the .npy input lacks; write '{output.stem}.npy'.")


def _write(output: Path, sample: np.ndarray, rate: int | None) -> None:
    suffix = output.suffix.lower()
    buffer = io.BytesIO()
    if suffix == ".npy":
        np.save(buffer, sample.astype(np.float32))
    elif suffix == ".png":
        from PIL import Image

        Image.fromarray(np.round(np.clip(sample, 0.0, 1.0) * 255).astype(np.uint8)).save(buffer, format="PNG")
    else:
        from scipy.io import wavfile

        wavfile.write(buffer, rate, np.round(np.clip(sample, -1.0, 1.0) * 32767).astype(np.int16))
    atomic_write(output, lambda file: file.write(buffer.getvalue()))
