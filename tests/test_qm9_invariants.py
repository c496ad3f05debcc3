"""qm9-invariants: feature variants, the paired bootstrap, the verdict, and a small end-to-end run."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scatlab.chem.features import FeatureSpec
from scatlab.errors import InvalidParameterError
from scatlab.experiments.qm9_invariants import Config, _verdict, paired_interval, run, variant_spec

needs_qm9 = pytest.mark.requires_data("QM9")


def test_a_variant_changes_only_its_fields_and_a_new_spacing_keeps_the_box():
    base = FeatureSpec()
    assert variant_spec(base, "default") == base
    assert variant_spec(base, "L=3") == dataclasses.replace(base, L=3)
    fine = variant_spec(base, "sigma=0.3,spacing=0.25")
    assert (fine.sigma, fine.spacing, fine.shape) == (0.3, 0.25, (64, 48, 40))  # 16 x 12 x 10 Angstrom, as the base
    assert np.allclose(np.array(fine.shape) * fine.spacing, np.array(base.shape) * base.spacing)
    assert fine.key() != base.key()  # its own cache directory


@pytest.mark.parametrize("variant", ["L3", "shape=(1,2,3)", "sigma=", "default,L=3"])
def test_a_bad_variant_is_named_with_the_fields_it_may_change(variant):
    with pytest.raises(InvalidParameterError, match="field=value"):
        variant_spec(FeatureSpec(), variant)


@pytest.mark.parametrize("changes", [dict(variants=("L=3",)), dict(variants=("default", "default")),
                                     dict(n_validation=1), dict(variants=("default", "L=x"))])
def test_bad_configs_are_refused_before_any_work(changes, tmp_path):
    with pytest.raises(InvalidParameterError):
        run(dataclasses.replace(Config.quick(), **changes), tmp_path, lambda it, **_: it)


def test_the_paired_interval_finds_a_known_shift_and_covers_zero_without_one():
    rng = np.random.default_rng(0)
    reference = rng.standard_normal(4000)
    better = 0.9 * reference  # |errors| 10 % smaller on every row: the mean difference is -0.1 E|x| = -0.0798
    d, lo, hi = paired_interval(better, reference, 1000, seed=0)
    assert d == pytest.approx(-0.1 * np.abs(reference).mean()) and lo < d < hi < 0
    same = reference[rng.permutation(len(reference))] * rng.choice([-1, 1], len(reference))
    d, lo, hi = paired_interval(same, reference, 1000, seed=0)
    assert lo < 0 < hi  # an exchangeable error of the same law: no difference


def test_the_verdict_reads_the_interval():
    mae = {"default": {"ridge": 2.0, "kernel": 1.5}, "L=3": {"ridge": 1.9, "kernel": 1.4}}
    rates = {"default": 10.0, "L=3": 5.0}
    assert _verdict("L=3", (-0.1, -0.15, -0.05), mae, rates).verdict == "holds"
    assert _verdict("L=3", (-0.1, -0.2, 0.01), mae, rates).verdict == "partially"
    assert _verdict("L=3", (0.02, -0.05, 0.1), mae, rates).verdict == "does not hold"


@needs_qm9
def test_the_experiment_compares_variants_on_the_same_held_out_molecules(tmp_path):
    from scatlab.experiments._contract import VERDICTS

    cfg = dataclasses.replace(Config.quick(), read_limit=300, n_train=60, n_validation=40, shape=(24, 20, 16),
                              spacing=0.5, sigma=0.75, J=1, L=1, integral_powers=(1.0, 2.0), chunk_size=64,
                              skip_bad=True, variants=("default", "L=2", "sigma=0.6,spacing=0.4"), bootstrap=200,
                              kernel_lengthscales=(8.0,), cache_dir=str(tmp_path / "cache"))
    result = run(cfg, tmp_path, lambda it, **_: it)
    m = result.metrics
    assert all(np.isfinite(v) for v in m.values())
    assert m["n_train"] + m["n_validation"] + m["n_skipped_molecules"] == 100
    assert m["variant0_n_features"] < m["variant1_n_features"]  # one more degree: more invariants
    assert len(result.verdicts) == 2 and all(v.verdict in VERDICTS for v in result.verdicts)
    selection, = result.selections
    assert selection.chosen in cfg.variants and selection.scores[cfg.variants.index(selection.chosen)] == min(selection.scores)
    assert (tmp_path / result.figures[0]).stat().st_size > 0
    again = run(cfg, tmp_path, lambda it, **_: it)  # every variant from the cache: the same numbers
    assert again.metrics["variant2_validation_mae_kernel"] == m["variant2_validation_mae_kernel"]
