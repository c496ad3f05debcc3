"""Shared fixtures: real images (scikit-image) and real speech (FSDD), float, scaled.

Images: ``camera``, ``brick`` and ``grass`` from :mod:`skimage.data` (512 x 512, uint8) converted
to float64 in [0, 1] (divided by 255). Crops are taken at fixed positions so the tests are
deterministic.

Audio: a few recordings of the Free Spoken Digit Dataset (8 kHz, int16, mono), read with
:func:`scipy.io.wavfile.read` from ``<repo>/../shared/data/fsdd/recordings`` and scaled to
[-1, 1) (divided by 32768). Tests that need them are skipped when the folder is absent.
"""
from __future__ import annotations

import os

# The tests run many small transforms and small BLAS products (the oracle): worker threads only
# add synchronization there (measured on a loaded 2-core machine: a 1D transform at N=32 40x
# slower, the 2D oracle 25x slower with 2 threads). One thread for torch and for BLAS; the
# environment variables (set before numpy is imported, unless the user set them) also cover BLAS
# libraries loaded later in the session.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
try:
    from threadpoolctl import threadpool_limits

    _BLAS_LIMITS = threadpool_limits(limits=1)  # in case numpy was imported before this file
except ImportError:  # threadpoolctl comes with scikit-learn; without it, keep the defaults
    _BLAS_LIMITS = None

# <repo>/../shared/data/fsdd; SCATLAB_FSDD_DIR overrides it (e.g. to check that tests skip cleanly)
FSDD_DIR = Path(os.environ.get("SCATLAB_FSDD_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd"))
os.environ["SCATLAB_FSDD_DIR"] = str(FSDD_DIR)  # the library reads FSDD from here too: tests never download it
RECORDINGS = ("0_george_0.wav", "1_jackson_0.wav", "3_nicolas_0.wav", "7_theo_0.wav", "9_yweweler_0.wav")

_IMAGE_CACHE: dict[str, np.ndarray] = {}


def load_image(name: str) -> np.ndarray:
    """A scikit-image sample image as float64 in [0, 1] (cached)."""
    if name not in _IMAGE_CACHE:
        skdata = pytest.importorskip("skimage.data")
        image = np.asarray(getattr(skdata, name)())
        assert image.dtype == np.uint8 and image.ndim == 2, (name, image.dtype, image.shape)
        _IMAGE_CACHE[name] = image.astype(np.float64) / 255.0
    return _IMAGE_CACHE[name]


def crop(name: str, top: int, left: int, height: int, width: int | None = None) -> np.ndarray:
    """A crop (float64 in [0, 1]) of a scikit-image sample image."""
    width = height if width is None else width
    image = load_image(name)
    out = image[top : top + height, left : left + width]
    assert out.shape == (height, width)
    return np.ascontiguousarray(out)


def load_recording(name: str) -> np.ndarray:
    """One FSDD recording as float64 in [-1, 1); skips the test when the data set is absent."""
    path = FSDD_DIR / "recordings" / name
    if not path.is_file():
        pytest.skip(f"FSDD recording {path} not found (the shared data folder is absent)")
    from scipy.io import wavfile

    rate, samples = wavfile.read(path)
    assert rate == 8000 and samples.dtype == np.int16 and samples.ndim == 1, (rate, samples.dtype)
    return samples.astype(np.float64) / 32768.0


def recording_segment(name: str, length: int, offset: int | None = None) -> np.ndarray:
    """``length`` samples of a recording, centred on the utterance unless ``offset`` is given."""
    x = load_recording(name)
    if len(x) < length:
        pytest.skip(f"{name} has {len(x)} samples, fewer than {length}")
    if offset is None:
        offset = (len(x) - length) // 2
    return np.ascontiguousarray(x[offset : offset + length])


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    return load_image("camera")


@pytest.fixture(scope="session")
def brick() -> np.ndarray:
    return load_image("brick")


@pytest.fixture(scope="session")
def grass() -> np.ndarray:
    return load_image("grass")


@pytest.fixture(scope="session")
def image_crops() -> dict[str, np.ndarray]:
    """Named 32 x 32 crops of the three images (textured regions, not flat background)."""
    return {
        "camera": crop("camera", 120, 200, 32),
        "brick": crop("brick", 200, 100, 32),
        "grass": crop("grass", 300, 300, 32),
    }


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    if not (FSDD_DIR / "recordings").is_dir():
        pytest.skip(f"FSDD not found at {FSDD_DIR}")
    return FSDD_DIR


@pytest.fixture(scope="session")
def recordings(fsdd_dir) -> dict[str, np.ndarray]:
    """A few whole FSDD recordings (float64 in [-1, 1))."""
    return {name: load_recording(name) for name in RECORDINGS}


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


def rel_err(a, b) -> float:
    """||a - b|| / ||b|| (numpy or torch)."""
    a = np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))
