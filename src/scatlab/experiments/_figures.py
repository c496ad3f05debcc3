"""Figures of the experiments: a row of panels, and PNG files written atomically."""
from __future__ import annotations

from pathlib import Path

from ..io.atomic import atomic_write

__all__ = ["figure_row", "save_png", "learning_curves", "network_figures"]


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


def learning_curves(ax, sizes, series: dict, ylabel: str = "test error (%)") -> None:
    """One line per entry of ``series`` ({label: [values over seeds, one list per size in ``sizes``]}):
    the mean against the training size (log axis), with error bars of one standard deviation over the
    seeds where a size has more than one."""
    import numpy as np

    for label, per_size in series.items():
        means = [float(np.mean(v)) for v in per_size]
        stds = [float(np.std(v)) if len(v) > 1 else 0.0 for v in per_size]
        if any(len(v) > 1 for v in per_size):
            ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, label=label)
        else:
            ax.plot(sizes, means, "o-", label=label)
    if len(sizes) > 1:
        ax.set_xscale("log")
    ax.set_xticks(list(sizes), [f"{n:,}" for n in sizes])  # the training sizes, not powers of ten
    ax.minorticks_off()
    ax.set_xlabel("training size")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def network_figures(results: dict, models, sizes, out_dir: str | Path, stem: str, title: str) -> list[str]:
    """The figures of a network experiment from :func:`scatlab.learning.regimes.train_regimes` results
    ({(model, n, seed): {'test_accuracy', 'history', ...}}): ``{stem}_learning_curve.png`` (test
    error vs training size per model, error bars over seeds) and ``{stem}_training_curves.png``
    (training loss and training accuracy per epoch, the history each run's checkpoint records; the
    mean over seeds, one colour per model, one line style per training size). Returns the names."""
    import numpy as np

    sizes = sorted(sizes)
    fig, (ax,) = figure_row(1)
    learning_curves(ax, sizes, {model: [[100 - r["test_accuracy"] for (m, n, _), r in results.items()
                                         if m == model and n == size] for size in sizes] for model in models})
    ax.set_title(title, fontsize=10)
    names = [save_png(fig, out_dir, f"{stem}_learning_curve.png")]
    fig, (loss_ax, acc_ax) = figure_row(2, width=5.0)
    styles = ("-", "--", ":", "-.")
    for k, model in enumerate(models):
        for s, size in enumerate(sizes):
            histories = [r["history"] for (m, n, _), r in results.items() if m == model and n == size]
            epochs = min(len(h) for h in histories)
            if epochs == 0:
                continue
            x = np.arange(1, epochs + 1)
            for axis, field in ((loss_ax, "loss"), (acc_ax, "train_accuracy")):
                values = np.mean([[record[field] for record in h[:epochs]] for h in histories], axis=0)
                axis.plot(x, values, styles[s % len(styles)], color=f"C{k}", marker="." if epochs < 20 else None,
                          label=f"{model}, n = {size}" + (f" ({len(histories)} seeds)" if len(histories) > 1 else ""))
    loss_ax.set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log", title="training loss")
    acc_ax.set(xlabel="epoch", ylabel="training accuracy (%)", title="training accuracy (no test data seen)")
    for axis in (loss_ax, acc_ax):
        axis.grid(alpha=0.3)
    acc_ax.legend(fontsize=7)
    names.append(save_png(fig, out_dir, f"{stem}_training_curves.png"))
    return names
