"""The experiment registry and runner.

An experiment is one module ``scatlab.experiments.<name>`` (hyphens in the name are
underscores in the module's) defining

- ``Config``: a frozen dataclass whose defaults are the full run, with a ``seed`` field and a
  ``quick()`` classmethod returning the fast variant;
- ``run(cfg, out_dir, progress) -> Result``: writes its figures (PNG) in ``out_dir``.

Adding an experiment is adding its module: :data:`EXPERIMENTS` lists every module of this package
except ``registry`` and those named ``_*`` (:func:`discover`, which imports none), in the order of
:data:`ORDER`, then alphabetically; modules are imported only when run. Any field of ``Config``
can be changed from the command line (``--set KEY=VALUE``, :func:`configure`). An experiment that
trains keeps its checkpoints in ``DIR/NAME/checkpoints`` (:data:`CHECKPOINTS`); the runner
continues from them only when asked to resume and otherwise refuses to start over them. The
runner writes ``DIR/NAME/results.json`` atomically, also when the experiment fails (with the
error), so that the report shows every attempted experiment; a failure never replaces an existing
``results.json`` but goes to ``failed.json`` beside it. Under torchrun only rank 0 writes these
records.
"""
from __future__ import annotations

import dataclasses
import datetime
import fractions
import importlib
import math
import numbers
import os
import pkgutil
import platform
import random
import subprocess
import time
import traceback
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, InvalidParameterError, ShapeError, parameter_error
from ..io.atomic import atomic_write_json

__all__ = ["EXPERIMENTS", "ORDER", "discover", "CHECKPOINTS", "USER_ERRORS", "Progress", "Result", "experiment_names",
           "load", "configure", "run_experiment", "reproduce", "is_main_process", "versions", "git_commit"]

ORDER: tuple[str, ...] = (
    "stability",
    "textures",
    "fmnist-linear",
    "fmnist-hybrid",
    "fmnist-phase-collapse",
    "rotation",
    "audio",
    "qm9",
)
"""The listing order of these experiments; the other discovered ones follow, alphabetically."""


def discover(path: str | Path = Path(__file__).parent) -> tuple[str, ...]:
    """The experiment names in ``path``: its modules but ``registry`` and ``_*``, with ``-`` for ``_``."""
    found = {info.name.replace("_", "-") for info in pkgutil.iter_modules([str(path)])
             if not info.name.startswith("_") and info.name != "registry"}
    return tuple(name for name in ORDER if name in found) + tuple(sorted(found.difference(ORDER)))


EXPERIMENTS: tuple[str, ...] = discover()
"""The registered experiments, in the order ``scatlab reproduce`` runs them."""

CHECKPOINTS = "checkpoints"
"""The subdirectory of ``DIR/NAME`` holding the training checkpoints of an experiment."""

USER_ERRORS = (InvalidParameterError, ShapeError, DataError, OSError)
"""Errors caused by the user's parameters, data or files: exit status 2 of the command line."""

Progress = Callable[..., Iterable]
"""``progress(iterable, desc=..., total=...)`` returning an iterable, e.g. ``tqdm.tqdm``."""


def no_progress(iterable: Iterable, **_) -> Iterable:
    return iterable


@dataclasses.dataclass
class Result:
    """What an experiment returns.

    ``metrics`` maps names to finite numbers; ``tables`` holds (title, header, rows);
    ``figures`` are PNG file names written in the experiment's directory; ``notes`` are sentences
    stating what the numbers show.
    """

    metrics: dict[str, float]
    tables: list[tuple[str, list[str], list[list]]] = dataclasses.field(default_factory=list)
    figures: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def experiment_names(names: Sequence[str] = ()) -> list[str]:
    """The registered names to run: all of them if ``names`` is empty; an unknown name raises."""
    for name in names:
        if name not in EXPERIMENTS:
            known = ", ".join(EXPERIMENTS)
            raise parameter_error("scatlab reproduce", "NAME", f"a registered experiment: {known}", name)
    return list(dict.fromkeys(names)) if names else list(EXPERIMENTS)


def load(name: str) -> types.ModuleType:
    """Import the module of the registered experiment ``name``; it must define ``Config`` and ``run``."""
    experiment_names([name])
    module_name = name.replace("-", "_")
    module = importlib.import_module(f"{__package__}.{module_name}")
    missing = [attr for attr in ("Config", "run") if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"The module {module.__name__} is discovered as experiment {name!r} but defines no"
                        f" {' and no '.join(missing)}. Add them, or rename it _{module_name}.py if it is a helper.")
    return module


def configure(name: str, *, quick: bool = False, seed: int = 0, options: Mapping[str, str] | None = None):
    """The ``Config`` of experiment ``name``: the full or quick one, with ``seed``, then ``options``.

    ``options`` maps field names to values as typed on the command line (``--set KEY=VALUE``),
    read by the field's annotation: ``int``, ``float`` (``0.01``, ``1e-3``, ``1/3``), ``bool``
    (``True``/``False``), ``str`` (as typed, e.g. a path), ``X | None`` (``None`` or an X) and
    tuples, written with commas (``100,500,60000`` or ``hybrid,wrn``).
    """
    module = load(name)
    cfg = dataclasses.replace(module.Config.quick() if quick else module.Config(), seed=seed)
    hints = typing.get_type_hints(type(cfg))
    changes = {}
    for key, text in (options or {}).items():
        if key == "seed":
            raise InvalidParameterError("Set the seed with --seed N, not --set seed=N (it also seeds the generators).")
        if key not in hints:
            raise parameter_error(f"scatlab reproduce {name} --set", "KEY", f"one of {sorted(hints)}", key)
        try:
            changes[key] = _parse(text.strip(), hints[key])
        except ValueError as exc:
            raise InvalidParameterError(f"--set {key}={text!r} for experiment {name}: {exc}"
                                        f" (default: {getattr(cfg, key)!r}).") from None
    return dataclasses.replace(cfg, **changes)


def _parse(text: str, kind):
    """``text`` as a value of the annotation ``kind``; ValueError saying what was expected."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if text == "None" else _parse(text, options[0])
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        items = [part.strip().strip("'\"") for part in text.strip("()[] ").split(",") if part.strip()]
        kinds = [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
        if not items or len(kinds) != len(items):
            raise ValueError(f"expected {len(kinds) if args[-1] is not Ellipsis else 'one or more'} values"
                             " separated by commas")
        return tuple(_parse(item, k) for item, k in zip(items, kinds))
    if not text:
        raise ValueError("expected a value after '='")
    if kind is str:
        return text
    if kind is bool:
        if text not in ("True", "False"):
            raise ValueError("expected True or False")
        return text == "True"
    try:
        return int(text) if kind is int else float(fractions.Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"expected {'an integer' if kind is int else 'a number such as 0.01, 1e-3 or 1/3'}") from None


def run_experiment(name: str, out_root: str | Path, *, quick: bool = False, seed: int = 0,
                   progress: Progress = no_progress, options: Mapping[str, str] | None = None,
                   resume: bool = False) -> dict:
    """Run one experiment in ``out_root/name`` and write its ``results.json``; return the record.

    Random generators (Python, NumPy, torch) are seeded with ``seed``, which also replaces the
    config's ``seed``; ``options`` change other fields of the config (see :func:`configure`).
    Training continues from the checkpoints of ``out_root/name/checkpoints`` only with ``resume``;
    without it, an existing checkpoint raises before anything runs. An exception inside the
    experiment is recorded (status 'failed', error, traceback, ``user_error`` if one of
    :data:`USER_ERRORS`) instead of propagating; it goes to ``failed.json`` if a ``results.json``
    exists already. Under torchrun, ranks other than 0 write no record.
    """
    module = load(name)
    cfg = configure(name, quick=quick, seed=seed, options=options)
    if not resume:
        _refuse_checkpoints(name, out_root)
    out_dir = Path(out_root) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"experiment": name, "status": "ok", "error": None, "user_error": False, "traceback": None,
              "config": dataclasses.asdict(cfg), "metrics": {}, "tables": [], "figures": [], "notes": []}
    _seed_everything(seed)
    start = time.perf_counter()
    try:
        record.update(_checked(module.run(cfg, out_dir, progress), out_dir))
    except Exception as exc:  # recorded in results.json and reported; the other experiments still run
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", user_error=isinstance(exc, USER_ERRORS),
                      traceback=traceback.format_exc())
    now = datetime.datetime.now(datetime.timezone.utc)
    record.update(wall_time_s=round(time.perf_counter() - start, 3), versions=versions(), git_commit=git_commit(),
                  seed=seed, quick=quick, date=now.isoformat(timespec="seconds"))
    if is_main_process():
        _write_record(out_dir, record)
    return record


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
            _refuse_checkpoints(name, out_root)
    return [run_experiment(name, out_root, quick=quick, seed=seed, progress=progress, options=options, resume=resume)
            for name in progress(selected, desc="experiments", total=len(selected))]


def is_main_process() -> bool:
    """False on the ranks other than 0 under torchrun (its ``RANK`` variable), True otherwise."""
    return int(os.environ.get("RANK", 0)) == 0


def _refuse_checkpoints(name: str, out_root: str | Path) -> None:
    """Raise if ``out_root/name`` holds checkpoints of an earlier run (continuing them needs resume)."""
    found = sorted((Path(out_root) / name / CHECKPOINTS).glob("*.pt"))
    if found:
        raise InvalidParameterError(
            f"The checkpoint '{found[0]}' ({len(found)} in all) was left by an earlier run of {name}; pass --resume"
            " to continue its training, or choose another --out DIR to start afresh. Nothing was written.")


def _write_record(out_dir: Path, record: dict) -> None:
    """``results.json``, except a failure when one exists: ``failed.json`` then, keeping the earlier record."""
    path = out_dir / "results.json"
    if record["status"] == "failed" and path.exists():
        path = out_dir / "failed.json"
    else:
        (out_dir / "failed.json").unlink(missing_ok=True)
    atomic_write_json(path, record)


def versions() -> dict[str, str]:
    from .. import __version__

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "scatlab": __version__}


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout holding scatlab, or None outside a git checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _checked(result: Result, out_dir: Path) -> dict:
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
    return {"metrics": metrics, "tables": tables, "figures": list(result.figures), "notes": list(result.notes)}


def _cell(value, where: str) -> str | int | float:
    """A JSON-ready str, int or finite float (numpy scalars converted)."""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    raise DataError(f"The {where} holds {value!r}; values must be strings or finite numbers.")
