"""Fashion-MNIST / MNIST IDX and CIFAR-10 pickle loaders: real files, small files written here, bad files."""
from __future__ import annotations

import gzip
from pathlib import Path
import pickle

import numpy as np
import pytest

from scatlab.datasets import (dataset_format, load_cifar10, load_cifar_batch, load_classification,
                              load_idx, load_mnist)
from scatlab.errors import DataError, InvalidParameterError

INSTALL_HINT = "apt-get install dataset-fashion-mnist"


def write_idx(path, array: np.ndarray, magic: int | None = None) -> None:
    """A gzipped IDX file: magic (2051 images, 2049 labels), big-endian uint32 dims, uint8 values."""
    magic = magic if magic is not None else (2051 if array.ndim == 3 else 2049)
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def write_split(directory, n: int = 20, shape=(28, 28), labels=None, split: str = "train") -> tuple:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    labels = np.arange(n) % 10 if labels is None else np.asarray(labels)
    write_idx(directory / f"{split}-images-idx3-ubyte.gz", images)
    write_idx(directory / f"{split}-labels-idx1-ubyte.gz", labels)
    return images, labels


@pytest.mark.requires_data("Fashion-MNIST")
def test_real_fashion_mnist():
    x_train, y_train = load_mnist()
    x_test, y_test = load_mnist(split="t10k")
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert np.array_equal(np.bincount(y_train), np.full(10, 6000))
    assert np.array_equal(np.bincount(y_test), np.full(10, 1000))
    assert 0 < x_train.mean() < 255 and x_train.max() == 255


def test_small_idx_round_trip(tmp_path):
    images, labels = write_split(tmp_path)
    x, y = load_mnist(tmp_path, "train")
    assert np.array_equal(x, images) and np.array_equal(y, labels)
    x[0, 0, 0] = 1  # the arrays are writable copies


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=f"train-images-idx3-ubyte.gz' does not exist.*{INSTALL_HINT}"):
        load_mnist(tmp_path)


def test_truncated_file(tmp_path):
    write_split(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz' is truncated.*expected 15696"):
        load_mnist(tmp_path)
    path.write_bytes(gzip.compress(raw[:10]))
    with pytest.raises(DataError, match="less than its 16-byte IDX header"):
        load_mnist(tmp_path)


def test_corrupt_gzip(tmp_path):
    write_split(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"this is not gzip" * 4)
    with pytest.raises(DataError, match=f"labels-idx1-ubyte.gz' is not a readable gzip file.*{INSTALL_HINT}"):
        load_mnist(tmp_path)
    path.write_bytes(gzip.compress(b"\x00" * 40)[:-8])  # a gzip stream cut before its trailer
    with pytest.raises(DataError, match="not a readable gzip file"):
        load_mnist(tmp_path)


def test_wrong_magic(tmp_path):
    write_split(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(20, dtype=np.uint8), magic=2051)
    with pytest.raises(DataError, match="magic number 2051; expected 2049"):
        load_mnist(tmp_path)


def test_labels_out_of_range(tmp_path):
    write_split(tmp_path, labels=[0] * 19 + [12])
    with pytest.raises(DataError, match="must be in 0..9; found 12"):
        load_mnist(tmp_path)


def test_wrong_image_size_and_counts(tmp_path):
    write_split(tmp_path, shape=(32, 32))
    with pytest.raises(DataError, match=r"images of \(32, 32\) pixels; expected \(28, 28\)"):
        load_mnist(tmp_path)
    assert load_mnist(tmp_path, image_shape=(32, 32))[0].shape == (20, 32, 32)
    write_split(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(19, dtype=np.uint8))
    with pytest.raises(DataError, match="20 images but its label file 19 labels"):
        load_mnist(tmp_path)


def test_bad_split():
    with pytest.raises(InvalidParameterError, match="'split'"):
        load_mnist(split="validation")


def test_load_idx_direct(tmp_path):
    write_idx(tmp_path / "x.gz", np.arange(6, dtype=np.uint8).reshape(1, 2, 3))
    assert load_idx(tmp_path / "x.gz", 2051).shape == (1, 2, 3)


# ----------------------------------------------------------------------------------------- CIFAR


def write_cifar(directory, n: int = 12, data=None, labels=None, names=None) -> None:
    rng = np.random.default_rng(1)
    for name in names or [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(),
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8) if data is None else data,
                 b"labels": list(np.arange(n) % 10) if labels is None else labels}
        with open(directory / name, "wb") as file:
            pickle.dump(batch, file)


def test_cifar_round_trip(tmp_path):
    write_cifar(tmp_path)
    x, y = load_cifar10(tmp_path, "train")
    assert x.shape == (60, 3, 32, 32) and x.dtype == np.uint8 and y.shape == (60,) and y.dtype == np.int64
    x_test, y_test = load_cifar10(tmp_path, "test")
    assert x_test.shape == (12, 3, 32, 32) and np.array_equal(y_test, np.arange(12) % 10)
    raw = pickle.loads((tmp_path / "test_batch").read_bytes())[b"data"]
    assert np.array_equal(x_test[:, 0].reshape(12, -1), raw[:, :1024])  # R plane first


def test_cifar_errors(tmp_path):
    with pytest.raises(DataError, match="data_batch_1' does not exist.*cifar-10-batches-py"):
        load_cifar10(tmp_path)
    write_cifar(tmp_path, names=["test_batch"], data=np.zeros((4, 3000), dtype=np.uint8), labels=[0, 1, 2, 3])
    with pytest.raises(DataError, match=r"shape \(4, 3000\).*expected \(n, 3072\) uint8"):
        load_cifar10(tmp_path, "test")
    write_cifar(tmp_path, names=["test_batch"], n=4, labels=[0, 1, 2, 10])
    with pytest.raises(DataError, match="must be in 0..9; found 0..10"):
        load_cifar10(tmp_path, "test")
    write_cifar(tmp_path, names=["test_batch"], n=4, labels=[0, 1, 2])
    with pytest.raises(DataError, match="one integer label per image"):
        load_cifar10(tmp_path, "test")
    (tmp_path / "test_batch").write_bytes(b"\x80\x04corrupt")
    with pytest.raises(DataError, match="is not a readable CIFAR-10 pickle"):
        load_cifar_batch(tmp_path / "test_batch")
    with open(tmp_path / "test_batch", "wb") as file:
        pickle.dump({b"data": np.zeros((1, 3072), dtype=np.uint8)}, file)
    with pytest.raises(DataError, match="expected 'data' and 'labels'"):
        load_cifar_batch(tmp_path / "test_batch")
    with pytest.raises(InvalidParameterError, match="'split'"):
        load_cifar10(tmp_path, "valid")


def test_load_classification_detects_the_format(tmp_path):
    cifar, mnist, empty = tmp_path / "cifar", tmp_path / "mnist", tmp_path / "empty"
    for d in (cifar, mnist, empty):
        d.mkdir()
    write_cifar(cifar)
    write_split(mnist, n=20)
    write_split(mnist, n=10, split="t10k")
    assert (dataset_format(cifar), dataset_format(mnist)) == ("cifar", "mnist")
    x, y = load_classification(cifar, "test")
    assert x.shape == (12, 3, 32, 32) and y.shape == (12,)
    x, y = load_classification(mnist, "train")
    assert x.shape == (20, 1, 28, 28) and y.dtype == np.int64
    assert load_classification(mnist, "test")[0].shape == (10, 1, 28, 28)
    with pytest.raises(DataError, match="holds no image data set.*idx3-ubyte.*data_batch_1"):
        load_classification(empty, "train")
    with pytest.raises(DataError, match="does not exist"):
        load_classification(tmp_path / "missing", "train")
    with pytest.raises(InvalidParameterError, match="'split'"):
        load_classification(cifar, "validation")


def test_cifar_batch_that_would_run_code_is_refused_without_running_it(tmp_path):
    """A crafted batch whose unpickling calls os.system is refused by name; its command never runs."""
    import os
    import pickle

    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Payload(), b"labels": [0]}, protocol=2))
    with pytest.raises(DataError, match="data_batch_1.*posix.system|data_batch_1.*system"):
        load_cifar_batch(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # control: an unrestricted load of the same bytes runs the command
    assert marker.exists()


# FSDD: the pinned download, checked and kept atomically; tested on the project's copy through file URLs.
FSDD_COPY = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"
needs_fsdd = pytest.mark.requires_data("FSDD", FSDD_COPY)


def _fsdd_archive(tmp_path, names, *, alter: str | None = None) -> str:
    """A .tar.gz laid out as the repository's archive, holding ``names`` (one altered), a README and a
    member escaping with '..'; its file URL."""
    import io
    import tarfile

    path = tmp_path / "fsdd.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            data = (FSDD_COPY / name).read_bytes()
            if name == alter:
                data = data[:-2] + b"\x00\x01"
            info = tarfile.TarInfo(f"free-spoken-digit-dataset-x/recordings/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for member, data in (("free-spoken-digit-dataset-x/README.md", b"readme"),
                             ("../recordings/9_evil_0.wav", b"outside")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path.as_uri()


@needs_fsdd
def test_fsdd_digest_pins_the_project_copy():
    from scatlab.datasets.fsdd import FSDD_DIGEST, recordings_digest

    assert len(list(FSDD_COPY.glob("*.wav"))) == 3000
    assert recordings_digest(FSDD_COPY) == FSDD_DIGEST


@needs_fsdd
def test_fsdd_fetch_keeps_only_checked_recordings(tmp_path):
    from scatlab.datasets.fsdd import fetch_fsdd, recordings_digest

    names = ["0_jackson_0.wav", "3_theo_12.wav", "9_yweweler_49.wav"]
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in names:
        (reference / name).write_bytes((FSDD_COPY / name).read_bytes())
    destination = tmp_path / "cache"
    fetch_fsdd(destination, url=_fsdd_archive(tmp_path, names), digest=recordings_digest(reference))
    assert sorted(p.name for p in (destination / "recordings").iterdir()) == sorted(names)  # not the '..' member
    assert all((destination / "recordings" / n).read_bytes() == (FSDD_COPY / n).read_bytes() for n in names)
    assert sorted(p.name for p in destination.iterdir()) == ["recordings"]  # no temporary left


@needs_fsdd
def test_fsdd_fetch_refuses_altered_recordings_and_keeps_nothing(tmp_path):
    from scatlab.datasets.fsdd import fetch_fsdd, recordings_digest

    names = ["0_jackson_0.wav", "3_theo_12.wav"]
    url = _fsdd_archive(tmp_path, names, alter="3_theo_12.wav")
    with pytest.raises(DataError, match="do not match the pinned FSDD.*nothing was kept"):
        fetch_fsdd(tmp_path / "cache", url=url, digest=recordings_digest(FSDD_COPY))
    assert list((tmp_path / "cache").iterdir()) == []


def test_fsdd_offline_is_missing_data_saying_how_to_get_it(tmp_path, monkeypatch):
    from scatlab.datasets import fsdd
    from scatlab.errors import MissingData

    monkeypatch.delenv("SCATLAB_FSDD_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fsdd, "FSDD_URL", (tmp_path / "unreachable.tar.gz").as_uri())
    with pytest.raises(MissingData, match="FSDD is not on this machine: downloading .* failed.*SCATLAB_FSDD_DIR"):
        fsdd.fsdd_dir()
    with pytest.raises(MissingData, match="the cache .* is empty"):
        fsdd.fsdd_dir(fetch=False)
    monkeypatch.setenv("SCATLAB_FSDD_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(MissingData, match="'.*nowhere' holds no recordings/ folder"):
        fsdd.fsdd_dir()


@needs_fsdd
def test_fsdd_dir_fetches_into_the_user_cache_once(tmp_path, monkeypatch):
    from scatlab.datasets import fsdd

    names = ["1_george_7.wav"]
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / names[0]).write_bytes((FSDD_COPY / names[0]).read_bytes())
    monkeypatch.delenv("SCATLAB_FSDD_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fsdd, "FSDD_URL", _fsdd_archive(tmp_path, names))
    monkeypatch.setattr(fsdd, "FSDD_DIGEST", fsdd.recordings_digest(reference))
    folder = fsdd.fsdd_dir()
    assert folder.parent == tmp_path / "cache" / "scatlab" and (folder / "recordings" / names[0]).is_file()
    monkeypatch.setattr(fsdd, "FSDD_URL", (tmp_path / "gone.tar.gz").as_uri())  # a second call does not download
    assert fsdd.fsdd_dir() == folder
