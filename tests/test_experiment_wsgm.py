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
    assert record["selections"][0]["what"].startswith("Adam learning rate")
    assert sorted(p.name for p in (tmp_path / "wsgm" / "checkpoints").iterdir()) == [
        "pixel_L16_lr0.003.pt", "pixel_L16_lr0.01.pt", "wavelet_L16_coarse.pt", "wavelet_L16_level1.pt"]
