"""The wsgm experiment on tiny configurations: every field of the record is there and valid, the Fashion-MNIST arm
resumes over a phi^4 run without retraining it, and the measurement tools give known answers."""
import dataclasses
import math

import numpy as np
import pytest
import torch
from PIL import Image

from scatlab.errors import InvalidParameterError
from scatlab.experiments import wsgm
from scatlab.experiments._contract import VERDICTS
from scatlab.reproduce import runner

TINY = dict(sizes=(16,), train_chains=8, snapshots=4, reference_chains=8, width=8, depth=3, train_steps=30,
            batch_size=16, steps_grid=(2, 4), n_generated=16, fmnist_sizes=(16, 32), fmnist_train=200,
            fmnist_validation=100, fmnist_test=300, fmnist_train_steps=30)


def _tiny(monkeypatch, **changes):
    tiny = dataclasses.replace(wsgm.Config.quick(), **{**TINY, **changes})
    monkeypatch.setattr(wsgm.Config, "quick", classmethod(lambda cls: tiny))
    return tiny


def test_wsgm_tiny_run(tmp_path, monkeypatch):
    tiny = _tiny(monkeypatch, arms=("phi4",))
    record = runner.run_experiment("wsgm", tmp_path, quick=True, seed=1)
    assert record["status"] == "ok", record["traceback"]
    assert record["metrics"] and all(math.isfinite(v) for v in record["metrics"].values())
    assert {"steps_needed_pixel_L16", "steps_needed_wavelet_L16", "ps_error_floor_L16"} <= set(record["metrics"])
    for name in record["figures"]:
        with Image.open(tmp_path / "wsgm" / name) as image:
            image.verify()
    assert record["figures"] == ["wsgm_samples.png", "wsgm_quality.png"]
    assert len(record["verdicts"]) == 1 and all(v["verdict"] in VERDICTS for v in record["verdicts"])
    assert [s["what"] for s in record["selections"]] == ["Adam learning rate of the pixel score model",
                                                         "Adam learning rate of the wavelet score models (coarse + "
                                                         "conditionals)"]
    assert all(len(s["scores"]) == len(tiny.lr_grid) for s in record["selections"])
    names = [f"pixel_L16_lr{lr:g}.pt" for lr in tiny.lr_grid]
    names += [f"wavelet_L16_lr{lr:g}_{part}.pt" for lr in tiny.lr_grid for part in ("coarse", "level1")]
    assert sorted(p.name for p in (tmp_path / "wsgm" / "checkpoints").iterdir()) == sorted(names)


@pytest.mark.requires_data("Fashion-MNIST")
def test_fmnist_arm_resumes_a_phi4_run_without_retraining_it(tmp_path, monkeypatch):
    """A phi4-only run, then both arms with resume: the phi^4 checkpoints are read, not rewritten, the phi^4 numbers
    are the same, and the Fashion-MNIST arm adds its own models, numbers, figures, verdict and selections."""
    tiny = _tiny(monkeypatch, arms=("phi4",))
    first = runner.run_experiment("wsgm", tmp_path, quick=True, seed=1)
    checkpoints = tmp_path / "wsgm" / "checkpoints"
    written = {p.name: p.stat().st_mtime_ns for p in checkpoints.iterdir()}
    _tiny(monkeypatch, arms=("phi4", "fmnist"))
    with pytest.raises(runner.CheckpointsExist):
        runner.run_experiment("wsgm", tmp_path, quick=True, seed=1)
    record = runner.run_experiment("wsgm", tmp_path, quick=True, seed=1, resume=True)
    assert record["status"] == "ok", record["traceback"]
    assert {name: (checkpoints / name).stat().st_mtime_ns for name in written} == written
    m = record["metrics"]
    assert {k: v for k, v in m.items() if not k.startswith("fmnist_")} == first["metrics"]
    assert all(math.isfinite(v) for v in m.values())
    assert {f"fmnist_steps_needed_{kind}_L{L}" for kind in ("pixel", "wavelet") for L in (16, 32)} <= set(m)
    assert {"fmnist_ps_error_floor_L16", "fmnist_pixel_w1_wavelet_L32_steps4", "fmnist_lr_pixel"} <= set(m)
    assert record["figures"] == ["wsgm_samples.png", "wsgm_quality.png", "wsgm_fmnist_samples.png",
                                 "wsgm_fmnist_quality.png"]
    for name in record["figures"]:
        with Image.open(tmp_path / "wsgm" / name) as image:
            image.verify()
    assert len(record["verdicts"]) == 2 and all(v["verdict"] in VERDICTS for v in record["verdicts"])
    assert "phi^4" in record["verdicts"][0]["claim"] and "Fashion-MNIST" in record["verdicts"][1]["claim"]
    fmnist = record["selections"][2:]
    assert [s["what"].endswith("on Fashion-MNIST") for s in record["selections"]] == [False, False, True, True]
    assert all("100 validation images held out from the training split" in s["criterion"] for s in fmnist)
    new = {p.name for p in checkpoints.iterdir()} - set(written)
    expected = {f"fmnist_pixel_L{L}_lr{lr:g}.pt" for L in (16, 32) for lr in tiny.lr_grid}
    expected |= {f"fmnist_wavelet_L{L}_lr{lr:g}_{part}.pt" for L in (16, 32) for lr in tiny.lr_grid
                 for part in ("coarse", "level1", "level2")[: 1 + int(math.log2(L // tiny.coarse_size))]}
    assert expected >= new and {f"fmnist_pixel_L32_lr{record['metrics']['fmnist_lr_pixel']:g}.pt"} <= new
    quality = next(t for t in record["tables"] if t["title"].startswith("Fashion-MNIST: quality"))
    assert quality["header"][-2:] == ["power-spectrum error", "W1 pixel values"]
    assert len(quality["rows"]) == 2 * (1 + 2 * len(tiny.steps_grid))


def test_missing_fashion_mnist_skips_saying_the_phi4_arm_runs_alone(tmp_path, monkeypatch):
    _tiny(monkeypatch, data_dir=str(tmp_path / "absent"))
    record = runner.run_experiment("wsgm", tmp_path, quick=True)
    assert record["status"] == "skipped" and "arms=phi4" in record["missing_data"]
    assert not list((tmp_path / "wsgm" / "checkpoints").glob("*.pt"))  # stopped before any training


@pytest.mark.parametrize("change, match", [(dict(arms=("cifar",)), "arms must name"), (dict(arms=()), "arms must"),
                                          (dict(fmnist_sizes=(64,)), "fmnist_sizes must be <= 32"),
                                          (dict(fmnist_sizes=(8,)), r"fmnist_sizes must be >= 2 \* coarse_size = 16"),
                                          (dict(fmnist_test=17), "fmnist_test must exceed n_generated")])
def test_bad_configurations_name_the_field(tmp_path, change, match):
    with pytest.raises(InvalidParameterError, match=match):
        wsgm.run(wsgm.Config(**{**TINY, **change}), tmp_path, lambda it, **_: it)


def test_verdict_needs_every_model_to_reach_the_tolerance():
    arm = wsgm._arms(wsgm.Config())[1]

    def verdict(w16, w32, p16, p32):
        needed = {(16, "wavelet"): w16, (32, "wavelet"): w32, (16, "pixel"): p16, (32, "pixel"): p32}
        return wsgm._verdict(arm, needed, (16, 32), 0.05).verdict

    assert verdict(8, 8, 8, 16) == "holds"
    assert verdict(8, 4, 8, 8) == "partially"
    assert verdict(8, 16, 8, 32) == "partially"
    assert verdict(8, 16, 16, 8) == "does not hold"
    assert verdict(8, 8, 8, -1) == "not tested"


def test_quality_known_answers():
    """A shift by c moves the pixel histogram by W1 = c and leaves the power spectrum (zero frequency left out);
    a factor 2 multiplies every bin of the power spectrum by 4: error log 4; a non-finite field is left out."""
    reference = torch.rand(40, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pixels = {"pixel_w1": lambda x: x.flatten()}
    assert wsgm.quality_against(reference, reference, pixels) == {"ps_error": 0.0, "pixel_w1": 0.0, "finite": 1.0}
    shifted = wsgm.quality_against(reference + 0.25, reference, pixels)
    assert shifted["ps_error"] == pytest.approx(0, abs=1e-12) and shifted["pixel_w1"] == pytest.approx(0.25)
    doubled = torch.cat([2 * reference, torch.full((10, 16, 16), math.nan, dtype=torch.float64)])
    q = wsgm.quality_against(doubled, reference, pixels)
    assert q["ps_error"] == pytest.approx(math.log(4)) and q["finite"] == pytest.approx(0.8)
    assert q["pixel_w1"] == pytest.approx(float(reference.mean()), rel=1e-12)  # W1(2X, X) = E|X| for X >= 0
    assert wsgm.quality_against(reference[:1], reference, pixels)["ps_error"] == math.inf


def test_steps_needed_is_the_first_step_count_within_tolerance():
    cfg = dataclasses.replace(wsgm.Config(), steps_grid=(2, 4, 8), tolerance=0.05)
    quality = {(16, "floor"): {"ps_error": 0.1}, (16, "pixel", 2): {"ps_error": 0.3},
               (16, "pixel", 4): {"ps_error": 0.15}, (16, "pixel", 8): {"ps_error": 0.12}}
    assert wsgm._steps_needed(quality, 16, "pixel", cfg) == 4
    quality[16, "pixel", 4] = {"ps_error": 0.16}
    assert wsgm._steps_needed(quality, 16, "pixel", cfg) == 8
    quality[16, "pixel", 8] = {"ps_error": 0.2}
    assert wsgm._steps_needed(quality, 16, "pixel", cfg) == -1


def test_pad_and_average_known_answers():
    """A white 28 x 28 image: a 2-pixel black frame at 32, a 1-pixel one at 16 (14 x 14 white), its mass / 4; a
    checkerboard averages to 1/2 (scaled from 255) inside the frame."""
    white = np.full((1, 28, 28), 255, dtype=np.uint8)
    out = wsgm.pad_and_average(white, (16, 32))
    assert sorted(out) == [16, 32] and out[32].dtype == torch.float32
    expected = torch.zeros(32, 32)
    expected[2:30, 2:30] = 1
    assert torch.equal(out[32][0], expected)
    expected = torch.zeros(16, 16)
    expected[1:15, 1:15] = 1
    assert torch.equal(out[16][0], expected) and float(out[16].sum()) == 28 * 28 / 4
    board = (np.indices((28, 28)).sum(0) % 2 * 255).astype(np.uint8)[None]
    assert torch.allclose(wsgm.pad_and_average(board, (16,))[16][0, 1:15, 1:15], torch.full((14, 14), 0.5))
    with pytest.raises(InvalidParameterError, match="28 x 28"):
        wsgm.pad_and_average(np.zeros((1, 32, 32), dtype=np.uint8), (16,))
