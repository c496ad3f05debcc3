"""BENCHMARKS.md's tables are generated from committed JSON files (benchmarks/tables.py), and each
benchmark script writes the rows its renderer reads."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tables():
    spec = importlib.util.spec_from_file_location("benchmark_tables", ROOT / "benchmarks" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_benchmarks_md_equals_what_its_json_files_give():
    tables = _tables()
    text = (ROOT / "BENCHMARKS.md").read_text()
    assert tables.REGION.search(text), "BENCHMARKS.md has no generated table"
    assert tables.regenerate(text) == text, "BENCHMARKS.md is stale: run python benchmarks/tables.py"


def test_every_cited_file_is_committed_and_every_renderer_reads_it():
    tables = _tables()
    for match in tables.REGION.finditer((ROOT / "BENCHMARKS.md").read_text()):
        record = json.loads((ROOT / "benchmarks" / match["name"]).read_text())
        assert record["rows"], match["name"]
        assert "|---|" in tables.RENDERERS[match["name"]](record)


def test_check_names_a_stale_table(tmp_path):
    tables = _tables()
    stale = tmp_path / "BENCHMARKS.md"
    text = (ROOT / "BENCHMARKS.md").read_text()
    first = tables.REGION.search(text)
    stale.write_text(text.replace(first[0], first[0].replace("|---|", "|---|\n| edited by hand |", 1)))
    assert tables.main(["--check", "--file", str(stale)]) == 1
    assert tables.main(["--file", str(stale)]) == 0
    assert stale.read_text() == text


def test_an_empty_region_is_filled_without_swallowing_the_next_one():
    tables = _tables()
    text = ("<!-- generated from benchmarks/refactor_ab.json -->\n<!-- end of generated table -->\nprose\n"
            "<!-- generated from benchmarks/inversion.json -->\n<!-- end of generated table -->\n")
    fresh = tables.regenerate(text)
    assert "\nprose\n" in fresh and fresh.count("<!-- end of generated table -->") == 2
    assert "| 2d-J2-L8-32x32-b256 |" in fresh and "| report (12) |" in fresh


def test_a_benchmark_script_writes_what_its_renderer_reads(tmp_path):
    out = tmp_path / "rototranslation.json"
    done = subprocess.run([sys.executable, "benchmarks/bench_rototranslation.py", "--configs", "patch-64-J3",
                           "--repeats", "1", "--threads", "1", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(out.read_text())
    assert record["command"].endswith("--json " + str(out)) and record["commit"] and record["date"]
    assert [row["mode"] for row in record["rows"]] == ["forward", "forward+backward"]
    rendered = _tables().render("rototranslation.json", record)
    assert "patch-64-J3 (J=3, L=8)" in rendered and "181 / 217" in rendered


@pytest.mark.parametrize("name", ["harmonic3d.json", "timefrequency.json", "synthesis.json", "threads.json"])
def test_renderers_of_files_not_yet_cited_accept_their_scripts_rows(name):
    rows = {
        "harmonic3d.json": {"config": "c", "mode": "forward", "scatlab_s": 1.0, "peer_s": 2.0, "scatlab_build_s": 0.1,
                            "peer_build_s": 0.2, "max_rel_diff": 1e-7},
        "timefrequency.json": {"config": "c", "mode": "backward", "jtfs_s": 1.0, "scatlab_time_s": 0.2,
                               "kymatio_time_s": 0.5, "jtfs_channels": 10, "fft_floor_s": None},
        "synthesis.json": {"texture": "brick", "size": 64, "J": 4, "moments": 10, "seconds": 1.0, "evaluations": 5,
                           "rel_error": 1e-3, "converged": True},
        "threads.json": {"case": "c", "load": "idle", "before_s": 1.0, "after_s": 0.5, "before_over_after": 2.0},
    }
    expected = {"harmonic3d.json": "| c | forward | 1.000 | 2.000 | 2.00x | 0.1 | 0.2 | 1.0e-07 |",
                "timefrequency.json": "| c | forward+backward | 1.000 | 0.200 | 0.500 | 2.00 | 10 | n/a |",
                "synthesis.json": "| brick | 64x64 | 4 | 10 | 1.0 | 5 | 1.00e-03 | yes |",
                "threads.json": "| c | idle | 1.0000 | 0.5000 | 2.00 |"}
    assert _tables().RENDERERS[name]({"rows": [rows[name]]}).splitlines()[-1] == expected[name]


def test_jtfs_peer_renders_the_times_and_the_agreement_per_path_family():
    record = {"rows": [{"config": "c", "mode": "forward", "peer_F": 0, "scatlab_s": 0.5, "peer_s": 2.0,
                        "scatlab_channels": 837, "peer_channels": 741}],
              "agreement": [
                  {"config": "c", "family": "order 2, spin +1 and -1", "aligned": True, "matched": 462, "peer_only": 60,
                   "scatlab_only": 222, "channels": 462, "rel_l2": 0.02, "median_rel": 9.7e-4, "max_rel": 0.44,
                   "clear_channels": 282, "clear_rel_l2": 1.1e-3, "clear_max_rel": 3.1e-3},
                  {"config": "c", "family": "order 2, spin 0", "aligned": False, "matched": 12, "peer_only": 2,
                   "scatlab_only": 3},
                  {"config": "c", "family": "order 1, (phi_t, psi_fr), spin +1", "aligned": True, "matched": 0,
                   "peer_only": 20, "scatlab_only": 0, "channels": 0, "rel_l2": None, "median_rel": None,
                   "max_rel": None, "clear_channels": 0, "clear_rel_l2": None, "clear_max_rel": None}]}
    lines = _tables().RENDERERS["jtfs_peer.json"](record).splitlines()
    assert "| c | forward | 0.500 | 2.000 | 4.00x | 837 / 741 | 0 |" in lines
    assert "| c | order 2, spin +1 and -1 | 462 (60 / 222) | 2.0e-02 | 9.7e-04 / 4.4e-01 | 282, 1.1e-03, 3.1e-03 |" in lines
    assert "| c | order 2, spin 0 | 12 (2 / 3) | definitions differ |  |  |" in lines
    assert lines[-1] == "| c | order 1, (phi_t, psi_fr), spin +1 | 0 (20 / 0) | one side only |  |  |"


def test_chunk_budget_renders_one_row_per_config_and_mode_with_a_column_per_budget():
    rows = [{"config": "c", "mode": mode, "budget": 2**k, "median_s": 0.1 * k, "peak_mb": 10.0 * k}
            for mode in ("forward", "backward") for k in (18, 20)]
    lines = _tables().RENDERERS["chunk_budget.json"]({"rows": rows}).splitlines()
    assert lines[0] == "| config | mode | 2^18: s / peak MB | 2^20: s / peak MB |"
    assert lines[2:] == ["| c | forward | 1.800 / 180 | 2.000 / 200 |",
                         "| c | forward+backward | 1.800 / 180 | 2.000 / 200 |"]


def test_omp_waiting_renders_a_column_per_variant():
    rows = [{"load": "idle", "case": "c", "passive": 0.2, "spin 1e4": 0.1}]
    lines = _tables().RENDERERS["omp_waiting.json"]({"rows": rows}).splitlines()
    assert lines[0] == "| case | load | passive (s) | spin 1e4 (s) |" and lines[2] == "| c | idle | 0.2000 | 0.1000 |"
