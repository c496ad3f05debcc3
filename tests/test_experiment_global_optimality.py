"""The global-optimality experiment on a tiny configuration: a complete, valid record."""
import dataclasses
import json
import math

import pytest

from scatlab.experiments import global_optimality as g
from scatlab.reproduce import runner

TINY = {"n_images": "30", "target_rank": "3", "ranks": "2,3,6", "starts": "3", "relu_n_train": "50",
        "relu_n_validation": "50", "n_test": "100", "relu_widths": "1,8", "relu_seeds": "1", "lbfgs_iter": "50",
        "polar_starts": "4", "polar_steps": "20", "relu_select_width": "4", "relu_lams": "0.01,0.1",
        "landscape_n_train": "50", "landscape_n_validation": "50", "landscape_widths": "4,8", "landscape_runs": "2",
        "landscape_select_width": "4", "lrs": "0.1", "weight_decays": "0.001", "epochs": "1", "batch_size": "25"}


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("global_optimality")
    rec = runner.run_experiment("global-optimality", out, quick=True, options=TINY)
    return out / "global-optimality", rec


def test_record_is_complete(record):
    out, rec = record
    assert rec["status"] == "ok", rec["traceback"]
    assert rec["metrics"] and all(math.isfinite(v) for v in rec["metrics"].values())
    assert len(rec["figures"]) == 5 and all((out / name).is_file() for name in rec["figures"])
    assert {v["verdict"] for v in rec["verdicts"]} <= {"holds", "partially", "does not hold", "not tested"}
    assert len(rec["verdicts"]) == 4
    assert [s["what"].split(" ")[0] for s in rec["selections"]] == ["lambda", "lambda", "(learning"]
    assert json.loads((out / "results.json").read_text())["experiment"] == "global-optimality"
    assert list((out / "checkpoints").glob("*.pt"))  # the landscape trainings checkpoint


def test_factorization_numbers_are_consistent(record):
    _, rec = record
    m = rec["metrics"]
    assert m["factor_optimum_rank"] == 3
    assert m["factor_fraction_global_r2"] == 0  # below the rank of the optimum: unreachable
    assert m["factor_zero_slice_local_minima_global"] <= m["factor_zero_slice_local_minima"]
    for r in (2, 3, 6):
        assert 0 <= m[f"factor_fraction_global_r{r}"] <= 1
        assert m[f"factor_fraction_global_escape_r{r}"] >= m[f"factor_fraction_global_r{r}"]


def test_bad_config_is_refused(tmp_path):
    with pytest.raises(Exception, match="landscape_runs"):
        g.run(dataclasses.replace(g.Config.quick(), landscape_runs=1), tmp_path, lambda it, **k: it)
    with pytest.raises(Exception, match="target_rank"):
        g.run(dataclasses.replace(g.Config.quick(), target_rank=0), tmp_path, lambda it, **k: it)
