"""The experiment registry and runner, and the stability experiment (quick run through the CLI)."""
import dataclasses
import json
import math
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

from scatlab import cli
from scatlab.errors import DataError
from scatlab.experiments import Result
from scatlab.reproduce import registry, runner
from conftest import require_module

require_module("skimage.data", "scikit-image")
from scatlab.experiments import stability  # noqa: E402  (needs scikit-image at run time only)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``scatlab reproduce stability --quick`` once for the module: (out dir, results record)."""
    out = tmp_path_factory.mktemp("reproduce") / "tmp"
    assert cli.main(["reproduce", "stability", "--quick", "--out", str(out), "--seed", "3"]) == 0
    return out, json.loads((out / "stability" / "results.json").read_text())


def test_results_json_has_every_field(quick_run):
    _, record = quick_run
    assert record["status"] == "ok" and record["error"] is None
    for key in ("config", "metrics", "tables", "figures", "notes", "wall_time_s", "versions", "git_commit",
                "seed", "quick", "date"):
        assert key in record
    assert record["quick"] is True and record["seed"] == 3 and record["config"]["seed"] == 3
    assert record["config"]["size"] == stability.Config.quick().size
    assert set(record["versions"]) >= {"python", "torch", "numpy", "scatlab"}
    assert record["git_commit"] is None or len(record["git_commit"]) == 40
    assert record["machine"]["processor"] and record["machine"]["cpus"] >= 1
    assert record["wall_time_s"] > 0
    assert record["metrics"] and all(math.isfinite(v) for v in record["metrics"].values())
    for table in record["tables"]:
        assert all(len(row) == len(table["header"]) for row in table["rows"])


def test_figures_are_valid_pngs_linked_from_the_report(quick_run):
    out, record = quick_run
    html = (out / "index.html").read_text()
    assert len(record["figures"]) >= 5
    for name in record["figures"]:
        path = out / "stability" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            image.verify()
        assert f"stability/{name}" in html
    assert not [p for p in out.rglob("*.tmp")]


def test_stability_metrics_show_the_claims(quick_run):
    m = quick_run[1]["metrics"]
    # (b) measured on the quick run: C ~ 0.46 (R^2 ~ 0.99), Fourier change ~ 3.9x the scattering's
    assert m["scattering_change_at_largest"] < 0.5 * m["fourier_modulus_change_at_largest"]
    assert m["scattering_lipschitz_C"] < m["fourier_modulus_slope"]
    assert m["scattering_fit_r2"] > 0.9  # about linear in ||grad tau||
    assert m["fourier_band_change_high"] > 2 * m["fourier_band_change_low"]  # measured ~ 0.59 vs 0.08
    # (a, d) invariance grows with J and beats the pixels
    assert m["translation_change_J4"] < m["translation_change_J3"] < m["translation_change_J2"]
    assert m["translation_change_J2"] < m["translation_change_pixels"]
    # (c) energy fractions: each in [0, 1], total at most the upper frame bound
    fractions = [m[f"energy_order{k}"] for k in range(3)]
    assert all(0 <= f <= 1 for f in fractions) and 0.5 < sum(fractions) < 1.1


def test_deformation_primitives():
    x = stability.load_images(("camera",), 64)
    assert torch.allclose(x.flatten(1).norm(dim=1), torch.ones(1, dtype=x.dtype))
    zero = torch.zeros((2, 64, 64), dtype=x.dtype)
    torch.testing.assert_close(stability.deform(x, zero, 4), x)
    shift = zero.clone()
    shift[1] = 3.0  # tau = (0, 3): L_tau x(u) = x(u - (0, 3)), a circular shift by 3 columns
    torch.testing.assert_close(stability.deform(x, shift, 2), torch.roll(x, 3, dims=-1))
    tau = stability.random_displacement(64, 8.0, np.random.default_rng(0))
    assert tau.shape == (2, 64, 64)
    # Moisan (2011): the periodic Laplacian of p equals the Laplacian of x with free (replicated) borders
    image = torch.rand(1, 12, 10, dtype=torch.float64)
    p = stability.periodic_component(image)
    periodic = sum(torch.roll(p, k, dims=d) for k in (1, -1) for d in (-2, -1)) - 4 * p
    padded = torch.nn.functional.pad(image[None], (1, 1, 1, 1), mode="replicate")[0]
    free = padded[:, 2:, 1:-1] + padded[:, :-2, 1:-1] + padded[:, 1:-1, 2:] + padded[:, 1:-1, :-2] - 4 * image
    torch.testing.assert_close(periodic, free)
    torch.testing.assert_close(p.mean(), image.mean())
    torch.testing.assert_close(stability.fourier_resample(stability.fourier_resample(x, 128), 64), x)


def test_registered_experiments_follow_the_contract():
    for name in registry.EXPERIMENTS:
        module = registry.load(name)
        assert dataclasses.is_dataclass(module.Config) and module.Config.__dataclass_params__.frozen
        assert "seed" in {f.name for f in dataclasses.fields(module.Config)}
        assert isinstance(module.Config.quick(), module.Config) and callable(module.run)


def test_failing_experiment_is_recorded_and_others_still_run(tmp_path, monkeypatch, capsys):
    broken = types.ModuleType("scatlab.experiments.broken")

    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: int = 0

        @classmethod
        def quick(cls):
            return cls()

    def run(cfg, out_dir, progress):
        raise RuntimeError("deliberate failure <b>")

    broken.Config, broken.run = Config, run
    fine = types.ModuleType("scatlab.experiments.fine")
    fine.Config = Config
    fine.run = lambda cfg, out_dir, progress: Result(metrics={"answer": np.float64(42.0)})
    monkeypatch.setitem(sys.modules, "scatlab.experiments.broken", broken)
    monkeypatch.setitem(sys.modules, "scatlab.experiments.fine", fine)
    monkeypatch.setattr(registry, "EXPERIMENTS", ("broken", "fine"))

    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 1
    failed = json.loads((tmp_path / "broken" / "results.json").read_text())
    assert failed["status"] == "failed" and "deliberate failure" in failed["error"]
    assert "RuntimeError" in failed["traceback"]
    assert json.loads((tmp_path / "fine" / "results.json").read_text())["metrics"] == {"answer": 42.0}
    html = (tmp_path / "index.html").read_text()
    assert "deliberate failure &lt;b&gt;" in html and "failed" in html
    assert "broken: failed" in capsys.readouterr().out


def test_non_finite_metric_fails_the_experiment(tmp_path, monkeypatch):
    nan = types.ModuleType("scatlab.experiments.nan")

    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: int = 0

        @classmethod
        def quick(cls):
            return cls()

    nan.Config = Config
    nan.run = lambda cfg, out_dir, progress: Result(metrics={"bad": float("nan")})
    monkeypatch.setitem(sys.modules, "scatlab.experiments.nan", nan)
    monkeypatch.setattr(registry, "EXPERIMENTS", ("nan",))
    record = runner.run_experiment("nan", tmp_path, quick=True)
    assert record["status"] == "failed" and "finite" in record["error"]
    assert json.loads((tmp_path / "nan" / "results.json").read_text())["status"] == "failed"


def fake_experiment(monkeypatch, run) -> None:
    """Register the single experiment 'fake' whose run is ``run``."""
    fake = types.ModuleType("scatlab.experiments.fake")

    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: int = 0

        @classmethod
        def quick(cls):
            return cls()

    fake.Config, fake.run = Config, run
    monkeypatch.setitem(sys.modules, "scatlab.experiments.fake", fake)
    monkeypatch.setattr(registry, "EXPERIMENTS", ("fake",))


def test_failure_never_replaces_results_json(tmp_path, monkeypatch, capsys):
    fake_experiment(monkeypatch, lambda cfg, out_dir, progress: Result(metrics={"answer": 42.0}))
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    good = (tmp_path / "fake" / "results.json").read_bytes()

    def missing_data(cfg, out_dir, progress):
        raise DataError("The file 'train.gz' is missing; pass --set data_dir=DIR.")

    fake_experiment(monkeypatch, missing_data)
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 2  # a user error, as outside an experiment
    assert "fake: failed" in capsys.readouterr().out
    assert (tmp_path / "fake" / "results.json").read_bytes() == good
    failed = json.loads((tmp_path / "fake" / "failed.json").read_text())
    assert failed["status"] == "failed" and failed["user_error"] and "train.gz" in failed["error"]
    fake_experiment(monkeypatch, lambda cfg, out_dir, progress: Result(metrics={"answer": 43.0}))
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "fake" / "results.json").read_text())["metrics"] == {"answer": 43.0}
    assert not (tmp_path / "fake" / "failed.json").exists()  # the stale failure is gone


def test_only_rank_0_writes_records_and_report(tmp_path, monkeypatch, capsys):
    fake_experiment(monkeypatch, lambda cfg, out_dir, progress: Result(metrics={"rank": 1.0}))
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "results.json").write_text("rank 0's record")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "fake" / "results.json").read_text() == "rank 0's record"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["fake", "results.json"]  # no index.html
    assert "report:" not in capsys.readouterr().out
    monkeypatch.setenv("RANK", "0")
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "fake" / "results.json").read_text())["metrics"] == {"rank": 1.0}
    assert (tmp_path / "index.html").is_file()


def test_verdicts_are_recorded_and_shown_and_an_unknown_verdict_fails(tmp_path, monkeypatch):
    from scatlab.experiments import Verdict

    verdict = Verdict("Scattering is contractive (Mallat 2012)", "holds", "max ||Sx - Sy|| / ||x - y|| = 0.93 <= 1")
    fake_experiment(monkeypatch, lambda cfg, out_dir, progress: Result(metrics={"ratio": 0.93}, verdicts=[verdict]))
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "fake" / "results.json").read_text())
    assert record["verdicts"] == [{"claim": verdict.claim, "verdict": "holds", "evidence": verdict.evidence,
                                   "anchor": ""}]
    assert "max ||Sx - Sy|| / ||x - y|| = 0.93" in (tmp_path / "index.html").read_text()
    bad = Verdict("a claim", "probably", "no criterion")
    fake_experiment(monkeypatch, lambda cfg, out_dir, progress: Result(metrics={}, verdicts=[bad]))
    record = runner.run_experiment("fake", tmp_path / "again")
    assert record["status"] == "failed" and "'probably'" in record["error"]


def test_selections_are_recorded_and_an_inconsistent_one_fails(tmp_path, monkeypatch):
    from scatlab.experiments import Selection

    choice = Selection("lr", [0.1, 0.01], [81.5, 84.0], 0.01, "validation accuracy (%), 500 held-out images, max")
    fake_experiment(monkeypatch, lambda cfg, out_dir, progress: Result(metrics={"a": 1.0}, selections=[choice]))
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "fake" / "results.json").read_text())
    assert record["selections"] == [{"what": "lr", "grid": [0.1, 0.01], "scores": [81.5, 84.0], "chosen": 0.01,
                                     "criterion": choice.criterion}]
    for bad in (Selection("lr", [0.1, 0.01], [81.5], 0.01, "x"), Selection("lr", [0.1], [1.0], 0.5, "x")):
        fake_experiment(monkeypatch, lambda cfg, out_dir, progress, bad=bad: Result(metrics={}, selections=[bad]))
        record = runner.run_experiment("fake", tmp_path / "again")
        assert record["status"] == "failed" and "selection of 'lr'" in record["error"]


def test_missing_data_skips_the_experiment_saying_how_to_get_it(tmp_path, monkeypatch, capsys):
    from scatlab.errors import MissingData

    def run(cfg, out_dir, progress):
        raise MissingData("Fashion-MNIST", "Install it with 'apt-get install dataset-fashion-mnist'.", "no files")

    fake_experiment(monkeypatch, run)
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "fake" / "results.json").read_text())
    assert record["status"] == "skipped" and record["missing_data"].startswith("Install it with")
    out = capsys.readouterr().out
    assert "fake: skipped" in out and "apt-get install dataset-fashion-mnist" in out
    assert "apt-get install dataset-fashion-mnist" in (tmp_path / "index.html").read_text()
    assert cli.main(["reproduce", "--out", str(tmp_path / "strict"), "--strict"]) == 2


def test_cpu_model_reads_the_model_name(monkeypatch, tmp_path):
    from scatlab.reproduce import provenance

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(info if path == "/proc/cpuinfo" else path, *a, **k))
    assert provenance.cpu_model() == "AMD EPYC 7B13"
    monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(OSError("no /proc")))
    assert provenance.cpu_model() == (provenance.platform.processor() or provenance.platform.machine())
