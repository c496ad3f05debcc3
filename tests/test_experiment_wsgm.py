"""The wsgm experiment on a tiny configuration: every field of the record is there and valid."""
import dataclasses
import math

from PIL import Image

from scatlab.experiments import wsgm
from scatlab.experiments._contract import VERDICTS
from scatlab.reproduce import runner


def test_wsgm_tiny_run(tmp_path, monkeypatch):
    tiny = dataclasses.replace(wsgm.Config.quick(), sizes=(16,), train_chains=8, snapshots=4, reference_chains=8,
                               width=8, depth=3, train_steps=30, batch_size=16, steps_grid=(2, 4), n_generated=16)
    monkeypatch.setattr(wsgm.Config, "quick", classmethod(lambda cls: tiny))
    record = runner.run_experiment("wsgm", tmp_path, quick=True, seed=1)
    assert record["status"] == "ok", record["traceback"]
    assert record["metrics"] and all(math.isfinite(v) for v in record["metrics"].values())
    assert {"steps_needed_pixel_L16", "steps_needed_wavelet_L16", "ps_error_floor_L16"} <= set(record["metrics"])
    for name in record["figures"]:
        with Image.open(tmp_path / "wsgm" / name) as image:
            image.verify()
    assert len(record["figures"]) == 2
    assert record["verdicts"] and all(v["verdict"] in VERDICTS for v in record["verdicts"])
    assert [s["what"] for s in record["selections"]] == ["Adam learning rate of the pixel score model",
                                                         "Adam learning rate of the wavelet score models (coarse + "
                                                         "conditionals)"]
    assert all(len(s["scores"]) == len(tiny.lr_grid) for s in record["selections"])
    names = [f"pixel_L16_lr{lr:g}.pt" for lr in tiny.lr_grid]
    names += [f"wavelet_L16_lr{lr:g}_{part}.pt" for lr in tiny.lr_grid for part in ("coarse", "level1")]
    assert sorted(p.name for p in (tmp_path / "wsgm" / "checkpoints").iterdir()) == sorted(names)


def test_verdict_needs_every_model_to_reach_the_tolerance():
    cfg = dataclasses.replace(wsgm.Config.quick(), sizes=(16, 32))

    def verdict(w16, w32, p16, p32):
        needed = {(16, "wavelet"): w16, (32, "wavelet"): w32, (16, "pixel"): p16, (32, "pixel"): p32}
        return wsgm._verdict(needed, {}, cfg).verdict

    assert verdict(8, 8, 8, 16) == "holds"
    assert verdict(8, 4, 8, 8) == "partially"
    assert verdict(8, 16, 8, 32) == "partially"
    assert verdict(8, 16, 16, 8) == "does not hold"
    assert verdict(8, 8, 8, -1) == "not tested"
