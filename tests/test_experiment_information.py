"""The information experiment on a tiny configuration: record fields, figures, verdicts, selections, resumption."""
import dataclasses
import math

import pytest

from scatlab.errors import InvalidParameterError
from scatlab.experiments import information
from scatlab.reproduce.records import checked
from scatlab.runtime import no_progress

TINY = information.Config(plane_train=100, plane_validation=100, hidden=(16, 4), plane_epochs=3, plane_lrs=(0.01, 0.03),
                          n_measure=60, bins=(10, 30), noise_variances=(0.1,), vib_train=100, vib_validation=100,
                          vib_hidden=(32,), bottleneck=4, betas=(1e-3, 1e-1), vib_lrs=(0.03,), weight_decays=(0.0,),
                          vib_epochs=2, noise_levels=(0.3,), n_test=200)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("information")
    return out, information.run(TINY, out, no_progress)


def test_record_fields(tiny_run):
    out, result = tiny_run
    record = checked(result, out)  # raises on non-finite metrics, missing figures, invalid verdicts or selections
    assert all(math.isfinite(v) for v in record["metrics"].values())
    assert len(record["figures"]) == 6
    assert all((out / name).read_bytes()[:4] == b"\x89PNG" for name in record["figures"])
    assert {v["verdict"] for v in record["verdicts"]} <= {"holds", "partially", "does not hold", "not tested"}
    assert len(record["verdicts"]) == 5
    whats = [s["what"] for s in record["selections"]]
    assert whats == ["learning rate of the tanh information-plane MLP",
                     "learning rate of the relu information-plane MLP",
                     "VIB (beta, learning rate)", "baseline (weight decay, learning rate)"]
    m = record["metrics"]
    # the estimates are in [0, log2 n] and the VIB's variational bound is positive
    for key, value in m.items():
        if key.startswith("saturated_pct") or key.startswith("compression_pct"):
            assert 0 <= value <= 100
    assert m["vib_izx_kl_bound_bits"] > 0 and 0 <= m["vib_izx_pairwise_bound_bits"] <= math.log2(100) + 1e-9
    # the tiny MLP (3 epochs, 100 images) learns something: chance is 10 %; measured 17.5-23.5 % over seeds 0-2
    assert m["test_accuracy_tanh"] > 15


def test_a_rerun_resumes_every_training_and_its_estimates(tiny_run):
    out, result = tiny_run
    again = information.run(TINY, out, no_progress)  # every checkpoint and *.info.json is complete: nothing retrains
    assert again.metrics == result.metrics


def test_bad_config_names_the_field(tmp_path):
    with pytest.raises(InvalidParameterError, match="'main_bins'"):
        information.run(dataclasses.replace(TINY, main_bins=7), tmp_path, no_progress)
    with pytest.raises(InvalidParameterError, match="'nonlinearities'"):
        information.run(dataclasses.replace(TINY, nonlinearities=("sigmoid",)), tmp_path, no_progress)
