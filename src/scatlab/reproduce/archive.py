"""The results archive: finished runs kept in the repository, each with its provenance.

``archive/NAME/results.json`` and the figures it lists are copied from a run directory
(``scatlab reproduce --out RUN``) by :func:`archive_run`; RESULTS.md is generated from the archive
(:func:`scatlab.report.results_markdown`), so that every number it shows can be traced to the
record that holds it, the command, commit, date and machine of the run, and the choices made on
held-out data. A hand-written ``archive/NAME/NOTES.md`` joins the generated section.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import DataError
from ..io.atomic import atomic_write_bytes, atomic_write_json

__all__ = ["ARCHIVE", "archive_run"]

ARCHIVE = Path("archive")
"""The archive's folder, relative to the repository root."""


def archive_run(run_dir: str | Path, name: str, archive_dir: str | Path = ARCHIVE) -> Path:
    """Copy the finished record ``run_dir/name/results.json`` and its figures into ``archive_dir/name``
    (replacing an earlier archived run of ``name``); return the archived record's path.

    Only a record with status 'ok' is archived; a figure it lists must exist.
    """
    source = Path(run_dir) / name
    path = source / "results.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot archive '{path}': {exc}. Run `scatlab reproduce {name} --out {run_dir}` first.") from None
    if record.get("status") != "ok":
        raise DataError(f"'{path}' records a run with status {record.get('status')!r}; only finished runs ('ok') are"
                        " archived.")
    missing = [f for f in record.get("figures", []) if not (source / f).is_file()]
    if missing:
        raise DataError(f"'{path}' lists the figures {missing}, which are not in '{source}'.")
    target = Path(archive_dir) / name
    notes = target / "NOTES.md"
    kept_notes = notes.read_bytes() if notes.is_file() else None
    if target.exists():
        shutil.rmtree(target)
    for figure in record.get("figures", []):
        atomic_write_bytes(target / figure, (source / figure).read_bytes())
    if kept_notes is not None:
        atomic_write_bytes(notes, kept_notes)
    return atomic_write_json(target / "results.json", record)
