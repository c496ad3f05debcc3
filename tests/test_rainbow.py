"""The rainbow experiment on a tiny Config, through the runner: a complete, valid record; bad
configurations name their field."""
import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from scatlab.errors import InvalidParameterError
from scatlab.experiments import VERDICTS, rainbow
from scatlab.reproduce import runner
from scatlab.runtime import no_progress

TINY = dict(n_train=200, n_validation=100, n_test=200, n_align=40, base_channels=(4, 8), widths=(0.5, 1.0),
            seeds=2, layers=(1, 2), epochs=1, batch_size=50, lrs=(0.05, 0.1), weight_decays=(5e-4,), draws=2,
            penalties=(0.1, 1.0))

pytestmark = pytest.mark.skipif(not Path(rainbow.Config().data_dir).is_dir(),
                                reason="Fashion-MNIST files not installed")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def record(tmp_path_factory, monkeypatch_module):
    tiny = dataclasses.replace(rainbow.Config(), **TINY)
    monkeypatch_module.setattr(rainbow.Config, "quick", classmethod(lambda cls: tiny))
    out = tmp_path_factory.mktemp("reproduce")
    result = runner.run_experiment("rainbow", out, quick=True, seed=0, progress=no_progress)
    return out / "rainbow", result


def test_record_is_complete_and_valid(record):
    out, result = record
    assert result["status"] == "ok", result["traceback"]
    assert json.loads((out / "results.json").read_text())["status"] == "ok"
    metrics = result["metrics"]
    assert metrics and all(math.isfinite(v) for v in metrics.values())
    assert len(result["figures"]) == 5
    for name in result["figures"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(result["verdicts"]) == 3 and all(v["verdict"] in VERDICTS for v in result["verdicts"])
    assert all(v["evidence"] for v in result["verdicts"])
    lr, *penalties = result["selections"]
    assert lr["chosen"] in lr["grid"] == ["lr 0.05, weight decay 0.0005", "lr 0.1, weight decay 0.0005"]
    assert len(penalties) == 3 * len(TINY["widths"]) and all(p["chosen"] in p["grid"] for p in penalties)
    assert list((out / "checkpoints").glob("*.pt"))


def test_record_numbers_are_consistent(record):
    m = record[1]["metrics"]
    for tag in ("x0.5", "x1"):
        for j in (1, 2):
            # normalized errors are in [0, 4]; the best orthogonal alignment beats the identity on fitted data
            # and generalizes on test images here
            assert 0 <= m[f"alignment_error_layer{j}_{tag}"] <= m[f"unaligned_error_layer{j}_{tag}"] <= 4
            assert 1 <= m[f"effective_rank_layer{j}_{tag}"] <= m[f"dimension_layer{j}_{tag}"]
            assert 0 <= m[f"similarity_aligned_layer{j}_{tag}"] <= 1 + 1e-9
        # the first layer's inputs are pixels: aligned and unaligned covariances coincide
        assert m[f"similarity_aligned_layer1_{tag}"] == pytest.approx(m[f"similarity_unaligned_layer1_{tag}"])
        for kind in ("trained", "trained_refit", "rainbow", "white"):
            assert 0 <= m[f"accuracy_{kind}_mean_{tag}"] <= 100
        assert m[f"gap_{tag}"] == pytest.approx(m[f"accuracy_trained_refit_mean_{tag}"]
                                                - m[f"accuracy_rainbow_mean_{tag}"])
    assert m["parameters_x1"] > m["parameters_x0.5"]


def test_small_cnn_structure():
    net = rainbow.SmallCNN((3, 5, 7))
    assert [c.out_channels for c in net.convs] == [3, 5, 7] and all(c.bias is None for c in net.convs)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert net.head.in_features == 7 * 4


@pytest.mark.parametrize("field, value, match", [
    ("widths", (0.1, 1.0), "'widths'"),  # 4 channels x 0.1 < 1 channel
    ("widths", (1.0,), "'widths'"),  # no rate with one width
    ("widths", (0.0, 1.0), "'widths'"),
    ("seeds", 1, "'seeds'"),
    ("layers", (3,), "'layers'"),  # the tiny network has 2 conv layers
    ("layers", (0, 1), "'layers'"),
    ("lrs", (), "'lrs'"),
    ("weight_decays", (-1.0,), "'weight_decays'"),
    ("penalties", (0.0,), "'penalties'"),
    ("n_align", 500, "'n_align'"),
    ("base_channels", (), "'base_channels'"),
    ("draws", 0, "'draws'"),
])
def test_bad_config_names_the_field(tmp_path, field, value, match):
    bad = dataclasses.replace(rainbow.Config(), **{**TINY, field: value})
    with pytest.raises(InvalidParameterError, match=match):
        rainbow.run(bad, tmp_path, no_progress)


def test_two_widths_leave_the_alignment_slope_untested(record):
    # one point per width: 2 widths give no standard error, so claim (1) cannot be judged
    assert record[1]["verdicts"][0]["verdict"] == "not tested"
    assert "alignment_slope_stderr_layer1" not in record[1]["metrics"]


def test_alignment_slope_is_fitted_on_one_point_per_width():
    import numpy as np

    cfg = dataclasses.replace(rainbow.Config(), base_channels=(4,), widths=(1.0, 2.0, 4.0), layers=(1,))
    # three seed pairs per width whose geometric mean is exactly 0.5 * width^-1; the spread inside a width
    # (pairs sharing networks) must not enter the standard error
    spread = np.array([0.5, 1.0, 2.0])
    widths = {m: {"pairs": [(0, 1), (0, 2), (1, 2)], "error": (0.5 / m * spread)[None, :]} for m in cfg.widths}
    fit = rainbow._alignment_fits(cfg, widths)[0]
    assert fit["slope"] == pytest.approx(-1.0) and fit["stderr"] == pytest.approx(0.0, abs=1e-12)
    assert fit["intercept"] == pytest.approx(math.log(0.5))


def test_gap_shrinks_only_beyond_two_standard_errors():
    # slope -0.11 per doubling with residuals of about 0.5 points: not 2 SE below 0
    noisy = rainbow._fit_line([0, 1, 2, 3, 4], [5.0, 4.2, 5.1, 3.9, 4.6])
    assert noisy["slope"] < 0 and not rainbow._shrinks(noisy)
    steady = rainbow._fit_line([0, 1, 2, 3, 4], [5.0, 4.1, 3.0, 2.1, 0.9])
    assert rainbow._shrinks(steady)
    two = rainbow._fit_line([0, 1], [5.0, 1.0])  # no standard error with 2 points: not counted as shrinking
    assert two["slope"] == pytest.approx(-4.0) and math.isnan(two["stderr"]) and not rainbow._shrinks(two)
