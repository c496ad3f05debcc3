"""RESULTS.md, generated from the results archive (:mod:`scatlab.reproduce.archive`).

Every number comes from an archived ``results.json``; each section names the command, commit,
date, machine, threads and wall time of its run, the choices made on held-out data, and links the
archived figures. ``archive/NAME/NOTES.md``, written by hand, follows the generated part of its
section; ``archive/NOTES.md`` follows the introduction.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import jinja2

from .format import format_duration, format_value
from .html import experiment_view, load_results

__all__ = ["results_markdown"]


def results_markdown(archive_dir: str | os.PathLike, order: tuple[str, ...] = (), link_root: str = "") -> str:
    """The text of RESULTS.md for the runs archived in ``archive_dir`` (``order`` first, then
    alphabetically); figure links are ``link_root + archive_dir/NAME/figure``."""
    archive_dir = Path(archive_dir)
    found = [(name, record) for name, record, error in load_results(archive_dir) if record is not None]
    rank = {name: i for i, name in enumerate(order)}
    found.sort(key=lambda item: (rank.get(item[0], len(rank)), item[0]))
    experiments = []
    for name, record in found:
        view = experiment_view(name, record, None)
        notes = archive_dir / name / "NOTES.md"
        view["commentary"] = notes.read_text(encoding="utf-8").strip() if notes.is_file() else ""
        view["figures"] = [dict(f, src=f"{link_root}{archive_dir.as_posix()}/{f['src']}") for f in view["figures"]]
        view["threads"] = (record.get("machine") or {}).get("torch_threads", "-")
        experiments.append(view)
    intro = archive_dir / "NOTES.md"
    intro = intro.read_text(encoding="utf-8").strip() if intro.is_file() else ""
    return _template().render(experiments=experiments, archive=archive_dir.as_posix(), intro=intro).rstrip() + "\n"


def _cell(value) -> str:
    return format_value(value).replace("|", "\\|").replace("\n", " ")


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("scatlab.report", "templates"), autoescape=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["cell"] = _cell
    env.filters["duration"] = format_duration
    return env.get_template("results.md.j2")
