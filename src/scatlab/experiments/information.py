r"""Experiment ``information``: the information plane and the variational information bottleneck.

Claims
------
(1) Shwartz-Ziv & Tishby ("Opening the black box of deep neural networks via information",
    arXiv:1703.00810, 2017): SGD moves every layer T in the information plane (I(X;T), I(T;Y)) in
    two phases, a fitting phase (I(T;Y) grows) then a compression phase (I(X;T) falls).
(2) Saxe, Bansal, Dapello, Advani, Kolchinsky, Tracey & Cox ("On the information bottleneck theory
    of deep learning", ICLR 2018): whether compression appears depends on the nonlinearity
    (double-sided saturating tanh compresses, ReLU does not) and on the estimator; the binning
    estimator sees the saturation of tanh units.
(3) Alemi, Fischer, Dillon & Murphy ("Deep variational information bottleneck", ICLR 2017) and
    Achille & Soatto ("Emergence of invariance and disentanglement in deep representations",
    JMLR 2018): regularizing the information in the representation, H(Y|Z) + beta I(Z;X), helps
    on small data (accuracy, robustness). Their second form, the information in the weights
    H(Y|X,W) + lambda KL, is not tested here.

Protocol
--------
(a) Information plane. An MLP (``hidden`` widths, tanh or ReLU; inputs flattened and standardized
    by the training set's pixel mean and standard deviation) is trained by
    :func:`scatlab.learning.training.train` (SGD, Nesterov momentum, no weight decay, cosine
    learning rate) on ``plane_train`` class-balanced training images for ``plane_epochs``
    epochs. After every epoch (train()'s ``on_epoch_end``; and once at initialization) each
    hidden layer's activations on ``n_measure`` of its training images (X uniform over them, Y
    their labels) give (I(X;T), I(T;Y)) with (i) the binning estimator (``bins`` per unit over
    [-1, 1] for tanh, over [0, max of the layer at that epoch] for ReLU) and (ii) the pairwise-KL
    (KDE) upper bound on the noisy layer T + N(0, sigma^2 I) for the ``noise_variances``
    (:mod:`scatlab.theory.information`). The per-epoch estimates are written beside each
    checkpoint (``*.info.json``), so a resumed run keeps them. The learning rate of each
    nonlinearity is chosen from ``plane_lrs`` by validation accuracy after the last epoch.
    Compression criterion: the last hidden layer's I(X;T) falls after its peak by more than
    ``compression_threshold`` (5 %) of the peak by the last epoch. Fitting criterion: its I(T;Y)
    grows from initialization to the last epoch by more than ``fitting_threshold`` (10 %) of
    H(Y) of the measured sample.
(b) Bottleneck. On ``vib_train`` = 1,000 class-balanced training images, an MLP backbone
    (``vib_hidden``, ReLU) + :class:`~scatlab.theory.bottleneck.VariationalBottleneck` (K =
    ``bottleneck``, evaluated at the mean code) vs the same network without it (z a linear map of
    the features, no noise, no KL). The VIB's (beta, lr) and the baseline's (weight decay, lr) are
    chosen on ``vib_validation`` held-out training images by validation accuracy after
    ``vib_epochs`` epochs; the test set is scored once for each chosen network: clean, and under
    additive Gaussian noise x + sigma N(0, I) on the [0, 1] pixels (no clipping) for each
    ``noise_levels``. I(Z;X) is estimated on the training images by the VIB's variational bound
    (mean KL(q(z|x) || N(0, I))), the pairwise-KL bound of its own Gaussian encoder, and, for
    both networks, the KDE bound (sigma^2 = 0.1) of the mean code scaled to unit mean variance
    per coordinate.

Time (this 2-core CPU, one thread): quick about 40 s of CPU (2.5-5 minutes of wall time while
other jobs share the machine); the full run 21 minutes of wall time measured under the same load
(about 2-4 s per information-plane epoch, most of it the KDE on 1,000 points, 4 x 100 epochs;
14 bottleneck trainings of 50 epochs).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import InvalidParameterError
from ..io.atomic import atomic_write_json
from ..learning.splits import train_validation_test
from ..learning.training import TrainSettings, evaluate, train
from ..runtime import Progress, default_device, seed_everything
from ..theory.bottleneck import VariationalBottleneck
from ..theory.activations import layer_activations
from ..theory.information import (binning_mutual_information, kde_mutual_information, kde_mutual_information_grid,
                                  pairwise_mixture_information)
from ._figures import figure_row, save_png
from ._contract import CHECKPOINTS, Result, Selection, Verdict

__all__ = ["Config", "run", "MLP"]

NONLINEARITIES = {"tanh": nn.Tanh, "relu": nn.ReLU}


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the information experiment; the defaults are the full run."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    # (a) information plane
    plane_train: int = 3000  # class-balanced training images of the information-plane networks
    plane_validation: int = 2000  # held-out training images choosing their learning rate
    hidden: tuple[int, ...] = (256, 64, 16, 8)  # hidden widths of the MLP (narrow last layers, as in Tishby's nets)
    nonlinearities: tuple[str, ...] = ("tanh", "relu")  # compared nonlinearities
    plane_epochs: int = 100  # epochs of the information-plane networks (fixed protocol: the dynamics measured)
    plane_lrs: tuple[float, ...] = (0.03, 0.1)  # learning-rate grid (chosen per nonlinearity on validation)
    plane_batch_size: int = 128  # SGD batch size
    n_measure: int = 1000  # training images the information is measured on (X uniform over them)
    bins: tuple[int, ...] = (10, 30, 100)  # bins per unit of the binning estimator (main_bins is the headline one)
    main_bins: int = 30  # the binning of Shwartz-Ziv & Tishby
    noise_variances: tuple[float, ...] = (0.01, 0.1, 1.0)  # KDE noise variances sigma^2
    main_noise_variance: float = 0.1  # the KDE noise variance of Saxe et al.
    compression_threshold: float = 0.05  # compression: I(X;T_last) falls after its peak by more than this fraction
    fitting_threshold: float = 0.1  # fitting: I(T_last;Y) grows by more than this fraction of H(Y)
    # (b) variational information bottleneck
    vib_train: int = 1000  # class-balanced training images
    vib_validation: int = 1000  # held-out training images for the choices of (b)
    vib_hidden: tuple[int, ...] = (256, 256)  # backbone widths (ReLU)
    bottleneck: int = 32  # K, dimension of the code z
    betas: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)  # VIB beta grid
    vib_lrs: tuple[float, ...] = (0.03, 0.1)  # learning-rate grid of both networks
    weight_decays: tuple[float, ...] = (0.0, 5e-4, 5e-3)  # the baseline's regularization grid (VIB: none)
    vib_epochs: int = 50  # epochs of both networks
    vib_batch_size: int = 50  # SGD batch size
    noise_levels: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)  # std of the additive test noise on [0, 1] pixels
    n_test: int = 10000  # first n_test test images
    seed: int = 0  # seed of the splits, initializations, sample order and test noise

    @classmethod
    def quick(cls) -> Config:
        """1,000 images for the plane (30 epochs, two learning rates, measured on 600), coarser VIB grids (about
        40 s of CPU; 2-3 minutes of wall time on this shared machine)."""
        return cls(plane_train=1000, plane_validation=1000, plane_epochs=30, plane_lrs=(0.01, 0.03), n_measure=600,
                   bins=(10, 30), noise_variances=(0.1, 1.0), betas=(1e-3, 1e-2, 1e-1), vib_lrs=(0.03,),
                   weight_decays=(0.0, 5e-3), vib_epochs=20, vib_hidden=(128, 128), n_test=2000)


# ------------------------------------------------------------------------------------ network


class MLP(nn.Module):
    """Standardize -> flatten -> (Linear -> nonlinearity) per hidden width -> Linear to the classes.

    ``activations`` lists the nonlinearity modules (the hidden layers T_1 ... T_L)."""

    def __init__(self, in_features: int, hidden: tuple[int, ...], num_classes: int, nonlinearity: str,
                 mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for out in hidden:
            layers += [nn.Linear(width, out), NONLINEARITIES[nonlinearity]()]
            width = out
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)
        self.activations = [m for m in self.layers if isinstance(m, tuple(NONLINEARITIES.values()))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers((x - self.mean) / self.std)


# ---------------------------------------------------------------------------------------- run


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Train and measure (a) and (b); write the figures in ``out_dir``; return the record."""
    _check(cfg)
    out_dir = Path(out_dir)
    checkpoints = out_dir / CHECKPOINTS
    checkpoints.mkdir(parents=True, exist_ok=True)
    device = default_device()
    plane = _information_plane(cfg, checkpoints, device, progress)
    bottleneck = _bottleneck(cfg, checkpoints, device, progress)
    metrics = {**plane["metrics"], **bottleneck["metrics"]}
    figures = [_plot_plane(plane, cfg, out_dir, "binning"), _plot_plane(plane, cfg, out_dir, "kde"),
               _plot_compression(plane, cfg, out_dir), _plot_training(plane, cfg, out_dir),
               _plot_vib_selection(bottleneck, cfg, out_dir), _plot_noise(bottleneck, cfg, out_dir)]
    verdicts = _plane_verdicts(plane, cfg) + _bottleneck_verdicts(bottleneck, cfg)
    return Result(metrics=metrics, tables=plane["tables"] + bottleneck["tables"], figures=figures,
                  notes=plane["notes"] + bottleneck["notes"], verdicts=verdicts,
                  selections=plane["selections"] + bottleneck["selections"])


def _check(cfg: Config) -> None:
    problems = []
    if not cfg.hidden or min(cfg.hidden) < 1:
        problems.append(f"'hidden' = {cfg.hidden} must list widths >= 1")
    if unknown := [n for n in cfg.nonlinearities if n not in NONLINEARITIES]:
        problems.append(f"'nonlinearities' has {unknown}; use {tuple(NONLINEARITIES)}")
    if not cfg.nonlinearities:
        problems.append("'nonlinearities' is empty")
    if cfg.main_bins not in cfg.bins:
        problems.append(f"'main_bins' = {cfg.main_bins} must be one of 'bins' = {cfg.bins}")
    if cfg.main_noise_variance not in cfg.noise_variances:
        problems.append(f"'main_noise_variance' = {cfg.main_noise_variance} must be one of 'noise_variances'")
    if not 2 <= cfg.n_measure:
        problems.append(f"'n_measure' = {cfg.n_measure} must be >= 2")
    for name in ("plane_epochs", "vib_epochs", "bottleneck", "plane_batch_size", "vib_batch_size"):
        if getattr(cfg, name) < 1:
            problems.append(f"'{name}' = {getattr(cfg, name)} must be >= 1")
    for name in ("plane_lrs", "vib_lrs", "betas", "weight_decays"):
        values = getattr(cfg, name)
        if not values or min(values) < 0 or (name.endswith("lrs") and min(values) <= 0):
            problems.append(f"'{name}' = {values} must be a non-empty grid of numbers > 0 (>= 0 for weight decays)")
    if min(cfg.noise_levels, default=0.0) < 0:
        problems.append(f"'noise_levels' = {cfg.noise_levels} must be >= 0")
    if not 0 < cfg.compression_threshold < 1 or not 0 < cfg.fitting_threshold < 1:
        problems.append("'compression_threshold' and 'fitting_threshold' must be in (0, 1)")
    if problems:
        raise InvalidParameterError("Config of information: " + "; ".join(problems) + ".")


def _key(value: float) -> str:
    return f"{value:g}"


# ------------------------------------------------------------------------ (a) information plane


def _information_plane(cfg: Config, checkpoints: Path, device: torch.device, progress: Progress) -> dict:
    data = train_validation_test(cfg.data_dir, cfg.plane_train, cfg.plane_validation, cfg.n_test, cfg.seed)
    x, y = data["x_train"], data["y_train"]
    n_measure = min(cfg.n_measure, len(x))
    x_measure, y_measure = x[:n_measure], y[:n_measure].numpy()
    h_y = float(-sum(p * math.log2(p) for p in np.bincount(y_measure) / n_measure if p > 0))
    classes = int(max(int(y.max()), int(data["y_test"].max())) + 1)
    mean, std = float(x.mean()), float(x.std())
    runs: dict[str, dict] = {}
    selections, notes = [], []
    metrics: dict[str, float] = {}
    for nl in cfg.nonlinearities:
        candidates = {}
        for lr in cfg.plane_lrs:
            seed_everything(cfg.seed)
            model = MLP(x[0].numel(), cfg.hidden, classes, nl, mean, std)
            name = f"plane_{nl}_lr{_key(lr)}"
            estimates = _measured_training(model, x, y, data, x_measure, y_measure, cfg, lr, nl, checkpoints / name,
                                           device, progress)
            candidates[lr] = estimates
        scores = [candidates[lr]["history"][-1]["test_accuracy"] for lr in cfg.plane_lrs]
        chosen = cfg.plane_lrs[int(np.argmax(scores))]
        selections.append(Selection(f"learning rate of the {nl} information-plane MLP", list(cfg.plane_lrs),
                                    [round(s, 3) for s in scores], chosen,
                                    f"validation accuracy (%) after {cfg.plane_epochs} epochs, {cfg.plane_validation}"
                                    " held-out training images, max"))
        run_ = candidates[chosen]
        run_["lr"] = chosen
        run_["test_accuracy"] = evaluate(run_["model"], data["x_test"], data["y_test"])
        runs[nl] = run_
        metrics[f"test_accuracy_{nl}"] = run_["test_accuracy"]
        metrics[f"validation_accuracy_{nl}"] = max(scores)
    # compression and fitting of the last hidden layer, every estimator
    rows, flags = [], {}
    log_n = math.log2(n_measure)
    for nl, run_ in runs.items():
        for estimator, series in _estimator_series(run_, cfg).items():
            last = np.array([point[-1] for point in series])  # (epochs + 1, 2): the last hidden layer
            i_xt, i_ty = last[:, 0], last[:, 1]
            peak_epoch = int(np.argmax(i_xt))
            peak, final = float(i_xt[peak_epoch]), float(i_xt[-1])
            drop = (peak - final) / peak if peak > 0 else 0.0
            compressed = drop > cfg.compression_threshold
            fitted = i_ty[-1] - i_ty[0] > cfg.fitting_threshold * h_y
            flags[(nl, estimator)] = {"compressed": compressed, "fitted": fitted, "drop": drop,
                                      "peak_epoch": peak_epoch,
                                      "fit_gain": float(i_ty[-1] - i_ty[0]), "init": float(i_xt[0]), "peak": peak,
                                      "final": final, "ity_init": float(i_ty[0]), "ity_final": float(i_ty[-1])}
            saturated = float(np.mean([[p[0] >= 0.99 * log_n for p in epoch] for epoch in series]))
            rows.append([nl, estimator, round(float(i_xt[0]), 3), round(peak, 3), peak_epoch, round(final, 3),
                         round(100 * drop, 2), "yes" if compressed else "no", round(float(i_ty[0]), 3),
                         round(float(i_ty[-1]), 3), "yes" if fitted else "no", round(100 * saturated, 1)])
            tag = f"{nl}_{estimator.replace(' ', '').replace('=', '').replace('.', 'p').replace('^', '')}"
            metrics[f"compression_pct_{tag}"] = 100 * drop
            metrics[f"ity_gain_bits_{tag}"] = float(i_ty[-1] - i_ty[0])
            metrics[f"saturated_pct_{tag}"] = 100 * saturated
    table = (f"Last hidden layer (width {cfg.hidden[-1]}) in the information plane, n = {n_measure} training images"
             f" (log2 n = {log_n:.2f} bits, H(Y) = {h_y:.2f} bits); compression: I(X;T) falls after its peak by"
             f" > {100 * cfg.compression_threshold:g} % of it; fitting: I(T;Y) gains >"
             f" {100 * cfg.fitting_threshold:g} %"
             " of H(Y); saturated: share of (layer, epoch) estimates of every layer >= 0.99 log2 n",
             ["nonlinearity", "estimator", "I(X;T) init", "I(X;T) peak", "peak epoch", "I(X;T) final",
              "drop (% of peak)", "compression", "I(T;Y) init", "I(T;Y) final", "fitting", "saturated (%)"], rows)
    for nl in runs:
        notes.append(f"{nl}: learning rate {runs[nl]['lr']:g} (validation), test accuracy"
                     f" {runs[nl]['test_accuracy']:.2f} % on {len(data['y_test'])} images.")
    notes.append("Binning saturates at log2 n whenever the n binned codes are distinct: wide layers sit at"
                 f" {log_n:.2f} bits for every estimator variant, so only the narrow last layers can move in I(X;T).")
    if "relu" in runs:
        notes.append("ReLU units are binned over [0, the layer's largest activation at that epoch] (Saxe et al. bin"
                     " over the largest value of all epochs): a few growing activations widen every bin, which the"
                     " binning estimator reads as a fall of I(X;T) while the KDE of the same layer keeps growing.")
    return {"runs": runs, "flags": flags, "metrics": metrics, "tables": [table], "selections": selections,
            "notes": notes, "h_y": h_y, "log_n": log_n, "n_measure": n_measure}


def _estimators(cfg: Config) -> list[str]:
    return [f"bins={b}" for b in cfg.bins] + [f"KDE s^2={_key(s)}" for s in cfg.noise_variances]


def _main_estimator(cfg: Config, kind: str) -> str:
    return f"bins={cfg.main_bins}" if kind == "binning" else f"KDE s^2={_key(cfg.main_noise_variance)}"


def _estimator_series(run_: dict, cfg: Config) -> dict[str, list]:
    """estimator -> [epoch 0 ... E] -> [layer] -> (I(X;T), I(T;Y))."""
    epochs = sorted(int(e) for e in run_["estimates"])
    return {name: [run_["estimates"][str(e)][name] for e in epochs] for name in _estimators(cfg)}


def _measure(model: MLP, x: torch.Tensor, y: np.ndarray, nl: str, cfg: Config) -> dict[str, list]:
    """Every estimator's (I(X;T), I(T;Y)) per hidden layer of ``model`` on (x, y)."""
    activations = layer_activations(model, x, model.activations)
    out: dict[str, list] = {name: [] for name in _estimators(cfg)}
    for t in activations:
        t64 = t.double()
        value_range = (-1.0, 1.0) if nl == "tanh" else (0.0, max(float(t64.max()), 1e-12))
        for b in cfg.bins:
            out[f"bins={b}"].append(list(binning_mutual_information(t64, y, bins=b, value_range=value_range)))
        for s, point in zip(cfg.noise_variances, kde_mutual_information_grid(t64, y, cfg.noise_variances)):
            out[f"KDE s^2={_key(s)}"].append(list(point))
    return out


def _measured_training(model: MLP, x, y, data, x_measure, y_measure, cfg: Config, lr: float, nl: str, stem: Path,
                       device, progress) -> dict:
    """Train with train() (checkpoint ``stem``.pt), measuring the information of every hidden layer at
    initialization and after every epoch; the estimates are kept in ``stem``.info.json (resumable)."""
    sidecar, checkpoint = Path(f"{stem}.info.json"), Path(f"{stem}.pt")  # not with_suffix: names hold '0.01'
    estimates: dict[str, dict] = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    model.to(device)
    if "0" not in estimates:
        estimates["0"] = _measure(model, x_measure, y_measure, nl, cfg)

    def record(epoch: int, _record: dict) -> None:
        estimates[str(epoch)] = _measure(model, x_measure, y_measure, nl, cfg)
        atomic_write_json(sidecar, estimates)

    settings = TrainSettings(epochs=cfg.plane_epochs, batch_size=cfg.plane_batch_size, lr=lr, weight_decay=0.0,
                             seed=cfg.seed)
    identity = {"experiment": "information", "part": "plane", "nonlinearity": nl, "hidden": list(cfg.hidden),
                "n_train": len(y), "data_dir": cfg.data_dir}
    history = train(model, x, y, settings, test=(data["x_validation"], data["y_validation"]),
                    checkpoint=checkpoint, resume=True, identity=identity, progress=progress,
                    on_epoch_end=record, device=device)
    missing = [e for e in range(cfg.plane_epochs + 1) if str(e) not in estimates]
    if missing:  # a run stopped between a checkpoint and its estimates: those epochs are dropped
        estimates = {k: v for k, v in estimates.items() if int(k) not in missing}
    return {"model": model, "history": history, "estimates": estimates, "missing": missing}


# ----------------------------------------------------------------------------- (b) bottleneck


def _bottleneck_model(cfg: Config, in_features: int, classes: int, mean: float, std: float, *, beta: float,
                      stochastic: bool) -> VariationalBottleneck:
    backbone = MLP(in_features, cfg.vib_hidden[:-1], cfg.vib_hidden[-1], "relu", mean, std)
    backbone = nn.Sequential(backbone, nn.ReLU())  # the last backbone width is a ReLU layer too
    return VariationalBottleneck(backbone, cfg.vib_hidden[-1], cfg.bottleneck, classes, beta=beta,
                                 stochastic=stochastic)


def _bottleneck(cfg: Config, checkpoints: Path, device: torch.device, progress: Progress) -> dict:
    data = train_validation_test(cfg.data_dir, cfg.vib_train, cfg.vib_validation, cfg.n_test, cfg.seed)
    x, y = data["x_train"], data["y_train"]
    classes = int(max(int(y.max()), int(data["y_test"].max())) + 1)
    mean, std = float(x.mean()), float(x.std())
    identity = {"experiment": "information", "part": "bottleneck", "hidden": list(cfg.vib_hidden),
                "bottleneck": cfg.bottleneck, "n_train": len(y), "data_dir": cfg.data_dir}

    def fit(kind: str, beta: float, lr: float, weight_decay: float) -> tuple[VariationalBottleneck, float]:
        seed_everything(cfg.seed)
        model = _bottleneck_model(cfg, x[0].numel(), classes, mean, std, beta=beta, stochastic=kind == "vib")
        settings = TrainSettings(epochs=cfg.vib_epochs, batch_size=cfg.vib_batch_size, lr=lr,
                                 weight_decay=weight_decay, seed=cfg.seed)
        name = f"{kind}_beta{_key(beta)}_wd{_key(weight_decay)}_lr{_key(lr)}.pt"
        train(model, x, y, settings, checkpoint=checkpoints / name, resume=True,
              identity={**identity, "kind": kind, "beta": beta}, progress=progress, device=device)
        return model, evaluate(model, data["x_validation"], data["y_validation"])

    vib_grid = [(beta, lr) for beta in cfg.betas for lr in cfg.vib_lrs]
    vib_runs = {key: fit("vib", key[0], key[1], 0.0) for key in vib_grid}
    base_grid = [(wd, lr) for wd in cfg.weight_decays for lr in cfg.vib_lrs]
    base_runs = {key: fit("baseline", 0.0, key[1], key[0]) for key in base_grid}
    vib_key = max(vib_grid, key=lambda k: vib_runs[k][1])  # first of the best, in grid order
    base_key = max(base_grid, key=lambda k: base_runs[k][1])
    criterion = (f"validation accuracy (%) after {cfg.vib_epochs} epochs, {cfg.vib_validation} held-out training"
                 " images, max (first in grid order on ties)")
    selections = [
        Selection("VIB (beta, learning rate)", [f"beta={b:g}, lr={lr:g}" for b, lr in vib_grid],
                  [round(vib_runs[k][1], 3) for k in vib_grid], f"beta={vib_key[0]:g}, lr={vib_key[1]:g}", criterion),
        Selection("baseline (weight decay, learning rate)", [f"wd={w:g}, lr={lr:g}" for w, lr in base_grid],
                  [round(base_runs[k][1], 3) for k in base_grid], f"wd={base_key[0]:g}, lr={base_key[1]:g}",
                  criterion)]
    vib, base = vib_runs[vib_key][0], base_runs[base_key][0]
    # the test set, once per chosen network: clean and noisy copies (one noise draw per level, shared)
    x_test, y_test = data["x_test"], data["y_test"]
    generator = torch.Generator().manual_seed(cfg.seed + 7919)
    levels = (0.0, *cfg.noise_levels)
    noisy = {s: x_test + s * torch.randn(x_test.shape, generator=generator) if s > 0 else x_test for s in levels}
    predictions = {name: {s: _predict(model, noisy[s]) for s in levels} for name, model in (("vib", vib),
                                                                                          ("baseline", base))}
    accuracy = {name: {s: 100 * float((p == y_test).float().mean()) for s, p in per.items()}
                for name, per in predictions.items()}
    paired_se = {s: _paired_se(predictions["vib"][s], predictions["baseline"][s], y_test) for s in levels}
    # I(Z;X) on the training images
    information = _code_information(vib, base, x, y)
    vib_bounds = {b: vib_runs[(b, vib_key[1])][0].information_bound(x) for b in cfg.betas}
    metrics = {"vib_beta": vib_key[0], "vib_test_accuracy": accuracy["vib"][0.0],
               "baseline_test_accuracy": accuracy["baseline"][0.0],
               "vib_minus_baseline_accuracy": accuracy["vib"][0.0] - accuracy["baseline"][0.0],
               "vib_validation_accuracy": vib_runs[vib_key][1], "baseline_validation_accuracy": base_runs[base_key][1],
               **{f"vib_test_accuracy_noise{_key(s)}": accuracy["vib"][s] for s in cfg.noise_levels},
               **{f"baseline_test_accuracy_noise{_key(s)}": accuracy["baseline"][s] for s in cfg.noise_levels},
               "vib_izx_kl_bound_bits": information["vib_kl"],
               "vib_izx_pairwise_bound_bits": information["vib_pairwise"],
               "vib_izx_kde_mean_code_bits": information["vib_kde"],
               "baseline_izx_kde_mean_code_bits": information["baseline_kde"]}
    rows = [[f"{s:g}", round(accuracy["vib"][s], 2), round(accuracy["baseline"][s], 2),
             round(accuracy["vib"][s] - accuracy["baseline"][s], 2), round(paired_se[s], 2)] for s in levels]
    tables = [(f"Test accuracy (%) under additive Gaussian noise, {len(y_test)} test images; VIB beta ="
               f" {vib_key[0]:g}, lr = {vib_key[1]:g}; baseline weight decay = {base_key[0]:g}, lr = {base_key[1]:g};"
               " SE: paired standard error of the difference", ["noise std", "VIB", "baseline", "difference", "SE"],
               rows),
              (f"Estimated I(Z;X) (bits) on the {len(y)} training images (log2 n = {math.log2(len(y)):.2f})",
               ["network", "mean KL bound (Alemi)", "pairwise-KL bound, own noise", "KDE s^2=0.1, scaled mean code"],
               [["VIB", round(information["vib_kl"], 3), round(information["vib_pairwise"], 3),
                 round(information["vib_kde"], 3)],
                ["baseline", "-", "- (deterministic: infinite)", round(information["baseline_kde"], 3)]])]
    notes = [f"VIB (beta {vib_key[0]:g}) {accuracy['vib'][0.0]:.2f} % vs baseline {accuracy['baseline'][0.0]:.2f} % on"
             f" clean test images; at noise std {max(levels):g}: {accuracy['vib'][max(levels)]:.2f} % vs"
             f" {accuracy['baseline'][max(levels)]:.2f} %.",
             "I(Z;X) upper bound (mean KL, bits) of the VIB per beta at its chosen learning rate: "
             + ", ".join(f"beta {b:g}: {v:.2f}" for b, v in vib_bounds.items()) + "."]
    if information["vib_kl"] > math.log2(len(y)):
        notes.append(f"The mean-KL bound of the chosen VIB ({information['vib_kl']:.2f} bits) exceeds log2 n ="
                     f" {math.log2(len(y)):.2f} bits, the most I(Z;X) can be with X uniform over the n training images:"
                     f" it is loose there; the pairwise-KL bound of the same encoder gives"
                     f" {information['vib_pairwise']:.2f} bits.")
    return {"metrics": metrics, "tables": tables, "selections": selections, "notes": notes, "accuracy": accuracy,
            "paired_se": paired_se, "levels": levels, "vib_key": vib_key, "base_key": base_key,
            "vib_scores": {k: v[1] for k, v in vib_runs.items()},
            "base_scores": {k: v[1] for k, v in base_runs.items()},
            "vib_bounds": vib_bounds, "information": information}


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(x[s:s + batch_size].to(device)).argmax(1).cpu() for s in range(0, len(x), batch_size)])


def _paired_se(a: torch.Tensor, b: torch.Tensor, y: torch.Tensor) -> float:
    """Standard error (points of %) of the accuracy difference of two classifiers on the same images."""
    d = (a == y).double() - (b == y).double()
    return float(100 * d.std() / math.sqrt(len(d))) if len(d) > 1 else 0.0


@torch.no_grad()
def _code_information(vib: VariationalBottleneck, base: VariationalBottleneck, x: torch.Tensor,
                      y: torch.Tensor) -> dict[str, float]:
    vib.eval()
    base.eval()
    device = next(vib.parameters()).device
    mean, log_variance = vib.encode(x.to(device))
    base_mean, _ = base.encode(x.to(device))
    out = {"vib_kl": vib.information_bound(x),
           "vib_pairwise": pairwise_mixture_information(mean.cpu().double(), log_variance.cpu().double().exp()).i_xt}
    for name, code in (("vib_kde", mean), ("baseline_kde", base_mean)):
        code = code.cpu().double()
        scale = float(code.var(0).mean().sqrt()) or 1.0
        out[name] = kde_mutual_information(code / scale, y, noise_variance=0.1).i_xt
    return out


# ---------------------------------------------------------------------------------- verdicts


def _plane_verdicts(plane: dict, cfg: Config) -> list[Verdict]:
    flags = plane["flags"]
    nls = list(plane["runs"])
    main = {kind: _main_estimator(cfg, kind) for kind in ("binning", "kde")}
    x = f"{100 * cfg.compression_threshold:g} %"

    def describe(nl, est):
        f = flags[(nl, est)]
        return (f"{nl} / {est}: I(X;T) {f['init']:.2f} -> peak {f['peak']:.2f} (epoch {f['peak_epoch']}) -> final"
                f" {f['final']:.2f} bits, drop {100 * f['drop']:.1f} % ({'' if f['compressed'] else 'no '}compression);"
                f" I(T;Y) {f['ity_init']:.2f} -> {f['ity_final']:.2f} bits (log2 n ="
                f" {plane['log_n']:.2f}, H(Y) = {plane['h_y']:.2f})")

    verdicts = []
    if "tanh" in nls:
        f = flags[("tanh", main["binning"])]
        verdict = "holds" if f["fitted"] and f["compressed"] and f["peak_epoch"] > 0 else (
            "partially" if f["fitted"] or f["compressed"] else "does not hold")
        verdicts.append(Verdict(
            "Training moves the layers in the information plane in two phases: fitting (I(T;Y) grows) then"
            " compression (I(X;T) falls) (Shwartz-Ziv & Tishby 2017, tanh network, binning estimator)", verdict,
            f"{describe('tanh', main['binning'])}; criterion: fitting = I(T;Y) of the last hidden layer gains >"
            f" {100 * cfg.fitting_threshold:g} % of H(Y) = {plane['h_y']:.2f} bits, compression = its I(X;T) falls"
            f" by > {x} of its peak after a peak past initialization; both: holds, one: partially.",
            "Shwartz-Ziv & Tishby 2017, Fig. 3: every layer first increases I(T;Y), then decreases I(X;T)"
            " over most of training."))
    if {"tanh", "relu"} <= set(nls):
        per_estimator = {kind: (flags[("tanh", est)]["compressed"], flags[("relu", est)]["compressed"])
                         for kind, est in main.items()}
        agree = [kind for kind, (t, r) in per_estimator.items() if t and not r]
        verdict = "holds" if len(agree) == 2 else ("partially" if agree else "does not hold")
        verdicts.append(Verdict(
            "Compression is not general: a double-sided saturating nonlinearity (tanh) compresses, ReLU does not"
            " (Saxe et al. 2018)", verdict,
            "; ".join(describe(nl, est) for est in main.values() for nl in ("tanh", "relu"))
            + f"; criterion: tanh compresses and ReLU does not (drop > {x}) with the binning and with the KDE"
              " estimator: holds for both, partially for one.",
            "Saxe et al. 2018, Fig. 1 and 4: tanh networks compress, ReLU networks do not, with binning and KDE."))
        by_nl = any(flags[("tanh", est)]["compressed"] != flags[("relu", est)]["compressed"] for est in main.values())
        by_est = any(flags[(nl, main["binning"])]["compressed"] != flags[(nl, main["kde"])]["compressed"]
                     for nl in ("tanh", "relu"))
        all_variants = sorted({est for (_, est) in flags})
        variant_flags = ", ".join(f"{nl}/{est}: {'yes' if flags[(nl, est)]['compressed'] else 'no'}"
                                  for nl in ("tanh", "relu") for est in all_variants)
        verdicts.append(Verdict(
            "Whether a compression phase appears depends on the nonlinearity and on the estimator (issue 19,"
            " after Saxe et al. 2018)", "holds" if by_nl and by_est else ("partially" if by_nl or by_est else
                                                                          "does not hold"),
            f"compression of the last hidden layer (drop > {x} of the peak): {variant_flags}; depends on the"
            f" nonlinearity (tanh vs ReLU differ for the binning ({main['binning']}) or KDE ({main['kde']}) estimator):"
            f" {'yes' if by_nl else 'no'}; on the estimator (binning vs KDE differ for tanh or ReLU):"
            f" {'yes' if by_est else 'no'}; both: holds, one: partially.",
            "Saxe et al. 2018: compression with tanh, none with ReLU; binning vs KDE disagree in places."))
    return verdicts


def _bottleneck_verdicts(result: dict, cfg: Config) -> list[Verdict]:
    acc, se, levels = result["accuracy"], result["paired_se"], result["levels"]
    diff = {s: acc["vib"][s] - acc["baseline"][s] for s in levels}
    clean_better = diff[0.0] > 2 * se[0.0]
    noisy = [s for s in levels if s > 0]
    better = [s for s in noisy if diff[s] > 2 * se[s]]
    worse = [s for s in noisy if diff[s] < -2 * se[s]]
    robust_better = len(better) > len(noisy) / 2
    clean_worse = diff[0.0] < -2 * se[0.0]
    if clean_better and robust_better:
        verdict = "holds"
    elif (clean_better or robust_better) and not clean_worse:
        verdict = "partially"
    else:
        verdict = "does not hold"
    evidence = (f"{cfg.vib_train} training images; VIB beta {result['vib_key'][0]:g} vs the same network without the"
                f" bottleneck (weight decay {result['base_key'][0]:g}), both chosen on validation: clean test"
                f" {acc['vib'][0.0]:.2f} % vs {acc['baseline'][0.0]:.2f} % (difference {diff[0.0]:+.2f}, paired SE"
                f" {se[0.0]:.2f}); under noise "
                + ", ".join(f"std {s:g}: {diff[s]:+.2f} (SE {se[s]:.2f})" for s in noisy)
                + f"; VIB better by > 2 SE at {len(better)}, worse at {len(worse)} of {len(noisy)} noise levels."
                  " Criterion: clean accuracy better by > 2 SE and better by > 2 SE at most noise levels: holds;"
                  " one of the two without a significant clean loss: partially; else does not hold."
                + f" I(Z;X) of the VIB: <= {result['information']['vib_kl']:.2f} bits (mean KL).")
    return [
        Verdict("Regularizing the information in the representation (H(Y|Z) + beta I(Z;X), variational information"
                " bottleneck) helps on small data: accuracy and robustness (Alemi et al. 2017; Achille & Soatto"
                " 2018)", verdict, evidence,
                "Alemi et al. 2017, MNIST (60,000 images): VIB 1.13 % error vs 1.38 % for the deterministic"
                " baseline; more robust to adversarial perturbations."),
        Verdict("Regularizing the information in the weights (H(Y|X,W) + lambda KL) helps on small data (Achille &"
                " Soatto 2018)", "not tested",
                "This experiment trains no network with a posterior over its weights; only the representation's"
                " information is regularized.")]


# ----------------------------------------------------------------------------------- figures


def _plot_plane(plane: dict, cfg: Config, out_dir: Path, kind: str) -> str:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    estimator = _main_estimator(cfg, kind)
    fig, axes = figure_row(len(plane["runs"]), 5.2)
    norm = Normalize(0, cfg.plane_epochs)
    cmap = colormaps["viridis"]
    markers = "osD^v<>p*h"
    for ax, (nl, run_) in zip(axes, plane["runs"].items()):
        epochs = sorted(int(e) for e in run_["estimates"])
        series = np.array([run_["estimates"][str(e)][estimator] for e in epochs])  # (epochs, layers, 2)
        for layer in range(series.shape[1]):
            ax.plot(series[:, layer, 0], series[:, layer, 1], color="0.75", lw=0.8, zorder=1)
            ax.scatter(series[:, layer, 0], series[:, layer, 1], c=epochs, cmap=cmap, norm=norm, s=14,
                       marker=markers[layer % len(markers)], zorder=2,
                       label=f"T{layer + 1} (width {cfg.hidden[layer]})")
        ax.axvline(plane["log_n"], color="k", ls=":", lw=0.8)
        ax.axhline(plane["h_y"], color="k", ls="--", lw=0.8)
        ax.set_title(f"{nl} (lr {run_['lr']:g}), {estimator}", fontsize=10)
        ax.set_xlabel("I(X;T) (bits)   [dotted: log2 n]")
        ax.set_ylabel("I(T;Y) (bits)   [dashed: H(Y)]")
        ax.legend(fontsize=7, loc="lower right")
    fig.colorbar(ScalarMappable(norm, cmap), ax=list(axes), label="epoch")
    title = ("binning estimator" if kind == "binning" else "KDE upper bound (noise variance "
             f"{cfg.main_noise_variance:g})")
    fig.suptitle(f"Information plane of the hidden layers during training, {title}", fontsize=11)
    return save_png(fig, out_dir, f"information_plane_{kind}.png")


def _plot_compression(plane: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(len(plane["runs"]), 5.2)
    for ax, (nl, run_) in zip(axes, plane["runs"].items()):
        epochs = sorted(int(e) for e in run_["estimates"])
        for name, series in _estimator_series(run_, cfg).items():
            values = [point[-1][0] for point in series]
            ax.plot(epochs, values, ls="-" if name.startswith("bins") else "--",
                    label=name + (" (compression)" if plane["flags"][(nl, name)]["compressed"] else ""))
        ax.axhline(plane["log_n"], color="k", ls=":", lw=0.8)
        ax.set_title(f"{nl}: last hidden layer (width {cfg.hidden[-1]})", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("I(X;T) (bits)   [dotted: log2 n]")
        ax.legend(fontsize=7)
    fig.suptitle(f"I(X;T) of the last hidden layer by estimator; compression = a drop > "
                 f"{100 * cfg.compression_threshold:g} % of the peak", fontsize=11)
    return save_png(fig, out_dir, "compression_by_estimator.png")


def _plot_training(plane: dict, cfg: Config, out_dir: Path) -> str:
    fig, (ax,) = figure_row()
    for nl, run_ in plane["runs"].items():
        epochs = [r["epoch"] for r in run_["history"]]
        line, = ax.plot(epochs, [r["train_accuracy"] for r in run_["history"]], label=f"{nl} train")
        ax.plot(epochs, [r["test_accuracy"] for r in run_["history"]], ls="--", color=line.get_color(),
                label=f"{nl} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Information-plane MLPs: accuracy during training", fontsize=10)
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "plane_training.png")


def _plot_vib_selection(result: dict, cfg: Config, out_dir: Path) -> str:
    fig, (ax, bx) = figure_row(2, 5.0)
    for lr in cfg.vib_lrs:
        ax.semilogx(cfg.betas, [result["vib_scores"][(b, lr)] for b in cfg.betas], marker="o", label=f"VIB, lr {lr:g}")
    best_base = result["base_scores"][result["base_key"]]
    ax.axhline(best_base, color="k", ls="--", label=f"baseline (chosen), {best_base:.1f} %")
    ax.set_xlabel("beta")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(f"Choice of beta on {cfg.vib_validation} held-out images", fontsize=10)
    ax.legend(fontsize=8)
    bx.loglog(cfg.betas, [max(result["vib_bounds"][b], 1e-3) for b in cfg.betas], marker="o")
    bx.set_xlabel("beta")
    bx.set_ylabel("I(Z;X) upper bound, mean KL (bits)")
    bx.set_title(f"Information kept in the code (lr {result['vib_key'][1]:g})", fontsize=10)
    return save_png(fig, out_dir, "vib_selection.png")


def _plot_noise(result: dict, cfg: Config, out_dir: Path) -> str:
    fig, (ax,) = figure_row()
    levels = list(result["levels"])
    for name, label in (("vib", f"VIB (beta {result['vib_key'][0]:g})"), ("baseline", "without bottleneck")):
        values = [result["accuracy"][name][s] for s in levels]
        ax.plot(levels, values, marker="o", label=label)
    ax.set_xlabel("std of the additive Gaussian noise (pixels in [0, 1])")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Robustness to noise, {cfg.vib_train} training images", fontsize=10)
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "vib_noise_robustness.png")
