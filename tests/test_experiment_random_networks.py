"""The random-networks experiment on a tiny Config, through the runner: a complete, valid record."""
import dataclasses
import json
import math

import pytest

from scatlab.errors import InvalidParameterError
from scatlab.experiments import VERDICTS, random_networks
from scatlab.reproduce import runner
from scatlab.runtime import no_progress

TINY = dict(n_reference=100, n_validation=20, n_test=100, n_pairs=30, widths=(16, 64), depth=2, networks=1,
            pca_dims=(3,), set_points=20, width_draws=50, recovery_dims=(4,), recovery_ratios=(1.0, 4.0),
            recovery_depth=1, recovery_images=10, gd_lrs=(0.2, 0.4), gd_steps=(20, 200))

pytestmark = pytest.mark.requires_data("Fashion-MNIST")


@pytest.fixture(scope="module")
def record(tmp_path_factory, monkeypatch_module):
    tiny = dataclasses.replace(random_networks.Config(), **TINY)
    monkeypatch_module.setattr(random_networks.Config, "quick", classmethod(lambda cls: tiny))
    out = tmp_path_factory.mktemp("reproduce")
    result = runner.run_experiment("random-networks", out, quick=True, seed=1, progress=no_progress)
    return out / "random-networks", result


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_record_is_complete_and_valid(record):
    out, result = record
    assert result["status"] == "ok", result["traceback"]
    assert json.loads((out / "results.json").read_text())["status"] == "ok"
    metrics = result["metrics"]
    assert metrics and all(math.isfinite(v) for v in metrics.values())
    assert len(result["figures"]) == 6
    for name in result["figures"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(result["verdicts"]) == 5 and all(v["verdict"] in VERDICTS for v in result["verdicts"])
    assert all(v["evidence"] for v in result["verdicts"])
    (selection,) = result["selections"]
    assert len(selection["grid"]) == 4 and selection["chosen"] in selection["grid"]


def test_record_numbers_are_consistent(record):
    m = record[1]["metrics"]
    # the angle map shrinks every pair's angle at depth 1 except for finite-width noise
    assert m["angle_shrunk_fraction_depth1_largest_width"] > 0.8
    assert m["angle_out_mean_deg_depth_last"] < m["angle_in_mean_deg"]
    # an expansive single layer (r = 4) is inverted exactly without noise; r = 1 is not injective
    assert m["recovery_layerwise_median_error_d4_r4"] < 1e-6
    assert m["recovery_layerwise_median_error_d4_r1"] > 1e-2
    # projected sets have at most their dimension
    assert m["pca95_dimension_pca3_images"] <= 3
    assert m["mean_width_gaussian_noise"] > m["mean_width_one_class"]


def test_bad_config_names_the_field(tmp_path):
    bad = dataclasses.replace(random_networks.Config(), **{**TINY, "widths": (64,)})
    with pytest.raises(InvalidParameterError, match="'widths'"):
        random_networks.run(bad, tmp_path, no_progress)
    bad = dataclasses.replace(random_networks.Config(), **{**TINY, "depth": 0})
    with pytest.raises(InvalidParameterError, match="'depth'"):
        random_networks.run(bad, tmp_path, no_progress)
