"""Shared-machine robustness: passive OpenMP waiting by default, one thread for small calls."""
import os
import subprocess
import sys

import pytest
import torch

import scatlab
from scatlab.runtime.threads import ONE_THREAD_BELOW, threads_for

POLICY = "import os, scatlab; print(os.environ.get('{}'))"


@pytest.mark.parametrize("variable, given, expected", [("OMP_WAIT_POLICY", None, "PASSIVE"),
                                                       ("OMP_WAIT_POLICY", "ACTIVE", "ACTIVE"),
                                                       ("OPENBLAS_THREAD_TIMEOUT", None, "4"),
                                                       ("OPENBLAS_THREAD_TIMEOUT", "28", "28")])
def test_import_sets_passive_waiting_unless_the_user_chose(variable, given, expected):
    env = {k: v for k, v in os.environ.items() if k != variable}
    if given:
        env[variable] = given
    out = subprocess.run([sys.executable, "-c", POLICY.format(variable)], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == expected


def test_small_calls_run_on_one_thread_and_the_count_is_restored():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads_for(ONE_THREAD_BELOW - 1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads_for(ONE_THREAD_BELOW):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), threads_for(10):
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_transform_and_its_twin_run_small_inputs_on_one_thread_and_agree_bitwise(monkeypatch):
    import importlib

    engine_module = importlib.import_module("scatlab.functional.scattering1d")  # the module, not the function

    seen = []
    check = engine_module.check_input
    monkeypatch.setattr(engine_module, "check_input", lambda *a: seen.append(torch.get_num_threads()) or check(*a))
    S = scatlab.Scattering1D(256, J=3, Q=1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        small = torch.randn(2, 256)
        module, twin = S(small), engine_module.scattering1d(small, J=3, Q=1)
        S(torch.randn(ONE_THREAD_BELOW // 256, 256))
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1, 2] and torch.equal(module, twin)
