"""What every benchmark JSON file holds beside its rows: command, commit, date, machine and load.

Benchmark scripts run from the repository root (``python benchmarks/NAME.py ... --json
benchmarks/NAME.json``) and write their rows with :func:`write_record`; ``benchmarks/tables.py``
renders BENCHMARKS.md's tables from those files.
"""
from __future__ import annotations

import os
import shlex
import sys

from scatlab.io import atomic_write_json
from scatlab.reproduce.provenance import git_commit, machine, now

__all__ = ["command_line", "write_record"]


def command_line(script: str, argv: list[str] | None = None) -> str:
    """The command that reproduces this run: ``OMP_WAIT_POLICY=... python benchmarks/SCRIPT ARGS``."""
    args = sys.argv[1:] if argv is None else argv
    policy = os.environ.get("OMP_WAIT_POLICY")
    prefix = f"OMP_WAIT_POLICY={policy} " if policy else ""
    return f"{prefix}python benchmarks/{script} {shlex.join(args)}".rstrip()


def write_record(path: str, script: str, argv: list[str] | None, rows: list[dict], load_before: float | None,
                 **extra) -> None:
    """Write ``rows`` to ``path`` (atomically) with the command, commit, date, machine and the
    one-minute load average before and after the run (other jobs on the machine; None when the rows
    were collected from an earlier run, whose rows then carry their own)."""
    load = None if load_before is None else [round(load_before, 2), round(os.getloadavg()[0], 2)]
    atomic_write_json(path, {"command": command_line(script, argv), "commit": git_commit(), "date": now(),
                             "machine": machine(), "load_average": load, **extra, "rows": rows})
