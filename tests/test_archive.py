"""The results archive and RESULTS.md generated from it."""
import json
from pathlib import Path

import pytest

from scatlab import cli
from scatlab.errors import DataError
from scatlab.io import atomic_write_json
from scatlab.report import results_markdown
from scatlab.reproduce.archive import archive_run

ROOT = Path(__file__).resolve().parents[1]


def _run(directory: Path, name: str = "demo", **changes) -> Path:
    record = {"experiment": name, "status": "ok", "metrics": {"acc": 91.54}, "figures": ["curve.png"], "notes": [],
              "tables": [{"title": "Error | size", "header": ["n", "error (%)"], "rows": [[1000, 15.3333], [60000, 8.4]]}],
              "verdicts": [{"claim": "beats the peer", "verdict": "holds", "evidence": "91.54 > 90.25", "anchor": "90.25"}],
              "selections": [{"what": "C", "grid": [0.1, 1.0], "scores": [90.1, 89.7], "chosen": 0.1,
                              "criterion": "validation accuracy (%), 5,000 held-out images"}],
              "wall_time_s": 2345.0, "git_commit": "0123456789abcdef", "date": "2026-12-07T10:00:00+00:00",
              "machine": {"platform": "Linux-x86_64", "cpus": 2, "torch_threads": 1}, "seed": 0, "quick": False,
              "options": {"train_sizes": "1000,60000"}, **changes}
    atomic_write_json(directory / name / "results.json", record)
    (directory / name / "curve.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return directory


def test_archive_copies_the_record_and_its_figures_and_keeps_notes(tmp_path):
    run, archive = _run(tmp_path / "run"), tmp_path / "archive"
    archive_run(run, "demo", archive)
    (archive / "demo" / "NOTES.md").write_text("Why the gap.\n")
    (archive / "demo" / "stale.png").write_bytes(b"old")
    archive_run(run, "demo", archive)  # a new run replaces the old one, not the notes
    assert sorted(p.name for p in (archive / "demo").iterdir()) == ["NOTES.md", "curve.png", "results.json"]
    assert json.loads((archive / "demo" / "results.json").read_text())["metrics"] == {"acc": 91.54}


def test_archive_refuses_unfinished_or_incomplete_runs(tmp_path):
    with pytest.raises(DataError, match="status 'failed'"):
        archive_run(_run(tmp_path / "a", status="failed"), "demo", tmp_path / "archive")
    run = _run(tmp_path / "b")
    (run / "demo" / "curve.png").unlink()
    with pytest.raises(DataError, match="curve.png"):
        archive_run(run, "demo", tmp_path / "archive")
    with pytest.raises(DataError, match="scatlab reproduce other"):
        archive_run(run, "other", tmp_path / "archive")
    assert not (tmp_path / "archive").exists()


def test_results_markdown_traces_every_number_to_its_run(tmp_path):
    archive = tmp_path / "archive"
    archive_run(_run(tmp_path / "run"), "demo", archive)
    (archive / "demo" / "NOTES.md").write_text("Why the gap.\n")
    text = results_markdown(archive)
    for expected in ("| [demo](#demo) | beats the peer | 91.54 > 90.25 | **holds** | full |",
                     "`scatlab reproduce demo --set train_sizes=1000,60000`: full run, commit 0123456789ab,"
                     " 2026-12-07T10:00:00+00:00,", "1 threads, wall time 39 min 05 s.",
                     "Error | size", "| 1000 | 15.33 |", "| 60,000 | 8.4 |", "| C | 0.1: 90.1; 1: 89.7 | 0.1 |",
                     f"]({archive.as_posix()}/demo/curve.png)", "Why the gap."):
        assert expected in text, expected


def test_results_command_writes_and_checks(tmp_path, capsys):
    archive = tmp_path / "archive"
    archive_run(_run(tmp_path / "run"), "demo", archive)
    out = tmp_path / "RESULTS.md"
    assert cli.main(["results", "--archive", str(archive), "-o", str(out), "--check"]) == 1
    assert cli.main(["results", "--archive", str(archive), "-o", str(out)]) == 0
    assert cli.main(["results", "--archive", str(archive), "-o", str(out), "--check"]) == 0
    out.write_text(out.read_text().replace("91.54", "92.00"))
    assert cli.main(["results", "--archive", str(archive), "-o", str(out), "--check"]) == 1


def test_committed_results_md_is_what_the_archive_generates(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(["results", "--check"]) == 0, "RESULTS.md is stale: run `scatlab results`"
