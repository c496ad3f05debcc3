"""The HTML report: ``DIR/index.html`` gathering every ``DIR/*/results.json``.

One self-contained page (inline CSS, no script, no external resource: it works offline), rendered
from the Jinja2 template ``templates/report.html.j2`` with autoescaping: a table of experiments and a
table of claims (claim, published anchor, our number, verdict, link) at the top, then one section
per experiment with the command that made it, its verdicts, notes, figures (relative links, alt
text), tables, the choices made on held-out data, metrics, config and provenance.
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import jinja2

from ..io.atomic import atomic_write_text
from .format import format_duration, format_value

__all__ = ["build_report", "load_results", "command_of", "experiment_view"]


def load_results(directory: str | os.PathLike) -> list[tuple[str, dict | None, str | None]]:
    """(name, record or None, error or None) for every ``directory/*/results.json``, sorted by name."""
    found = []
    for path in sorted(Path(directory).glob("*/results.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError("the top level is not an object")
            found.append((path.parent.name, record, None))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            found.append((path.parent.name, None, f"unreadable {path.name}: {exc}"))
    return found


def build_report(directory: str | os.PathLike, title: str = "scatlab experiments",
                 order: tuple[str, ...] = ()) -> Path:
    """Write ``directory/index.html`` for the experiments found in ``directory`` (listed in ``order``
    first, then alphabetically); return its path."""
    directory = Path(directory)
    results = load_results(directory)
    rank = {name: i for i, name in enumerate(order)}
    results.sort(key=lambda found: (rank.get(found[0], len(rank)), found[0]))
    experiments = [experiment_view(name, record, error) for name, record, error in results]
    claims = [dict(verdict, experiment=e["name"], anchor_id=e["anchor_id"])
              for e in experiments for verdict in e["verdicts"]]
    html = _template().render(title=title, directory=str(directory), experiments=experiments, claims=claims)
    return atomic_write_text(directory / "index.html", html)


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("scatlab.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["value"] = format_value
    return env.get_template("report.html.j2")


def experiment_view(name: str, record: dict | None, error: str | None) -> dict:
    """A template's view of one record: its fields with empty defaults, the command that made it,
    figures with captions and alt text, provenance as text."""
    record = record or {}
    status = "unreadable" if error else str(record.get("status", "unknown"))
    figures = [{"src": f"{name}/{figure}", "caption": _caption(figure),
                "alt": f"{name}: {_caption(figure)}"} for figure in record.get("figures") or []]
    return {
        "name": name, "anchor_id": f"x-{name}", "status": status, "error": error or record.get("error"),
        "traceback": record.get("traceback"), "missing_data": record.get("missing_data"),
        "command": command_of(name, record), "verdicts": list(record.get("verdicts") or []),
        "notes": list(record.get("notes") or []), "figures": figures, "tables": list(record.get("tables") or []),
        "selections": list(record.get("selections") or []), "metrics": dict(record.get("metrics") or {}),
        "config": dict(record.get("config") or {}), "versions": dict(record.get("versions") or {}),
        "provenance": {"commit": (record.get("git_commit") or "-")[:12], "date": record.get("date", "-"),
                       "machine": _machine(record.get("machine") or {}),
                       "wall time": format_duration(record.get("wall_time_s")),
                       "CPU time": format_duration(record.get("cpu_time_s")),
                       "load average (start, end)": ", ".join(f"{v:.1f}" for v in record.get("load_average") or [])
                       or "-", "seed": record.get("seed", "-"),
                       "mode": "quick" if record.get("quick") else "full"},
        "wall": format_duration(record.get("wall_time_s")),
    }


def command_of(name: str, record: dict) -> str:
    """The command line that reproduces the record: name, --quick, --seed and every --set."""
    parts = ["scatlab reproduce", name] + (["--quick"] if record.get("quick") else [])
    if record.get("seed") not in (None, 0):
        parts.append(f"--seed {record['seed']}")
    parts += [f"--set {key}={value}" for key, value in (record.get("options") or {}).items()]
    return " ".join(parts)


def _caption(figure: str) -> str:
    return Path(str(figure)).stem.replace("_", " ").replace("-", " ")


def _machine(machine: dict) -> str:
    if not machine:
        return "-"
    return f"{machine.get('platform', '?')}, {machine.get('cpus', '?')} CPUs, {machine.get('torch_threads', '?')} threads"
