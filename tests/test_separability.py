"""The ``separability`` experiment on a tiny configuration: the record's fields, figures, verdicts, selections;
bad configurations."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest

from scatlab.datasets import FASHION_MNIST_DIR
from scatlab.errors import InvalidParameterError
from scatlab.experiments import VERDICTS, separability
from scatlab.reproduce import runner

pytestmark = pytest.mark.skipif(not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
                                reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")

TINY = dict(n_train=100, n_validation=50, n_test=100, n_probe=50, cnn_widths=(4, 8), collapse_widths=(4, 8), L=4,
            irevnet_stages=(1, 1), irevnet_width=4, scattering_J=(1, 2), epochs=1, batch_size=25,
            probe_Cs=(1.0, 100.0), probe_max_iter=50, n_inverse=20)
LR_GRID = (("cnn", (0.03,)), ("phase-collapse", (0.01,)), ("soft-threshold", (0.01,)),
           ("irevnet-injective", (0.1, 0.03)))


def no_progress(iterable, **_):
    return iterable


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("separability")
    cfg = separability.Config(**TINY, lr_grid=LR_GRID)
    return out, separability.run(cfg, out, no_progress)


def test_result_is_well_formed(record):
    out, result = record
    m = result.metrics
    assert m and all(math.isfinite(v) for v in m.values())
    depths = {"cnn": 2, "phase_collapse": 2, "soft_threshold": 2, "irevnet_injective": 2, "scattering": 2}
    for key, depth in depths.items():
        for k in range(depth + 1):
            assert 0 <= m[f"{key}_layer{k}_probe"] <= 100 and m[f"{key}_layer{k}_nc1"] >= 0
            assert m[f"{key}_layer{k}_dimension_within"] >= 1
    # layer 0 is the pixels for every representation: the same measures
    assert m["cnn_layer0_nc1"] == pytest.approx(m["scattering_layer0_nc1"])
    assert m["cnn_layer0_probe"] == m["phase_collapse_layer0_probe"]
    # the i-RevNet is invertible from every layer, trained or not
    assert all(m[f"irevnet_injective_layer{k}_reconstruction_error"] <= 1e-5 for k in range(3))
    assert len(result.figures) == 2
    for name in result.figures:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(result.verdicts) == 3 and all(v.verdict in VERDICTS for v in result.verdicts)
    whats = [s.what for s in result.selections]
    assert sum("learning rate" in w for w in whats) == 4
    assert sum("C of the linear probe" in w for w in whats) == 5 * 3
    assert all(s.chosen in s.grid and len(s.scores) == len(s.grid) for s in result.selections)
    for title, header, rows in result.tables:
        assert all(len(row) == len(header) for row in rows)
    json.dumps(dataclasses.asdict(result), default=str)


def test_through_the_runner_with_chosen_layers(tmp_path):
    options = {k: ",".join(map(str, v)) if isinstance(v, tuple) else str(v) for k, v in TINY.items()}
    options.update(models="phase-collapse,scattering", layers="0,2")
    rec = runner.run_experiment("separability", tmp_path, seed=1, options=options)
    assert rec["status"] == "ok", rec["traceback"]
    assert "phase_collapse_layer2_nc1" in rec["metrics"] and "phase_collapse_layer1_nc1" not in rec["metrics"]
    assert [v["verdict"] for v in rec["verdicts"]] == ["not tested"] * 3


def run_bad(tmp_path, **changes):
    cfg = dataclasses.replace(separability.Config(**TINY, lr_grid=LR_GRID), **changes)
    separability.run(cfg, tmp_path, no_progress)


def test_bad_configurations_name_the_parameter(tmp_path):
    with pytest.raises(InvalidParameterError, match="'layers'.*layer 5, which does not exist.*layers 0 to 2"):
        run_bad(tmp_path, layers=(0, 5))
    with pytest.raises(InvalidParameterError, match="'layers'"):
        run_bad(tmp_path, layers=(1,))
    with pytest.raises(InvalidParameterError, match="'n_test'.*too few test images per class"):
        run_bad(tmp_path, n_test=12)
    with pytest.raises(InvalidParameterError, match="'n_probe'.*multiple of the 10 classes"):
        run_bad(tmp_path, n_probe=15)
    with pytest.raises(InvalidParameterError, match="'n_probe'.*at most n_train"):
        run_bad(tmp_path, n_probe=200)
    with pytest.raises(InvalidParameterError, match="'models'"):
        run_bad(tmp_path, models=("vgg",))
    with pytest.raises(InvalidParameterError, match="'lr_grid'.*'cnn'"):
        run_bad(tmp_path, lr_grid=LR_GRID[1:])
    with pytest.raises(InvalidParameterError, match="'irevnet_stages'.*divisible by 8"):
        run_bad(tmp_path, irevnet_stages=(1, 1, 1))
    with pytest.raises(InvalidParameterError, match="'scattering_J'.*2\\*\\*J"):
        run_bad(tmp_path, scattering_J=(1, 5))
    with pytest.raises(InvalidParameterError, match="'probe_Cs'"):
        run_bad(tmp_path, probe_Cs=())
    with pytest.raises(InvalidParameterError, match="'epochs'"):
        run_bad(tmp_path, epochs=0)


# ------------------------------------------------------------- verdict logic on hand-made numbers


def hand_made(s_pc_last=2.0, s_st_last=1.0, validation=50.0, test=50.0, within_st=(0.9, 0.5)):
    """Runs and per-layer measures of two layers (0: pixels) for every trained network."""
    runs = {m: {"validation": [validation - 5, validation], "test": test, "lr": 0.1, "parameters": 10}
            for m in separability.TRAINED}
    layer = dict(probe=60.0, nc1=1.0, separation_mean=1.0, separation_min=0.5, within_share=0.9, finite=True)
    measures = {m: {0: dict(layer), 1: dict(layer, probe=80.0, nc1=0.5, separation_mean=1.5)} for m in runs}
    measures["phase-collapse"][1]["separation_mean"] = s_pc_last
    measures["soft-threshold"][1]["separation_mean"] = s_st_last
    for k, w in enumerate(within_st):
        measures["soft-threshold"][k]["within_share"] = w
    return runs, measures


def verdicts(runs, measures):
    inversion = {0: 1e-7, 1: 1e-7}
    return [v.verdict for v in separability._verdicts(separability.Config(), runs, measures, inversion, 10.0)]


def test_learned_is_decided_on_validation_not_test():
    # chance 10 %: learned means validation >= 20 %; the test accuracy plays no part
    assert verdicts(*hand_made(validation=50.0, test=5.0)) == ["holds", "holds", "holds"]
    assert verdicts(*hand_made(validation=15.0, test=95.0)) == ["not tested"] * 3


def test_more_separation_needs_the_margin():
    # (i) and (iii) hold; (ii) needs s_L(phase collapse) > s_L(soft threshold) x (1 + nc1_tolerance = 0.1)
    assert verdicts(*hand_made(s_pc_last=2.0, s_st_last=1.9))[1] == "partially"  # 5 % more: not counted
    assert verdicts(*hand_made(s_pc_last=2.0, s_st_last=1.7))[1] == "holds"  # 18 % more
    assert verdicts(*hand_made(s_pc_last=2.0, s_st_last=1.7, within_st=(0.5, 0.9)))[1] == "partially"


def test_undefined_measures_are_not_tested_rather_than_a_crash():
    runs, measures = hand_made()
    measures["soft-threshold"][1]["within_share"] = math.nan
    assert verdicts(runs, measures) == ["holds", "not tested", "holds"]
    measures["cnn"][1] = separability._undefined(8)
    assert verdicts(runs, measures)[0] == "not tested"


def test_a_constant_or_non_finite_layer_is_measured_without_error():
    import numpy as np

    cfg = separability.Config(probe_Cs=(1.0,), probe_max_iter=20)
    y = {s: np.repeat(np.arange(3), 4) for s in ("probe", "validation", "test")}
    rng = np.random.default_rng(0)
    h = {"probe": rng.normal(size=(12, 5)), "validation": rng.normal(size=(12, 5)), "test": np.ones((12, 5))}
    m = separability._layer_measures(cfg, h, y)  # tr Σ_W = tr Σ_B = 0 on the test images: the share is 0 / 0
    assert m["finite"] and math.isnan(m["within_share"]) and m["ratio"] == math.inf
    assert 0 <= m["probe"] <= 100
    assert not any("within_share" in key for key in separability._metrics({}, {"cnn": {1: m}}, {}))
    h["validation"] = np.full((12, 5), np.nan)
    m = separability._layer_measures(cfg, h, y)
    assert not m["finite"] and math.isnan(m["probe"]) and m["probe_scores"] == []
