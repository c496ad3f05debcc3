"""BENCHMARKS.md's tables, generated from the committed JSON files the benchmark scripts write.

Run from the repository root::

    python benchmarks/tables.py           # rewrite every generated table of BENCHMARKS.md
    python benchmarks/tables.py --check   # exit 1, naming the tables, if BENCHMARKS.md is stale

A generated table sits between the lines ``<!-- generated from benchmarks/NAME.json -->`` and
``<!-- end of generated table -->``; above the table, one line gives the command that wrote the
file, its commit, date, threads and the machine's load average before and after the run. Prose
around the tables is written by hand and cites only numbers that a generated table shows.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- generated from benchmarks/{name} -->"
END = "<!-- end of generated table -->"
REGION = re.compile(r"<!-- generated from benchmarks/(?P<name>[\w.-]+\.json) -->\n(?:.*?\n)??"
                    r"<!-- end of generated table -->", re.DOTALL)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def _num(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _ratio(a, b):
    """a / b, or None when either is missing."""
    return None if a is None or b is None else a / b


def core(record: dict) -> str:
    """``scatlab bench``: scatlab against Kymatio 0.3.0 on the core transforms."""
    sys.path.insert(0, str(ROOT / "src"))
    from scatlab.commands.bench import to_markdown

    modes = ("forward", "backward") if any("backward_s" in row for row in record["rows"]) else ("forward",)
    return to_markdown(record["rows"], modes)


def harmonic3d(record: dict) -> str:
    """``bench_harmonic3d.py``: HarmonicScattering3D against Kymatio 0.3.0."""
    header = ["config", "mode", "scatlab (s)", "Kymatio 0.3.0 (s)", "speed-up", "scatlab build (s)",
              "Kymatio build (s)", "max rel. diff"]
    return _table(header, [[r["config"], r["mode"], _num(r["scatlab_s"], ".3f"), _num(r["peer_s"], ".3f"),
                            _num(_ratio(r["peer_s"], r["scatlab_s"]), ".2f") + "x", _num(r["scatlab_build_s"], ".1f"),
                            _num(r["peer_build_s"], ".1f"), _num(r["max_rel_diff"], ".1e")] for r in record["rows"]])


def rototranslation(record: dict) -> str:
    """``bench_rototranslation.py``: roto-translation against translation scattering (same J, L)."""
    header = ["config", "shape x batch", "mode", "roto-translation (s)", "translation (s)", "ratio",
              "channels roto / translation"]
    return _table(header, [[f"{r['config']} (J={r['J']}, L={r['L']})", f"{r['side']}x{r['side']} x{r['batch']}",
                            r["mode"], _num(r["roto_s"], ".3f"), _num(r["translation_s"], ".3f"),
                            _num(_ratio(r["roto_s"], r["translation_s"]), ".2f"),
                            f"{r['roto_channels']} / {r['translation_channels']}"] for r in record["rows"]])


def timefrequency(record: dict) -> str:
    """``bench_timefrequency.py``: joint time-frequency scattering against time scattering."""
    header = ["config", "mode", "jtfs (s)", "scatlab time (s)", "Kymatio 0.3.0 time (s)", "jtfs / Kymatio time",
              "jtfs channels", "jtfs FFT floor (s)"]
    rows = []
    for r in record["rows"]:
        peer = r.get("kymatio_time_s")
        mode = "forward+backward" if r["mode"] == "backward" else r["mode"]
        rows.append([r["config"], mode, _num(r["jtfs_s"], ".3f"), _num(r["scatlab_time_s"], ".3f"),
                     _num(peer, ".3f"), _num(_ratio(r["jtfs_s"], peer), ".2f"),
                     r["jtfs_channels"], _num(r.get("fft_floor_s"), ".3f")])
    return _table(header, rows)


def jtfs_peer(record: dict) -> str:
    """``bench_jtfs_peer.py``: joint time-frequency scattering against Kymatio's development branch:
    times, then agreement per path family."""
    header = ["config", "mode", "scatlab (s)", "Kymatio main (s)", "speed-up", "channels scatlab / Kymatio",
              "Kymatio F"]
    times = _table(header, [[r["config"], r["mode"], _num(r["scatlab_s"], ".3f"), _num(r["peer_s"], ".3f"),
                             _num(_ratio(r["peer_s"], r["scatlab_s"]), ".2f") + "x",
                             f"{r['scatlab_channels']} / {r['peer_channels']}", r["peer_F"]] for r in record["rows"]])
    header = ["config", "path family", "matched (Kymatio only / scatlab only)", "rel. l2 diff",
              "per channel median / max", "clear of the cut: channels, rel. l2, max"]
    rows = []
    for r in record.get("agreement", []):
        counts = f"{r['matched']} ({r['peer_only']} / {r['scatlab_only']})"
        if not r["aligned"] or not r["matched"]:
            why = "one side only" if not r["matched"] else "definitions differ"
            rows.append([r["config"], r["family"], counts, why, "", ""])
            continue
        clear = ("n/a" if not r["clear_channels"] else
                 f"{r['clear_channels']}, {r['clear_rel_l2']:.1e}, {r['clear_max_rel']:.1e}")
        rows.append([r["config"], r["family"], counts, _num(r["rel_l2"], ".1e"),
                     f"{_num(r['median_rel'], '.1e')} / {_num(r['max_rel'], '.1e')}", clear])
    return times + ("\n\n" + _table(header, rows) if rows else "")


def synthesis(record: dict) -> str:
    """``bench_synthesis.py``: order-2 texture synthesis, wall time to the moment tolerance."""
    header = ["texture", "size", "J", "moments", "time (s)", "moment evaluations", "relative moment error",
              "converged"]
    return _table(header, [[r["texture"], f"{r['size']}x{r['size']}", r["J"], r["moments"], _num(r["seconds"], ".1f"),
                            r["evaluations"], _num(r["rel_error"], ".2e"), "yes" if r["converged"] else "no"]
                           for r in record["rows"]])


def versions(record: dict) -> str:
    """``bench_versions.py``: this checkout against another, same inputs, one process."""
    header = ["case", "identical output", "forward old / new", "backward old / new"]
    return _table(header, [[r["case"], "yes" if r["identical_output"] else "no",
                            _num(r["forward_other_over_this"], ".2f"), _num(r["backward_other_over_this"], ".2f")]
                           for r in record["rows"]])


def threads(record: dict) -> str:
    """``bench_threads.py``: this checkout against another, idle and with one core busy."""
    header = ["case", "load", "before (s)", "after (s)", "before / after"]
    return _table(header, [[r["case"], r["load"], _num(r["before_s"], ".4f"), _num(r["after_s"], ".4f"),
                            _num(r["before_over_after"], ".2f")] for r in record["rows"]])


def omp_waiting(record: dict) -> str:
    """``bench_omp_waiting.py``: seconds per call under each OpenMP waiting variant, idle and busy."""
    variants = [k for k in record["rows"][0] if k not in ("load", "case")]
    return _table(["case", "load"] + [f"{v} (s)" for v in variants],
                  [[r["case"], r["load"]] + [_num(r[v], ".4f") for v in variants] for r in record["rows"]])


def blas_waiting(record: dict) -> str:
    """``bench_blas_waiting.py``: BLAS solves per second, as found and with a core kept busy; ridge path vs grid."""
    rows = {(r["case"], r["busy_core"]): r["solves_per_s"] for r in record["rows"]}
    cases = list(dict.fromkeys(r["case"] for r in record["rows"]))
    lines = _table(["750 x 750 solves per second", "machine as found", "plus a spinning process"],
                   [[case, _num(rows.get((case, False)), ".1f"), _num(rows.get((case, True)), ".1f")] for case in cases])
    ridge = record["ridge"]
    return (f"{lines}\n\nQM9-sized ridge selection (1,000 x 750, 13 penalties, 5 folds, one thread): grid of fits"
            f" {ridge['grid_s']:.2f} s, ridge path {ridge['path_s']:.2f} s"
            f" ({ridge['grid_s'] / ridge['path_s']:.1f}x; same penalty chosen: {'yes' if ridge['same_choice'] else 'NO'}).")


def store(record: dict) -> str:
    """``bench_store.py``: files per second into a feature store against the transform alone."""
    header = ["files", "decoding workers", "batch", "wall time (s)", "pipeline files/s", "transform alone files/s",
              "pipeline / transform"]
    return _table(header, [[r["files"], r["workers"], r["batch_size"], _num(r["seconds"], ".1f"),
                            _num(r["files_per_s"], ".0f"), _num(r["transform_files_per_s"], ".0f"),
                            _num(_ratio(r["files_per_s"], r["transform_files_per_s"]), ".2f")] for r in record["rows"]])


def chunk_budget(record: dict) -> str:
    """``bench_chunk_budget.py``: time and peak memory of the 2D engine per batch-chunk budget."""
    budgets = sorted({r["budget"] for r in record["rows"]})
    cells = {(r["config"], r["mode"], r["budget"]): r for r in record["rows"]}
    keys = list(dict.fromkeys((r["config"], r["mode"]) for r in record["rows"]))
    header = ["config", "mode"] + [f"2^{b.bit_length() - 1}: s / peak MB" for b in budgets]

    def cell(key, b):
        r = cells.get(key + (b,))
        return "n/a" if r is None else f"{r['median_s']:.3f} / {r['peak_mb']:.0f}"

    return _table(header, [[c, "forward+backward" if m == "backward" else m] + [cell((c, m), b) for b in budgets]
                           for c, m in keys])


def inversion(record: dict) -> str:
    """``inversion.py``: inversion of real crops from their scattering, distribution per setting."""
    header = ["crops", "J", "padding", "coefficient error median (quartiles)", "max", "below 1 %",
              "signal error median (best shift)"]
    rows = []
    for r in record["summary"]:
        c, sig = r["coef_error"], r["signal_error_shift"]
        rows.append([f"{r['half']} ({c['n']})", r["J"], r["padding"],
                     f"{100 * c['median']:.2f} % ({100 * c['q1']:.2f}-{100 * c['q3']:.2f})", f"{100 * c['max']:.1f} %",
                     f"{100 * r['converged_1pct']:.0f} %", f"{100 * sig['median']:.1f} %"])
    return _table(header, rows)


def reproduce_times(record: dict) -> str:
    """``reproduce_times.py``: wall and CPU time of every experiment's quick mode."""
    header = ["experiment", "status", "wall time (s)", "CPU time (s)", "load average (start, end)"]
    rows = [[r["experiment"], r["status"], _num(r["wall_s"], ".0f"), _num(r["cpu_s"], ".0f"),
             ", ".join(f"{v:.1f}" for v in r["load_average"] or [])] for r in record["rows"]]
    total = record["total"]
    rows.append(["**all**", "", _num(total["wall_s"], ".0f"), _num(total["cpu_s"], ".0f"), ""])
    busy = record.get("busy_with") or ("a spinning process (`--busy`)" if record.get("busy_core") else None)
    condition = f"One core kept busy during the run by {busy}.\n\n" if busy else ""
    return condition + _table(header, rows)


RENDERERS: dict[str, Callable[[dict], str]] = {
    "results.json": core,
    "harmonic3d.json": harmonic3d,
    "rototranslation.json": rototranslation,
    "timefrequency.json": timefrequency,
    "jtfs_peer.json": jtfs_peer,
    "synthesis.json": synthesis,
    "refactor_ab.json": versions,
    "threads.json": threads,
    "store.json": store,
    "chunk_budget.json": chunk_budget,
    "blas_waiting.json": blas_waiting,
    "omp_waiting.json": omp_waiting,
    "inversion_before.json": inversion,
    "inversion.json": inversion,
    "reproduce_quick_before.json": reproduce_times,
    "reproduce_quick.json": reproduce_times,
}
"""The renderer of each benchmark file, by file name in ``benchmarks/``."""


def provenance(record: dict) -> str:
    """One line: command, commit, date, threads and load of the run that wrote ``record``."""
    commit = (record.get("commit") or "")[:8] or "not recorded"
    date = (record.get("date") or "")[:10] or "date not recorded"
    machine = record.get("machine", {})
    threads_used = record.get("threads", machine.get("threads", machine.get("torch_threads", "?")))
    load = record.get("load_average")
    load_text = f", load average {load[0]:.2f} before / {load[1]:.2f} after" if load else ""
    plural = "" if threads_used == 1 else "s"
    return (f"`{record.get('command', 'command not recorded')}` (commit {commit}, {date}, {threads_used} thread{plural}"
            f"{load_text})")


def render(name: str, record: dict) -> str:
    """The generated region for ``benchmarks/name``: markers, provenance line and table."""
    return "\n".join([BEGIN.format(name=name), provenance(record), "", RENDERERS[name](record), END])


def regenerate(text: str, directory: Path = ROOT / "benchmarks") -> str:
    """``text`` with every generated region rendered again from the files in ``directory``."""
    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in RENDERERS:
            raise SystemExit(f"BENCHMARKS.md cites benchmarks/{name}, which has no renderer in benchmarks/tables.py.")
        return render(name, json.loads((directory / name).read_text()))

    return REGION.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if BENCHMARKS.md differs from the files")
    parser.add_argument("--file", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    text = args.file.read_text()
    fresh = regenerate(text)
    if args.check:
        stale = [m["name"] for m, n in zip(REGION.finditer(text), REGION.finditer(fresh)) if m[0] != n[0]]
        if stale:
            print(f"{args.file.name} is stale for {', '.join(stale)}: run python benchmarks/tables.py", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        args.file.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
