"""The HTML report: ``DIR/index.html`` gathering every ``DIR/*/results.json``.

One self-contained page (inline CSS, no script): per experiment its status, notes, metrics,
tables, figures (relative links), config, wall time, versions and commit. All text is escaped.
"""
from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

from ..io.atomic import atomic_write_text

__all__ = ["build_report", "load_results"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ccc; } h2 { margin-top: 2.5em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.3em 0; }
.ok { color: #176c2c; } .failed { color: #b00020; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #eee; }
.meta { color: #666; font-size: 0.9em; }
"""


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


def build_report(directory: str | os.PathLike, title: str = "scatlab experiments") -> Path:
    """Write ``directory/index.html`` for the experiments found in ``directory``; return its path."""
    directory = Path(directory)
    results = load_results(directory)
    parts = [f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>{escape(title)}</title>",
             f"<style>{_CSS}</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>"]
    if results:
        parts.append(_summary(results))
    else:
        parts.append(f"<p>No results found in {escape(str(directory))}: run <code>scatlab reproduce</code>.</p>")
    parts.extend(_section(name, record, error) for name, record, error in results)
    parts.append("</body>\n</html>\n")
    return atomic_write_text(directory / "index.html", "\n".join(parts))


def _summary(results: list[tuple[str, dict | None, str | None]]) -> str:
    rows = []
    for name, record, error in results:
        status = "unreadable" if record is None else str(record.get("status", "unknown"))
        wall = "" if record is None else _value(record.get("wall_time_s", ""))
        rows.append([f"<a href='#{escape(name, quote=True)}'>{escape(name)}</a>",
                     f"<span class='{_status_class(status)}'>{escape(status)}</span>", escape(wall)])
    return _table_html("Summary", ["experiment", "status", "wall time (s)"], rows, raw=True)


def _section(name: str, record: dict | None, error: str | None) -> str:
    anchor = escape(name, quote=True)
    if record is None:
        return f"<h2 id='{anchor}'>{escape(name)}</h2>\n<p class='failed'>{escape(error or '')}</p>"
    status = str(record.get("status", "unknown"))
    out = [f"<h2 id='{anchor}'>{escape(name)} <span class='{_status_class(status)}'>[{escape(status)}]</span></h2>",
           "<p class='meta'>" + " &middot; ".join(escape(f"{label}: {_value(record.get(key))}") for label, key in (
               ("date", "date"), ("wall time (s)", "wall_time_s"), ("quick", "quick"), ("seed", "seed"),
               ("commit", "git_commit"))) + "</p>"]
    if record.get("error"):
        out.append(f"<p class='failed'>{escape(str(record['error']))}</p>")
        if record.get("traceback"):
            out.append(f"<details><summary>traceback</summary><pre>{escape(str(record['traceback']))}</pre></details>")
    verdicts = record.get("verdicts") or []
    if verdicts:
        out.append(_table_html("Verdicts", ["claim", "verdict", "evidence", "published"],
                               [[v.get("claim", ""), v.get("verdict", ""), v.get("evidence", ""), v.get("anchor", "")]
                                for v in verdicts]))
    notes = record.get("notes") or []
    if notes:
        out.append("<ul>" + "".join(f"<li>{escape(str(note))}</li>" for note in notes) + "</ul>")
    metrics = record.get("metrics") or {}
    if metrics:
        out.append(_table_html("Metrics", ["metric", "value"], [[k, _value(v)] for k, v in metrics.items()]))
    for table in record.get("tables") or []:
        out.append(_table_html(table.get("title", ""), table.get("header", []),
                               [[_value(v) for v in row] for row in table.get("rows", [])]))
    for figure in record.get("figures") or []:
        src = escape(f"{name}/{figure}", quote=True)
        out.append(f"<figure><img src='{src}' alt='{escape(str(figure), quote=True)}'>"
                   f"<figcaption class='meta'>{escape(str(figure))}</figcaption></figure>")
    config = record.get("config") or {}
    if config:
        out.append(_table_html("Config", ["parameter", "value"], [[k, _value(v)] for k, v in config.items()]))
    versions = record.get("versions") or {}
    if versions:
        out.append(_table_html("Versions", ["package", "version"], [[k, _value(v)] for k, v in versions.items()]))
    return "\n".join(out)


def _table_html(caption: str, header: list, rows: list[list], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are trusted HTML built here)."""
    cell = (lambda v: str(v)) if raw else (lambda v: escape(str(v)))
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>\n" for row in rows)
    return f"<table>\n<caption>{escape(caption)}</caption>\n<tr>{head}</tr>\n{body}</table>"


def _value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    return str(value)


def _status_class(status: str) -> str:
    return "ok" if status == "ok" else "failed"
