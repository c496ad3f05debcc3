"""The scatlab command line: info, transform, bench, reproduce argument errors."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import scatlab
from scatlab import cli
from scatlab.errors import DataError, InvalidParameterError
from scatlab.reproduce import configure
from scatlab.datasets import read_audio, read_image
from scatlab.learning.training import load_checkpoint
from conftest import require_module

skimage_data = require_module("skimage.data", "scikit-image")

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"


def _error_line(capsys) -> str:
    """The single clean error line printed on stderr (the progress bar clears itself with '\\r')."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("scatlab: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def images(tmp_path):
    """Two real 128 x 128 PNG images (crops of camera) and one of another shape."""
    camera = skimage_data.camera()
    paths = [tmp_path / "camera_a.png", tmp_path / "camera_b.png", tmp_path / "camera_wide.png"]
    Image.fromarray(camera[100:228, 200:328]).save(paths[0])
    Image.fromarray(camera[300:428, 100:228]).save(paths[1])
    Image.fromarray(camera[:128, :160]).save(paths[2])
    return paths


def test_info_prints_versions_devices_and_extras(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for word in ("scatlab", "torch", "numpy", "python", "torch threads", "devices", "cpu", "scikit-image", "kymatio"):
        assert word in out


def test_transform_png_writes_the_expected_npz(tmp_path, images, capsys):
    out = tmp_path / "coefficients.npz"
    assert cli.main(["transform", str(images[0]), str(images[1]), "-o", str(out), "--J", "3", "--L", "4"]) == 0
    assert "wrote" in capsys.readouterr().out
    with np.load(out) as saved:
        S = scatlab.Scattering2D((128, 128), J=3, L=4)
        assert saved["coefficients"].shape == (2,) + S.output_shape
        assert saved["coefficients"].dtype == np.float32
        assert list(saved["files"]) == [str(images[0]), str(images[1])]
        assert (str(saved["kind"]), int(saved["J"]), int(saved["L"]), str(saved["padding"])) == ("2d", 3, 4, "reflect")
        np.testing.assert_array_equal(saved["meta_order"], S.meta["order"])
        np.testing.assert_array_equal(saved["meta_j1"], S.meta["j1"])
        expected = S(torch.from_numpy(read_image(images[1]))).numpy()
        np.testing.assert_allclose(saved["coefficients"][1], expected, rtol=1e-5, atol=1e-7)


@pytest.mark.requires_data("FSDD", FSDD)
def test_transform_fsdd_wav_is_1d_with_its_sample_rate(tmp_path):
    source = FSDD / "0_george_0.wav"
    wav = tmp_path / "digit.wav"
    wav.write_bytes(source.read_bytes())
    out = tmp_path / "audio.npz"
    assert cli.main(["transform", str(wav), "-o", str(out), "--J", "6", "--Q", "8"]) == 0
    samples, rate = read_audio(wav)
    S = scatlab.Scattering1D(samples.shape[0], J=6, Q=8)
    with np.load(out) as saved:
        assert str(saved["kind"]) == "1d" and int(saved["sample_rate"]) == rate == 8000
        assert list(saved["Q"]) == [8, 1] and int(saved["T"]) == 64  # Q resolves to (Q1, Q2)
        expected = S(torch.from_numpy(samples)).numpy()
        np.testing.assert_allclose(saved["coefficients"][0], expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.png", "does not exist"),
    (lambda d: _write(d / "corrupt.png", os.urandom(256)), "corrupt"),
    (lambda d: _write(d / "table.csv", b"1,2,3"), "unsupported file extension"),
])
def test_transform_bad_input_is_one_clean_error_line(tmp_path, capsys, make, message):
    path = make(tmp_path)
    assert cli.main(["transform", str(path), "-o", str(tmp_path / "out.npz")]) == 2
    line = _error_line(capsys)
    assert message in line and str(path) in line
    assert not (tmp_path / "out.npz").exists()


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_transform_refuses_mixed_shapes_and_wrong_kind(tmp_path, images, capsys):
    out = tmp_path / "out.npz"
    assert cli.main(["transform", str(images[0]), str(images[2]), "-o", str(out)]) == 2
    assert "share one shape" in _error_line(capsys)
    assert cli.main(["transform", str(images[0]), "--kind", "1d", "-o", str(out)]) == 2
    assert "the kind is '1d'" in _error_line(capsys)
    assert cli.main(["transform", str(images[0]), "--J", "0", "-o", str(out)]) == 2
    assert "'J' parameter" in _error_line(capsys)
    assert not out.exists()


def test_reproduce_unknown_experiment_lists_the_known_ones(tmp_path, capsys):
    assert cli.main(["reproduce", "no_such_experiment", "--out", str(tmp_path)]) == 2
    line = _error_line(capsys)
    assert "no_such_experiment" in line and "stability" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, message", [
    ("epochs=3", "'KEY'.*epochs_full"), ("epochs_full", "KEY=VALUE"), ("epochs_full=many", "expected an integer"),
    ("train_sizes=", "one or more values"), ("data_dir=", "a value after '='"), ("seed=3", "--seed N"),
])
def test_reproduce_bad_option_fails_before_running(tmp_path, capsys, option, message):
    argv = ["reproduce", "fmnist-hybrid", "fmnist-phase-collapse", "--set", option, "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    assert re.search(message, _error_line(capsys))
    assert list(tmp_path.iterdir()) == []


def test_reproduce_options_are_typed_by_the_config():
    cfg = configure("fmnist-phase-collapse", options={"data_dir": "/data/cifar-10-batches-py", "epochs_full": "15",
                                                      "train_sizes": "1000,60000", "models": "resnet", "lr": "1"})
    assert (cfg.data_dir, cfg.epochs_full, cfg.train_sizes, cfg.models, cfg.lr) == \
        ("/data/cifar-10-batches-py", 15, (1000, 60000), ("resnet",), 1.0)
    qm9 = configure("qm9", quick=True, options={"read_limit": "None", "spacing": "1/3", "shape": "48,36,30",
                                                 "skip_bad": "True", "integral_powers": "1,2"})
    assert (qm9.read_limit, qm9.spacing, qm9.shape, qm9.skip_bad, qm9.integral_powers) == \
        (None, 1 / 3, (48, 36, 30), True, (1.0, 2.0))
    for bad in ({"read_limit": "abc"}, {"shape": "48,36"}, {"skip_bad": "true"}):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            configure("qm9", options=bad)


def test_reproduce_refuses_existing_checkpoints_without_resume(tmp_path, capsys):
    checkpoint = tmp_path / "fmnist-phase-collapse" / "checkpoints" / "phase-collapse_n500_s0.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"an earlier run")
    assert cli.main(["reproduce", "stability", "fmnist-phase-collapse", "--quick", "--out", str(tmp_path)]) == 2
    line = _error_line(capsys)
    assert str(checkpoint) in line and "--resume" in line and "--out" in line
    assert checkpoint.read_bytes() == b"an earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fmnist-phase-collapse"]  # stability did not run either


@pytest.mark.requires_data("Fashion-MNIST")
def test_reproduce_killed_midway_resumes_to_the_uninterrupted_weights(tmp_path, capsys):
    """SIGKILL a real training run once its first epoch checkpoint is on disk; ``--resume`` then ends
    with exactly the weights and history of an uninterrupted run. A plain rerun refuses to train over
    the checkpoint, and resuming with another configuration fails without touching results.json."""
    epochs = 4
    command = [sys.executable, "-m", "scatlab", "reproduce", "fmnist-phase-collapse", "--quick",
               "--set", "models=phase-collapse", "--set", "n_test=100", "--set", f"epochs_small={epochs}"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    checkpoint = Path("fmnist-phase-collapse", "checkpoints", "phase-collapse_n500_s0.pt")
    subprocess.run([*command, "--out", str(whole)], env=env, check=True, capture_output=True)

    run = subprocess.Popen([*command, "--out", str(killed)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (killed / checkpoint).exists():
        assert run.poll() is None and time.monotonic() < deadline, "no checkpoint before the run ended"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    assert len(load_checkpoint(killed / checkpoint)["history"]) < epochs  # killed midway
    assert not (killed / "fmnist-phase-collapse" / "results.json").exists()

    assert cli.main(command[3:] + ["--out", str(killed)]) == 2  # no --resume: refused, nothing written
    assert "--resume" in _error_line(capsys)
    subprocess.run([*command, "--out", str(killed), "--resume"], env=env, check=True, capture_output=True)
    reference, resumed = (load_checkpoint(d / checkpoint) for d in (whole, killed))
    assert [h["epoch"] for h in resumed["history"]] == list(range(1, epochs + 1))
    assert resumed["history"] == reference["history"]
    assert reference["model"].keys() == resumed["model"].keys()
    for name, value in reference["model"].items():
        assert torch.equal(resumed["model"][name], value), name

    results = (whole / "fmnist-phase-collapse" / "results.json").read_bytes()
    other = command[3:] + ["--set", f"epochs_small={epochs + 1}", "--out", str(whole), "--resume"]
    assert cli.main(other) == 2  # the checkpoint of another configuration: a user error
    out = capsys.readouterr().out
    assert "another configuration" in out and "another directory" in out and "delete this file" in out
    assert (whole / "fmnist-phase-collapse" / "results.json").read_bytes() == results
    failed = json.loads((whole / "fmnist-phase-collapse" / "failed.json").read_text())
    assert failed["status"] == "failed" and failed["user_error"] and str(whole / checkpoint) in failed["error"]


def test_argparse_errors_exit_2():
    with pytest.raises(SystemExit) as info:
        cli.main(["no-such-command"])
    assert info.value.code == 2


def test_bench_passes_its_arguments_on(monkeypatch, capsys):
    from scatlab.commands import bench

    seen = []
    monkeypatch.setattr(bench, "run", lambda names, **kwargs: seen.append((names, kwargs)) or ([], "| table |"))
    assert cli.main(["bench", "--repeats", "3", "--config", "2d-J2-L8-32x32-b256", "--no-peer"]) == 0
    assert seen == [(["2d-J2-L8-32x32-b256"], dict(repeats=3, threads=2, peer=False, memory=True, forward_only=False,
                                                    json_path=None))]
    assert "| table |" in capsys.readouterr().out


def test_bench_unknown_configuration_exits_2(capsys):
    assert cli.main(["bench", "--config", "no-such-configuration"]) == 2
    error = capsys.readouterr().err
    assert "no-such-configuration" in error and "2d-J2-L8-32x32-b256" in error


@pytest.mark.requires_data("FSDD", FSDD)
def test_transform_q2_sets_the_second_order_wavelets(tmp_path, capsys):
    wav = FSDD / "4_jackson_0.wav"
    out = tmp_path / "audio.npz"
    assert cli.main(["transform", str(wav), "-o", str(out), "--J", "5", "--Q", "8", "--Q2", "2"]) == 0
    samples, _ = read_audio(wav)
    S = scatlab.Scattering1D(samples.shape[0], J=5, Q=(8, 2))
    with np.load(out) as saved:
        assert list(saved["Q"]) == [8, 2]
        np.testing.assert_allclose(saved["coefficients"][0], S(torch.from_numpy(samples)).numpy(), rtol=1e-5, atol=1e-7)
    assert cli.main(["transform", str(wav), "-o", str(out), "--Q2", "0"]) == 2
    assert "'Q' parameter" in _error_line(capsys)


def test_experiments_are_discovered_in_the_listing_order(tmp_path):
    from scatlab.reproduce import registry

    assert registry.EXPERIMENTS == registry.discover()
    assert registry.EXPERIMENTS == tuple(name for name in registry.ORDER if name in registry.EXPERIMENTS), \
        "list every experiment in registry.ORDER"
    for name in ("zeta_new.py", "alpha_new.py", "_helper.py", "qm9.py", "stability.py"):
        (tmp_path / name).write_text("")
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "__init__.py").write_text("")
    assert registry.discover(tmp_path) == ("stability", "qm9", "alpha-new", "zeta-new")


def test_a_discovered_module_without_run_is_refused_with_the_fix(monkeypatch):
    from scatlab.reproduce import registry

    helper = types.ModuleType("scatlab.experiments.helper")
    monkeypatch.setitem(sys.modules, "scatlab.experiments.helper", helper)
    monkeypatch.setattr(registry, "EXPERIMENTS", ("helper",))
    with pytest.raises(TypeError, match="defines no Config and no run.*_helper.py"):
        registry.load("helper")


def test_bench_markdown_reports_throughput_from_the_committed_results():
    from scatlab.commands.bench import CONFIGS, to_markdown

    results = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "results.json").read_text())
    header, _, first = to_markdown(results["rows"][:1], ("forward", "backward")).splitlines()
    cells = dict(zip(header.strip("| ").split(" | "), first.strip("| ").split(" | ")))
    row = results["rows"][0]
    batch = next(c.batch for c in CONFIGS if c.name == row["config"])
    assert float(cells["fwd signals/s"]) == pytest.approx(batch / row["forward_s"], abs=0.05)
    assert float(cells["fwd+bwd signals/s"]) == pytest.approx(batch / row["backward_s"], abs=0.05)


@pytest.mark.requires_data("FSDD", FSDD)
def test_transform_normalize_resolution(tmp_path, capsys):
    wav = FSDD / "4_jackson_0.wav"
    out = tmp_path / "audio.npz"
    assert cli.main(["transform", str(wav), "-o", str(out), "--J", "5", "--Q", "8", "--normalize", "resolution"]) == 0
    samples, _ = read_audio(wav)
    S = scatlab.Scattering1D(samples.shape[0], J=5, Q=8, normalize="resolution")
    with np.load(out) as saved:
        assert str(saved["normalize"]) == "resolution"
        np.testing.assert_allclose(saved["coefficients"][0], S(torch.from_numpy(samples)).numpy(), rtol=1e-5, atol=1e-7)
    with pytest.raises(SystemExit):
        cli.main(["transform", str(wav), "-o", str(out), "--normalize", "energy"])
    assert "--normalize" in capsys.readouterr().err


@pytest.mark.requires_data("FSDD", FSDD)
def test_transform_recordings_of_different_lengths_with_length(tmp_path, capsys):
    files = [str(FSDD / "0_george_0.wav"), str(FSDD / "7_theo_3.wav")]
    lengths = [len(read_audio(f)[0]) for f in files]
    assert lengths[0] != lengths[1]
    out = tmp_path / "digits.npz"
    assert cli.main(["transform", *files, "-o", str(out), "--J", "6", "--Q", "8"]) == 2
    assert "set 'length'" in _error_line(capsys)
    assert cli.main(["transform", *files, "-o", str(out), "--J", "6", "--Q", "8", "--length", "4096"]) == 0
    with np.load(out) as saved:
        S = scatlab.Scattering1D(4096, J=6, Q=8)
        assert saved["coefficients"].shape == (2,) + S.output_shape
        first = np.pad(read_audio(files[0])[0][:4096], (0, max(4096 - lengths[0], 0))).astype(np.float32)
        np.testing.assert_allclose(saved["coefficients"][0], S(torch.from_numpy(first)).numpy(), rtol=1e-5, atol=1e-7)


def test_transform_says_what_it_changed_and_refuses_unclear_outputs(tmp_path, capsys):
    rgb = tmp_path / "colour.png"
    Image.fromarray(skimage_data.astronaut()[:64, :64]).save(rgb)
    out = tmp_path / "new" / "folder" / "c.npz"
    assert cli.main(["transform", str(rgb), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "colour image (RGB): scattered as grey" in captured.err
    assert f"created the folder {out.parent}" in captured.out and out.is_file()
    assert cli.main(["transform", str(rgb), "-o", str(tmp_path / "out.txt")]) == 2
    assert "'--output'" in _error_line(capsys) and not (tmp_path / "out.txt").exists()
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert cli.main(["transform", str(rgb), "-o", str(blocker / "c.npz")]) == 2
    line = _error_line(capsys)
    assert f"'{blocker}' is a file, not a folder" in line and "Errno" not in line


def test_transform_streams_a_folder_into_a_resumable_feature_store(tmp_path, capsys):
    from scatlab.io import FeatureStore, load_store

    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(7):  # real image crops, written as PNG files
        Image.fromarray((skimage_data.camera()[8 * i:8 * i + 32, :32])).save(folder / f"{i:02d}.png")
    store = tmp_path / "features"
    argv = ["transform", str(folder), "-o", str(store), "--J", "2", "--batch-size", "3", "--workers", "1"]
    assert cli.main(argv) == 0
    assert "3 of 3 batches" in capsys.readouterr().out
    saved = load_store(store)
    S = scatlab.Scattering2D((32, 32), J=2)
    expected = S(torch.from_numpy(np.stack([read_image(p) for p in sorted(folder.glob("*.png"))]))).numpy()
    assert saved["coefficients"].shape == expected.shape and saved["files"][0].endswith("00.png")
    np.testing.assert_allclose(saved["coefficients"], expected, rtol=1e-5, atol=1e-6)
    assert list(saved["meta"]["meta_order"]) == list(S.meta["order"])
    # an interrupted run (batch 1 lost) is finished by running the same command again
    (store / "done" / "0000001").unlink()
    with pytest.raises(DataError, match="misses 1 of 3 batches"):
        load_store(store)
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 of 3 batches" in out and "2 batch(es) were done by an earlier run" in out
    np.testing.assert_allclose(load_store(store)["coefficients"], expected, rtol=1e-5, atol=1e-6)
    # other parameters, or an input changed since, are refused, not mixed
    assert cli.main(argv[:-4] + ["--J", "3"]) == 2
    assert "another computation" in _error_line(capsys)
    first = folder / "00.png"
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 10**9))
    assert cli.main(argv) == 2
    assert "another computation (different identity)" in _error_line(capsys)
    # two ranks fill disjoint batches of one store
    ranked = tmp_path / "ranked"
    from scatlab.commands.transform import transform_to_store

    files = sorted(folder.glob("*.png"))
    reports = [transform_to_store(files, ranked, J=2, batch_size=2, workers=0, rank=r, world=2) for r in (0, 1)]
    assert [r.written for r in reports] == [2, 2] and FeatureStore.wait_for(ranked).pending() == []
    np.testing.assert_allclose(load_store(ranked)["coefficients"], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("field, value", [("batch_size", 0), ("batch_size", 2.5), ("workers", -1), ("workers", True)])
def test_transform_to_store_names_a_bad_parameter(tmp_path, field, value):
    from scatlab.commands.transform import transform_to_store

    with pytest.raises(InvalidParameterError, match=field):
        transform_to_store([tmp_path / "x.png"], tmp_path / "store", **{field: value})


def test_a_folder_that_is_not_a_store_is_refused(tmp_path):
    from scatlab.io import FeatureStore, load_store

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not a feature store"):
        FeatureStore.create_or_open(tmp_path, ["a.wav"], (3,), 1, {})
    with pytest.raises(DataError, match="not a feature store"):
        load_store(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_store_batches_land_at_their_rows_in_any_order(tmp_path):
    from scatlab.io import FeatureStore, load_store

    files = [f"f{i}.wav" for i in range(5)]
    store = FeatureStore.create_or_open(tmp_path / "s", files, (3, 4), 2, {"t": 1})
    values = np.arange(5 * 12, dtype=np.float32).reshape(5, 3, 4) - 7.5
    for batch in (2, 0, 1):  # the last batch is short (one row)
        store.write(batch, values[store.rows(batch).start:store.rows(batch).stop])
    reopened = FeatureStore.create_or_open(tmp_path / "s", files, (3, 4), 2, {"t": 1})
    assert reopened.pending() == []
    np.testing.assert_array_equal(load_store(tmp_path / "s")["coefficients"], values)
