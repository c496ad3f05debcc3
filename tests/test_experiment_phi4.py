"""The phi4 experiment on a tiny configuration: every field of the record is there and valid."""
import dataclasses
import json
import math

import torch
from PIL import Image

from scatlab.experiments import phi4
from scatlab.experiments._contract import VERDICTS
from scatlab.reproduce import runner


def test_phi4_tiny_run(tmp_path, monkeypatch):
    tiny = dataclasses.replace(phi4.Config.quick(), sizes=(8, 16), betas=(0.7, 1.3, 2.0), chains=8,
                               warmup_gradients=240, min_gradients=240, max_gradients=480, leapfrog_grid=(3, 6),
                               pilot_gradients=240, hessian_samples=2, marginal_samples=1, marginal_chains=4,
                               marginal_warmup=20, marginal_trajectories=20)
    monkeypatch.setattr(phi4.Config, "quick", classmethod(lambda cls: tiny))
    record = runner.run_experiment("phi4", tmp_path, quick=True, seed=1)
    assert record["status"] == "ok", record["traceback"]
    assert record["metrics"] and all(math.isfinite(v) for v in record["metrics"].values())
    assert record["metrics"]["saddle_min_eigenvalue"] == __import__("pytest").approx(-4.0, abs=1e-6)
    for name in record["figures"]:
        with Image.open(tmp_path / "phi4" / name) as image:
            image.verify()
    assert len(record["figures"]) == 6
    assert len(record["verdicts"]) == 4 and all(v["verdict"] in VERDICTS for v in record["verdicts"])
    whats = [s["what"] for s in record["selections"]]
    assert any("leapfrog" in w for w in whats) and any("step size" in w for w in whats)
    assert any("chain length" in w for w in whats) and any("critical coupling" in w for w in whats)
    json.dumps(record)
    packets = {k: v for k, v in record["metrics"].items() if k.startswith("min_eig_packet_")}
    assert sorted(packets) == sorted(f"min_eig_packet_{w}_L{L}_beta_c" for L in (8, 16)
                                     for w in ("db4_1oct", "shannon_1oct", "db4_0p5oct", "shannon_0p5oct"))
    assert any("projector" in table["header"] for table in record["tables"])
    # a resumed run reuses the cached chains: the same numbers without sampling again
    cfg = dataclasses.replace(tiny, seed=1)
    cached = phi4._sample(cfg, 8, 1.3, int(record["metrics"]["n_leapfrog"]), "cpu", torch.float32,
                          tmp_path / "phi4", lambda *a, **k: (_ for _ in ()).throw(AssertionError("sampled again")))
    assert cached["abs_m"] == record["metrics"]["abs_m_L8_beta1p3"]


def test_phi4_bad_packet_band_is_named():
    import pytest

    from scatlab.errors import InvalidParameterError
    for spec in ("db4", "db4:0.25", "sym4:1"):
        with pytest.raises(InvalidParameterError, match="packet_bands"):
            phi4._check(dataclasses.replace(phi4.Config.quick(), packet_bands=(spec,)))
