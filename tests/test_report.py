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
    assert '<img src="demo/curve.png" alt="demo: curve"' in html
    assert "x &lt; y &amp; &#39;quoted&#39;" in html and "Changes &lt;by J&gt;" in html
    for text in ("3.142", '<td class="num">0.25</td>', "camera, brick", "<dd>1.5 s</dd>", "torch",
                 "<dt>commit</dt><dd>-</dd>", "scatlab reproduce demo --quick"):
        assert text in html
    assert "3.14159" not in html  # four significant digits
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
    assert "RuntimeError: &lt;boom&gt;" in html and 'class="badge failed"' in html
    assert "unreadable results.json" in html


def test_report_of_an_empty_directory_says_so(tmp_path):
    html = build_report(tmp_path).read_text(encoding="utf-8")
    assert "No results found" in html
    assert load_results(tmp_path) == []


def test_report_summary_claims_and_selections(tmp_path):
    verdict = {"claim": "Scattering is contractive (Mallat 2012)", "verdict": "holds", "evidence": "max ratio 0.93 <= 1",
               "anchor": "<= 1 (Theorem 2.12)"}
    selection = {"what": "lr", "grid": [0.1, 0.01], "scores": [81.5, 84.0], "chosen": 0.01,
                 "criterion": "validation accuracy (%)"}
    atomic_write_json(tmp_path / "b" / "results.json", _record(experiment="b", verdicts=[verdict],
                                                                selections=[selection], figures=[]))
    atomic_write_json(tmp_path / "a" / "results.json", _record(experiment="a", status="skipped", figures=[],
                                                                missing_data="Install it with apt-get."))
    html = build_report(tmp_path, order=("b", "a")).read_text(encoding="utf-8")
    assert html.index('href="#x-b"') < html.index('href="#x-a"')  # registry order first
    assert html.count('<span class="badge holds">holds</span>') == 3  # summary, claims, section
    assert "&lt;= 1 (Theorem 2.12)" in html and "max ratio 0.93 &lt;= 1" in html
    assert "0.1 : 81.5<br>0.01 : 84" in html and "validation accuracy (%)" in html
    assert "Skipped: its data is not on this machine.</strong> Install it with apt-get." in html


def test_format_value():
    from scatlab.report.html import format_value

    assert [format_value(v) for v in (3.14159265, 75.4, 2.0, 123456.0, 1.5e-7, 12345, True, None, [1, 0.5])] == [
        "3.142", "75.4", "2", "123,456", "1.500e-07", "12,345", "yes", "-", "1, 0.5"]
