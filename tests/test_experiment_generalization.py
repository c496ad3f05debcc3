"""The generalization experiment on a tiny configuration, through the runner: the record's fields."""
import json
import math

import pytest

from scatlab.experiments import VERDICTS
from scatlab.experiments.generalization import Config
from scatlab.reproduce import runner

DATA = Config().data_dir
pytestmark = pytest.mark.requires_data("Fashion-MNIST")

TINY = {"n_train": "60", "n_validation": "30", "n_test": "50", "widths": "4,8,8", "lrs": "0.05",
        "epoch_grid": "2", "random_fractions": "1.0", "rademacher_draws": "1", "train_sizes": "30,60",
        "jacobian_weights": "0.01", "margin_points": "20", "attack_points": "4", "deepfool_steps": "10",
        "batch_size": "20"}


def test_tiny_run_records_every_field(tmp_path):
    record = runner.run_experiment("generalization", tmp_path, quick=True, options=TINY)
    assert record["status"] == "ok", record["traceback"]
    assert record["metrics"] and all(math.isfinite(v) for v in record["metrics"].values())
    for key in ("rademacher_estimate", "vc_gap_bound", "normalized_margin_auc", "spearman_deepfool_margin_vs_gap",
                "train_accuracy_gaussian_images", "spectral_complexity_true_labels"):
        assert key in record["metrics"]
    assert record["metrics"]["vc_gap_bound"] > 1  # P >> n: vacuous by construction
    assert len(record["figures"]) == 4 and all((tmp_path / "generalization" / f).is_file() for f in record["figures"])
    assert len(record["verdicts"]) == 4 and all(v["verdict"] in VERDICTS for v in record["verdicts"])
    whats = [s["what"] for s in record["selections"]]
    assert len(whats) == 2 and all(s["chosen"] in s["grid"] for s in record["selections"])
    saved = json.loads((tmp_path / "generalization" / "results.json").read_text())
    assert saved["config"]["n_train"] == 60


def test_bad_training_size_fails_before_training(tmp_path):
    record = runner.run_experiment("generalization", tmp_path, quick=True, options={**TINY, "train_sizes": "35,60"})
    assert record["status"] == "failed" and record["user_error"] and "35" in record["error"]
    assert not (tmp_path / "generalization" / "checkpoints").exists()
