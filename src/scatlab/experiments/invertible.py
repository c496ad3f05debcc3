r"""Experiment ``invertible``: an invertible network (i-RevNet) classifies like a ResNet and separates
the classes layer after layer without losing any information on its input.

Jacobsen, Smeulders & Oyallon ("i-RevNet: deep invertible networks", ICLR 2018) build a deep network
:math:`\Phi` that is invertible up to its final classifier: invertible downsamplings (space-to-depth)
and additive couplings :math:`(x_1, x_2) \mapsto (S x_2,\ S x_1 + F(x_2))`, whose inverse
:math:`x_2 = S^{-1} y_1`, :math:`x_1 = S^{-1}(y_2 - F(x_2))` is exact whatever F is. They claim:

1. the inverse is exact: x is recovered from its last-layer representation :math:`\Phi(x)`;
2. the injective i-RevNet (input channels zero-padded) reaches the accuracy of a non-invertible
   ResNet (ImageNet top-1 error 24.7 % for both), the bijective one is close (26.7 %): discarding
   information is not needed to generalize;
3. the classes become progressively linearly separable along the layers (their linear probes),
   although every layer still holds all of the input.

Protocol (:mod:`scatlab.networks.irevnet`): on class-balanced training and validation subsets of
Fashion-MNIST (or the MNIST/CIFAR-10 files of ``data_dir``), the injective and bijective i-RevNets
and a pre-activation ResNet of similar depth (stages of ``resnet_blocks`` basic blocks: 6 b + 2
weight layers, against 3 sum(stages) + 1 for the i-RevNet) are trained with the same budget (epochs,
batch size, SGD with cosine schedule, weight decay) by :func:`scatlab.learning.training.train`. The
i-RevNet's width is the candidate whose parameter count is closest to the ResNet's; each network's
learning rate is the one of ``lrs`` with the best validation accuracy; the chosen configuration is
retrained with ``repeats`` seeds and scored once on the test set (mean and std over seeds). Then,
on the seed-``seed`` networks:

- exact invertibility: :math:`\|\Phi^{-1}(\Phi(x)) - x\| / \|x\|` on the test images, in float32 and
  float64 (the network cast), and from every layer;
- inversion figures: a test image reconstructed from :math:`\Phi(x)`; the inverses of
  :math:`(1 - t)\Phi(a) + t\Phi(b)` between two test images;
- linear probes: per layer, a ridge classifier on the standardized flattened representation,
  fitted on the training images, its penalty chosen on the validation images, scored on the test
  images.

Verdicts: (1) holds if every relative error is <= 1e-5 in float32 and <= 1e-12 in float64; (2)
holds if the ResNet's mean test accuracy exceeds the i-RevNet's by at most the margin
max(``accuracy_margin``, 2 sqrt((s_resnet^2 + s_irevnet^2) / k)) (s: sample std over the k seeds;
the square root is the standard error of the difference of the two means), partially up to twice
the margin; (3) holds if the inverse from every
layer is exact (float64 bound), the last layer's probe beats the first by more than 2 binomial
standard errors of the test accuracy, and the probe accuracy rises with depth (Spearman rho >= 0.8).

The epoch budget is fixed, the same for every network (not selected). Times measured on this
2-core machine, one thread, shared with other jobs: quick 78 s (45 s of CPU time); full run (2,000
training images, 6 epochs, 2 learning rates, 3 seeds: 12 trainings, then probes on 13,000 images)
39 min.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from ..errors import InvalidParameterError
from ..learning.splits import train_validation_test
from ..learning.training import TrainSettings, evaluate, train
from ..networks import build_model
from ..networks.irevnet import VARIANTS, IRevNet
from ..runtime import Progress, init_distributed, seed_everything
from ._contract import CHECKPOINTS, Result, Selection, Verdict
from ._figures import save_png

__all__ = ["Config", "run"]

BOUND = {"float32": 1e-5, "float64": 1e-12}  # largest relative reconstruction error of an exact inverse
LEARNED = 10.0  # points above chance below which "same accuracy" is not tested (the networks did not learn)
PROBE_SPEARMAN = 0.8  # smallest rank correlation between depth and probe accuracy for "rises with depth"


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the invertible-network experiment; the defaults are the full run (about an hour on CPU)."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    n_train: int = 2000  # class-balanced training images
    n_validation: int = 1000  # class-balanced held-out training images (learning rates, probe penalties)
    n_test: int = 10000  # first n_test test images, scored once per chosen configuration
    variants: tuple[str, ...] = VARIANTS  # i-RevNet variants trained ('injective', 'bijective')
    stages: tuple[int, ...] = (2, 2)  # i-RevNet coupling blocks per stage (3 convolutions each)
    resnet_blocks: int = 2  # ResNet basic blocks per stage (2 convolutions each, 3 stages)
    resnet_width: int = 1  # ResNet widening factor (stages of 16k, 32k, 64k channels)
    widths: tuple[int, ...] = tuple(range(2, 129, 2))  # i-RevNet widths tried; the closest parameter count is kept
    epochs: int = 6  # training epochs of every network (the same fixed budget for all)
    batch_size: int = 64  # SGD batch size
    lrs: tuple[float, ...] = (0.1, 0.3)  # initial learning rates tried on validation, per network
    weight_decay: float = 5e-4  # L2 penalty
    repeats: int = 3  # seeds of the chosen configuration (seed, seed + 1, ...) for the test accuracy
    accuracy_margin: float = 1.0  # smallest accepted accuracy gap (points) to the ResNet for "same accuracy"
    probe_penalties: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # ridge penalty / mean squared norm
    interpolation_steps: int = 7  # images along the interpolation, both ends included
    seed: int = 0  # seed of the split, of the weights and of the sample order

    @classmethod
    def quick(cls) -> Config:
        """500 training images, shallower networks (one block per stage), 4 epochs, 2 seeds."""
        return cls(n_train=500, n_validation=500, n_test=1000, stages=(1, 1), resnet_blocks=1, epochs=4,
                   batch_size=50, repeats=2)


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Train the i-RevNets and the ResNet, measure invertibility and probes, write the figures."""
    _check(cfg)
    init_distributed()
    out_dir = Path(out_dir)
    data = train_validation_test(cfg.data_dir, cfg.n_train, cfg.n_validation, cfg.n_test, cfg.seed)
    shape, channels = tuple(data["x_train"].shape[-2:]), int(data["x_train"].shape[1])
    builders, selections, parameters = _architectures(cfg, shape, channels)
    runs = _train_all(cfg, builders, data, out_dir / CHECKPOINTS, progress, selections)
    metrics: dict[str, float] = {f"parameters_{_key(m)}": float(p) for m, p in parameters.items()}
    for model, r in runs.items():
        metrics[f"test_accuracy_mean_{_key(model)}"] = float(np.mean(r["test"]))
        metrics[f"test_accuracy_std_{_key(model)}"] = float(np.std(r["test"]))
        metrics[f"lr_{_key(model)}"] = float(r["lr"])
    nets = {v: runs[f"irevnet-{v}"]["model"] for v in cfg.variants}
    inversion = {v: _inversion(net, data["x_test"]) for v, net in nets.items()}
    probes = {v: _probes(net, data, cfg, progress, selections) for v, net in nets.items()}
    for v in cfg.variants:
        for dtype in ("float32", "float64"):
            metrics[f"reconstruction_error_max_{v}_{dtype}"] = float(inversion[v][dtype].max())
            metrics[f"reconstruction_error_mean_{v}_{dtype}"] = float(inversion[v][dtype].mean())
        for k, (acc, err) in enumerate(zip(probes[v]["test"], inversion[v]["layers"])):
            metrics[f"probe_test_accuracy_{v}_layer{k}"] = float(acc)
            metrics[f"reconstruction_error_max_{v}_from_layer{k}"] = float(err)
            metrics[f"reconstruction_error_max_{v}_from_layer{k}_float64"] = float(inversion[v]["layers64"][k])
    figures = [_plot_accuracy(cfg, runs, parameters, out_dir),
               _plot_reconstruction(nets, data["x_test"], inversion, out_dir),
               _plot_interpolation(nets, data, cfg, metrics, out_dir),
               _plot_probes(cfg, probes, inversion, out_dir)]
    chance = 100 / len(data["y_train"].unique())
    return Result(metrics=metrics, tables=_tables(cfg, runs, parameters, probes, inversion), figures=figures,
                  notes=_notes(cfg, runs, parameters, shape, channels, metrics),
                  verdicts=_verdicts(cfg, runs, inversion, probes, chance), selections=selections)


def _check(cfg: Config) -> None:
    for name in ("n_train", "n_validation", "n_test", "epochs", "batch_size", "repeats", "resnet_blocks",
                 "resnet_width"):
        if getattr(cfg, name) < 1:
            raise InvalidParameterError(f"The '{name}' parameter of invertible.Config must be >= 1; got"
                                        f" {getattr(cfg, name)}.")
    if not cfg.variants or any(v not in VARIANTS for v in cfg.variants):
        raise InvalidParameterError(f"The 'variants' parameter of invertible.Config must be a non-empty tuple of"
                                    f" {VARIANTS}; got {cfg.variants}.")
    for name in ("lrs", "widths", "probe_penalties"):
        values = getattr(cfg, name)
        if not values or any(not v > 0 for v in values):
            raise InvalidParameterError(f"The '{name}' parameter of invertible.Config must be a non-empty tuple of"
                                        f" positive numbers; got {values}.")
    if cfg.interpolation_steps < 2 or cfg.accuracy_margin < 0:
        raise InvalidParameterError("invertible.Config needs interpolation_steps >= 2 and accuracy_margin >= 0; got"
                                    f" {cfg.interpolation_steps} and {cfg.accuracy_margin}.")


def _key(name: str) -> str:
    return name.replace("-", "_")


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ------------------------------------------------------------------------------ architectures


def _architectures(cfg: Config, shape: tuple[int, int], channels: int):
    """Builders of the ResNet and of each i-RevNet variant, the width of each i-RevNet matched to the
    ResNet's parameter count (a Selection), and the parameter counts."""
    resnet = lambda: build_model("wrn", shape, in_channels=channels, blocks=cfg.resnet_blocks,  # noqa: E731
                                 width=cfg.resnet_width)
    target = _count(resnet())
    builders, selections, parameters = {"resnet": resnet}, [], {"resnet": target}
    for variant in cfg.variants:
        counts = [_count(IRevNet(shape, in_channels=channels, variant=variant, stages=cfg.stages, width=w))
                  for w in cfg.widths]
        gaps = [abs(math.log(c / target)) for c in counts]
        width = cfg.widths[int(np.argmin(gaps))]
        selections.append(Selection(
            f"width of the {variant} i-RevNet (channels inside F, first stage)", list(cfg.widths),
            [round(g, 4) for g in gaps], width,
            f"|log(parameters / {target:,} parameters of the ResNet)|, min: an architecture choice made on"
            " parameter counts, no data"))
        builders[f"irevnet-{variant}"] = (lambda v=variant, w=width: IRevNet(
            shape, in_channels=channels, variant=v, stages=cfg.stages, width=w))
        parameters[f"irevnet-{variant}"] = counts[cfg.widths.index(width)]
    order = [f"irevnet-{v}" for v in cfg.variants] + ["resnet"]
    return {m: builders[m] for m in order}, selections, {m: parameters[m] for m in order}


# ---------------------------------------------------------------------------------- training


def _train_all(cfg: Config, builders: dict, data: dict, checkpoints: Path, progress: Progress,
               selections: list) -> dict[str, dict]:
    """Per network: every learning rate on validation (seed ``cfg.seed``), the best one retrained with
    the other seeds; the test accuracy of every seed at the chosen rate."""
    identity = {"experiment": "invertible", "n_train": cfg.n_train, "n_validation": cfg.n_validation,
                "stages": list(cfg.stages), "resnet_blocks": cfg.resnet_blocks, "resnet_width": cfg.resnet_width,
                "data_dir": str(Path(cfg.data_dir).resolve()), "images": list(data["x_train"].shape[1:])}
    out = {}
    for name, build in builders.items():
        def fit(lr: float, seed: int) -> torch.nn.Module:
            seed_everything(seed)
            model = build()
            train(model, data["x_train"], data["y_train"],
                  TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr, weight_decay=cfg.weight_decay,
                                seed=seed),
                  checkpoint=checkpoints / f"{name}_lr{lr:g}_s{seed}.pt", resume=True,
                  identity={**identity, "model": name, "parameters": _count(model)}, progress=progress)
            return model.eval()

        grid = progress(cfg.lrs, desc=f"{name}: learning rates", total=len(cfg.lrs))
        trained = {lr: fit(lr, cfg.seed) for lr in grid}
        scores = [evaluate(trained[lr], data["x_validation"], data["y_validation"]) for lr in cfg.lrs]
        lr = cfg.lrs[int(np.argmax(scores))]
        selections.append(Selection(f"learning rate of {name}", list(cfg.lrs), [round(s, 2) for s in scores], lr,
                                    f"validation accuracy (%), {cfg.n_validation} held-out training images, after"
                                    f" {cfg.epochs} epochs, max"))
        models = [trained[lr]] + [fit(lr, cfg.seed + k) for k in range(1, cfg.repeats)]
        test = [evaluate(m, data["x_test"], data["y_test"]) for m in models]
        out[name] = {"lr": lr, "validation": scores, "test": test, "model": trained[lr]}
    return out


# ------------------------------------------------------------------------------ invertibility


def _relative_error(x_hat: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    norm = x.flatten(1).norm(dim=1).clamp_min(torch.finfo(x.dtype).tiny)
    return ((x_hat - x).flatten(1).norm(dim=1) / norm).cpu().numpy()


@torch.no_grad()
def _inversion(net: IRevNet, x: torch.Tensor, batch: int = 500) -> dict:
    """Relative reconstruction errors of the test images from the last layer, in float32 and in float64
    (the network cast), and the largest error from each layer in both (``layers``, ``layers64``)."""
    device = next(net.parameters()).device
    double = copy.deepcopy(net).double()
    out = {"float32": [], "float64": [], "layers": np.zeros(len(net.blocks) + 1),
           "layers64": np.zeros(len(net.blocks) + 1)}
    for s in range(0, len(x), batch):
        xb = x[s:s + batch].to(device)
        layers, layers64 = net.layers(xb), double.layers(xb.double())
        out["float32"].append(_relative_error(net.inverse(layers[-1]), xb))
        out["float64"].append(_relative_error(double.inverse(layers64[-1]), xb.double()))
        for k, (z, z64) in enumerate(zip(layers, layers64)):
            out["layers"][k] = max(out["layers"][k], _relative_error(net.inverse(z, layer=k), xb).max())
            out["layers64"][k] = max(out["layers64"][k],
                                     _relative_error(double.inverse(z64, layer=k), xb.double()).max())
    out["float32"], out["float64"] = np.concatenate(out["float32"]), np.concatenate(out["float64"])
    return out


# ------------------------------------------------------------------------------ linear probes


@torch.no_grad()
def _layer_features(net: IRevNet, x: torch.Tensor, batch: int = 500) -> list[torch.Tensor]:
    """The flattened float32 representations of x at every layer (one forward pass)."""
    device = next(net.parameters()).device
    chunks = [[z.flatten(1).cpu() for z in net.layers(x[s:s + batch].to(device))] for s in range(0, len(x), batch)]
    return [torch.cat(layer) for layer in zip(*chunks)]


def _probes(net: IRevNet, data: dict, cfg: Config, progress: Progress, selections: list) -> dict:
    r"""Per layer k, a ridge classifier :math:`W = \arg\min \|X W - Y\|^2 + \alpha\|W\|^2` (X: standardized
    training features, Y: centred one-hot labels) by one SVD for all penalties; alpha = p ||X||^2 / n for
    p in ``cfg.probe_penalties``, chosen on validation; validation and test accuracy."""
    out = {"validation": [], "test": [], "penalty": []}
    features = {split: _layer_features(net, data[f"x_{split}"]) for split in ("train", "validation", "test")}
    for k in progress(range(len(net.blocks) + 1), desc=f"probes ({net.variant})", total=len(net.blocks) + 1):
        X = features["train"][k].double()
        mean, std = X.mean(0), X.std(0)
        std = torch.where(std > 1e-12, std, torch.ones_like(std))  # zero-padded channels: constant features
        X = (X - mean) / std
        Y = torch.nn.functional.one_hot(data["y_train"], int(data["y_train"].max()) + 1).double()
        Y = Y - Y.mean(0)
        U, s, Vh = torch.linalg.svd(X, full_matrices=False)
        UtY = U.T @ Y
        scale = float((X**2).sum()) / len(X)
        weights = [Vh.T @ ((s / (s**2 + p * scale))[:, None] * UtY) for p in cfg.probe_penalties]
        X_val = (features["validation"][k].double() - mean) / std
        scores = [100 * float(((X_val @ W).argmax(1) == data["y_validation"]).double().mean()) for W in weights]
        best = int(np.argmax(scores))
        X_test = (features["test"][k].double() - mean) / std
        out["test"].append(100 * float(((X_test @ weights[best]).argmax(1) == data["y_test"]).double().mean()))
        out["validation"].append(scores[best])
        out["penalty"].append(cfg.probe_penalties[best])
        selections.append(Selection(f"ridge penalty of the linear probe, {net.variant} i-RevNet, layer {k}",
                                    list(cfg.probe_penalties), [round(v, 2) for v in scores],
                                    cfg.probe_penalties[best],
                                    f"validation accuracy (%), {cfg.n_validation} held-out training images, max"
                                    " (penalty in units of the mean squared norm of the standardized features)"))
    return out


# ----------------------------------------------------------------------------------- verdicts


def _verdicts(cfg: Config, runs: dict, inversion: dict, probes: dict, chance: float) -> list[Verdict]:
    verdicts = []
    worst = {d: max(float(inversion[v][d].max()) for v in cfg.variants) for d in ("float32", "float64")}
    within = {d: worst[d] <= BOUND[d] for d in BOUND}
    verdicts.append(Verdict(
        "The i-RevNet is invertible: x is recovered exactly from its last-layer representation (Jacobsen,"
        " Smeulders & Oyallon, ICLR 2018)",
        "holds" if all(within.values()) else "partially" if within["float64"] else "does not hold",
        f"largest relative error ||Phi^-1(Phi(x)) - x|| / ||x|| over {cfg.n_test} test images and the variants"
        f" {', '.join(cfg.variants)} of the trained networks: {worst['float32']:.2e} in float32 (bound"
        f" {BOUND['float32']:g}), {worst['float64']:.2e} in float64 (bound {BOUND['float64']:g}); holds if both are"
        " within their bounds, partially if only float64 is (the inverse is exact, but float32 rounding of the"
        " representation is amplified by the Lipschitz constants of the residual functions F in the inverse).",
        "exact reconstruction of ImageNet images from the last layer (the paper's Figure of inverted images)"))
    resnet = runs["resnet"]["test"]
    anchors = {"injective": "ImageNet top-1 error: injective i-RevNet 24.7 %, ResNet-50 24.7 % (Table 1)",
               "bijective": "ImageNet top-1 error: bijective i-RevNet 26.7 %, ResNet-50 24.7 % (Table 1)"}
    for v in cfg.variants:
        irev = runs[f"irevnet-{v}"]["test"]
        k = len(irev)
        noise = math.sqrt((np.var(resnet, ddof=1) + np.var(irev, ddof=1)) / k) if k > 1 else 0.0
        margin = max(cfg.accuracy_margin, 2 * noise)
        gap = float(np.mean(resnet) - np.mean(irev))
        verdict = "holds" if gap <= margin else "partially" if gap <= 2 * margin else "does not hold"
        if max(np.mean(resnet), np.mean(irev)) < chance + LEARNED:
            verdict = "not tested"  # neither network learned: equal accuracies at chance say nothing
        seeds = (f"sample std over {k} seeds {np.std(resnet, ddof=1):.2f} and {np.std(irev, ddof=1):.2f}" if k > 1
                 else "one seed: the seed noise is not measured")
        verdicts.append(Verdict(
            f"The {v} i-RevNet classifies as accurately as a non-invertible ResNet of similar depth and parameter"
            " count (Jacobsen, Smeulders & Oyallon, ICLR 2018)",
            verdict,
            f"test accuracy ({cfg.n_test} images, mean over {cfg.repeats} seeds): i-RevNet {np.mean(irev):.2f} %,"
            f" ResNet {np.mean(resnet):.2f} %, gap {gap:+.2f} points ({seeds}). Margin = max({cfg.accuracy_margin:g}"
            f" point, 2 x sqrt((s_resnet^2 + s_irevnet^2) / {k}) = {2 * noise:.2f}) = {margin:.2f}: holds if the"
            f" ResNet is ahead by at most the margin, partially up to twice it (not tested if neither network is"
            f" {LEARNED:g} points above chance).",
            anchors[v]))
    parts = []
    states = []
    for v in cfg.variants:
        acc = np.array(probes[v]["test"])
        p = acc[-1] / 100
        se = 100 * math.sqrt(2 * max(p * (1 - p), 1e-4) / cfg.n_test)
        rho = float(spearmanr(np.arange(len(acc)), acc).statistic) if np.ptp(acc) > 0 else 0.0
        lossless = float(inversion[v]["layers64"].max()) <= BOUND["float64"]
        rises = acc[-1] - acc[0] > 2 * se
        states.append("holds" if lossless and rises and rho >= PROBE_SPEARMAN else
                      "partially" if lossless and rises else "does not hold")
        parts.append(f"{v}: probe test accuracy by layer {', '.join(f'{a:.1f}' for a in acc)} %, last - first"
                     f" {acc[-1] - acc[0]:+.1f} points (2 SE = {2 * se:.1f}), Spearman rho {rho:.2f}, largest"
                     f" reconstruction error from any layer {inversion[v]['layers64'].max():.1e} in float64"
                     f" ({inversion[v]['layers'].max():.1e} in float32)")
    overall = ("holds" if all(s == "holds" for s in states) else
               "does not hold" if all(s == "does not hold" for s in states) else "partially")
    verdicts.append(Verdict(
        "Separation without information loss: the classes become progressively linearly separable along the"
        " layers of an invertible network, which keeps all the information on its input (Jacobsen, Smeulders &"
        " Oyallon, ICLR 2018; Oyallon's talk)",
        overall,
        "; ".join(parts) + f". Per variant: holds if the inverse is exact from every layer (float64 bound"
        f" {BOUND['float64']:g}: whether information is lost is a property of the map, which float64 resolves;"
        " the float32 rounding is judged by the invertibility verdict), the last layer's probe beats the first by"
        f" more than 2 binomial standard errors and rho >= {PROBE_SPEARMAN}; partially without the monotone rise;"
        " the claim holds if it holds for every variant.",
        "on ImageNet the paper reports linear SVM and nearest-neighbour accuracies on the i-RevNet's features"
        " that increase with depth"))
    return verdicts


# ---------------------------------------------------------------------------- tables and notes


def _tables(cfg: Config, runs: dict, parameters: dict, probes: dict, inversion: dict) -> list:
    rows = [[m, f"{parameters[m]:,}", f"{runs[m]['lr']:g}", f"{max(runs[m]['validation']):.2f}",
             f"{np.mean(runs[m]['test']):.2f} ± {np.std(runs[m]['test']):.2f} ({len(runs[m]['test'])} seeds)"]
            for m in runs]
    accuracy = (f"Networks at the same budget ({cfg.epochs} epochs, batch {cfg.batch_size}, {cfg.n_train} training"
                " images)", ["network", "parameters", "learning rate (chosen)", "validation accuracy (%)",
                             "test accuracy (%)"], rows)
    probe_rows = []
    for v in cfg.variants:
        for k, (val, test, pen, err, err64) in enumerate(zip(probes[v]["validation"], probes[v]["test"],
                                                             probes[v]["penalty"], inversion[v]["layers"],
                                                             inversion[v]["layers64"])):
            probe_rows.append([v, k, f"{val:.2f}", f"{test:.2f}", f"{pen:g}", f"{err:.1e}", f"{err64:.1e}"])
    probe = ("Linear probes per layer (ridge; layer 0: the input after the initial downsampling)",
             ["variant", "layer", "validation accuracy (%)", "test accuracy (%)", "penalty (chosen)",
              "largest reconstruction error from this layer, float32", "float64"], probe_rows)
    inv_rows = [[v, f"{inversion[v][d].max():.2e}", f"{inversion[v][d].mean():.2e}", f"{BOUND[d]:g}", d]
                for v in cfg.variants for d in ("float32", "float64")]
    inv = (f"Relative reconstruction error ||Phi^-1(Phi(x)) - x|| / ||x|| on {cfg.n_test} test images",
           ["variant", "max", "mean", "bound", "dtype"], inv_rows)
    return [accuracy, inv, probe]


def _notes(cfg: Config, runs: dict, parameters: dict, shape: tuple, channels: int, metrics: dict) -> list[str]:
    depth_irev = 3 * sum(cfg.stages) + 1
    depth_resnet = 6 * cfg.resnet_blocks + 2
    notes = [f"Depth (weight layers): i-RevNet {depth_irev} ({sum(cfg.stages)} coupling blocks of 3 convolutions +"
             f" classifier), ResNet {depth_resnet}; parameters: " +
             ", ".join(f"{m} {p:,}" for m, p in parameters.items()) + f". Images {channels} x {shape[0]} x {shape[1]}."]
    notes += [f"{m}: test accuracy {np.mean(r['test']):.2f} ± {np.std(r['test']):.2f} % (lr {r['lr']:g})."
              for m, r in runs.items()]
    notes.append("The paper's injective i-RevNet has about 7 times the parameters of its ResNet-50; here both"
                 " variants are matched to the ResNet's parameter count, a stricter comparison.")
    for v in cfg.variants:
        ratio = metrics[f"interpolation_norm_ratio_max_{v}"]
        text = (f"Interpolation ({v}): the inverted midpoints have up to {ratio:.2g} times the norm of the end"
                " images")
        if v == "injective":
            text += (f", and their padded part, which the left inverse drops, up to"
                     f" {metrics['interpolation_padding_norm_ratio_max_injective']:.2g} times the kept image's norm")
        notes.append(text + (": the segment between two representations leaves the set of representations of"
                             " images, and the inverse amplifies what lies off it." if ratio > 2 else
                             ": the inverses stay of the size of the images."))
    return notes


# ------------------------------------------------------------------------------------- figures


def _figure(rows: int, cols: int, width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def _show(ax, image: torch.Tensor, title: str = "", **kwargs) -> None:
    """An image (C, M, N) in [0, 1]: grey for one channel, colour for three."""
    picture = image.detach().cpu().float()
    if picture.shape[0] == 1:
        ax.imshow(picture[0].numpy(), cmap=kwargs.pop("cmap", "gray"), vmin=kwargs.pop("vmin", 0),
                  vmax=kwargs.pop("vmax", 1))
    else:
        ax.imshow(picture.permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def _plot_accuracy(cfg: Config, runs: dict, parameters: dict, out_dir: Path) -> str:
    fig, axes = _figure(1, 2, 10, 3.8)
    for m, r in runs.items():
        axes[0, 0].plot(cfg.lrs, r["validation"], marker="o", label=m)
    axes[0, 0].set(xscale="log", xlabel="initial learning rate", ylabel="validation accuracy (%)",
                   title=f"Learning rate chosen on {cfg.n_validation} validation images")
    axes[0, 0].set_xticks(list(cfg.lrs), [f"{lr:g}" for lr in cfg.lrs])
    axes[0, 0].minorticks_off()
    axes[0, 0].legend(fontsize=8)
    names = list(runs)
    means = [np.mean(runs[m]["test"]) for m in names]
    axes[0, 1].bar(range(len(names)), means, yerr=[np.std(runs[m]["test"]) for m in names], capsize=5,
                   color=["tab:blue", "tab:orange", "tab:gray"][:len(names)])
    axes[0, 1].set_xticks(range(len(names)), [f"{m}\n{parameters[m]:,} params" for m in names], fontsize=8)
    low = min(min(runs[m]["test"]) for m in names)
    axes[0, 1].set(ylim=(max(0, low - 10), 100), ylabel="test accuracy (%)",
                   title=f"Test accuracy, mean ± std over {cfg.repeats} seeds")
    for i, value in enumerate(means):
        axes[0, 1].text(i, max(0, low - 10) + 1, f"{value:.2f} %", ha="center", va="bottom", fontsize=9, color="white")
    return save_png(fig, out_dir, "accuracy.png")


@torch.no_grad()
def _plot_reconstruction(nets: dict, x: torch.Tensor, inversion: dict, out_dir: Path) -> str:
    fig, axes = _figure(len(nets), 3, 8, 2.9 * len(nets))
    image = x[:1]
    for row, (v, net) in enumerate(nets.items()):
        device = next(net.parameters()).device
        x_hat = net.inverse(net.representation(image.to(device))).cpu()
        error = float(_relative_error(x_hat, image)[0])
        difference = (x_hat - image).abs()
        _show(axes[row, 0], image[0], "test image x")
        _show(axes[row, 1], x_hat[0], f"{v}: Phi^-1(Phi(x)) from the last layer")
        scale = max(float(difference.max()), 1e-30)
        axes[row, 2].imshow(difference[0].mean(0).numpy(), cmap="magma", vmin=0, vmax=scale)
        axes[row, 2].set_title(f"|difference|, max {scale:.1e}\nrelative error {error:.1e}", fontsize=9)
        axes[row, 2].set_axis_off()
    fig.suptitle("Reconstruction from the last-layer representation (float32)", fontsize=10)
    return save_png(fig, out_dir, "reconstruction.png")


@torch.no_grad()
def _plot_interpolation(nets: dict, data: dict, cfg: Config, metrics: dict, out_dir: Path) -> str:
    x, y = data["x_test"], data["y_test"]
    a = 0
    b = int(torch.nonzero(y != y[a])[0])  # the first test image of another class
    ts = torch.linspace(0, 1, cfg.interpolation_steps)
    rows = {"pixels: (1 - t) a + t b": torch.stack([(1 - t) * x[a] + t * x[b] for t in ts])}
    for v, net in nets.items():
        device = next(net.parameters()).device
        za, zb = net.representation(x[[a, b]].to(device))
        z = torch.stack([(1 - t) * za + t * zb for t in ts.to(device)])
        image = net.inverse(z).cpu()
        if v == "injective":  # the part of the inverse in the padded channels, which the left inverse drops
            dropped = net.padding_part(z).flatten(1).norm(dim=1).cpu() / image.flatten(1).norm(dim=1)
            metrics["interpolation_padding_norm_ratio_max_injective"] = float(dropped.max())
        rows[f"{v}: Phi^-1((1 - t) Phi(a) + t Phi(b))"] = image
    fig, axes = _figure(len(rows), len(ts), max(1.45 * len(ts), 9), 1.9 * len(rows))
    reference = float(x[[a, b]].flatten(1).norm(dim=1).max())
    for r, (label, images) in enumerate(rows.items()):
        norms = images.flatten(1).norm(dim=1) / reference
        if r:
            metrics[f"interpolation_norm_ratio_max_{label.split(':')[0]}"] = float(norms.max())
        for c, t in enumerate(ts):  # shown clipped to [0, 1], the range of the images
            _show(axes[r, c], images[c].clamp(0, 1), f"t = {float(t):.2f}\nnorm {float(norms[c]):.2g}")
        axes[r, 0].text(-0.1, 0.5, label.split(":")[0], transform=axes[r, 0].transAxes, rotation=90,
                        ha="right", va="center", fontsize=9)
    fig.suptitle("Linear interpolation between two test images: in pixels, and between their last-layer"
                 " representations, inverted\n(shown clipped to [0, 1]; norm: ||image|| / the larger norm of the two"
                 " ends)", fontsize=10)
    return save_png(fig, out_dir, "interpolation.png")


def _plot_probes(cfg: Config, probes: dict, inversion: dict, out_dir: Path) -> str:
    fig, axes = _figure(1, 2, 10, 3.8)
    floor = 1e-9  # an exact zero (layer 0 is a permutation of the input) is drawn here
    for v, color in zip(cfg.variants, ("tab:blue", "tab:orange")):
        layers = np.arange(len(probes[v]["test"]))
        axes[0, 0].plot(layers, probes[v]["test"], marker="o", color=color, label=f"{v}, test")
        axes[0, 0].plot(layers, probes[v]["validation"], marker="x", linestyle=":", color=color,
                        label=f"{v}, validation (penalty chosen here)")
        errors = np.asarray(inversion[v]["layers"])
        axes[0, 1].semilogy(layers, np.maximum(errors, floor), marker="o", color=color, label=v)
    axes[0, 1].text(0, floor * 2, "0 (exact)", fontsize=8, va="bottom")
    axes[0, 1].set_ylim(floor / 2, 1e-3)
    axes[0, 0].set(xlabel="layer (0: input after the initial downsampling)", ylabel="linear probe accuracy (%)",
                   title="Progressive linear separability")
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].axhline(BOUND["float32"], color="k", linestyle="--", label="bound 1e-5")
    axes[0, 1].set(xlabel="layer", ylabel="largest relative error",
                   title="Reconstruction of x from each layer (float32)")
    axes[0, 1].legend(fontsize=8)
    for ax in axes[0]:
        ax.set_xticks(np.arange(len(probes[cfg.variants[0]]["test"])))
    return save_png(fig, out_dir, "probes.png")
