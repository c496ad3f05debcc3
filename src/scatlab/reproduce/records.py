"""An experiment's record: its Result checked and made JSON-ready, written as ``results.json``."""
from __future__ import annotations

import math
import numbers
from pathlib import Path

from ..errors import DataError
from ..experiments import VERDICTS, Result
from ..io.atomic import atomic_write_json

__all__ = ["checked", "write_record"]


def checked(result: Result, out_dir: Path) -> dict:
    """The result as JSON-ready fields, after checking numbers are finite and figures exist."""
    metrics = {}
    for key, value in result.metrics.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise DataError(f"The metric {key!r} is {value!r}; every metric must be a finite number.")
        metrics[key] = _cell(value, f"metric {key!r}")
    missing = [name for name in result.figures if not (out_dir / name).is_file()]
    if missing:
        raise DataError(f"The figures {missing} are listed but were not written in '{out_dir}'.")
    tables = [{"title": title, "header": [str(h) for h in header],
               "rows": [[_cell(v, f"table {title!r}") for v in row] for row in rows]}
              for title, header, rows in result.tables]
    verdicts = []
    for v in result.verdicts:
        if v.verdict not in VERDICTS:
            raise DataError(f"The verdict {v.verdict!r} on {v.claim!r} is not one of {VERDICTS}.")
        verdicts.append({"claim": v.claim, "verdict": v.verdict, "evidence": v.evidence, "anchor": v.anchor})
    selections = []
    for c in result.selections:
        if len(c.scores) != len(c.grid) or c.chosen not in c.grid:
            raise DataError(f"The selection of {c.what!r} needs one score per candidate and a chosen candidate of"
                            f" its grid; got grid {c.grid!r}, scores {c.scores!r}, chosen {c.chosen!r}.")
        selections.append({"what": c.what, "grid": [_cell(v, f"selection {c.what!r}") for v in c.grid],
                           "scores": [_cell(v, f"selection {c.what!r}") for v in c.scores],
                           "chosen": _cell(c.chosen, f"selection {c.what!r}"), "criterion": c.criterion})
    return {"metrics": metrics, "tables": tables, "figures": list(result.figures), "notes": list(result.notes),
            "verdicts": verdicts, "selections": selections}


def write_record(out_dir: Path, record: dict) -> Path:
    """``results.json``, except a failure or a skip when one exists: ``failed.json`` then, keeping the earlier record."""
    path = out_dir / "results.json"
    if record["status"] != "ok" and path.exists():
        path = out_dir / "failed.json"
    else:
        (out_dir / "failed.json").unlink(missing_ok=True)
    atomic_write_json(path, record)
    return path


def _cell(value, where: str) -> str | int | float:
    """A JSON-ready str, int or finite float (numpy scalars converted)."""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    raise DataError(f"The {where} holds {value!r}; values must be strings or finite numbers.")
