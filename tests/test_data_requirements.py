"""conftest.require_data: a missing data set or package skips outside CI, naming the install command,
and fails under CI (CI=true), naming the package and the command; FSDD (no offline install) skips."""
from pathlib import Path

import pytest

import conftest
from conftest import require_data, require_module


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception),
                                         ("false", pytest.skip.Exception)])
def test_missing_fashion_mnist_fails_under_ci_and_skips_elsewhere(tmp_path, monkeypatch, ci, outcome):
    monkeypatch.setattr(conftest, "FASHION_MNIST_DIR", tmp_path)  # as if the Debian package were not installed
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="Fashion-MNIST.*apt-get install dataset-fashion-mnist") as error:
        require_data("Fashion-MNIST")
    assert ("under CI" in str(error.value)) == (ci == "true")


def test_missing_package_names_the_pip_command_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"QM9 is missing under CI.*pip install qm9pack"):
        require_data("QM9", False)
    with pytest.raises(pytest.fail.Exception, match=r"scikit-image.*pip install scikit-image"):
        require_module("skimage.no_such_module", "scikit-image")
    with pytest.raises(pytest.fail.Exception, match=r"a thing.*make thing"):
        require_data("a thing", Path("/no/such/path"), "make thing")


def test_fsdd_skips_even_under_ci_saying_why(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.skip.Exception, match="FSDD.*no offline install command.*SCATLAB_FSDD_DIR"):
        require_data("FSDD", tmp_path / "absent")


def test_present_data_passes_and_unknown_names_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    require_data("a folder", tmp_path, "mkdir")
    assert require_module("json", "the standard library").dumps(1) == "1"
    with pytest.raises(KeyError, match="not in DATA"):
        require_data("no such data")


@pytest.mark.parametrize("ci, outcome", [("true", dict(errors=1)), ("", dict(skipped=1))])
def test_the_requires_data_mark_fails_a_test_under_ci(pytester, monkeypatch, ci, outcome):
    """End to end (in process): a test marked requires_data for missing data errors under CI=true, skips
    without, both naming the install command."""
    pytester.makeconftest(  # the hooks of tests/conftest.py, loaded under another module name
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('scatlab_test_hooks', {conftest.__file__!r})\n"
        "hooks = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(hooks)\n"
        "pytest_configure, pytest_runtest_setup = hooks.pytest_configure, hooks.pytest_runtest_setup\n")
    pytester.makepyfile('import pytest\n\n\n@pytest.mark.requires_data("QM9", False)\ndef test_x():\n    pass\n')
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(**outcome)
    assert "pip install qm9pack" in result.stdout.str()
