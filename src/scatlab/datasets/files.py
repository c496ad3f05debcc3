"""Read images, audio and arrays from local files into float32 numpy arrays.

Every failure (missing file, corrupt or unsupported content, NaN) raises
:class:`scatlab.errors.DataError` with the path and the fix.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["IMAGE_SUFFIXES", "AUDIO_SUFFIXES", "ARRAY_SUFFIXES", "read_image", "read_audio", "read_signal"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
AUDIO_SUFFIXES = (".wav",)
ARRAY_SUFFIXES = (".npy",)
_SUPPORTED = ", ".join(IMAGE_SUFFIXES + AUDIO_SUFFIXES + ARRAY_SUFFIXES)


class ConvertedToGrey(UserWarning):
    """A colour image was read as grey levels."""


def _grey_palette(image) -> bool:
    rgb = np.asarray(image.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a 2D float32 grey-level array.

    Image files (PNG, JPEG, BMP, TIFF, through Pillow) are converted to grey (ITU-R 601 luma for
    colour) and scaled to [0, 1] by their bit depth (8 or 16 bits; float TIFF kept as stored).
    A ``.npy`` file must hold a 2D array: integer arrays are scaled by their dtype's maximum like
    image files, float arrays are kept as stored.
    """
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        array = _load_npy(path)
        if array.ndim != 2:
            raise DataError(f"The array in '{path}' has shape {array.shape}; an image must be 2D. Save a 2D array.")
        return _as_grey_float(array, path)
    if suffix not in IMAGE_SUFFIXES:
        raise _unknown_suffix(path, IMAGE_SUFFIXES + ARRAY_SUFFIXES)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                array = np.asarray(image)
                if image.mode != "F":
                    array = array.astype(np.float64) / 65535.0
            else:
                if image.mode not in ("L", "1") and not (image.mode == "P" and _grey_palette(image)):
                    warnings.warn(f"'{path}' is a colour image ({image.mode}): scattered as grey (ITU-R 601"
                                  " luma).", ConvertedToGrey, stacklevel=2)
                array = np.asarray(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(
            f"Cannot read the image '{path}' ({exc}). The file is corrupt or not a {suffix[1:].upper()} image;"
            " re-export it as PNG or JPEG."
        ) from None
    return _as_grey_float(array, path)


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a WAV file as (mono float32 samples in [-1, 1], sample rate in Hz).

    PCM samples are scaled by their range (uint8: (x - 128) / 128, int16: x / 2^15, int32 and
    24-bit: x / 2^31); float samples are kept; several channels are averaged.
    """
    path = _existing(path)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise _unknown_suffix(path, AUDIO_SUFFIXES)
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # non-audio chunks are skipped
            rate, data = wavfile.read(path)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"Cannot read the WAV file '{path}' ({exc}). Re-export it as 16-bit PCM WAV.") from None
    scales = {np.dtype(np.uint8): 128.0, np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}
    if data.dtype in scales:
        offset = 128.0 if data.dtype == np.uint8 else 0.0
        samples = (data.astype(np.float64) - offset) / scales[data.dtype]
    elif data.dtype in (np.float32, np.float64):
        samples = data.astype(np.float64)
    else:
        raise DataError(
            f"The WAV file '{path}' holds {data.dtype} samples, an unsupported format."
            " Convert it to 8-, 16-, 24- or 32-bit PCM or 32-bit float."
        )
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.size == 0:
        raise DataError(f"The WAV file '{path}' holds no samples. Record or export a non-empty file.")
    return _finite(samples.astype(np.float32), path), int(rate)


def read_signal(path: str | os.PathLike) -> tuple[np.ndarray, int | None]:
    """Read any supported file as (float32 array, sample rate or None), dispatching on the suffix.

    WAV files give 1D audio with their rate; image files give 2D grey images; ``.npy`` files give
    their 1D or 2D array (2D arrays follow :func:`read_image`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return read_audio(path)
    if suffix in IMAGE_SUFFIXES:
        return read_image(path), None
    if suffix in ARRAY_SUFFIXES:
        array = _load_npy(_existing(path))
        if array.ndim == 2:
            return _as_grey_float(array, path), None
        if array.ndim == 1 and array.size > 0:
            return _finite(np.asarray(array, dtype=np.float32), path), None
        raise DataError(f"The array in '{path}' has shape {array.shape}; expected a 1D signal or a 2D image.")
    raise _unknown_suffix(path, IMAGE_SUFFIXES + AUDIO_SUFFIXES + ARRAY_SUFFIXES)


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise DataError(f"The input file '{path}' {what}. Check the path (supported files: {_SUPPORTED}).")
    return path


def _unknown_suffix(path: Path, allowed: tuple[str, ...]) -> DataError:
    return DataError(
        f"Cannot read '{path}': unsupported file extension '{path.suffix or '(none)'}'."
        f" Convert it to one of {', '.join(allowed)}."
    )


def _load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"Cannot read the array file '{path}' ({exc}). Save it with numpy.save.") from None
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise DataError(f"The array in '{path}' has dtype {array.dtype}; save a real integer or float array.")
    return array


def _as_grey_float(array: np.ndarray, path: Path) -> np.ndarray:
    if array.size == 0:
        raise DataError(f"The image '{path}' is empty (shape {array.shape}). Use a non-empty image.")
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float64) / max(np.iinfo(array.dtype).max, 1)
    return _finite(np.asarray(array, dtype=np.float32), path)


def _finite(array: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(array).all():
        raise DataError(f"The file '{path}' holds NaN or infinite values. Clean the data before the transform.")
    return array
