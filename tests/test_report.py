"""The HTML report built from DIR/*/results.json."""
from scatlab.io import atomic_write_json
from scatlab.report import build_report, load_results


def _record(**changes) -> dict:
    record = {
        "experiment": "demo", "status": "ok", "error": None, "traceback": None,
        "config": {"size": 64, "images": ["camera", "brick"], "seed": 0},
        "metrics": {"ratio": 3.14159265, "count": 4},
        "tables": [{"title": "Changes <by J>", "header": ["J", "change"], "rows": [[2, 0.5], [3, 0.25]]}],
        "figures": ["curve.png"], "notes": ["x < y & 'quoted'"], "wall_time_s": 1.5,
        "versions": {"python": "3.11", "torch": "2.x"}, "git_commit": None, "seed": 0, "quick": True,
        "date": "2026-01-01T00:00:00+00:00",
    }
    record.update(changes)
    return record


def test_report_gathers_every_section_with_escaped_text(tmp_path):
    atomic_write_json(tmp_path / "demo" / "results.json", _record())
    (tmp_path / "demo" / "curve.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    html = build_report(tmp_path).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "<img src='demo/curve.png'" in html
    assert "x &lt; y &amp; &#x27;quoted&#x27;" in html and "Changes &lt;by J&gt;" in html
    for text in ("3.14159", "<td>0.25</td>", "camera, brick", "wall time (s): 1.5", "torch", "commit: -"):
        assert text in html
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["index.html"]


def test_report_shows_failures_and_unreadable_results(tmp_path):
    atomic_write_json(tmp_path / "broken" / "results.json",
                      _record(status="failed", error="RuntimeError: <boom>", traceback="Traceback ...",
                              metrics={}, tables=[], figures=[], notes=[]))
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "results.json").write_text("{not json")
    names = [name for name, _, _ in load_results(tmp_path)]
    assert names == ["broken", "garbled"]
    html = build_report(tmp_path).read_text(encoding="utf-8")
    assert "RuntimeError: &lt;boom&gt;" in html and "class='failed'" in html
    assert "unreadable results.json" in html


def test_report_of_an_empty_directory_says_so(tmp_path):
    html = build_report(tmp_path).read_text(encoding="utf-8")
    assert "No results found" in html
    assert load_results(tmp_path) == []
