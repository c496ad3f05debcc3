"""Reproducible experiments, one module each, found and run by :mod:`scatlab.reproduce`.

An experiment is a module ``scatlab.experiments.<name>`` (hyphens in the name are underscores in
the module's) defining

- ``Config``: a frozen dataclass whose defaults are the full run, with a ``seed`` field and a
  ``quick()`` classmethod returning the fast variant;
- ``run(cfg, out_dir, progress) -> Result``: writes its figures (PNG) in ``out_dir`` and its
  checkpoints, if it trains, in ``out_dir / CHECKPOINTS``.

Modules named ``_*`` are helpers, not experiments.
"""
from ._contract import CHECKPOINTS, VERDICTS, Result, Selection, Verdict

__all__ = ["CHECKPOINTS", "VERDICTS", "Result", "Selection", "Verdict"]
