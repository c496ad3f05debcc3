r"""Experiment ``generalization``: random labels, complexity bounds and margins.

Claims tested:

1. Zhang, Bengio, Hardt, Recht & Vinyals ("Understanding deep learning requires rethinking
   generalization", ICLR 2017): the same network, trained the same way, fits the true labels, partly
   or fully random labels, shuffled pixels and Gaussian images (training accuracy ~100 %), while its
   test accuracy falls to chance: a capacity measured on the model class alone (VC dimension,
   Rademacher complexity) is the same in every case and cannot explain generalization. Measured:
   training/test accuracy and epochs to fit per corruption; the empirical Rademacher complexity of
   the trained class (fitting random signs, :func:`scatlab.theory.generalization.empirical_rademacher`),
   the Rademacher and VC gap bounds (VC dimension taken as the parameter count P, below the true
   one), vacuous when >= 1.
2. Bartlett, Foster & Telgarsky ("Spectrally-normalized margin bounds for neural networks",
   NeurIPS 2017, Fig. 2): output margins divided by the spectral complexity R_A
   (:mod:`scatlab.theory.spectral`, reference matrices 0) separate the networks trained on true
   and on random labels; their margin bound grows with the difficulty of the labels. Measured: the
   histograms of normalized training margins, their AUC (probability that a true-label margin
   exceeds a random-label one), and the bound at the margin of the 10 % quantile.
3. Sokolic, Giryes, Sapiro & Rodrigues ("Robust large margin deep neural networks", IEEE TSP 2017):
   larger input-space classification margins go with smaller generalization gaps; Jacobian
   regularization enlarges them. Measured: first-order and DeepFool (torchattacks) margins on
   training points, against the gap (training minus test accuracy) over training sizes, with and
   without the Jacobian penalty :math:`\lambda\|J\|_F^2` (:class:`scatlab.theory.margins.JacobianRegularized`).

Protocol. A bias-free plain CNN (:class:`scatlab.networks.plain.PlainCNN`: three 3x3
convolutions with ReLU, one linear layer: the class Bartlett et al.'s bound covers exactly) is
trained by :func:`scatlab.learning.training.train` (SGD, Nesterov, cosine schedule, no
augmentation, no weight decay: the unregularized arm of Zhang et al.) on a fixed class-balanced
subset of ``n_train`` training images. The learning rate and the number of epochs are chosen on
``n_validation`` held-out training images for the TRUE labels and kept for every corruption and
every later run; the Jacobian weight lambda is chosen on the same validation images at
``n_train``. The test set is scored once per trained network. Every run checkpoints and resumes.

Cost on this 2-core CPU (one thread, shared with other jobs): ``--quick`` (200 images, narrow
network, 9 trainings) measured 3.5 minutes (8 minutes while a full run shared the CPU); the full
run (1,000 images, 23 trainings of 40-80 epochs, five with the Jacobian penalty at ~2.7x the cost)
measured about 65 minutes on the loaded machine (other jobs running), in several resumed pieces.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..errors import InvalidParameterError
from ..learning.regimes import balanced_subsets
from ..learning.splits import train_validation_test
from ..learning.training import TrainSettings, evaluate, train
from ..networks.plain import PlainCNN
from ..runtime import Progress, seed_everything
from ..theory.generalization import (corrupt_labels, empirical_rademacher, gaussian_images, rademacher_gap_bound,
                                     shuffle_pixels, vc_gap_bound)
from ..theory.margins import JacobianRegularized, deepfool_margins, first_order_margins, output_margins
from ..theory.spectral import spectral_complexity, spectral_margin_bound
from ._figures import save_png
from ._contract import CHECKPOINTS, Result, Selection, Verdict

__all__ = ["Config", "run"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the generalization experiment; the defaults are the full run (about an hour on CPU)."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    n_train: int = 1000  # the fixed class-balanced training subset (every corruption uses these images)
    n_validation: int = 1000  # held-out training images for the choices (lr, epochs, lambda)
    n_test: int = 10000  # first n_test test images
    widths: tuple[int, ...] = (32, 64, 64)  # channels of the PlainCNN convolutions
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1)  # candidate initial learning rates (cosine schedule)
    epoch_grid: tuple[int, ...] = (40, 80)  # candidate numbers of epochs
    batch_size: int = 64  # SGD batch size
    random_fractions: tuple[float, ...] = (0.2, 0.5, 1.0)  # fractions of labels replaced by uniform random classes
    fit_threshold: float = 99.0  # training accuracy (%) counted as having fitted the training set
    rademacher_draws: int = 3  # random sign vectors fitted for the Rademacher estimate
    train_sizes: tuple[int, ...] = (100, 250, 500, 1000)  # nested subsets of the n_train images (margins vs gap)
    jacobian_weights: tuple[float, ...] = (0.001, 0.01, 0.1)  # candidate lambda of the Jacobian penalty
    margin_points: int = 1000  # training points whose first-order input margins are measured (per run)
    attack_points: int = 100  # training points attacked by DeepFool (per run)
    deepfool_steps: int = 50  # DeepFool iterations
    delta: float = 0.05  # confidence parameter of the bounds
    seed: int = 0  # seed of the subsets, corruptions, initializations and sample orders

    @classmethod
    def quick(cls) -> Config:
        """200 images, narrow network, fully random labels only, one lambda (about 4 minutes on a loaded CPU)."""
        return cls(n_train=200, n_validation=200, n_test=2000, widths=(16, 32, 32), lrs=(0.03, 0.1), epoch_grid=(40,),
                   batch_size=32, random_fractions=(1.0,), rademacher_draws=1, train_sizes=(100, 200),
                   jacobian_weights=(0.01,), margin_points=200, attack_points=40)


def _check(cfg: Config) -> None:
    if cfg.n_train < 20 or cfg.n_validation < 10 or cfg.n_test < 10:
        raise InvalidParameterError(f"'n_train' ({cfg.n_train}), 'n_validation' ({cfg.n_validation}) and 'n_test'"
                                    f" ({cfg.n_test}) must be at least 20, 10 and 10.")
    if not cfg.lrs or not cfg.epoch_grid or min(cfg.epoch_grid) < 1 or min(cfg.lrs) <= 0:
        raise InvalidParameterError(f"'lrs' {cfg.lrs} and 'epoch_grid' {cfg.epoch_grid} need positive candidates.")
    if not cfg.train_sizes or max(cfg.train_sizes) > cfg.n_train:
        raise InvalidParameterError(f"The 'train_sizes' {cfg.train_sizes} must be at most n_train = {cfg.n_train}.")
    if not cfg.jacobian_weights or min(cfg.jacobian_weights) <= 0:
        raise InvalidParameterError(f"'jacobian_weights' {cfg.jacobian_weights} must be positive candidates.")
    if not all(0 < f <= 1 for f in cfg.random_fractions) or not cfg.random_fractions or 1.0 not in cfg.random_fractions:
        raise InvalidParameterError(f"'random_fractions' {cfg.random_fractions} must lie in (0, 1] and include 1.0"
                                    " (the fully random labels compared in claims 1 and 2).")
    if cfg.rademacher_draws < 1 or cfg.margin_points < 2 or cfg.attack_points < 1 or cfg.deepfool_steps < 1:
        raise InvalidParameterError("'rademacher_draws', 'attack_points' and 'deepfool_steps' must be >= 1 and"
                                    " 'margin_points' >= 2.")


class _Runs:
    """Trains (or resumes) the named networks of the experiment, each once."""

    def __init__(self, cfg: Config, data: dict, out_dir: Path, progress: Progress):
        self.cfg, self.data, self.progress = cfg, data, progress
        self.checkpoints = Path(out_dir) / CHECKPOINTS
        self.shape = tuple(data["x_train"].shape[1:])
        self.num_classes = int(data["y_train"].max()) + 1
        self.done: dict[str, tuple[torch.nn.Module, list[dict]]] = {}

    def build(self, num_classes: int, weight: float, seed: int) -> torch.nn.Module:
        seed_everything(seed)
        model = PlainCNN(self.shape[0], num_classes, self.shape[1:], widths=self.cfg.widths)
        return JacobianRegularized(model, weight) if weight > 0 else model

    def train(self, name: str, x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, *, weight: float = 0.0,
              num_classes: int | None = None, seed_offset: int = 0) -> tuple[torch.nn.Module, list[dict]]:
        if name not in self.done:
            cfg = self.cfg
            model = self.build(num_classes or self.num_classes, weight, cfg.seed + seed_offset)
            settings = TrainSettings(epochs=epochs, batch_size=cfg.batch_size, lr=lr, weight_decay=0.0,
                                     seed=cfg.seed + seed_offset)
            identity = {"run": name, "n": len(y), "widths": list(cfg.widths), "jacobian_weight": weight,
                        "images": list(self.shape), "data_dir": str(cfg.data_dir)}
            history = train(model, x, y, settings, checkpoint=self.checkpoints / f"{name}.pt", resume=True,
                            identity=identity, progress=self.progress)
            model.eval()
            self.done[name] = (model, history)
        return self.done[name]


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Randomization tests, capacity bounds, normalized margins and input margins vs gaps (see module)."""
    _check(cfg)
    out_dir = Path(out_dir)
    data = train_validation_test(cfg.data_dir, cfg.n_train, cfg.n_validation, cfg.n_test, cfg.seed)
    runs = _Runs(cfg, data, out_dir, progress)
    x, y = data["x_train"], data["y_train"]
    K = runs.num_classes
    # checked before any training: sizes must be multiples of the number of classes
    subsets = balanced_subsets(y.numpy(), tuple(sorted(set(cfg.train_sizes))), cfg.seed + 7)
    selections, tables, notes = [], [], []

    # ---- choice of lr and epochs on the validation images, true labels
    grid = [(lr, e) for e in cfg.epoch_grid for lr in cfg.lrs]
    scores = []
    for lr, epochs in grid:
        model, _ = runs.train(f"true_lr{lr:g}_e{epochs}", x, y, lr, epochs)
        scores.append(evaluate(model, data["x_validation"], data["y_validation"]))
    best = int(np.argmax(scores))
    lr, epochs = grid[best]
    labels = [f"lr={a:g}, epochs={b}" for a, b in grid]
    selections.append(Selection("learning rate and epochs (true labels; kept for every corruption and run)", labels,
                                [float(s) for s in scores], labels[best],
                                f"validation accuracy (%) on {cfg.n_validation} held-out training images, max"
                                " (first in grid order on ties)"))
    true_name = f"true_lr{lr:g}_e{epochs}"

    # ---- 1. randomization tests
    variants = {"true labels": (x, y, true_name)}
    for f in cfg.random_fractions:
        variants[f"{round(100 * f)} % random labels"] = (x, corrupt_labels(y, f, K, cfg.seed + 17)[0],
                                                         f"random{round(100 * f)}")
    variants["shuffled pixels"] = (shuffle_pixels(x, cfg.seed + 23), y, "shuffled_pixels")
    variants["Gaussian images"] = (gaussian_images(x, cfg.seed + 29), y, "gaussian")
    fits = {}
    for k, (label, (xv, yv, name)) in enumerate(variants.items()):
        model, history = runs.train(name if name == true_name else f"{name}_lr{lr:g}_e{epochs}", xv, yv, lr, epochs)
        reached = [r["epoch"] for r in history if r["train_accuracy"] >= cfg.fit_threshold]
        test_x = data["x_test"] if label != "shuffled pixels" else shuffle_pixels(data["x_test"], cfg.seed + 23)
        fits[label] = {"model": model, "x": xv, "y": yv, "history": history,
                       "train_accuracy": evaluate(model, xv, yv),
                       "test_accuracy": evaluate(model, test_x, data["y_test"]) if label != "Gaussian images" else None,
                       "epochs_to_fit": reached[0] if reached else None}

    # ---- capacity of the class: Rademacher (random signs), VC at d = P
    n = len(y)
    parameters = sum(p.numel() for p in fits["true labels"]["model"].parameters())

    def fit_signs(sigma: torch.Tensor, k: int) -> torch.Tensor:
        model, _ = runs.train(f"signs{k}_lr{lr:g}_e{epochs}", x, ((sigma + 1) / 2).long(), lr, epochs, num_classes=2,
                              seed_offset=101 + k)
        with torch.no_grad():
            logits = torch.cat([model(x[s:s + 512].to(_device(model))).cpu() for s in range(0, n, 512)])
        return (logits[:, 1] - logits[:, 0]).sign()

    rademacher = empirical_rademacher(fit_signs, n, cfg.rademacher_draws, cfg.seed + 1000)
    bound_rademacher = rademacher_gap_bound(min(max(rademacher.mean, 0.0), 1.0), n, delta=cfg.delta)
    bound_vc = vc_gap_bound(n, parameters, delta=cfg.delta)

    # ---- 2. spectrally normalized margins, true vs random labels
    spectral = {}
    data_norm = float(x.flatten(1).norm())
    for label in ("true labels", "100 % random labels"):
        fit = fits[label]
        model = fit["model"]
        complexity = spectral_complexity(model, runs.shape)
        margins = _margins(model, fit["x"], fit["y"])
        error = float((margins <= 0).float().mean())  # gamma: the (training error + 0.1) quantile of the margins
        gamma = float(torch.quantile(margins, min(error + 0.1, 1.0)))
        gamma = gamma if gamma > 0 else float(margins.abs().max()) + 1.0  # no positive margin: risk 1 anyway
        spectral[label] = {"complexity": complexity, "margins": margins, "normalized": margins / complexity.value,
                           "bound": spectral_margin_bound(margins, gamma, complexity, data_norm, delta=cfg.delta),
                           "gamma": gamma}
    auc_normalized = _auc(spectral["true labels"]["normalized"], spectral["100 % random labels"]["normalized"])
    auc_raw = _auc(spectral["true labels"]["margins"], spectral["100 % random labels"]["margins"])
    for label, fit in fits.items():  # spectral complexity of every trained network, for the table
        if label not in spectral:
            fit["complexity"] = spectral_complexity(fit["model"], runs.shape)
        else:
            fit["complexity"] = spectral[label]["complexity"]

    # ---- 3. input margins vs generalization gap: training sizes x (no penalty, Jacobian penalty)
    scores = []
    for w in cfg.jacobian_weights:
        model, _ = runs.train(f"jacobian{w:g}_n{n}_lr{lr:g}_e{epochs}", x, y, lr, epochs, weight=w)
        scores.append(evaluate(model, data["x_validation"], data["y_validation"]))
    weight = cfg.jacobian_weights[int(np.argmax(scores))]
    selections.append(Selection("Jacobian penalty weight lambda", list(cfg.jacobian_weights),
                                [float(s) for s in scores], weight,
                                f"validation accuracy (%) on {cfg.n_validation} held-out training images, networks"
                                f" trained on the {n} true-label images with the chosen lr and epochs, max"))
    gap_rows = []
    for size in sorted(set(cfg.train_sizes)):
        index = torch.as_tensor(subsets[size])
        for w in (0.0, weight):
            if size == n:
                name = true_name if w == 0 else f"jacobian{w:g}_n{n}_lr{lr:g}_e{epochs}"
            else:
                name = f"size{size}_jacobian{w:g}_lr{lr:g}_e{epochs}"
            model, _ = runs.train(name, x[index], y[index], lr, epochs, weight=w)
            gap_rows.append(_margin_row(model, x[index], y[index], data, size, w, cfg))

    metrics = _metrics(fits, spectral, rademacher, bound_rademacher, bound_vc, parameters, auc_normalized, auc_raw,
                       gap_rows, lr, epochs, weight, cfg)
    verdicts = _verdicts(metrics, fits, cfg)
    tables += _tables(fits, spectral, gap_rows, metrics, cfg)
    figures = [_plot_fits(fits, cfg, out_dir), _plot_normalized_margins(spectral, auc_normalized, auc_raw, out_dir),
               _plot_margin_gap(gap_rows, out_dir), _plot_bounds(metrics, out_dir)]
    notes += _notes(metrics, cfg)
    return Result(metrics=metrics, tables=tables, figures=figures, notes=notes, verdicts=verdicts,
                  selections=selections)


# -------------------------------------------------------------------------------- measurements


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _margins(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    device = _device(model)
    logits = torch.cat([model(x[s:s + 512].to(device)).cpu() for s in range(0, len(x), 512)])
    return output_margins(logits.double(), y).float()


def _auc(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """P(a positive score > a negative score) + P(tie) / 2 (the Mann-Whitney AUC)."""
    from sklearn.metrics import roc_auc_score

    scores = torch.cat([positive, negative]).numpy()
    labels = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    return float(roc_auc_score(labels, scores))


def _margin_row(model, x, y, data, size, weight, cfg: Config) -> dict:
    train_accuracy = evaluate(model, x, y)
    test_accuracy = evaluate(model, data["x_test"], data["y_test"])
    pick = torch.as_tensor(np.random.default_rng(cfg.seed + 31).permutation(len(y))[:cfg.margin_points])
    first = first_order_margins(model, x[pick], y[pick])
    attacked = pick[:cfg.attack_points]
    norms, fooled = deepfool_margins(model, x[attacked], y[attacked], steps=cfg.deepfool_steps)
    found = norms[fooled] if fooled.any() else norms  # the attack's distances where it changed the prediction
    scale = float(x.flatten(1).norm(dim=1).median())
    return {"n": size, "lambda": weight, "train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
            "gap": train_accuracy - test_accuracy, "first_order": float(first.median()),
            "deepfool": float(found.median()), "fooled": float(fooled.float().mean()),
            "first_order_relative": float(first.median()) / scale, "deepfool_relative": float(found.median()) / scale}


def _key(label: str) -> str:
    return label.replace(" % ", "pct_").replace(" ", "_").replace("%", "pct").lower()


def _metrics(fits, spectral, rademacher, bound_rademacher, bound_vc, parameters, auc_normalized, auc_raw, gap_rows,
             lr, epochs, weight, cfg) -> dict[str, float]:
    from scipy.stats import spearmanr

    m: dict[str, float] = {"chosen_lr": lr, "chosen_epochs": epochs, "chosen_jacobian_weight": weight,
                           "parameters": parameters, "n_train": cfg.n_train}
    for label, fit in fits.items():
        k = _key(label)
        m[f"train_accuracy_{k}"] = fit["train_accuracy"]
        if fit["test_accuracy"] is not None:
            m[f"test_accuracy_{k}"] = fit["test_accuracy"]
        m[f"fitted_{k}"] = float(fit["train_accuracy"] >= cfg.fit_threshold)
        if fit["epochs_to_fit"] is not None:
            m[f"epochs_to_fit_{k}"] = fit["epochs_to_fit"]
        m[f"spectral_complexity_{k}"] = fit["complexity"].value
        m[f"lipschitz_product_{k}"] = fit["complexity"].lipschitz_product
    m["test_accuracy"] = m["test_accuracy_true_labels"]
    m["rademacher_estimate"] = rademacher.mean
    m["rademacher_stderr"] = rademacher.stderr
    m["rademacher_gap_bound"] = bound_rademacher
    # multiclass analog from the fully random labels: the fraction fitted beyond chance, (acc - 1/K) / (1 - 1/K)
    chance = 100 / len(torch.unique(fits["true labels"]["y"]))
    m["random_label_fit_correlation"] = (m["train_accuracy_100pct_random_labels"] - chance) / (100 - chance)
    m["vc_gap_bound"] = bound_vc
    m["test_error_true_labels"] = 1 - m["test_accuracy_true_labels"] / 100
    for label, s in spectral.items():
        k = _key(label)
        m[f"median_normalized_margin_{k}"] = float(s["normalized"].median())
        m[f"median_margin_{k}"] = float(s["margins"].median())
        m[f"spectral_bound_{k}"] = s["bound"]["bound"]
        m[f"spectral_bound_gamma_{k}"] = s["gamma"]
    m["normalized_margin_auc"] = auc_normalized
    m["raw_margin_auc"] = auc_raw
    gaps = np.array([r["gap"] for r in gap_rows])
    for kind in ("first_order", "deepfool"):
        margins = np.array([r[kind] for r in gap_rows])
        rho = spearmanr(margins, gaps).statistic if len(gap_rows) > 2 and np.ptp(gaps) > 0 and np.ptp(margins) > 0 \
            else 0.0
        m[f"spearman_{kind}_margin_vs_gap"] = float(rho)
    for r in gap_rows:
        tag = f"n{r['n']}_{'jacobian' if r['lambda'] > 0 else 'plain'}"
        m[f"gap_{tag}"] = r["gap"]
        m[f"deepfool_margin_{tag}"] = r["deepfool"]
        m[f"first_order_margin_{tag}"] = r["first_order"]
    pairs = _pairs(gap_rows)
    m["jacobian_larger_margin_fraction"] = float(np.mean([b["deepfool"] > a["deepfool"] for a, b in pairs]))
    m["jacobian_smaller_gap_fraction"] = float(np.mean([b["gap"] < a["gap"] for a, b in pairs]))
    return m


def _pairs(gap_rows):
    """(plain, Jacobian-regularized) rows of each training size."""
    by = {(r["n"], r["lambda"] > 0): r for r in gap_rows}
    return [(by[n, False], by[n, True]) for n in sorted({r["n"] for r in gap_rows})]


# -------------------------------------------------------------------------------------- verdicts


def _verdicts(m: dict[str, float], fits, cfg: Config) -> list[Verdict]:
    t = cfg.fit_threshold
    fitted = [label for label in fits if m[f"fitted_{_key(label)}"] == 1.0]
    random_full = m["train_accuracy_100pct_random_labels"]
    accs = ", ".join(f"{label} {fits[label]['train_accuracy']:.1f} %" for label in fits)
    if len(fitted) == len(fits):
        v1 = "holds"
    elif "true labels" in fitted and random_full >= 90:
        v1 = "partially"
    else:
        v1 = "does not hold"
    verdicts = [Verdict(
        "The same CNN, trained the same way, fits true labels, random labels, shuffled pixels and Gaussian images"
        " (Zhang et al., ICLR 2017)", v1,
        f"Training accuracy after {m['chosen_epochs']:.0f} epochs (lr {m['chosen_lr']:g}, chosen on validation for"
        f" the true labels): {accs}; test accuracy true {m['test_accuracy_true_labels']:.1f} % vs fully random"
        f" {m['test_accuracy_100pct_random_labels']:.1f} %. Criterion: holds if every training accuracy >= {t:g} %,"
        " partially if the true labels fit and fully random labels reach >= 90 %.",
        "Zhang et al. Fig. 1a: CIFAR-10 networks reach 100 % training accuracy on every corruption.")]
    vacuous = m["rademacher_gap_bound"] >= 1 and m["vc_gap_bound"] >= 1
    generalizes = m["test_error_true_labels"] < 0.5
    capacity = max(m["rademacher_estimate"], m["random_label_fit_correlation"])
    v2 = "holds" if vacuous and generalizes and m["rademacher_estimate"] >= 0.9 else (
        "partially" if generalizes and (vacuous or m["vc_gap_bound"] >= 1) and capacity >= 0.9 else "does not hold")
    verdicts.append(Verdict(
        "Capacity measures of the model class alone cannot explain generalization: the class fits random signs"
        " (empirical Rademacher complexity ~1) and the VC / Rademacher bounds are vacuous, while the true-label"
        " network generalizes (Zhang et al. 2017; Bartlett et al. 2017)", v2,
        f"Rademacher estimate {m['rademacher_estimate']:.3f} (± {m['rademacher_stderr']:.3f}, {cfg.rademacher_draws}"
        f" sign draws); gap bounds: Rademacher {m['rademacher_gap_bound']:.2f}, VC at d = P = {m['parameters']:.0f}"
        f" {m['vc_gap_bound']:.2f} (n = {m['n_train']:.0f}); measured test error {m['test_error_true_labels']:.3f};"
        f" fully random 10-class labels fitted beyond chance: {m['random_label_fit_correlation']:.3f} ((acc - 1/K) /"
        " (1 - 1/K)). Criterion: holds if both bounds >= 1, the sign-fit estimate >= 0.9 and the test error < 0.5;"
        " partially if the test error < 0.5, the VC bound >= 1 and either fit (signs or random labels) >= 0.9.",
        "Zhang et al.: 'the effective capacity of neural networks is sufficient for memorizing the entire data set'."))
    auc = m["normalized_margin_auc"]
    v3 = "holds" if auc >= 0.75 else ("partially" if auc >= 0.6 else "does not hold")
    verdicts.append(Verdict(
        "Output margins normalized by the spectral complexity separate networks trained on true labels from those"
        " trained on random labels; the bound is larger for random labels (Bartlett, Foster & Telgarsky 2017)", v3,
        f"AUC of the normalized training margins (true vs random) {auc:.3f} (raw margins {m['raw_margin_auc']:.3f});"
        f" median normalized margin {m['median_normalized_margin_true_labels']:.3g} vs"
        f" {m['median_normalized_margin_100pct_random_labels']:.3g}; R_A {m['spectral_complexity_true_labels']:.3g} vs"
        f" {m['spectral_complexity_100pct_random_labels']:.3g}; bound {m['spectral_bound_true_labels']:.3g} vs"
        f" {m['spectral_bound_100pct_random_labels']:.3g} (vacuous above 1). Criterion on the AUC: holds >= 0.75,"
        " partially >= 0.6.",
        "Bartlett et al. Fig. 2: the normalized margin histograms of cifar10 with true and random labels barely"
        " overlap; their bound is large in absolute value but tracks the excess risk."))
    rho = m["spearman_deepfool_margin_vs_gap"]
    jac = m["jacobian_larger_margin_fraction"] >= 0.5 and m["jacobian_smaller_gap_fraction"] >= 0.5
    v4 = "holds" if rho <= -0.5 and jac else ("partially" if rho < 0 or jac else "does not hold")
    verdicts.append(Verdict(
        "Larger input-space classification margins go with smaller generalization gaps; Jacobian regularization"
        " enlarges the margins and shrinks the gap (Sokolic, Giryes, Sapiro & Rodrigues 2017)", v4,
        f"Spearman correlation across {len(cfg.train_sizes) * 2} runs (sizes {list(cfg.train_sizes)}, lambda 0 and"
        f" {m['chosen_jacobian_weight']:g}) of the median DeepFool margin with the gap: {rho:.2f} (first-order"
        f" margin: {m['spearman_first_order_margin_vs_gap']:.2f}); the penalty enlarged the DeepFool margin at"
        f" {100 * m['jacobian_larger_margin_fraction']:.0f} % of the sizes and shrank the gap at"
        f" {100 * m['jacobian_smaller_gap_fraction']:.0f} %. Criterion: holds if rho <= -0.5 and both fractions"
        " >= 50 %, partially if one of the two.",
        "Sokolic et al.: the generalization error bound scales with the classification margin in input space;"
        " Jacobian regularization lowers the test error, most with few training samples."))
    return verdicts


# ---------------------------------------------------------------------------------- tables, notes


def _r(value, digits: int = 3):
    return round(float(value), digits)


def _tables(fits, spectral, gap_rows, m, cfg):
    rows = []
    for label, fit in fits.items():
        c = fit["complexity"]
        rows.append([label, _r(fit["train_accuracy"], 2),
                     "-" if fit["test_accuracy"] is None else _r(fit["test_accuracy"], 2),
                     "not reached" if fit["epochs_to_fit"] is None else fit["epochs_to_fit"],
                     float(f"{c.lipschitz_product:.4g}"), float(f"{c.value:.4g}")])
    bounds = [["Rademacher estimate (fit of random signs)", _r(m["rademacher_estimate"], 4)],
              ["fit of 10-class random labels beyond chance, (acc - 1/K) / (1 - 1/K)",
               _r(m["random_label_fit_correlation"], 4)],
              ["Rademacher gap bound (Mohri et al. Th. 3.5)", _r(m["rademacher_gap_bound"])],
              [f"VC gap bound at d = P = {m['parameters']:.0f} (Mohri et al. Cor. 3.8/3.18)", _r(m["vc_gap_bound"])],
              ["spectral margin bound, true labels (Bartlett et al.)", float(f"{m['spectral_bound_true_labels']:.4g}")],
              ["spectral margin bound, random labels", float(f"{m['spectral_bound_100pct_random_labels']:.4g}")],
              ["measured test error, true labels", _r(m["test_error_true_labels"], 4)]]
    gaps = [[r["n"], r["lambda"], _r(r["train_accuracy"], 2), _r(r["test_accuracy"], 2), _r(r["gap"], 2),
             _r(r["first_order"], 4), _r(r["deepfool"], 4), _r(r["fooled"], 3)] for r in gap_rows]
    return [(f"Randomization tests on {cfg.n_train} training images (lr {m['chosen_lr']:g}, {m['chosen_epochs']:.0f}"
             " epochs)", ["data", "train accuracy (%)", "test accuracy (%)", f"epochs to {cfg.fit_threshold:g} %",
                          "prod ||A_i||", "spectral complexity R_A"], rows),
            (f"Generalization-gap bounds (fractions; delta = {cfg.delta})", ["quantity", "value"], bounds),
            ("Input-space margins on training points (pixel units, images in [0, 1]) vs gap",
             ["n", "lambda", "train acc (%)", "test acc (%)", "gap (points)", "median first-order margin",
              "median DeepFool margin", "DeepFool success"], gaps)]


def _notes(m, cfg) -> list[str]:
    return [
        f"Protocol constants, not tuned: batch size {cfg.batch_size}, no weight decay, no augmentation (the"
        " unregularized arm of Zhang et al.); reference matrices M_i = 0 in R_A; the VC dimension is taken as the"
        " parameter count, below the true one for ReLU networks (Bartlett, Harvey, Liaw & Mehrabian 2019), so the VC"
        " bound shown is a lower value of it.",
        f"The Rademacher estimate trains the same network (2 outputs) on {cfg.rademacher_draws} random sign"
        " vectors: the correlation it reaches is a lower estimate of the supremum over the class.",
        "The spectral bound uses gamma = the (training error + 0.1) quantile of the training margins (margin risk ="
        " training error + 0.1) and"
        " the explicit constants of Bartlett et al.'s lemma; values above 1 are vacuous, as in their paper.",
        f"Epochs to fit = the first epoch whose running training accuracy (during the epoch) reached"
        f" {cfg.fit_threshold:g} %; the table's training accuracy is measured after training.",
        "DeepFool margins are upper bounds on the distance to the boundary (perturbations found, overshoot 0.02), the"
        " median taken over the attacked points whose prediction the attack changed (success rate in the table; it"
        " can stall on the clipping to [0, 1]); first-order margins linearize the network at each training point.",
    ]


# -------------------------------------------------------------------------------------- figures


def _figure(ncols: int = 1, width: float = 5.5, height: float = 4.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def _plot_fits(fits, cfg, out_dir) -> str:
    fig, (ax, bx) = _figure(2)
    for label, fit in fits.items():
        ax.plot([r["epoch"] for r in fit["history"]], [r["train_accuracy"] for r in fit["history"]], label=label)
    ax.axhline(cfg.fit_threshold, color="gray", ls=":", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training accuracy (%, running)")
    ax.set_title("Fitting corrupted training sets (same network, same schedule)", fontsize=9)
    ax.legend(fontsize=8)
    labels = [label for label in fits if fits[label]["test_accuracy"] is not None]
    xs = np.arange(len(labels))
    bx.bar(xs - 0.2, [fits[k]["train_accuracy"] for k in labels], 0.4, label="train")
    bx.bar(xs + 0.2, [fits[k]["test_accuracy"] for k in labels], 0.4, label="test")
    bx.set_xticks(xs, [k.replace(" random labels", "\nrandom") for k in labels], fontsize=7)
    bx.set_ylabel("accuracy (%)")
    bx.set_title("Final training and test accuracy (test: true test labels)", fontsize=9)
    bx.legend(fontsize=8)
    return save_png(fig, out_dir, "randomization_fits.png")


def _plot_normalized_margins(spectral, auc_normalized, auc_raw, out_dir) -> str:
    fig, (ax, bx) = _figure(2)
    for label, color in (("true labels", "tab:blue"), ("100 % random labels", "tab:red")):
        s = spectral[label]
        ax.hist(s["normalized"].numpy(), bins=40, alpha=0.55, color=color, density=True,
                label=f"{label} (R_A = {s['complexity'].value:.3g})")
        bx.hist(s["margins"].numpy(), bins=40, alpha=0.55, color=color, density=True, label=label)
    ax.set_xlabel("training margin / spectral complexity R_A")
    ax.set_ylabel("density")
    ax.set_title(f"Normalized margins (Bartlett et al. Fig. 2), AUC {auc_normalized:.2f}", fontsize=9)
    bx.set_xlabel("training margin f_y - max_j f_j (logits)")
    bx.set_title(f"Raw margins, AUC {auc_raw:.2f}", fontsize=9)
    for a in (ax, bx):
        a.axvline(0, color="gray", lw=0.8)
        a.legend(fontsize=8)
    return save_png(fig, out_dir, "normalized_margins.png")


def _plot_margin_gap(gap_rows, out_dir) -> str:
    fig, axes = _figure(2)
    for ax, kind, title in ((axes[0], "deepfool", "DeepFool"), (axes[1], "first_order", "first-order")):
        for reg, marker, color in ((False, "o", "tab:blue"), (True, "s", "tab:orange")):
            rows = [r for r in gap_rows if (r["lambda"] > 0) == reg]
            ax.scatter([r[kind] for r in rows], [r["gap"] for r in rows], marker=marker, color=color,
                       label="Jacobian penalty" if reg else "no penalty")
            for r in rows:
                ax.annotate(f"n={r['n']}", (r[kind], r["gap"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(f"median {title} input margin on training points (L2, pixels in [0, 1])")
        ax.set_ylabel("generalization gap (train - test accuracy, points)")
        ax.set_title(f"{title} margin vs gap", fontsize=9)
        ax.legend(fontsize=8)
    return save_png(fig, out_dir, "margin_vs_gap.png")


def _plot_bounds(m, out_dir) -> str:
    fig, (ax,) = _figure(1, 6.5)
    names = ["Rademacher\nbound", "VC bound\n(d = P)", "spectral bound\ntrue labels", "spectral bound\nrandom labels",
             "test error\ntrue labels"]
    values = [m["rademacher_gap_bound"], m["vc_gap_bound"], m["spectral_bound_true_labels"],
              m["spectral_bound_100pct_random_labels"], m["test_error_true_labels"]]
    ax.bar(range(len(values)), values, color=["tab:gray"] * 2 + ["tab:blue", "tab:red", "tab:green"])
    ax.axhline(1.0, color="k", ls="--", lw=1, label="1 (vacuous above)")
    ax.set_yscale("log")
    ax.set_xticks(range(len(values)), names, fontsize=8)
    ax.set_ylabel("bound on the test error or gap (fraction, log scale)")
    ax.set_title("Capacity bounds vs the measured test error", fontsize=9)
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "bounds.png")
