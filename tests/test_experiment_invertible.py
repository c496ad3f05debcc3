"""The ``invertible`` experiment on a tiny configuration: the record's fields, figures, verdicts, selections."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest

from scatlab.errors import InvalidParameterError
from scatlab.experiments import VERDICTS, invertible
from scatlab.reproduce import runner

pytestmark = pytest.mark.requires_data("Fashion-MNIST")

TINY = dict(n_train=50, n_validation=50, n_test=100, stages=(1, 1), resnet_blocks=1, epochs=1, batch_size=25,
            lrs=(0.05,), repeats=1, widths=(8, 16, 32), probe_penalties=(0.1, 1.0), interpolation_steps=3)


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("invertible")
    options = {k: ",".join(map(str, v)) if isinstance(v, tuple) else str(v) for k, v in TINY.items()}
    result = runner.run_experiment("invertible", out, seed=1, options=options)
    return out / "invertible", result


def test_record_fields(record):
    out, rec = record
    assert rec["status"] == "ok", rec["traceback"]
    assert rec["config"]["n_train"] == 50 and rec["config"]["stages"] in ([1, 1], (1, 1))
    m = rec["metrics"]
    assert m and all(math.isfinite(v) for v in m.values())
    for variant in ("injective", "bijective"):
        assert m[f"reconstruction_error_max_{variant}_float32"] <= 1e-5
        assert m[f"reconstruction_error_max_{variant}_float64"] <= 1e-12
        assert f"probe_test_accuracy_{variant}_layer2" in m
    assert m["parameters_resnet"] > 0 and m["parameters_irevnet_injective"] > 0
    assert len(rec["figures"]) == 4
    for name in rec["figures"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(rec["verdicts"]) == 4 and all(v["verdict"] in VERDICTS for v in rec["verdicts"])
    assert rec["verdicts"][0]["verdict"] == "holds"  # invertibility does not depend on training
    whats = [s["what"] for s in rec["selections"]]
    assert sum("learning rate" in w for w in whats) == 3 and sum("width" in w for w in whats) == 2
    assert sum("probe" in w for w in whats) == 2 * 3  # two variants, layers 0, 1, 2
    assert all(s["chosen"] in s["grid"] for s in rec["selections"])
    json.dumps(rec)


def test_bad_configurations_name_the_parameter(tmp_path):
    with pytest.raises(InvalidParameterError, match="'repeats'"):
        invertible.run(dataclasses.replace(invertible.Config(), repeats=0), tmp_path, lambda it, **_: it)
    with pytest.raises(InvalidParameterError, match="'variants'"):
        invertible.run(dataclasses.replace(invertible.Config(), variants=("surjective",)), tmp_path, lambda it, **_: it)
    with pytest.raises(InvalidParameterError, match=r"'shape'.*divisible by 8.*\(28, 28\)"):
        invertible.run(invertible.Config(**{**TINY, "stages": (1, 1, 1)}), tmp_path, lambda it, **_: it)
