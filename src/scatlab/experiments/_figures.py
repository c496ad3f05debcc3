"""Figures of the experiments: a row of panels, and PNG files written atomically."""
from __future__ import annotations

from pathlib import Path

from ..io.atomic import atomic_write

__all__ = ["figure_row", "save_png"]


def figure_row(ncols: int = 1, width: float = 5.5, height: float = 4.2):
    """(figure, axes) of ``ncols`` panels side by side, each ``width`` x ``height`` inches, laid out
    so that labels are never cut."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def save_png(fig, out_dir: str | Path, name: str, dpi: int = 110) -> str:
    """Write ``fig`` as ``out_dir/name`` (PNG, atomically); return ``name`` for Result.figures."""
    atomic_write(Path(out_dir) / name, lambda file: fig.savefig(file, format="png", dpi=dpi))
    return name
