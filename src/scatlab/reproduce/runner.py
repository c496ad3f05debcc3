"""Running experiments: seeded, timed, recorded, never starting over a training left unfinished.

An experiment that trains keeps its checkpoints in ``DIR/NAME/checkpoints`` (:data:`CHECKPOINTS`);
the runner continues from them only when asked to resume and otherwise refuses to start over them
(:class:`CheckpointsExist`). It writes ``DIR/NAME/results.json`` atomically, also when the
experiment fails (with the error), so that the report shows every attempted experiment; a failure
never replaces an existing ``results.json`` but goes to ``failed.json`` beside it. Under torchrun
only rank 0 writes these records.
"""
from __future__ import annotations

import dataclasses
import os
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import DataError, InvalidParameterError, MissingData, ShapeError
from ..experiments import CHECKPOINTS
from ..runtime import Progress, is_main_process, no_progress, seed_everything
from .config import configure
from .provenance import git_commit, machine, now, versions
from .records import checked, write_record
from .registry import experiment_names, load

__all__ = ["CHECKPOINTS", "USER_ERRORS", "CheckpointsExist", "run_experiment", "reproduce"]

USER_ERRORS = (InvalidParameterError, ShapeError, DataError, OSError)
"""Errors caused by the user's parameters, data or files: exit status 2 of the command line."""


class CheckpointsExist(InvalidParameterError):
    """Checkpoints of an earlier run of ``experiment`` are in ``directory`` (``first``, ``count``):
    continuing them needs ``resume``; starting afresh needs another output directory."""

    def __init__(self, experiment: str, directory: Path, found: list[Path]):
        self.experiment, self.directory, self.first, self.count = experiment, directory, found[0], len(found)
        super().__init__(f"The checkpoint '{self.first}' ({self.count} in all) was left by an earlier run of"
                         f" {experiment}; resume it (resume=True) or write to another directory. Nothing was written.")


def run_experiment(name: str, out_root: str | Path, *, quick: bool = False, seed: int = 0,
                   progress: Progress = no_progress, options: Mapping[str, str] | None = None,
                   resume: bool = False) -> dict:
    """Run one experiment in ``out_root/name`` and write its ``results.json``; return the record.

    Random generators (Python, NumPy, torch) are seeded with ``seed``, which also replaces the
    config's ``seed``; ``options`` change other fields of the config (see :func:`configure`).
    Training continues from the checkpoints of ``out_root/name/checkpoints`` only with ``resume``;
    without it, an existing checkpoint raises :class:`CheckpointsExist` before anything runs. An
    exception inside the experiment is recorded (status 'failed', error, traceback, ``user_error``
    if one of :data:`USER_ERRORS`) instead of propagating; missing data (:class:`MissingData`) is
    recorded as status 'skipped', with ``missing_data`` saying how to get it; it goes to ``failed.json`` if a
    ``results.json`` exists already. Under torchrun, ranks other than 0 write no record.
    """
    module = load(name)
    cfg = configure(name, quick=quick, seed=seed, options=options)
    if not resume:
        refuse_checkpoints(name, out_root)
    out_dir = Path(out_root) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"experiment": name, "status": "ok", "error": None, "user_error": False, "traceback": None,
              "missing_data": None,
              "config": dataclasses.asdict(cfg), "metrics": {}, "tables": [], "figures": [], "notes": [],
              "verdicts": []}
    seed_everything(seed)
    commit = git_commit()  # the code that runs, even if the checkout moves on during a long run
    start, cpu_start, load_before = time.perf_counter(), _cpu_seconds(), os.getloadavg()[0]
    try:
        record.update(checked(module.run(cfg, out_dir, progress), out_dir))
    except MissingData as exc:
        record.update(status="skipped", error=str(exc), missing_data=exc.how)
    except Exception as exc:  # recorded in results.json and reported; the other experiments still run
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", user_error=isinstance(exc, USER_ERRORS),
                      traceback=traceback.format_exc())
    # CPU time (this process and its finished children) does not grow with other jobs' load as wall time does
    record.update(wall_time_s=round(time.perf_counter() - start, 3), cpu_time_s=round(_cpu_seconds() - cpu_start, 3),
                  load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)],
                  versions=versions(), git_commit=commit,
                  machine=machine(), seed=seed, quick=quick, options=dict(options or {}), date=now())
    if is_main_process():
        write_record(out_dir, record)
    return record


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def reproduce(names: Sequence[str], out_root: str | Path, *, quick: bool = False, seed: int = 0,
              progress: Progress = no_progress, options: Mapping[str, str] | None = None,
              resume: bool = False) -> list[dict]:
    """Run the named experiments (all if empty) one after the other; return their records.

    ``options``, and the absence of checkpoints unless ``resume``, are checked for every selected
    experiment before the first one starts.
    """
    selected = experiment_names(names)
    for name in selected:
        configure(name, quick=quick, seed=seed, options=options)
        if not resume:
            refuse_checkpoints(name, out_root)
    return [run_experiment(name, out_root, quick=quick, seed=seed, progress=progress, options=options, resume=resume)
            for name in progress(selected, desc="experiments", total=len(selected))]


def refuse_checkpoints(name: str, out_root: str | Path) -> None:
    """Raise :class:`CheckpointsExist` if ``out_root/name`` holds checkpoints of an earlier run."""
    directory = Path(out_root) / name / CHECKPOINTS
    found = sorted(directory.glob("*.pt"))
    if found:
        raise CheckpointsExist(name, directory, found)
