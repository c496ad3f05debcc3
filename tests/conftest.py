"""Shared fixtures: real images (scikit-image) and real speech (FSDD), float, scaled.

Images: ``camera``, ``brick`` and ``grass`` from :mod:`skimage.data` (512 x 512, uint8) converted
to float64 in [0, 1] (divided by 255). Crops are taken at fixed positions so the tests are
deterministic.

Audio: a few recordings of the Free Spoken Digit Dataset (8 kHz, int16, mono), read with
:func:`scipy.io.wavfile.read` from ``<repo>/../shared/data/fsdd/recordings`` and scaled to
[-1, 1) (divided by 32768). Tests that need them are skipped when the folder is absent.

Missing data: every test that needs a data set or an optional package goes through
:func:`require_data` (or :func:`require_module`, or the mark ``@pytest.mark.requires_data(NAME)``
with a NAME of :data:`DATA`). Outside CI a missing one skips the test, naming the install command;
under CI (``CI=true``) it fails, naming the package and the command, because CI installs every one
of them (``scripts/test.sh``: the test and peer extras and ``scripts/install_data.sh``) and a test
suite that skips its real-data tests would pass without testing them. The FSDD recordings have no
offline install command: they skip under CI too, saying so.
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
pytest_plugins = ("pytester",)  # tests/test_data_requirements.py runs pytest on a marked test
try:
    from threadpoolctl import threadpool_limits

    _BLAS_LIMITS = threadpool_limits(limits=1)  # in case numpy was imported before this file
except ImportError:  # threadpoolctl comes with scikit-learn; without it, keep the defaults
    _BLAS_LIMITS = None

# <repo>/../shared/data/fsdd; SCATLAB_FSDD_DIR overrides it (e.g. to check that tests skip cleanly)
# (made absolute, so that a relative SCATLAB_FSDD_DIR keeps meaning the same folder in a test that changes directory)
FSDD_DIR = Path(os.environ.get("SCATLAB_FSDD_DIR",
                               Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd")).expanduser().resolve()
os.environ["SCATLAB_FSDD_DIR"] = str(FSDD_DIR)  # the library reads FSDD from here too: tests never download it
RECORDINGS = ("0_george_0.wav", "1_jackson_0.wav", "3_nicolas_0.wav", "7_theo_0.wav", "9_yweweler_0.wav")


# ---------------------------------------------------------------- missing data: skip, or fail under CI

from scatlab.datasets import FASHION_MNIST_DIR  # noqa: E402

FASHION_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                       "t10k-labels-idx1-ubyte.gz")
TEST_EXTRA = "pip install -e '.[test]' (bash scripts/setup_env.sh test,peer)"


def in_ci() -> bool:
    """True under CI (``CI`` set to anything but '', '0', 'false', 'no'), read at each call."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _have_module(name: str) -> bool:
    import importlib

    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _have_qm9() -> bool:
    from scatlab.datasets.qm9 import FILES, qm9_dir
    from scatlab.errors import DataError

    try:
        return all((qm9_dir() / f).is_file() for f in FILES)
    except DataError:
        return False


# name -> (check, install command or None when there is none offline)
DATA = {
    "Fashion-MNIST": (lambda: all((FASHION_MNIST_DIR / f).is_file() for f in FASHION_MNIST_FILES),
                      "apt-get install dataset-fashion-mnist (or bash scripts/install_data.sh)"),
    "QM9": (_have_qm9, f"pip install qm9pack ({TEST_EXTRA})"),
    "scikit-image": (lambda: _have_module("skimage.data"), f"pip install scikit-image ({TEST_EXTRA})"),
    "scikit-learn": (lambda: _have_module("sklearn"), f"pip install scikit-learn ({TEST_EXTRA})"),
    "Kymatio": (lambda: _have_module("kymatio.torch"),
                "pip install kymatio==0.3.0 'scipy<1.17' (the peer extra: bash scripts/setup_env.sh test,peer)"),
    "FSDD": (lambda: (FSDD_DIR / "recordings").is_dir(), None),
}


def require_data(name: str, available=None, install: str | None = None) -> None:
    """Skip the test (outside CI) or fail it (under CI) when the data set or package ``name`` is missing.

    ``available``: a path that must exist, a bool, a function returning one, or None for the check of
    :data:`DATA`; ``install``: the command that provides it (None: the one of :data:`DATA`). Without an
    install command (FSDD) it skips under CI as well. Works at module level too."""
    if available is None or install is None:
        if name not in DATA:
            raise KeyError(f"require_data: {name!r} is not in DATA ({sorted(DATA)}); pass the check and command")
        check, command = DATA[name]
        available = check if available is None else available
        install = command if install is None else install
    if callable(available):
        available = available()
    elif isinstance(available, (str, Path)):
        available = Path(available).exists()
    if available:
        return
    if name == "FSDD" or install is None:
        pytest.skip(f"{name} not found at {FSDD_DIR / 'recordings'}: it has no offline install command; put the"
                    " recordings there or set SCATLAB_FSDD_DIR (skipped under CI too)" if name == "FSDD"
                    else f"{name} is missing and has no offline install command (skipped under CI too)",
                    allow_module_level=True)
    if in_ci():
        pytest.fail(f"{name} is missing under CI (CI=true), where it must be installed: {install}", pytrace=False)
    pytest.skip(f"{name} is missing; install it with: {install}", allow_module_level=True)


def require_module(module: str, name: str):
    """``module`` imported, or :func:`require_data` (name, the install command of :data:`DATA`)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        require_data(name, False)


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_data(name): the test needs the data set or package DATA[name];"
                                       " skipped when missing, failed under CI (conftest.require_data)")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("requires_data"):
        require_data(*mark.args)


_IMAGE_CACHE: dict[str, np.ndarray] = {}


def load_image(name: str) -> np.ndarray:
    """A scikit-image sample image as float64 in [0, 1] (cached)."""
    if name not in _IMAGE_CACHE:
        skdata = require_module("skimage.data", "scikit-image")
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
    require_data("FSDD")
    assert path.is_file(), f"{path} is missing from the FSDD copy"
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
    require_data("FSDD")
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
