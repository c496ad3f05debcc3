"""The lazy-training experiment on a tiny configuration, through the runner: the record is complete."""
import dataclasses
import math

import pytest

from scatlab.errors import InvalidParameterError
from scatlab.experiments import VERDICTS, lazy_training
from scatlab.reproduce import runner

TINY = lazy_training.Config(widths=(16, 64), net_seeds=1, kernel_train=40, kernel_validation=20, kernel_test=40,
                            ntk_probe=10, steps_grid=(5, 20), alphas=(0.5, 2.0, 20.0), lrs=(0.05, 0.2), lr_extensions=0, cnn_width=2,
                            cnn_train=40, cnn_validation=20, cnn_test=40, epochs=1, batch_size=20)


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("lazy")
    patch = pytest.MonkeyPatch()
    patch.setattr(lazy_training.Config, "quick", classmethod(lambda cls: TINY))
    try:
        rec = runner.run_experiment("lazy-training", out, quick=True, seed=1)
    finally:
        patch.undo()
    return out / "lazy-training", rec


def test_record_is_complete(record):
    out, rec = record
    assert rec["status"] == "ok", rec["traceback"]
    assert list(rec["config"]["widths"]) == [16, 64] and rec["config"]["seed"] == 1
    assert rec["metrics"] and all(math.isfinite(v) for v in rec["metrics"].values())
    for key in ("ntk_change_w16", "ntk_change_w64", "kernel_distance_w64", "nngp_test_accuracy", "ntk_test_accuracy",
                "distance_alpha20", "weight_change_alpha0p5", "accuracy_gap_feature_learning_vs_lazy",
                "distance_fixed_eta_alpha20", "alpha_distance_slope"):
        assert key in rec["metrics"]
    assert len(rec["figures"]) == 4
    for name in rec["figures"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(rec["verdicts"]) == 5 and all(v["verdict"] in VERDICTS for v in rec["verdicts"])
    assert all(v["evidence"] for v in rec["verdicts"])
    whats = [s["what"] for s in rec["selections"]]
    assert sum("learning rate" in w for w in whats) == 3 and any("ridge of NTK" in w for w in whats)
    assert any("steps" in w for w in whats) and any("feature-learning" in w for w in whats)
    assert any("common eta" in w for w in whats)
    for s in rec["selections"]:
        assert len(s["scores"]) == len(s["grid"]) and s["chosen"] in s["grid"]
    # below alpha = 1 the learning-rate grid is scaled by alpha
    first = next(s for s in rec["selections"] if "alpha = 0.5" in s["what"])
    assert first["grid"] == [0.025, 0.1]
    # weights move less as alpha grows (theory O(1/alpha))
    assert rec["metrics"]["weight_change_fixed_eta_alpha20"] < rec["metrics"]["weight_change_fixed_eta_alpha2"]
    assert (out / "checkpoints").is_dir()


def test_bad_config_is_refused(tmp_path):
    for change in ({"alphas": (0.0, 1.0)}, {"widths": (0, 8)}, {"ntk_probe": 1000}):
        with pytest.raises(InvalidParameterError):
            lazy_training.run(dataclasses.replace(TINY, **change), tmp_path, lambda it, **_: it)
