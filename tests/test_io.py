"""Readers (images, audio, arrays) and atomic writers of scatlab.io."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import wavfile

from scatlab.errors import DataError
from scatlab.datasets import read_audio, read_image, read_signal
from scatlab.io import atomic_savez, atomic_write_bytes, atomic_write_json, atomic_write_text
from conftest import require_module

skimage_data = require_module("skimage.data", "scikit-image")


@pytest.fixture
def camera_png(tmp_path):
    path = tmp_path / "camera.png"
    Image.fromarray(skimage_data.camera()).save(path)
    return path


def test_read_image_png_is_grey_float_in_unit_interval(camera_png):
    image = read_image(camera_png)
    assert image.dtype == np.float32 and image.shape == (512, 512)
    np.testing.assert_allclose(image, skimage_data.camera() / 255.0, atol=1e-6)


def test_read_image_colour_and_16_bit(tmp_path):
    rgb = skimage_data.astronaut()
    Image.fromarray(rgb).save(tmp_path / "rgb.jpg", quality=95)
    from scatlab.datasets.files import ConvertedToGrey

    with pytest.warns(ConvertedToGrey, match="colour image"):
        grey = read_image(tmp_path / "rgb.jpg")
    assert grey.shape == rgb.shape[:2] and 0.0 <= grey.min() and grey.max() <= 1.0
    deep = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    np.testing.assert_allclose(read_image(tmp_path / "deep.png"), deep / 65535.0, atol=1e-6)


def test_read_image_npy(tmp_path):
    np.save(tmp_path / "float.npy", np.full((8, 9), 2.5))
    np.save(tmp_path / "bytes.npy", np.full((8, 9), 255, dtype=np.uint8))
    np.save(tmp_path / "cube.npy", np.zeros((2, 8, 9)))
    assert read_image(tmp_path / "float.npy").max() == 2.5  # float arrays are kept as stored
    assert read_image(tmp_path / "bytes.npy").max() == 1.0  # integer arrays are scaled like image files
    with pytest.raises(DataError, match="must be 2D"):
        read_image(tmp_path / "cube.npy")


def _write_wav(path: Path, data: np.ndarray, rate: int = 8000) -> Path:
    wavfile.write(path, rate, data)
    return path


@pytest.mark.parametrize("dtype, scale, offset", [(np.int16, 2.0**15, 0), (np.int32, 2.0**31, 0),
                                                  (np.uint8, 128.0, 128), (np.float32, 1.0, 0)])
def test_read_audio_scales_every_pcm_format(tmp_path, dtype, scale, offset):
    raw = np.array([0, 1, -2, 100, 3], dtype=np.float64)
    samples, rate = read_audio(_write_wav(tmp_path / "a.wav", (raw + offset).astype(dtype), rate=16000))
    assert rate == 16000 and samples.dtype == np.float32
    np.testing.assert_allclose(samples, raw / scale, rtol=1e-6)


def test_read_audio_stereo_is_averaged(tmp_path):
    stereo = np.stack([np.full(10, 1000, np.int16), np.full(10, 3000, np.int16)], axis=1)
    samples, _ = read_audio(_write_wav(tmp_path / "s.wav", stereo))
    np.testing.assert_allclose(samples, 2000 / 2**15)


def test_read_audio_unsupported_sample_format_names_it(tmp_path):
    path = _write_wav(tmp_path / "wide.wav", np.zeros(16, np.int64))
    with pytest.raises(DataError, match="int64"):
        read_audio(path)


def test_read_signal_dispatches_on_suffix(tmp_path, camera_png):
    assert read_signal(camera_png)[1] is None and read_signal(camera_png)[0].ndim == 2
    audio, rate = read_signal(_write_wav(tmp_path / "a.wav", np.zeros(32, np.int16)))
    assert audio.shape == (32,) and rate == 8000
    np.save(tmp_path / "line.npy", np.linspace(0, 1, 16))
    assert read_signal(tmp_path / "line.npy")[0].shape == (16,)


@pytest.mark.parametrize("name, content, message", [
    ("missing.png", None, "does not exist"),
    ("corrupt.png", os.urandom(512), "corrupt"),
    ("corrupt.jpg", b"\xff\xd8\xff" + os.urandom(256), "corrupt"),
    ("corrupt.wav", b"RIFF" + os.urandom(64), "Cannot read the WAV"),
    ("corrupt.npy", os.urandom(64), "Cannot read the array"),
    ("notes.txt", b"hello", "unsupported file extension '.txt'"),
])
def test_bad_files_raise_data_error_naming_path(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_signal(path)
    assert str(path) in str(info.value)


def test_nan_values_are_refused(tmp_path):
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(DataError, match="NaN"):
        read_image(tmp_path / "nan.npy")


def test_atomic_writes_round_trip(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "sub" / "a.txt", "héllo")
    atomic_write_json(tmp_path / "a.json", {"x": np.float32(1.5), "y": np.arange(3)})
    atomic_savez(tmp_path / "arrays.out", a=np.eye(2))  # exactly this name: no .npz appended
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "a.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1.5, "y": [0, 1, 2]}
    np.testing.assert_array_equal(np.load(tmp_path / "arrays.out")["a"], np.eye(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "a.json", "arrays.out", "sub"]


def test_failed_json_serialization_leaves_no_partial_file(tmp_path):
    target = tmp_path / "results.json"
    target.write_text('{"old": true}')
    with pytest.raises(TypeError):
        atomic_write_json(target, {"fine": list(range(1000)), "bad": object()})  # fails mid-stream
    with pytest.raises(ValueError):
        atomic_write_json(target, {"nan": float("nan")})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_failed_replace_removes_the_temporary_file(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(tmp_path / "out.txt", "data")
    assert list(tmp_path.iterdir()) == []
