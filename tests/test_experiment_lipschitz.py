"""The lipschitz experiment on a tiny configuration: every field of the record is filled and valid."""
import dataclasses
import json
import math

import pytest

from scatlab.experiments import lipschitz
from scatlab.experiments._contract import VERDICTS
from scatlab.errors import InvalidParameterError

TINY = dataclasses.replace(
    lipschitz.Config.quick(), n_train=100, n_validation=50, n_test=60, epochs=1, batch_size=50, widths=(4, 8), L=4,
    lr_grid=(("resnet", (0.05,)), ("phase-collapse", (0.01, 0.003)), ("scattering-linear", (0.05,))),
    n_local=10, jacobian_iterations=2, n_attack=3, deepfool_steps=5, bisections=4, n_universal_fit=3,
    n_universal_test=20, universal_budgets=(0.5,), n_contraction_pairs=10, n_volume_pairs=2, volume=4)


def test_tiny_run_fills_every_field(tmp_path):
    result = lipschitz.run(TINY, tmp_path, lambda it, **_: it)
    m = result.metrics
    assert m and all(math.isfinite(v) for v in m.values())
    for name in ("resnet", "phase_collapse", "scattering_linear"):
        assert m[f"bound_{name}"] >= m[f"max_jacobian_norm_{name}"] * (1 - 1e-6)
        assert m[f"bound_{name}"] >= m[f"max_pair_ratio_{name}"]
    for kind in ("1d", "2d", "roto_translation", "3d"):
        assert m[f"contraction_max_{kind}"] <= m[f"contraction_bound_{kind}"]
    assert len(result.figures) == 5
    for name in result.figures:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(result.verdicts) == 3 and all(v.verdict in VERDICTS and v.evidence for v in result.verdicts)
    assert [s.what for s in result.selections] == ["lr (resnet)", "lr (phase-collapse)", "lr (scattering-linear)"]
    assert result.selections[1].grid == [0.01, 0.003] and len(result.selections[1].scores) == 2
    assert all(len(row) == len(header) for _, header, rows in result.tables for row in rows)
    json.dumps(dataclasses.asdict(result))  # the record is plain data


def test_bad_configs_name_the_parameter(tmp_path):
    with pytest.raises(InvalidParameterError, match="lr_grid"):
        lipschitz.run(dataclasses.replace(TINY, lr_grid=(("resnet", (0.1,)),)), tmp_path, lambda it, **_: it)
    with pytest.raises(InvalidParameterError, match="universal_budgets"):
        lipschitz.run(dataclasses.replace(TINY, universal_budgets=(0.0,)), tmp_path, lambda it, **_: it)
