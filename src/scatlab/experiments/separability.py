r"""Experiment ``separability``: progressive separation and concentration of the classes across depth.

Claims
------
(a) Trained CNNs make the classes progressively more linearly separable and more concentrated,
    layer after layer: the accuracy of a linear classifier on a layer rises with depth (Oyallon,
    "Building a regular decision boundary with deep networks", CVPR 2017) and the within-class
    variability, relative to the spread of the class means, falls until it collapses at the last
    layer (Papyan, Han & Donoho, "Prevalence of neural collapse during the terminal phase of deep
    learning training", PNAS 2020: NC1).
(b) The modulus (phase collapse) separates the class means, whereas a soft-thresholding
    concentrates additive within-class variability but does not separate the means (Zarka, Guth &
    Mallat, "Separation and concentration in deep networks", ICLR 2021; Guth, Zarka & Mallat,
    "Phase collapse in neural networks", ICLR 2022: iterated phase collapses progressively
    improve the separation of classes, as opposed to thresholdings).
(c) An invertible network, which loses no information on its input, still separates the classes
    progressively (Jacobsen, Smeulders & Oyallon, "i-RevNet: deep invertible networks", ICLR 2018).

Protocol
--------
Data: class-balanced training and validation subsets of Fashion-MNIST
(:func:`scatlab.learning.splits.train_validation_test`) and its first ``n_test`` test images.
Five representations, each a sequence of layers, layer 0 being the pixels for all of them:

- ``cnn``: :class:`~scatlab.networks.plain.PlainCNN` (3x3 convolutions and ReLUs, no bias, no
  normalization, no skip connection; ``cnn_widths``): layer k is the output of the k-th ReLU;
- ``phase-collapse`` / ``soft-threshold``: :class:`~scatlab.networks.phase_collapse.PhaseCollapseNet`
  with the modulus or the complex soft-thresholding (``collapse_widths``): layer k is the output of
  block k (fixed wavelet filtering, nonlinearity, learned 1x1 matrix, normalization);
- ``irevnet-injective``: :class:`~scatlab.networks.irevnet.IRevNet` (``irevnet_stages``): layer k
  the output of coupling block k, from which the image is recovered exactly;
- ``scattering``: a fixed cascade, the :class:`~scatlab.nn.Scattering2D` coefficients (orders 0, 1,
  2, L orientations) at the scales J of ``scattering_J``, one per layer (not trained).

The four networks are trained by :func:`scatlab.learning.training.train` (SGD, cosine schedule,
checkpoints under ``out_dir/checkpoints``), each learning rate of ``lr_grid`` in turn; the one of
best validation accuracy is kept (a Selection) and the test set is scored once. On every layer of
every representation (:mod:`scatlab.theory.separation`; layer outputs recorded by
:func:`scatlab.theory.activations.layer_activations`):

- linear probe: logistic regression on standardized features, fitted on ``n_probe`` class-balanced
  training images, its C chosen from ``probe_Cs`` on the validation images (a Selection per model
  and layer), scored on the test images;
- on the test images: nearest-class-mean accuracy (means of the ``n_probe`` training images), NC1
  :math:`= \mathrm{tr}(\Sigma_W\Sigma_B^+)/K`, the ratio :math:`\mathrm{tr}\,\Sigma_W/\mathrm{tr}\,\Sigma_B`,
  the class-mean separation :math:`\|\mu_k - \mu_l\| / \sqrt{(\mathrm{tr}\,\Sigma_k + \mathrm{tr}\,\Sigma_l)/2}`
  (smallest and mean over pairs), and the effective dimensions (participation ratios) of the
  within-class and of the total covariance; NC1 also on the probe's training images (where Papyan
  et al. measure it; reported, not judged);
- for the i-RevNet: the largest relative error :math:`\|\Phi_k^{-1}(\Phi_k(x)) - x\|/\|x\|` of the
  reconstruction from each layer k, in float32, on ``n_inverse`` test images.

Verdict criteria (tolerances fixed in advance, not fitted):

(a) on the trained ``cnn``, with the probe test accuracies :math:`a_0 \dots a_L` and the NC1 values
    :math:`c_0 \dots c_L` of layers 0 (pixels) to L: the accuracy improves if
    :math:`a_{k+1} \ge a_k - t` for every k and :math:`a_L - a_0 > t`, with t two binomial
    standard errors of a difference of accuracies on the test set,
    :math:`t = 2\sqrt{2p(1-p)/n_\mathrm{test}}`, p = :math:`a_L`; NC1 improves if
    :math:`c_{k+1} \le c_k (1 + \tau)` for every k and :math:`c_L < c_0 (1 - \tau)`, τ =
    ``nc1_tolerance``. Holds if both improve; partially if one does, or if both improve from
    first to last layer without being monotone; does not hold otherwise.
(b) with the mean class-mean separation :math:`s_k`, and the within-class share of the variance
    :math:`w_k = \mathrm{tr}\,\Sigma_W / \mathrm{tr}\,\Sigma_T` (concentration, read on the
    soft-threshold network): (i) phase collapse separates the means progressively: Spearman
    :math:`\rho(k, s_k) \ge` 0.8 over its layers and :math:`s_L > s_0 (1 + \tau)`; (ii) it separates
    them more than the soft-thresholding: its last-layer :math:`s_L` exceeds the soft-threshold
    network's by more than the same relative margin, :math:`s_L > s_L^\mathrm{st}(1 + \tau)`, τ =
    ``nc1_tolerance`` = 0.1 (both start from the same pixels, so this compares their growth factors;
    a smaller difference is not counted as "more"); (iii) the
    soft-thresholding concentrates: its :math:`w_L < w_0`. Holds if (i), (ii) and (iii); partially
    if (i) and one of (ii), (iii); does not hold otherwise. On a layer normalized to unit scale,
    mean separation and concentration are two readings of one ratio (the mean of
    :math:`\|\mu_k - \mu_l\|^2` over pairs is :math:`2K/(K-1)\,\mathrm{tr}\,\Sigma_B`): (ii) compares
    how far each trained network moves the means apart relative to the spread it leaves, which is
    what the claim contrasts; both networks are trained, so both separate to some degree.
(c) on the i-RevNet: the probe accuracy rises (:math:`a_L - a_0 > t`) with Spearman
    :math:`\rho(k, a_k) \ge` 0.8, and the image is recovered from every layer with a relative error
    <= 1e-5 (float32). Holds if both; partially if it is invertible and the accuracy rises without
    the rank correlation; does not hold otherwise.

A claim whose network did not learn (validation accuracy, at the learning rate kept, less than 10
points above chance: decided on held-out training images, never on the test set), is not in
``models``, or has non-finite activations on some layer (its measures are then undefined, NaN) is
"not tested"; so is (b) when the soft-threshold network's within-class share is 0 / 0 on a layer
(a layer constant on the test images: the share is reported as undefined, and left out of the
metrics like every non-finite measure).

The probes and the class means are fitted on training images the networks were trained on (as in
Alain & Bengio's probes); every measure that is judged is computed on the test images.

Times measured on this 2-core machine shared with other jobs (load average 10-12), one thread:
quick 116 s of wall time (43 s of CPU: 8 trainings of 1,000 images x 3 epochs, then 20 layers
measured); full about 33 minutes of wall time at load average 9-10: 18 minutes of training (8
networks on 5,000 images x 8 epochs) and 15 minutes of measures (22 layers, probes on 2,000 images,
test measures on 2,000).
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from ..errors import InvalidParameterError
from ..learning.splits import train_validation_test
from ..learning.training import TrainSettings, evaluate, train
from ..networks.irevnet import IRevNet
from ..networks.phase_collapse import PhaseCollapseNet
from ..networks.plain import PlainCNN
from ..nn import Scattering2D
from ..runtime import Progress, default_device, seed_everything
from ..theory import separation as sep
from ..theory.activations import layer_activations
from ._contract import CHECKPOINTS, Result, Selection, Verdict
from ._figures import save_png

__all__ = ["Config", "MODELS", "MEASURES", "run"]

MODELS = ("cnn", "phase-collapse", "soft-threshold", "irevnet-injective", "scattering")
TRAINED = ("cnn", "phase-collapse", "soft-threshold", "irevnet-injective")
MEASURES = {  # key: (label, log scale in the figure)
    "probe": ("linear probe test accuracy (%)", False),
    "ncm": ("nearest class mean test accuracy (%)", False),
    "nc1": ("NC1 = tr(Σ_W Σ_B⁺) / K", True),
    "ratio": ("tr Σ_W / tr Σ_B", True),
    "separation_mean": ("class-mean separation, mean over pairs", False),
    "separation_min": ("class-mean separation, hardest pair", False),
    "dimension_within": ("effective dimension of Σ_W", True),
    "dimension_total": ("effective dimension of Σ_T", True),
}
SPEARMAN = 0.8  # smallest rank correlation between depth and a measure for "progressively"
LEARNED = 10.0  # points above chance below which a network did not learn (its claim is not tested)
INVERSE_BOUND = 1e-5  # largest relative reconstruction error (float32) of an exact inverse
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the separability experiment; the defaults are the full run."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    n_train: int = 5000  # class-balanced training images of the networks
    n_validation: int = 1000  # class-balanced held-out training images: learning rates, probe penalties
    n_test: int = 2000  # first test images: every measure, scored once
    n_probe: int = 2000  # class-balanced training images (of the n_train) fitting the probes and the class means
    models: tuple[str, ...] = MODELS  # representations measured (names of MODELS)
    layers: tuple[int, ...] = ()  # layer indices measured in every representation (0: pixels); () = all
    cnn_widths: tuple[int, ...] = (16, 32, 64, 128)  # PlainCNN channels (the first at stride 1, then stride 2)
    collapse_widths: tuple[int, ...] = (32, 64, 128)  # phase-collapse / soft-threshold widths (maps 14, 7, 4)
    L: int = 8  # orientations of the phase-collapse filters and of the scattering
    irevnet_stages: tuple[int, ...] = (2, 2)  # i-RevNet coupling blocks per stage (28 x 28 allows two stages)
    irevnet_width: int = 16  # channels inside the i-RevNet's residual functions (first stage)
    scattering_J: tuple[int, ...] = (1, 2, 3)  # scales of the scattering layers, one layer each
    epochs: int = 8  # training epochs of every network (a fixed budget, the same for all)
    batch_size: int = 128  # SGD batch size
    lr_grid: tuple[tuple[str, tuple[float, ...]], ...] = (  # learning rates tried per network (validation accuracy)
        ("cnn", (0.1, 0.03)), ("phase-collapse", (0.01, 0.005)), ("soft-threshold", (0.01, 0.005)),
        ("irevnet-injective", (0.1, 0.03)))
    weight_decay: float = 5e-4  # L2 penalty of the training
    probe_Cs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)  # inverse penalties of the probe (validation)
    probe_max_iter: int = 300  # lbfgs iterations per probe fit
    n_inverse: int = 500  # test images reconstructed from every i-RevNet layer
    nc1_tolerance: float = 0.1  # relative rise of NC1 (or fall of separation) between layers still not a reversal
    seed: int = 0  # seed of the split, of the weights and of the sample order

    @classmethod
    def quick(cls) -> Config:
        """1,000 training images, 3 epochs, narrower networks, two learning rates each, probes on 500 images."""
        return cls(n_train=1000, n_validation=500, n_test=1000, n_probe=500, cnn_widths=(8, 16, 32, 64),
                   collapse_widths=(16, 32, 64), irevnet_stages=(1, 1), epochs=3, batch_size=50,
                   lr_grid=(("cnn", (0.1, 0.03)), ("phase-collapse", (0.01, 0.003)),
                            ("soft-threshold", (0.01, 0.003)), ("irevnet-injective", (0.1, 0.03))),
                   probe_Cs=(1.0, 10.0, 100.0, 1000.0), probe_max_iter=200, n_inverse=200)


# ------------------------------------------------------------------------------------- checks


def _positive_ints(cfg: Config, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(f"The '{name}' parameter of separability.Config must be an int >= 1; got"
                                        f" {value!r}.")


def _check(cfg: Config) -> None:
    _positive_ints(cfg, "n_train", "n_validation", "n_test", "n_probe", "L", "irevnet_width", "epochs", "batch_size",
                   "probe_max_iter", "n_inverse")
    if not cfg.models or any(m not in MODELS for m in cfg.models) or len(set(cfg.models)) != len(cfg.models):
        raise InvalidParameterError(f"The 'models' parameter of separability.Config must be a non-empty tuple of"
                                    f" distinct names of {MODELS}; got {cfg.models}.")
    if cfg.n_probe > cfg.n_train:
        raise InvalidParameterError(f"The 'n_probe' parameter of separability.Config ({cfg.n_probe}) must be at most"
                                    f" n_train ({cfg.n_train}): the probes are fitted on training images.")
    for name in ("cnn_widths", "collapse_widths", "irevnet_stages", "scattering_J"):
        values = getattr(cfg, name)
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise InvalidParameterError(f"The '{name}' parameter of separability.Config must be a non-empty tuple of"
                                        f" ints >= 1; got {values}.")
    grid = dict(cfg.lr_grid)
    for model in (m for m in cfg.models if m in TRAINED):
        if not grid.get(model) or any(not lr > 0 for lr in grid[model]):
            raise InvalidParameterError(f"The 'lr_grid' parameter of separability.Config needs positive learning rates"
                                        f" for {model!r}; got {cfg.lr_grid}.")
    if not cfg.probe_Cs or any(not c > 0 for c in cfg.probe_Cs):
        raise InvalidParameterError(f"The 'probe_Cs' parameter of separability.Config must be a non-empty tuple of"
                                    f" positive numbers; got {cfg.probe_Cs}.")
    if not cfg.nc1_tolerance >= 0:
        raise InvalidParameterError(f"The 'nc1_tolerance' parameter of separability.Config must be >= 0; got"
                                    f" {cfg.nc1_tolerance}.")
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in cfg.layers) or \
            len(set(cfg.layers)) != len(cfg.layers) or len(cfg.layers) == 1:
        raise InvalidParameterError(f"The 'layers' parameter of separability.Config must be () (all layers) or at"
                                    f" least 2 distinct layer indices >= 0 (0: the pixels); got {cfg.layers}.")


def _check_data(cfg: Config, data: dict, depths: dict[str, int]) -> None:
    """Per-class sample counts and layer indices, once the data and the architectures are known."""
    classes = len(torch.unique(data["y_train"]))
    per_class = torch.bincount(data["y_test"], minlength=classes)
    if int(per_class.min()) < sep.MIN_PER_CLASS:
        raise InvalidParameterError(
            f"The 'n_test' parameter of separability.Config ({cfg.n_test}) gives too few test images per class: class"
            f" {int(per_class.argmin())} has {int(per_class.min())}, at least {sep.MIN_PER_CLASS} are needed for the"
            " within-class covariances; use more test images.")
    if cfg.n_probe % classes or cfg.n_probe // classes < sep.MIN_PER_CLASS:
        raise InvalidParameterError(f"The 'n_probe' parameter of separability.Config ({cfg.n_probe}) must be a"
                                    f" multiple of the {classes} classes with at least {sep.MIN_PER_CLASS} images"
                                    " per class.")
    if cfg.layers:
        shallowest = min(depths, key=depths.get)
        if max(cfg.layers) > depths[shallowest]:
            raise InvalidParameterError(
                f"The 'layers' parameter of separability.Config asks for layer {max(cfg.layers)}, which does not exist"
                f" in '{shallowest}' (layers 0 to {depths[shallowest]}; 0 is the pixels). The depths are "
                + ", ".join(f"{m} {d}" for m, d in depths.items()) + ".")


# ---------------------------------------------------------------------------------- networks


def _builders(cfg: Config, shape: tuple[int, int], channels: int, classes: int) -> dict:
    builders = {
        "cnn": lambda: PlainCNN(channels, classes, shape, widths=cfg.cnn_widths),
        "phase-collapse": lambda: PhaseCollapseNet(shape, classes, in_channels=channels, widths=cfg.collapse_widths,
                                                   L=cfg.L, nonlinearity="modulus"),
        "soft-threshold": lambda: PhaseCollapseNet(shape, classes, in_channels=channels, widths=cfg.collapse_widths,
                                                   L=cfg.L, nonlinearity="soft-threshold"),
        "irevnet-injective": lambda: IRevNet(shape, classes, in_channels=channels, variant="injective",
                                             stages=cfg.irevnet_stages, width=cfg.irevnet_width),
    }
    return {m: builders[m] for m in cfg.models if m in builders}


def _layer_modules(name: str, model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs are layers 1 ... L of a trained network."""
    if name == "cnn":
        return [m for m in model.features if isinstance(m, nn.ReLU)]
    return list(model.blocks)  # PhaseCollapseNet blocks, IRevNet coupling blocks


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _train_all(cfg: Config, data: dict, builders: dict, out_dir: Path, progress: Progress, selections: list) -> dict:
    """Every (network, lr) trained on the training split; the lr of best validation accuracy kept, scored on test."""
    device = default_device()
    grid = dict(cfg.lr_grid)
    identity = {"experiment": "separability", "n_train": cfg.n_train, "n_validation": cfg.n_validation,
                "cnn_widths": list(cfg.cnn_widths), "collapse_widths": list(cfg.collapse_widths), "L": cfg.L,
                "irevnet_stages": list(cfg.irevnet_stages), "irevnet_width": cfg.irevnet_width,
                "data": Path(cfg.data_dir).name, "images": list(data["x_train"].shape[1:])}
    out = {}
    for name, build in builders.items():
        trained, scores = {}, []
        for lr in progress(grid[name], desc=f"{name}: learning rates", total=len(grid[name])):
            seed_everything(cfg.seed)
            model = build()
            train(model, data["x_train"], data["y_train"],
                  TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr, weight_decay=cfg.weight_decay,
                                seed=cfg.seed),
                  checkpoint=out_dir / CHECKPOINTS / f"{name}_lr{lr:g}.pt", resume=True,
                  identity={**identity, "model": name}, progress=progress, device=device)
            trained[lr] = model.eval()
            scores.append(evaluate(model, data["x_validation"], data["y_validation"]))
        best = int(np.argmax(scores))
        lr = grid[name][best]
        selections.append(Selection(f"learning rate of {name}", list(grid[name]), [round(s, 2) for s in scores], lr,
                                    f"validation accuracy (%), {cfg.n_validation} held-out training images, after"
                                    f" {cfg.epochs} epochs, max"))
        out[name] = {"model": trained[lr], "lr": lr, "validation": scores,
                     "test": evaluate(trained[lr], data["x_test"], data["y_test"]),
                     "parameters": _count(trained[lr])}
    return out


# ------------------------------------------------------------------------------------ layers


def _balanced_subset(y: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the first n / K images of each class (in data order)."""
    classes = torch.unique(y)
    k = n // len(classes)
    return torch.sort(torch.cat([torch.nonzero(y == c).flatten()[:k] for c in classes])).values


@torch.no_grad()
def _scattering_layer(x: torch.Tensor, J: int, L: int, batch: int = 500) -> torch.Tensor:
    S = Scattering2D(tuple(x.shape[-2:]), J=J, L=L)
    return torch.cat([S(x[s:s + batch]).flatten(1).float() for s in range(0, len(x), batch)])


def _layer_features(name: str, model: nn.Module | None, cfg: Config, x: torch.Tensor, layer: int) -> torch.Tensor:
    """The (n, features) representation of x at ``layer`` (0: the pixels)."""
    if layer == 0:
        return x.flatten(1)
    if name == "scattering":
        return _scattering_layer(x, cfg.scattering_J[layer - 1], cfg.L)
    return layer_activations(model, x, [_layer_modules(name, model)[layer - 1]], batch_size=500)[0]


def _measure(name: str, model, cfg: Config, splits: dict, layer: int) -> dict:
    """Every measure of one layer (module docstring) and the probe's choice of C."""
    h = {s: _layer_features(name, model, cfg, x, layer).double().numpy() for s, (x, _) in splits.items()}
    y = {s: labels.numpy() for s, (_, labels) in splits.items()}
    return _layer_measures(cfg, h, y)


def _undefined(features: int) -> dict:
    """The record of a layer whose activations are not finite: every measure undefined (NaN), no probe choice."""
    return {"features": features, "finite": False, "probe_scores": [],
            **{m: math.nan for m in (*MEASURES, "probe_validation", "probe_C", "nc1_train", "within_share")}}


def _layer_measures(cfg: Config, h: dict, y: dict) -> dict:
    """The measures of one layer from its features ``h`` and labels ``y`` on the splits probe, validation and test.

    A layer with a NaN or infinite activation has every measure undefined (NaN, ``finite`` False); a measure
    that is 0 / 0 on a finite layer (the within-class share of a layer constant on the test images) is NaN."""
    if not all(np.all(np.isfinite(v)) for v in h.values()):
        return _undefined(h["test"].shape[1])
    probe = sep.linear_probe(h["probe"], y["probe"], h["validation"], y["validation"], h["test"], y["test"],
                             Cs=cfg.probe_Cs, max_iter=cfg.probe_max_iter)
    stats = sep.class_statistics(h["test"], y["test"])
    separation = sep.class_mean_separation(h["test"], y["test"])
    return {
        "features": h["test"].shape[1],
        "probe": probe.test_accuracy, "probe_validation": probe.validation_accuracy, "probe_C": probe.C,
        "probe_scores": probe.scores,
        "ncm": sep.nearest_class_mean_accuracy(h["probe"], y["probe"], h["test"], y["test"]),
        "nc1": sep.nc1(h["test"], y["test"]),
        "nc1_train": sep.nc1(h["probe"], y["probe"]),
        "ratio": stats.within_trace / stats.between_trace if stats.between_trace > 0 else math.inf,
        "within_share": _share(stats.within_trace, stats.within_trace + stats.between_trace), "finite": True,
        "separation_mean": separation.mean, "separation_min": separation.min,
        "dimension_within": sep.effective_dimension(h["test"], y["test"], covariance="within"),
        "dimension_total": sep.effective_dimension(h["test"], covariance="total"),
    }


def _share(part: float, total: float) -> float:
    """part / total, NaN (undefined) when the total variance is 0 (a layer constant on the images)."""
    return part / total if total > 0 else math.nan


@torch.no_grad()
def _reconstruction_errors(net: IRevNet, x: torch.Tensor, layers: list[int]) -> list[float]:
    """Largest relative error of the float32 reconstruction of x from each layer (0: the embedded pixels)."""
    zs = net.layers(x)
    norm = x.flatten(1).norm(dim=1).clamp_min(torch.finfo(x.dtype).tiny)
    return [float(((net.inverse(zs[k], layer=k) - x).flatten(1).norm(dim=1) / norm).max()) for k in layers]


# ------------------------------------------------------------------------------------- run


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Train the networks, measure every layer of every representation, judge the claims, draw the figures."""
    _check(cfg)
    out_dir = Path(out_dir)
    data = train_validation_test(cfg.data_dir, cfg.n_train, cfg.n_validation, cfg.n_test, cfg.seed)
    shape, channels = tuple(data["x_train"].shape[-2:]), int(data["x_train"].shape[1])
    classes = int(max(data["y_train"].max(), data["y_test"].max())) + 1
    factor = 2 ** len(cfg.irevnet_stages)  # one initial downsampling, then one per stage after the first
    if "irevnet-injective" in cfg.models and (shape[0] % factor or shape[1] % factor):
        raise InvalidParameterError(f"The 'irevnet_stages' parameter of separability.Config has"
                                    f" {len(cfg.irevnet_stages)} stages: the image size {shape} must be divisible by"
                                    f" {factor}; use fewer stages.")
    builders = _builders(cfg, shape, channels, classes)
    depths = {m: len(_layer_modules(m, b())) for m, b in builders.items()}
    if "scattering" in cfg.models:
        if 2 ** max(cfg.scattering_J) > min(shape):
            raise InvalidParameterError(f"The 'scattering_J' parameter of separability.Config holds J ="
                                        f" {max(cfg.scattering_J)}: 2**J must be at most the image size {min(shape)}.")
        depths["scattering"] = len(cfg.scattering_J)
    _check_data(cfg, data, depths)
    selections: list[Selection] = []
    runs = _train_all(cfg, data, builders, out_dir, progress, selections)
    probe_index = _balanced_subset(data["y_train"], cfg.n_probe)
    splits = {"probe": (data["x_train"][probe_index], data["y_train"][probe_index]),
              "validation": (data["x_validation"], data["y_validation"]), "test": (data["x_test"], data["y_test"])}
    measures, inversion = {}, {}
    for name in cfg.models:
        model = runs[name]["model"] if name in runs else None
        layers = list(cfg.layers) if cfg.layers else list(range(depths[name] + 1))
        measures[name] = {}
        for k in progress(layers, desc=f"{name}: layers", total=len(layers)):
            measures[name][k] = _measure(name, model, cfg, splits, k)
            m = measures[name][k]
            if not m["finite"]:  # no probe was fitted: no choice of C to record
                continue
            selections.append(Selection(f"C of the linear probe, {name}, layer {k}", list(map(float, cfg.probe_Cs)),
                                        [round(s, 2) for s in m["probe_scores"]], m["probe_C"],
                                        f"validation accuracy (%), {cfg.n_validation} held-out training images, max"
                                        f" (probe fitted on {cfg.n_probe} training images)"))
        if name == "irevnet-injective":
            inversion = dict(zip(layers, _reconstruction_errors(model, data["x_test"][:cfg.n_inverse], layers)))
    chance = 100 / classes
    return Result(metrics=_metrics(runs, measures, inversion), tables=_tables(cfg, runs, measures, inversion),
                  figures=[_plot_measures(measures, out_dir), _plot_training(cfg, runs, out_dir)],
                  notes=_notes(cfg, runs, measures, depths),
                  verdicts=_verdicts(cfg, runs, measures, inversion, chance), selections=selections)


# ------------------------------------------------------------------------------------ verdicts


def _key(name: str) -> str:
    return name.replace("-", "_")


def _series(measures: dict, name: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
    layers = sorted(measures[name])
    return np.array(layers), np.array([measures[name][k][measure] for k in layers], dtype=float)


def _rho(layers: np.ndarray, values: np.ndarray) -> float:
    return float(spearmanr(layers, values).statistic) if np.ptp(values) > 0 else 0.0


def _accuracy_tolerance(last: float, n: int) -> float:
    """Two binomial standard errors of a difference of two accuracies (%) near ``last`` on n images."""
    p = min(max(last / 100, 0.01), 0.99)
    return 200 * math.sqrt(2 * p * (1 - p) / n)


def _learned(runs: dict, name: str, chance: float) -> bool:
    """Whether a network learned: its validation accuracy (the learning rate kept) is LEARNED points above chance.
    Decided on the held-out training images, never on the test set."""
    return name in runs and max(runs[name]["validation"]) >= chance + LEARNED


def _tested(runs: dict, measures: dict, name: str, chance: float) -> str:
    """'' if the claim on network ``name`` can be judged, else the reason it is not tested."""
    if name not in runs:
        return f"{name} is not in the run's models"
    if not _learned(runs, name, chance):
        return (f"{name} did not learn (validation accuracy {max(runs[name]['validation']):.1f} % < chance"
                f" + {LEARNED:g} = {chance + LEARNED:g} %)")
    undefined = [k for k, m in measures.get(name, {}).items() if not m["finite"]]
    if undefined:
        return f"{name} has non-finite activations at layer(s) {_fmt(undefined)}: its measures are undefined"
    return ""


def _fmt(values) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


def _verdicts(cfg: Config, runs: dict, measures: dict, inversion: dict, chance: float) -> list[Verdict]:
    verdicts = []
    claim_a = ("Trained CNNs make the classes progressively more linearly separable and more concentrated, layer after"
               " layer: the linear-probe accuracy rises and the within-class variability NC1 falls with depth (Oyallon,"
               " CVPR 2017; Papyan, Han & Donoho, PNAS 2020)")
    reason = _tested(runs, measures, "cnn", chance)
    if reason:
        verdicts.append(Verdict(claim_a, "not tested", f"{reason}."))
    else:
        layers, acc = _series(measures, "cnn", "probe")
        _, nc = _series(measures, "cnn", "nc1")
        t, tau = _accuracy_tolerance(acc[-1], cfg.n_test), cfg.nc1_tolerance
        acc_monotone = bool(np.all(np.diff(acc) >= -t))
        acc_rises = acc[-1] - acc[0] > t
        nc_monotone = bool(np.all(nc[1:] <= nc[:-1] * (1 + tau)))
        nc_falls = nc[-1] < nc[0] * (1 - tau)
        good = [acc_monotone and acc_rises, nc_monotone and nc_falls]
        verdict = ("holds" if all(good) else "partially" if any(good) or (acc_rises and nc_falls) else
                   "does not hold")
        verdicts.append(Verdict(
            claim_a, verdict,
            f"PlainCNN (test accuracy {runs['cnn']['test']:.1f} %), layers {_fmt(layers)} (0: pixels): probe test"
            f" accuracy {_fmt(acc)} %; NC1 {_fmt(nc)}. Accuracy: every step >= -t and last - first > t, t = 2 binomial"
            f" SE of a difference on {cfg.n_test} test images = {t:.2f} points -> monotone {acc_monotone}, rises"
            f" {acc_rises}; NC1: every step <= x(1 + {tau:g}) and last < first x (1 - {tau:g}) -> monotone"
            f" {nc_monotone}, falls {nc_falls}. Holds if both measures improve monotonically, partially if one does"
            " or both improve from first to last layer only.",
            "Papyan et al. (PNAS 2020, Fig. 6): NC1 of the last layer falls by orders of magnitude during training;"
            " Oyallon (2017): linear accuracy rises layer after layer"))
    claim_b = ("The modulus (phase collapse) separates the class means layer after layer; a soft-thresholding"
               " concentrates the within-class variability but does not separate the means as much (Zarka, Guth &"
               " Mallat, ICLR 2021; Guth, Zarka & Mallat, ICLR 2022)")
    reason = "; ".join(r for r in (_tested(runs, measures, m, chance) for m in ("phase-collapse", "soft-threshold"))
                       if r)
    layers_st, w_st = _series(measures, "soft-threshold", "within_share") if not reason else (None, None)
    if not reason and not np.all(np.isfinite(w_st)):
        reason = (f"the within-class share of the soft-threshold network is undefined (0 / 0, a layer constant on the"
                  f" test images) at layer(s) {_fmt(layers_st[~np.isfinite(w_st)])}")
    if reason:
        verdicts.append(Verdict(claim_b, "not tested", f"{reason}."))
    else:
        layers, s_pc = _series(measures, "phase-collapse", "separation_mean")
        _, s_st = _series(measures, "soft-threshold", "separation_mean")
        _, hard_pc = _series(measures, "phase-collapse", "separation_min")
        _, hard_st = _series(measures, "soft-threshold", "separation_min")
        rho = _rho(layers, s_pc)
        separates = rho >= SPEARMAN and s_pc[-1] > s_pc[0] * (1 + cfg.nc1_tolerance)
        more = s_pc[-1] > s_st[-1] * (1 + cfg.nc1_tolerance)
        concentrates = w_st[-1] < w_st[0]
        verdict = ("holds" if separates and more and concentrates else
                   "partially" if separates and (more or concentrates) else "does not hold")
        verdicts.append(Verdict(
            claim_b, verdict,
            f"mean class-mean separation by layer ({_fmt(layers)}; 0: pixels): phase collapse {_fmt(s_pc)} (Spearman"
            f" rho {rho:.2f}, growth x{s_pc[-1] / s_pc[0]:.2f}), soft-threshold {_fmt(s_st)} (growth"
            f" x{s_st[-1] / s_st[0]:.2f}); hardest pair (reported, not judged): phase collapse {_fmt(hard_pc)},"
            f" soft-threshold {_fmt(hard_st)}; soft-threshold within-class share tr Σ_W / tr Σ_T {_fmt(w_st)}."
            f" (i) phase collapse separates progressively (rho >= {SPEARMAN}, last > first x (1 +"
            f" {cfg.nc1_tolerance:g})): {separates}; (ii) more than the soft-thresholding (last layer, by more than"
            f" a factor 1 + {cfg.nc1_tolerance:g}): {more}; (iii)"
            f" the soft-thresholding concentrates (within-class share falls): {concentrates}. Holds if all three,"
            " partially if (i) and one other. Test accuracies: phase collapse"
            f" {runs['phase-collapse']['test']:.1f} %, soft-threshold {runs['soft-threshold']['test']:.1f} %.",
            "Guth, Zarka & Mallat (ICLR 2022, CIFAR-10): the phase-collapse network reaches ResNet accuracy, the"
            " soft-thresholding one loses many points"))
    claim_c = ("An invertible network (i-RevNet) separates the classes progressively while losing no information on"
               " its input (Jacobsen, Smeulders & Oyallon, ICLR 2018)")
    reason = _tested(runs, measures, "irevnet-injective", chance)
    if reason:
        verdicts.append(Verdict(claim_c, "not tested", f"{reason}."))
    else:
        layers, acc = _series(measures, "irevnet-injective", "probe")
        t = _accuracy_tolerance(acc[-1], cfg.n_test)
        rho = _rho(layers, acc)
        rises = acc[-1] - acc[0] > t
        worst = max(inversion.values())
        lossless = worst <= INVERSE_BOUND
        verdict = ("holds" if lossless and rises and rho >= SPEARMAN else "partially" if lossless and rises else
                   "does not hold")
        verdicts.append(Verdict(
            claim_c, verdict,
            f"injective i-RevNet (test accuracy {runs['irevnet-injective']['test']:.1f} %): probe test accuracy by"
            f" layer ({_fmt(layers)}) {_fmt(acc)} %, last - first {acc[-1] - acc[0]:+.1f} points (t = {t:.2f}),"
            f" Spearman rho {rho:.2f}; largest relative reconstruction error from any of these layers {worst:.1e}"
            f" (float32, {cfg.n_inverse} test images, bound {INVERSE_BOUND:g}). Holds if invertible, rising by more"
            f" than t and rho >= {SPEARMAN}; partially without the rank correlation.",
            "Jacobsen et al. (ICLR 2018): linear SVM and nearest-neighbour accuracies on ImageNet rise with depth"))
    return verdicts


# ------------------------------------------------------------------------------ outputs


def _metrics(runs: dict, measures: dict, inversion: dict) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, r in runs.items():
        metrics[f"test_accuracy_{_key(name)}"] = float(r["test"])
        metrics[f"lr_{_key(name)}"] = float(r["lr"])
        metrics[f"parameters_{_key(name)}"] = float(r["parameters"])
    for name, per_layer in measures.items():
        for k, m in per_layer.items():
            for measure in (*MEASURES, "nc1_train", "within_share", "probe_C", "features"):
                value = float(m[measure])
                if math.isfinite(value):  # an exactly collapsed layer has an infinite separation: left out
                    metrics[f"{_key(name)}_layer{k}_{measure}"] = value
    for k, error in inversion.items():
        metrics[f"irevnet_injective_layer{k}_reconstruction_error"] = float(error)
    return metrics


def _tables(cfg: Config, runs: dict, measures: dict, inversion: dict) -> list:
    training = (f"Networks ({cfg.n_train} training images, {cfg.epochs} epochs, batch {cfg.batch_size})",
                ["network", "parameters", "learning rate (chosen)", "validation accuracy (%)", "test accuracy (%)"],
                [[m, f"{r['parameters']:,}", f"{r['lr']:g}", f"{max(r['validation']):.2f}", f"{r['test']:.2f}"]
                 for m, r in runs.items()])
    rows = []
    for name, per_layer in measures.items():
        for k, m in per_layer.items():
            rows.append([name, k, m["features"], f"{m['probe']:.1f}", f"{m['probe_C']:g}", f"{m['ncm']:.1f}",
                         f"{m['nc1']:.3g}", f"{m['nc1_train']:.3g}", f"{m['ratio']:.3g}", f"{m['separation_min']:.3g}",
                         f"{m['separation_mean']:.3g}", f"{m['dimension_within']:.1f}", f"{m['dimension_total']:.1f}",
                         f"{inversion[k]:.1e}" if name == "irevnet-injective" and k in inversion else ""])
    layers = (f"Per layer (0: pixels), measured on {cfg.n_test} test images; probes and class means fitted on"
              f" {cfg.n_probe} training images",
              ["representation", "layer", "features", "probe accuracy (%)", "probe C (chosen)", "NCM accuracy (%)",
               "NC1", "NC1 (probe's training images)", "tr Σ_W / tr Σ_B", "separation (hardest pair)",
               "separation (mean)", "eff. dim. Σ_W",
               "eff. dim. Σ_T", "reconstruction error (float32)"], rows)
    return [training, layers]


def _notes(cfg: Config, runs: dict, measures: dict, depths: dict) -> list[str]:
    notes = ["Layer 0 is the pixels for every representation; the networks' layers are the outputs of their ReLUs"
             " (cnn), blocks (phase-collapse, soft-threshold) or coupling blocks (i-RevNet); the scattering layers"
             f" are Scattering2D at J = {', '.join(map(str, cfg.scattering_J))} (orders 0-2, L = {cfg.L})."]
    notes += [f"{m}: test accuracy {r['test']:.1f} % (lr {r['lr']:g}, {r['parameters']:,} parameters)."
              for m, r in runs.items()]
    pixels = next((per_layer[0]["probe"] for per_layer in measures.values() if 0 in per_layer), None)
    if pixels is not None:
        margin = _accuracy_tolerance(pixels, cfg.n_test)
        weak = [m for m, r in runs.items() if r["test"] < pixels + margin]
        if weak:
            notes.append(f"{', '.join(weak)}: test accuracy below, or less than {margin:.1f} points (2 SE) above, the"
                         f" linear probe on the pixels ({pixels:.1f} %): at this budget these networks barely beat a"
                         " linear classifier, and their layers show an early state of training, far from the terminal"
                         " phase where Papyan et al. observe neural collapse.")
    for name, per_layer in measures.items():
        first, last = per_layer[min(per_layer)], per_layer[max(per_layer)]
        notes.append(f"{name}: from pixels to layer {max(per_layer)}, probe {first['probe']:.1f} -> {last['probe']:.1f}"
                     f" %, NC1 {first['nc1']:.3g} -> {last['nc1']:.3g}, mean separation {first['separation_mean']:.3g}"
                     f" -> {last['separation_mean']:.3g}, within-class effective dimension"
                     f" {first['dimension_within']:.1f} -> {last['dimension_within']:.1f}.")
    for name, per_layer in measures.items():
        undefined = {k: [m for m in (*MEASURES, "within_share") if not math.isfinite(float(v[m]))]
                     for k, v in per_layer.items()}
        undefined = {k: v for k, v in undefined.items() if v}
        if undefined:
            notes.append(f"{name}: measures not finite, left out of the metrics (NaN: undefined, from non-finite"
                         " activations or 0 / 0 on a layer constant on the images; infinite: a limit, coinciding class"
                         " means or collapsed classes): "
                         + "; ".join(f"layer {k}: {', '.join(v)}" for k, v in undefined.items()) + ".")
    notes.append("The mean class-mean separation and tr Σ_W / tr Σ_B are two readings of one ratio on layers of"
                 " arbitrary scale (the mean squared distance between means is 2K/(K-1) tr Σ_B); the hardest pair and"
                 " NC1 (which weighs the within-class variance only along the directions of the means) differ.")
    return notes


def _figure(rows: int, cols: int, width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def _plot_measures(measures: dict, out_dir: Path) -> str:
    from matplotlib.ticker import MaxNLocator

    fig, axes = _figure(2, 4, 19, 8)
    for ax, (measure, (label, log)) in zip(axes.flat, MEASURES.items()):
        for color, name in zip(COLORS, measures):
            layers, values = _series(measures, name, measure)
            finite = np.isfinite(values) & ((values > 0) if log else True)
            ax.plot(layers[finite], values[finite], marker="o", color=color, label=name)
            if measure == "nc1":  # Papyan et al. measure it on the training images: dashed
                layers, values = _series(measures, name, "nc1_train")
                finite = np.isfinite(values) & (values > 0)
                ax.plot(layers[finite], values[finite], linestyle="--", marker=".", color=color, alpha=0.6)
        ax.set(xlabel="layer (0: pixels)", title=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Separation and concentration of the classes across depth (test images; NC1 dashed: the probe's"
                 " training images)", fontsize=12)
    return save_png(fig, out_dir, "separability.png")


def _plot_training(cfg: Config, runs: dict, out_dir: Path) -> str:
    fig, axes = _figure(1, 2, 11, 4)
    if not runs:
        axes[0, 0].text(0.5, 0.5, "no trained network in this run", ha="center")
    grid = dict(cfg.lr_grid)
    for name, r in runs.items():
        axes[0, 0].plot(grid[name], r["validation"], marker="o", label=name)
    axes[0, 0].set(xscale="log", xlabel="initial learning rate", ylabel="validation accuracy (%)",
                   title=f"Learning rates chosen on {cfg.n_validation} validation images")
    if runs:
        axes[0, 0].legend(fontsize=8)
    names = list(runs)
    axes[0, 1].bar(range(len(names)), [runs[m]["test"] for m in names])
    axes[0, 1].set_xticks(range(len(names)), names, fontsize=8)
    for i, m in enumerate(names):
        axes[0, 1].text(i, runs[m]["test"] + 0.5, f"{runs[m]['test']:.1f}", ha="center", fontsize=9)
    axes[0, 1].set(ylabel="test accuracy (%)", ylim=(0, 100), title=f"Test accuracy ({cfg.n_test} images)")
    return save_png(fig, out_dir, "training.png")
