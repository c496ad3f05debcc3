r"""Experiment ``rainbow``: what trained weights hold, across seeds and widths.

Claims (Guth, Ménard, Rochette & Mallat, "A rainbow in deep network black boxes", arXiv:2305.18512,
2023), for a network :math:`\varphi_j = \rho W_j \varphi_{j-1}` trained from random initializations:

(1) two networks trained from different seeds compute the same representation up to an orthogonal
    alignment :math:`A_j = UV^T` (SVD of the cross-covariance :math:`E[\varphi'_j(x)\varphi_j(x)^T]`),
    and :math:`A_j\varphi_j \to \varphi'_j` in mean square as the width grows;
(2) after alignment of their inputs, the weights of a layer look like i.i.d. samples of a Gaussian
    :math:`N(0, C_j)` whose covariance is "colored" and of low rank, and nearly the same for
    different seeds;
(3) networks resampled from those covariances (layer by layer, each sampled layer aligned to the
    reference network's before the next is drawn, last layer refitted) reach accuracies close to
    the trained ones' as the width grows.

Protocol. A small CNN (:class:`SmallCNN`: a 5x5 conv, then 3x3 convs, no bias, He-normal
initialization, ReLU, 2x2 average pooling after every conv but the last, average pooling to 2x2
positions, linear classifier) with ``base_channels`` x m channels per layer for every width
multiplier m of ``widths`` is trained from ``seeds`` seeds (initialization and sample order) on a
class-balanced Fashion-MNIST subset (:func:`scatlab.learning.splits.train_validation_test`,
images standardized by the training mean and standard deviation) by
:func:`scatlab.learning.training.train` (SGD, cosine schedule, checkpoints, resumable). The
(learning rate, weight decay) pair of ``lrs`` x ``weight_decays`` with the best validation accuracy
at the width closest to x1 (seed 0) is used for every width and seed. With
:mod:`scatlab.theory.alignment`, per conv layer j (:math:`\varphi_j`: its output after ReLU and
pooling, the channel vector at each position a sample):

- alignments between every pair of seeds fitted on ``n_align`` training images; their error on the
  first ``n_align`` test images, scale-free (both representations scaled to the same mean square
  norm: a ReLU network without normalization can move a global scale between layers, which no
  orthogonal A absorbs), so 0 is a perfect alignment and 2 that of uncorrelated representations;
  the unaligned error (A = I) as a baseline; a power law err ~ width^slope fitted by least
  squares on log error vs log width, one point per width: the mean over the seed pairs of log
  error (the pairs at one width share networks, so they are averaged before the fit rather than
  counted as independent points); the slope's standard error is that of this fit on
  ``len(widths)`` points (undefined with fewer than 3 widths);
- the weight covariance :math:`C_j` of every seed with its inputs aligned to seed 0
  (:math:`W_jA_{j-1}^T`): spectrum, entropy effective rank (against that of the same layer at
  initialization, which has the same shape and number of rows, so the same rank limit), cross-seed
  cosine similarity aligned, unaligned (A = I) and at initialization; the excess kurtosis of the
  rows projected on the top principal directions (0 for Gaussian rows);
- ``draws`` rainbow networks drawn from seed 0's covariances
  (:func:`~scatlab.theory.alignment.resample_network`, alignments fitted on the ``n_align``
  training images), and as many "white" ones (isotropic covariances of the same trace: random
  features); the last layer of every network, trained ones included, refitted by a ridge
  least-squares classifier on the pooled features of the training images, its penalty among
  ``penalties`` chosen on the validation images by the mean accuracy over the networks of a kind.
  Test accuracy is scored once per network, for the chosen penalty.

Verdicts (criteria stated before the full run; the comparison of (3) was moved from the end-to-end
accuracy to the refitted one after a first quick run, whose undertrained heads made any network
with a refitted readout look better than the trained ones):

(1) holds if, for every layer of ``layers``, the fitted slope of the aligned error (one point per
    width, above) is negative by more than 2 standard errors; partially if for some layers; does not
    hold otherwise; not tested with fewer than 3 widths (no standard error).
(2) at the largest width, per layer: "low rank" if the entropy effective rank is at most
    ``RANK_RATIO`` = 0.5 times that of the layer at initialization; "same across seeds" if the mean
    aligned cross-seed similarity is >= ``SIMILAR`` = 0.8 and above both the unaligned and the
    initialization similarities. Holds if both for every layer; partially if either for some layer;
    does not hold otherwise. The kurtosis is reported, not judged.
(3) gap = mean test accuracy of the trained networks with a refitted last layer (over seeds) - mean
    of the rainbow networks (over draws). Holds if the gap at the largest width is <= ``GAP_MAX`` = 3
    points and the gap shrinks: the least-squares slope of the gap against log2(width), one point
    per width, is below 0 by more than 2 of its standard errors (with 2-3 draws per width a merely
    negative slope is close to a coin flip; with fewer than 3 widths the standard error is undefined
    and the gap is not counted as shrinking); partially if one of the two; does not hold otherwise.
    The white networks are the random-feature reference.

Measured times on the shared 2-core CPU, one thread, with other jobs running (load average about
10): ``--quick`` (widths x1/4 to x2, 3 seeds, 2,000 training images, 4 epochs) 117-152 s beside
a full run (load 7-10), 50-60 % of it training; the full run (x1/4 to x4, 3 seeds, 10,000 images, 12 epochs, 4
candidate (lr, weight decay) pairs) is dominated by the three x4 networks: the 4 candidates at x1
took 6 minutes, and the whole run about 70 minutes at that load (estimated from its epoch times;
the record holds the measured wall time). Fewer epochs or ``widths`` up to x2 bring it under 30.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from torch import nn

from ..errors import InvalidParameterError
from ..learning.splits import train_validation_test
from ..learning.training import TrainSettings, evaluate, train
from ..runtime import Progress, seed_everything
from ..theory import alignment as al
from ._contract import CHECKPOINTS, Result, Selection, Verdict
from ._figures import figure_row, save_png

__all__ = ["Config", "SmallCNN", "run"]

RANK_RATIO = 0.5  # (2) "low rank": effective rank at most this fraction of the layer's at initialization
SIMILAR = 0.8  # (2) "same covariance across seeds": aligned cosine similarity at least this
GAP_MAX = 3.0  # (3) "close accuracy": trained - resampled test accuracy at most this (points) at the largest width
TOP_DIRECTIONS = 10  # (2) principal directions on which the rows' kurtosis is measured


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the rainbow experiment; the defaults are the full run."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    n_train: int = 10000  # class-balanced training images (training, alignment fits, last-layer refits)
    n_validation: int = 1000  # held-out training images: learning rate, last-layer penalties
    n_test: int = 5000  # first test images: accuracies
    n_align: int = 1000  # training images the alignments are fitted on; as many test images measure their error
    base_channels: tuple[int, ...] = (8, 16, 32)  # channels of the conv layers at width x1 (one entry per layer)
    widths: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)  # width multipliers of every layer
    seeds: int = 3  # networks trained per width (different initializations and sample orders)
    layers: tuple[int, ...] = (1, 2, 3)  # conv layers measured (1-based; the resampling always covers all)
    epochs: int = 12  # training epochs (cosine schedule)
    batch_size: int = 128  # SGD batch size
    lrs: tuple[float, ...] = (0.05, 0.1)  # learning rates tried at the width closest to x1 (validation)
    weight_decays: tuple[float, ...] = (5e-4, 5e-3)  # SGD weight decays tried with every learning rate
    draws: int = 3  # rainbow (and white) networks drawn per width
    penalties: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # ridge penalties of the refitted last layer
    seed: int = 0  # data split; network k of every width has seed 1000 * seed + k

    @classmethod
    def quick(cls) -> Config:
        """Widths x1/4 to x2, 2,000 training images, 4 epochs, 2 draws (under 3 minutes on a busy core)."""
        return cls(n_train=2000, n_validation=500, n_test=1000, n_align=300, widths=(0.25, 0.5, 1.0, 2.0),
                   epochs=4, batch_size=64, lrs=(0.1,), draws=2, penalties=(1e-4, 1e-3, 1e-2))


class SmallCNN(nn.Sequential):
    """Conv(k x k, no bias) -> ReLU -> AvgPool(2) per layer (no pooling after the last), average pooling
    to ``pool`` x ``pool`` positions, Linear. k = 5 for the first layer, 3 after; weights initialized
    :math:`N(0, 2/\\text{fan-in})` (He et al. 2015). ``convs[j]`` is layer j's convolution and
    ``representations[j]`` the module whose output is :math:`\\varphi_j` (after ReLU and pooling);
    ``features`` outputs the pooled vector the classifier ``head`` reads."""

    def __init__(self, channels: tuple[int, ...], in_channels: int = 1, classes: int = 10, pool: int = 2):
        layers: list[nn.Module] = []
        c_in = in_channels
        for j, c in enumerate(channels):
            k = 5 if j == 0 else 3
            conv = nn.Conv2d(c_in, c, k, padding=k // 2, bias=False)
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")  # N(0, 2 / fan_in): white, norm-preserving
            layers += [conv, nn.ReLU(), nn.AvgPool2d(2) if j < len(channels) - 1 else nn.Identity()]
            c_in = c
        layers += [nn.AdaptiveAvgPool2d(pool), nn.Flatten(), nn.Linear(c_in * pool * pool, classes)]
        super().__init__(*layers)
        self.depth = len(channels)

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [self[3 * j] for j in range(self.depth)]

    @property
    def representations(self) -> list[nn.Module]:
        return [self[3 * j + 2] for j in range(self.depth)]

    @property
    def features(self) -> nn.Module:
        return self[-2]

    @property
    def head(self) -> nn.Linear:
        return self[-1]


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Train the networks, measure (1)-(3), write the figures in ``out_dir``."""
    _check(cfg)
    out_dir = Path(out_dir)
    data = train_validation_test(cfg.data_dir, cfg.n_train, cfg.n_validation, cfg.n_test, cfg.seed)
    mean, std = float(data["x_train"].mean()), float(data["x_train"].std())  # standardized by training statistics
    data = {key: (value - mean) / std if key.startswith("x_") else value for key, value in data.items()}
    nets, inits, lr_selection, chosen = _train_all(cfg, data, out_dir / CHECKPOINTS, progress)
    selections = [lr_selection]
    widths = {}
    for m in progress(cfg.widths, desc="alignments, covariances, resampling", total=len(cfg.widths)):
        widths[m] = _measure_width(cfg, data, nets[m], inits[m], m, selections)
    fits = _alignment_fits(cfg, widths)
    metrics = _metrics(cfg, widths, fits, chosen)
    figures = [_plot_alignment(cfg, widths, fits, out_dir), _plot_spectra(cfg, widths, out_dir),
               _plot_covariance_summary(cfg, widths, out_dir), _plot_accuracy(cfg, widths, out_dir),
               _plot_first_layer(cfg, widths, out_dir)]
    return Result(metrics=metrics, tables=_tables(cfg, widths, fits), figures=figures,
                  notes=_notes(cfg, widths, chosen), verdicts=_verdicts(cfg, widths, fits),
                  selections=selections)


def _check(cfg: Config) -> None:
    name = "rainbow Config"
    for field in ("n_train", "n_validation", "n_test", "epochs", "batch_size", "draws"):
        value = getattr(cfg, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(f"The '{field}' field of the {name} must be an int >= 1."
                                        f" Got {value!r} instead.")
    if isinstance(cfg.seeds, bool) or not isinstance(cfg.seeds, int) or cfg.seeds < 2:
        raise InvalidParameterError(f"The 'seeds' field of the {name} must be an int >= 2 (networks are compared"
                                    f" across seeds; 3 or more recommended). Got {cfg.seeds!r} instead.")
    if not cfg.base_channels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in cfg.base_channels):
        raise InvalidParameterError(f"The 'base_channels' field of the {name} must be a non-empty tuple of ints >= 1"
                                    f" (channels of each conv layer at width x1). Got {cfg.base_channels!r} instead.")
    if len(cfg.widths) < 2 or len(set(cfg.widths)) != len(cfg.widths) or any(not m > 0 for m in cfg.widths):
        raise InvalidParameterError(f"The 'widths' field of the {name} must hold at least 2 distinct positive width"
                                    f" multipliers (to fit a rate). Got {cfg.widths!r} instead.")
    for m in cfg.widths:
        small = [c for c in cfg.base_channels if c * m < 1 - 1e-9]
        if small:
            raise InvalidParameterError(f"The 'widths' field of the {name}: multiplier {m!r} leaves fewer than 1"
                                        f" channel in a layer of {min(small)} channels at width x1; use multipliers"
                                        f" >= {1 / min(cfg.base_channels):g}. Got {cfg.widths!r}.")
    depth = len(cfg.base_channels)
    if not cfg.layers or any(isinstance(j, bool) or not isinstance(j, int) or not 1 <= j <= depth
                             for j in cfg.layers):
        raise InvalidParameterError(f"The 'layers' field of the {name} must name conv layers among 1..{depth} (the"
                                    f" network has {depth}, one per base_channels entry). Got {cfg.layers!r} instead.")
    for field in ("lrs", "penalties"):
        values = getattr(cfg, field)
        if not values or any(not v > 0 for v in values):
            raise InvalidParameterError(f"The '{field}' field of the {name} must be a non-empty tuple of positive"
                                        f" numbers. Got {values!r} instead.")
    if not cfg.weight_decays or any(not wd >= 0 for wd in cfg.weight_decays):
        raise InvalidParameterError(f"The 'weight_decays' field of the {name} must be a non-empty tuple of numbers"
                                    f" >= 0. Got {cfg.weight_decays!r} instead.")
    if isinstance(cfg.n_align, bool) or not isinstance(cfg.n_align, int) or not 1 <= cfg.n_align <= min(
            cfg.n_train, cfg.n_test):
        raise InvalidParameterError(f"The 'n_align' field of the {name} must be an int in [1, min(n_train, n_test) ="
                                    f" {min(cfg.n_train, cfg.n_test)}]. Got {cfg.n_align!r} instead.")


def _channels(cfg: Config, m: float) -> tuple[int, ...]:
    return tuple(max(1, int(round(c * m))) for c in cfg.base_channels)


def _network_seed(cfg: Config, k: int) -> int:
    return 1000 * cfg.seed + k


# ------------------------------------------------------------------------------------ training


def _train_all(cfg: Config, data: dict, checkpoints: Path, progress: Progress):
    """Every (width, seed) network at the learning rate chosen on validation for the width closest to x1.
    Returns the trained networks, their weights at initialization, and the Selection of the rate."""
    classes = int(data["y_train"].max()) + 1
    in_channels = int(data["x_train"].shape[1])
    identity = {"experiment": "rainbow", "n_train": cfg.n_train, "n_validation": cfg.n_validation,
                "data": Path(cfg.data_dir).name, "split_seed": cfg.seed, "images": list(data["x_train"].shape[1:]),
                "architecture": "SmallCNN: no bias, He normal init, avg pooling, 2x2 pooled head, standardized input"}
    inits: dict[float, list[list[torch.Tensor]]] = {m: [None] * cfg.seeds for m in cfg.widths}

    def fit(m: float, k: int, lr: float, wd: float) -> SmallCNN:
        seed = _network_seed(cfg, k)
        seed_everything(seed)
        channels = _channels(cfg, m)
        model = SmallCNN(channels, in_channels, classes)
        inits[m][k] = [conv.weight.detach().clone() for conv in model.convs]
        settings = TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr, weight_decay=wd, seed=seed)
        train(model, data["x_train"], data["y_train"], settings, resume=True,
              checkpoint=checkpoints / f"x{m:g}_seed{k}_lr{lr:g}_wd{wd:g}.pt",
              identity={**identity, "channels": list(channels)}, progress=progress)
        return model.eval()

    base = min(cfg.widths, key=lambda m: (abs(math.log(m)), m))
    grid = list(itertools.product(cfg.lrs, cfg.weight_decays))
    candidates = {pair: fit(base, 0, *pair) for pair in progress(grid, desc=f"lr x weight decay (x{base:g})",
                                                                 total=len(grid))}
    scores = [evaluate(candidates[pair], data["x_validation"], data["y_validation"]) for pair in grid]
    chosen = grid[int(np.argmax(scores))]
    selection = Selection("learning rate and weight decay of every width and seed", [_pair(*p) for p in grid],
                          [round(s, 2) for s in scores], _pair(*chosen),
                          f"validation accuracy (%), {cfg.n_validation} held-out training images, width x{base:g},"
                          f" seed 0, after {cfg.epochs} epochs, max")
    nets: dict[float, list[SmallCNN]] = {}
    runs = [(m, k) for m in cfg.widths for k in range(cfg.seeds)]
    for m, k in progress(runs, desc="training widths x seeds", total=len(runs)):
        nets.setdefault(m, []).append(candidates[chosen] if (m, k) == (base, 0) else fit(m, k, *chosen))
    return nets, inits, selection, chosen


def _pair(lr: float, wd: float) -> str:
    return f"lr {lr:g}, weight decay {wd:g}"


# --------------------------------------------------------------------------------- measurements


def _measure_width(cfg: Config, data: dict, nets: list[SmallCNN], inits: list, m: float, selections: list) -> dict:
    """Alignments between seeds, aligned covariances, trained / resampled / white accuracies at one width."""
    depth = len(cfg.base_channels)
    x_fit, x_eval = data["x_train"][:cfg.n_align], data["x_test"][:cfg.n_align]
    pairs = list(itertools.combinations(range(cfg.seeds), 2))
    out = {"channels": _channels(cfg, m), "parameters": sum(p.numel() for p in nets[0].parameters()),
           "pairs": pairs, "error": np.zeros((depth, len(pairs))), "unaligned": np.zeros((depth, len(pairs)))}
    to_reference = [[None] * depth for _ in range(cfg.seeds)]  # A_j of seed s onto seed 0, fitted on x_fit
    reference_eval = []
    for j in range(depth):
        fit_phi = [al.record_activations(net, net.representations[j], x_fit) for net in nets]
        eval_phi = [al.record_activations(net, net.representations[j], x_eval) for net in nets]
        reference_eval.append(eval_phi[0])
        for p, (s, t) in enumerate(pairs):  # align seed t onto seed s
            A = al.alignment(fit_phi[t], fit_phi[s]).A
            out["error"][j, p] = al.alignment_error(eval_phi[t], eval_phi[s], A, normalize=True)
            out["unaligned"][j, p] = al.alignment_error(eval_phi[t], eval_phi[s], torch.eye(
                A.shape[0], dtype=torch.float64), normalize=True)
            if s == 0:
                to_reference[t][j] = A
        to_reference[0][j] = torch.eye(out["channels"][j], dtype=torch.float64)
        del fit_phi, eval_phi
    # weight covariances, inputs aligned to seed 0's basis
    cov = {"aligned": [], "unaligned": [], "init": []}
    for j in range(depth):
        aligned = [al.weight_covariance(al.align_weights(net.convs[j].weight, A_in=None if j == 0 else
                                                         to_reference[s][j - 1]))
                   for s, net in enumerate(nets)]
        cov["aligned"].append(aligned)
        cov["unaligned"].append([al.weight_covariance(net.convs[j].weight) for net in nets])
        cov["init"].append([al.weight_covariance(w[j]) for w in inits])
    out["covariance"] = _covariance_summary(cfg, cov, nets, pairs)
    out["first_layer"] = [al.covariance_spectrum(c) for c in cov["aligned"][0][:2]]
    out["first_layer_vectors"] = [torch.linalg.eigh(c)[1].flip(1) for c in cov["aligned"][0][:2]]
    out.update(_accuracies(cfg, data, nets, cov["aligned"], x_fit, x_eval, reference_eval, m, selections))
    return out


def _covariance_summary(cfg: Config, cov: dict, nets: list, pairs: list) -> dict:
    depth = len(cfg.base_channels)
    summary = {key: np.zeros(depth) for key in ("dimension", "rows", "rank", "rank_init", "rank_participation",
                                                "similarity", "similarity_unaligned", "similarity_init",
                                                "kurtosis")}
    summary["spectrum"], summary["spectrum_init"] = [], []
    for j in range(depth):
        reference = cov["aligned"][j][0]
        summary["dimension"][j], summary["rows"][j] = len(reference), nets[0].convs[j].weight.shape[0]
        spectrum, spectrum_init = al.covariance_spectrum(reference), al.covariance_spectrum(cov["init"][j][0])
        summary["spectrum"].append(spectrum.numpy())
        summary["spectrum_init"].append(spectrum_init.numpy())
        summary["rank"][j] = np.mean([al.effective_rank(c) for c in cov["aligned"][j]])
        summary["rank_init"][j] = np.mean([al.effective_rank(c) for c in cov["init"][j]])
        summary["rank_participation"][j] = np.mean([al.effective_rank(c, "participation") for c in cov["aligned"][j]])
        for key, name in (("similarity", "aligned"), ("similarity_unaligned", "unaligned"),
                          ("similarity_init", "init")):
            summary[key][j] = np.mean([al.covariance_similarity(cov[name][j][s], cov[name][j][t]) for s, t in pairs])
        summary["kurtosis"][j] = _kurtosis(nets[0].convs[j].weight, reference)
    return summary


def _kurtosis(W: torch.Tensor, C: torch.Tensor) -> float:
    """Mean excess kurtosis of the rows of W projected on the top principal directions of C (0 for
    Gaussian rows; the sampling error with n rows is about sqrt(24 / n))."""
    rows = W.detach().reshape(W.shape[0], -1).double()
    _, vectors = torch.linalg.eigh(C)
    k = min(TOP_DIRECTIONS, rows.shape[0] - 1, rows.shape[1])
    if k < 1 or rows.shape[0] < 4:
        return 0.0
    projections = (rows @ vectors[:, -k:]).numpy()
    return float(np.mean(stats.kurtosis(projections, axis=0, fisher=True)))


@torch.no_grad()
def _pooled(net: SmallCNN, x: torch.Tensor) -> np.ndarray:
    return al.record_activations(net, net.features, x).numpy()


def _accuracies(cfg: Config, data: dict, nets: list[SmallCNN], aligned: list, x_fit: torch.Tensor,
                x_eval: torch.Tensor, reference_eval: list, m: float, selections: list) -> dict:
    """Trained accuracies, and the refitted accuracies of the trained seed-0 features, of rainbow and white
    resampled networks; the alignment errors of the resampled layers onto seed 0 on the test images."""
    depth = len(cfg.base_channels)
    trained = [evaluate(net, data["x_test"], data["y_test"]) for net in nets]
    reference = nets[0]
    covariances = [c[0] for c in aligned]  # seed 0's own basis
    white = [torch.eye(len(c), dtype=torch.float64) * float(torch.trace(c)) / len(c) for c in covariances]
    labels = {split: data[f"y_{split}"].numpy() for split in ("train", "validation", "test")}
    out = {"trained": trained}
    networks = {"trained-refit": list(nets)}
    resampled_errors = {"rainbow": np.zeros((depth, cfg.draws)), "white": np.zeros((depth, cfg.draws))}
    for kind, covs in (("rainbow", covariances), ("white", white)):
        networks[kind] = []
        for d in range(cfg.draws):
            generator = torch.Generator().manual_seed(1_000_003 * cfg.seed + 10_007 * cfg.widths.index(m) + 101 * d
                                                      + (0 if kind == "rainbow" else 7))
            drawn = al.resample_network(reference, reference.convs, reference.representations, covs, x_fit,
                                        generator=generator)
            for j in range(depth):
                phi_hat = al.record_activations(drawn.model, drawn.model.representations[j], x_eval)
                resampled_errors[kind][j, d] = al.alignment_error(phi_hat, reference_eval[j], drawn.alignments[j],
                                                                   normalize=True)
            networks[kind].append(drawn.model)
    for kind, models in networks.items():
        refits = [al.refit_last_layer(_pooled(net, data["x_train"]), labels["train"],
                                      _pooled(net, data["x_validation"]), labels["validation"], cfg.penalties)
                  for net in models]
        scores = np.mean([r.scores for r in refits], axis=0)
        best = int(np.argmax(scores))
        what = {"trained-refit": f"features of the {cfg.seeds} trained networks",
                "rainbow": f"{cfg.draws} rainbow networks",
                "white": f"{cfg.draws} white (isotropic) networks"}[kind]
        selections.append(Selection(f"last-layer ridge penalty, {what}, width x{m:g}", list(cfg.penalties),
                                    [round(float(s), 2) for s in scores], cfg.penalties[best],
                                    f"validation accuracy (%), {cfg.n_validation} held-out training images, mean over"
                                    " the networks, max"))
        out[kind] = [100.0 * float((r.classifiers[best].predict(_pooled(net, data["x_test"])) == labels["test"]).mean())
                     for r, net in zip(refits, models)]
    out["resampled_error"] = resampled_errors["rainbow"]
    out["white_error"] = resampled_errors["white"]
    return out


def _fit_line(x, y) -> dict:
    """Least-squares line y = intercept + slope x with the standard error of the slope (NaN with fewer than 3
    points: no residual degree of freedom)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3:
        slope, intercept = np.polyfit(x, y, 1)
        return {"slope": float(slope), "stderr": math.nan, "intercept": float(intercept)}
    result = stats.linregress(x, y)
    return {"slope": float(result.slope), "stderr": float(result.stderr), "intercept": float(result.intercept)}


def _alignment_fits(cfg: Config, widths: dict) -> dict:
    """Per layer: least-squares slope of log(aligned error) on log(width), its standard error and the intercept,
    fitted on one point per width, the mean over the seed pairs of log(error): the pairs at one width share
    networks, so they are not independent samples and are averaged first."""
    depth = len(cfg.base_channels)
    x = np.log(np.asarray(cfg.widths, dtype=float))
    return {j: _fit_line(x, [np.mean(np.log(np.maximum(widths[m]["error"][j], 1e-300))) for m in cfg.widths])
            for j in range(depth)}


# ------------------------------------------------------------------------------------- summary


def _gap(w: dict) -> float:
    """Mean test accuracy of the trained networks with a refitted last layer minus that of the rainbow networks."""
    return float(np.mean(w["trained-refit"]) - np.mean(w["rainbow"]))


def _gap_fit(cfg: Config, widths: dict) -> dict:
    """Least-squares slope of the gap against log2(width), one point per width, and its standard error."""
    return _fit_line(np.log2(cfg.widths), [_gap(widths[m]) for m in cfg.widths])


def _shrinks(fit: dict) -> bool:
    """A fitted slope below 0 by more than 2 standard errors (False if the SE is undefined): (1) and (3)."""
    return bool(math.isfinite(fit["stderr"]) and fit["slope"] + 2 * fit["stderr"] < 0)


def _metrics(cfg: Config, widths: dict, fits: dict, chosen: list) -> dict[str, float]:
    metrics: dict[str, float] = {"lr": float(chosen[0]), "weight_decay": float(chosen[1]),
                                 "gap_slope_per_doubling": _gap_fit(cfg, widths)["slope"]}
    if math.isfinite(_gap_fit(cfg, widths)["stderr"]):
        metrics["gap_slope_stderr"] = _gap_fit(cfg, widths)["stderr"]
    for j in cfg.layers:
        metrics[f"alignment_slope_layer{j}"] = fits[j - 1]["slope"]
        if math.isfinite(fits[j - 1]["stderr"]):
            metrics[f"alignment_slope_stderr_layer{j}"] = fits[j - 1]["stderr"]
    for m in cfg.widths:
        w, tag = widths[m], f"x{m:g}"
        metrics[f"parameters_{tag}"] = float(w["parameters"])
        for kind in ("trained", "trained-refit", "rainbow", "white"):
            key = kind.replace("-", "_")
            metrics[f"accuracy_{key}_mean_{tag}"] = float(np.mean(w[kind]))
            if len(w[kind]) > 1:
                metrics[f"accuracy_{key}_std_{tag}"] = float(np.std(w[kind], ddof=1))
        metrics[f"gap_{tag}"] = _gap(w)
        c = w["covariance"]
        for j in cfg.layers:
            i = j - 1
            metrics[f"alignment_error_layer{j}_{tag}"] = float(w["error"][i].mean())
            metrics[f"unaligned_error_layer{j}_{tag}"] = float(w["unaligned"][i].mean())
            metrics[f"resampled_alignment_error_layer{j}_{tag}"] = float(w["resampled_error"][i].mean())
            metrics[f"effective_rank_layer{j}_{tag}"] = float(c["rank"][i])
            metrics[f"effective_rank_init_layer{j}_{tag}"] = float(c["rank_init"][i])
            metrics[f"dimension_layer{j}_{tag}"] = float(c["dimension"][i])
            metrics[f"similarity_aligned_layer{j}_{tag}"] = float(c["similarity"][i])
            metrics[f"similarity_unaligned_layer{j}_{tag}"] = float(c["similarity_unaligned"][i])
            metrics[f"similarity_init_layer{j}_{tag}"] = float(c["similarity_init"][i])
            metrics[f"kurtosis_layer{j}_{tag}"] = float(c["kurtosis"][i])
    return metrics


def _verdicts(cfg: Config, widths: dict, fits: dict) -> list[Verdict]:
    largest, smallest = max(cfg.widths), min(cfg.widths)
    big = widths[largest]
    # (1) alignment error decreases with width
    decreasing = [j for j in cfg.layers if _shrinks(fits[j - 1])]  # slope below 0 by more than 2 SE
    verdict = ("not tested" if len(cfg.widths) < 3 else "holds" if len(decreasing) == len(cfg.layers) else
               "partially" if decreasing else "does not hold")
    per_layer = "; ".join(
        f"layer {j}: {widths[smallest]['error'][j - 1].mean():.3f} at x{smallest:g} -> {big['error'][j - 1].mean():.3f}"
        f" at x{largest:g} (unaligned {big['unaligned'][j - 1].mean():.2f}), slope {fits[j - 1]['slope']:.2f} +-"
        f" {fits[j - 1]['stderr']:.2f}" for j in cfg.layers)
    verdicts = [Verdict(
        claim="Networks trained from different seeds compute the same representation up to an orthogonal alignment"
              " A = UV^T, and A phi -> phi' in mean square as the width grows (Guth, Ménard, Rochette & Mallat 2023)",
        verdict=verdict,
        evidence=f"Relative aligned error on {cfg.n_align} test images, mean over {len(big['pairs'])} seed pairs: "
                 f"{per_layer}. Slopes fitted by least squares on one point per width (the mean over the pairs of"
                 " log error: pairs at one width share networks). Criterion: slope of log error vs log width below 0"
                 f" by more than 2 standard errors at every layer ({len(decreasing)}/{len(cfg.layers)} layers)"
                 + ("" if len(cfg.widths) >= 3 else f"; with {len(cfg.widths)} widths the standard error is undefined,"
                    " not tested") + ".",
        anchor="rainbow networks: A_j phi_j converges to a deterministic limit as widths grow")]
    # (2) low-rank, colored, similar covariances
    c = big["covariance"]
    low = [j for j in cfg.layers if c["rank"][j - 1] <= RANK_RATIO * c["rank_init"][j - 1]]
    similar = [j for j in cfg.layers if c["similarity"][j - 1] >= SIMILAR and c["similarity"][j - 1] > max(
        c["similarity_init"][j - 1], c["similarity_unaligned"][j - 1] if j > 1 else -1.0)]
    both = len(low) == len(cfg.layers) and len(similar) == len(cfg.layers)
    verdict = "holds" if both else "partially" if low or similar else "does not hold"
    per_layer = "; ".join(
        f"layer {j} (d = {int(c['dimension'][j - 1])}, {int(c['rows'][j - 1])} rows): effective rank"
        f" {c['rank'][j - 1]:.1f} vs {c['rank_init'][j - 1]:.1f} at init, similarity {c['similarity'][j - 1]:.3f}"
        f" aligned / {c['similarity_unaligned'][j - 1]:.3f} unaligned / {c['similarity_init'][j - 1]:.3f} init,"
        f" kurtosis {c['kurtosis'][j - 1]:+.2f}" for j in cfg.layers)
    verdicts.append(Verdict(
        claim="After alignment, the weights of a layer look like samples of a Gaussian whose covariance is colored,"
              " of low rank, and the same across seeds (Guth et al. 2023)",
        verdict=verdict,
        evidence=f"Width x{largest:g}: {per_layer}. Criteria: effective rank <= {RANK_RATIO} x that at"
                 f" initialization ({len(low)}/{len(cfg.layers)} layers); aligned similarity >= {SIMILAR} and above"
                 f" the unaligned (layers > 1) and initialization ones ({len(similar)}/{len(cfg.layers)} layers)."
                 " Kurtosis: mean excess kurtosis of the rows on the top principal directions (0 if Gaussian),"
                 " reported, not judged.",
        anchor="weight covariances are low-rank as a result of feature learning"))
    # (3) resampled accuracy approaches trained accuracy
    gap = _gap(big)
    gap_fit = _gap_fit(cfg, widths)
    close, shrinks = gap <= GAP_MAX, _shrinks(gap_fit)
    verdict = "holds" if close and shrinks else "partially" if close or shrinks else "does not hold"
    rows = "; ".join(f"x{m:g}: trained {np.mean(widths[m]['trained']):.1f} (refitted"
                     f" {np.mean(widths[m]['trained-refit']):.1f}), rainbow {np.mean(widths[m]['rainbow']):.1f},"
                     f" white {np.mean(widths[m]['white']):.1f}" for m in cfg.widths)
    verdicts.append(Verdict(
        claim="Networks resampled from the aligned weight covariances (last layer refitted) reach accuracies close"
              " to the trained networks' as the width grows (Guth et al. 2023)",
        verdict=verdict,
        evidence=f"Test accuracy (%), trained end to end (last layer refitted by ridge regression) mean over"
                 f" {cfg.seeds} seeds vs {cfg.draws} rainbow and white draws: {rows}. Gap refitted trained - rainbow"
                 f" at x{largest:g}: {gap:.2f} points (criterion <= {GAP_MAX}); slope of the gap per doubling of the"
                 f" width {gap_fit['slope']:+.2f} +- {gap_fit['stderr']:.2f} (least squares on the {len(cfg.widths)}"
                 f" per-width gaps; criterion: below 0 by more than 2 standard errors): {shrinks}.",
        anchor="rainbow networks achieve similar performance as the trained networks"))
    return verdicts


def _tables(cfg: Config, widths: dict, fits: dict) -> list:
    def pm(values) -> str:
        values = np.asarray(values, dtype=float)
        return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}" if len(values) > 1 else f"{values.mean():.2f}"

    accuracy = ("Test accuracy (%) vs width: trained end to end and with a refitted last layer (mean ± sd over"
                " seeds), resampled (rainbow) and white networks (mean ± sd over draws)",
                ["width", "channels", "parameters", "trained", "trained, last layer refitted", "rainbow",
                 "white", "gap refitted trained - rainbow"],
                [[f"x{m:g}", "-".join(map(str, w["channels"])), w["parameters"], pm(w["trained"]),
                  pm(w["trained-refit"]), pm(w["rainbow"]), pm(w["white"]),
                  round(_gap(w), 2)] for m, w in widths.items()])
    header = ["width"] + [f"layer {j} {kind}" for j in cfg.layers for kind in ("aligned", "unaligned", "resampled")]
    rows = [[f"x{m:g}"] + [v for j in cfg.layers for v in (
        pm(w["error"][j - 1]), round(float(w["unaligned"][j - 1].mean()), 3),
        round(float(w["resampled_error"][j - 1].mean()), 3))] for m, w in widths.items()]
    rows.append(["fitted slope"] + [v for j in cfg.layers for v in (
        f"{fits[j - 1]['slope']:.3f} ± {fits[j - 1]['stderr']:.3f}", "", "")])
    alignment = (f"Relative alignment error ||A phi - phi'||^2 / ||phi'||^2 on {cfg.n_align} test images: between"
                 " seeds (mean ± sd over pairs), unaligned (A = I), and of rainbow networks onto seed 0", header, rows)
    cov_rows = []
    for j in cfg.layers:
        for m, w in widths.items():
            c = w["covariance"]
            i = j - 1
            cov_rows.append([j, f"x{m:g}", int(c["dimension"][i]), int(c["rows"][i]), round(float(c["rank"][i]), 2),
                             round(float(c["rank_participation"][i]), 2), round(float(c["rank_init"][i]), 2),
                             round(float(c["similarity"][i]), 3), round(float(c["similarity_unaligned"][i]), 3),
                             round(float(c["similarity_init"][i]), 3), round(float(c["kurtosis"][i]), 2)])
    covariance = ("Aligned weight covariances: dimension d = C_in k^2, rows (output channels), effective ranks (mean"
                  " over seeds), cross-seed cosine similarities (mean over pairs), excess kurtosis of seed 0's rows",
                  ["layer", "width", "d", "rows", "eff. rank (entropy)", "participation ratio", "eff. rank at init",
                   "similarity aligned", "similarity unaligned", "similarity at init", "kurtosis"], cov_rows)
    return [accuracy, alignment, covariance]


def _notes(cfg: Config, widths: dict, chosen: list) -> list[str]:
    largest = max(cfg.widths)
    w = widths[largest]
    return [
        f"SmallCNN, channels {'-'.join(map(str, cfg.base_channels))} at x1 (no bias, ReLU, average pooling), trained"
        f" {cfg.epochs} epochs on {cfg.n_train} standardized images with lr {chosen[0]:g} and weight decay"
        f" {chosen[1]:g} (chosen on validation at the width closest to x1) for every width and seed.",
        "Activations are uncentered (the cross-covariance E[phi' phi^T], as in the paper): the mean activation is"
        " aligned too. Errors are scale-free (both representations scaled to the same mean square norm first; a"
        " ReLU network without normalization can move a scale between layers). The unaligned error (A = I) is"
        " what matching channels by their index gives; 2 is that of uncorrelated representations.",
        "The first layer's inputs are pixels, shared by all networks: its covariances need no alignment, so its"
        " aligned and unaligned similarities coincide.",
        f"At x{largest:g}, the trained networks with a refitted last layer reach {np.mean(w['trained-refit']):.1f} %"
        f" (end to end: {np.mean(w['trained']):.1f} %): the ridge readout alone changes the accuracy by"
        f" {np.mean(w['trained-refit']) - np.mean(w['trained']):+.1f} points, so the gap of claim (3) is measured"
        " between networks that all have a refitted readout.",
        "White networks draw each layer from the isotropic covariance of the same trace (random features):"
        " the difference with rainbow networks is what the colored covariances carry.",
    ]


# -------------------------------------------------------------------------------------- figures


def _plot_alignment(cfg: Config, widths: dict, fits: dict, out_dir: Path) -> str:
    fig, axes = figure_row(len(cfg.layers), 4.3, 3.8)
    ws = np.asarray(cfg.widths, dtype=float)
    for ax, j in zip(axes, cfg.layers):
        i = j - 1
        for m in cfg.widths:
            e = widths[m]["error"][i]
            ax.scatter(np.full(len(e), m), e, s=12, color="tab:blue", alpha=0.5)
        ax.plot(ws, [widths[m]["error"][i].mean() for m in cfg.widths], "o-", color="tab:blue",
                label="aligned, between seeds")
        fit = fits[i]
        ax.plot(ws, np.exp(fit["intercept"]) * ws ** fit["slope"], "k--", lw=1,
                label=f"fit: width^{fit['slope']:.2f} ± {fit['stderr']:.2f}")
        ax.plot(ws, [widths[m]["unaligned"][i].mean() for m in cfg.widths], "s:", color="gray",
                label="unaligned (A = I)")
        ax.plot(ws, [widths[m]["resampled_error"][i].mean() for m in cfg.widths], "^-", color="tab:orange",
                label="rainbow network onto seed 0")
        ax.set(xscale="log", yscale="log", xlabel="width multiplier", ylabel="||A phi - phi'||^2 / ||phi'||^2",
               title=f"layer {j}")
        ax.set_xticks(ws, [f"{m:g}" for m in cfg.widths])
        ax.minorticks_off()
        ax.legend(fontsize=7)
    fig.suptitle(f"(1) Alignment error on {cfg.n_align} test images vs width")
    return save_png(fig, out_dir, "alignment_error.png")


def _plot_spectra(cfg: Config, widths: dict, out_dir: Path) -> str:
    fig, axes = figure_row(len(cfg.layers), 4.3, 3.8)
    colors = _width_colors(cfg)
    largest = max(cfg.widths)
    for ax, j in zip(axes, cfg.layers):
        i = j - 1
        for m in cfg.widths:
            s = _nonzero(widths[m]["covariance"]["spectrum"][i])
            ax.plot(np.arange(1, len(s) + 1), s / s.sum(), color=colors[m], label=f"x{m:g} trained")
        s = _nonzero(widths[largest]["covariance"]["spectrum_init"][i])
        ax.plot(np.arange(1, len(s) + 1), s / s.sum(), "k--", lw=1, label=f"x{largest:g} at init")
        ax.set(xscale="log", yscale="log", xlabel="rank k", ylabel="eigenvalue / trace", title=f"layer {j}"
               f" (d = {int(widths[largest]['covariance']['dimension'][i])} at x{largest:g})")
        ax.legend(fontsize=7)
    fig.suptitle("(2) Spectra of the aligned weight covariances (seed 0; rank <= number of rows)")
    return save_png(fig, out_dir, "covariance_spectra.png")


def _nonzero(spectrum: np.ndarray) -> np.ndarray:
    """The eigenvalues above rounding (a covariance of n rows has rank <= n)."""
    return spectrum[spectrum > 1e-10 * spectrum[0]]


def _width_colors(cfg: Config) -> dict:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return {m: cmap(k / max(len(cfg.widths) - 1, 1)) for k, m in enumerate(cfg.widths)}


def _plot_covariance_summary(cfg: Config, widths: dict, out_dir: Path) -> str:
    fig, axes = figure_row(2, 5.2, 4.0)
    ws = np.asarray(cfg.widths, dtype=float)
    for k, j in enumerate(cfg.layers):
        i, color = j - 1, f"C{k}"
        axes[0].plot(ws, [widths[m]["covariance"]["similarity"][i] for m in cfg.widths], "o-", color=color,
                     label=f"layer {j} aligned")
        axes[0].plot(ws, [widths[m]["covariance"]["similarity_unaligned"][i] for m in cfg.widths], "s:",
                     color=color, label=f"layer {j} unaligned")
        axes[0].plot(ws, [widths[m]["covariance"]["similarity_init"][i] for m in cfg.widths], "x--", color=color,
                     alpha=0.6, label=f"layer {j} at init")
        axes[1].plot(ws, [widths[m]["covariance"]["rank"][i] for m in cfg.widths], "o-", color=color,
                     label=f"layer {j} trained")
        axes[1].plot(ws, [widths[m]["covariance"]["rank_init"][i] for m in cfg.widths], "x--", color=color,
                     alpha=0.6, label=f"layer {j} at init")
        axes[1].plot(ws, [min(widths[m]["covariance"]["dimension"][i], widths[m]["covariance"]["rows"][i])
                          for m in cfg.widths], ":", color=color, lw=0.8)
    axes[0].axhline(SIMILAR, color="gray", lw=0.6)
    axes[0].set(xscale="log", xlabel="width multiplier", ylabel="<C, C'>_F / ||C|| ||C'||", ylim=(0, 1.02),
                title="cross-seed similarity of weight covariances")
    axes[1].set(xscale="log", yscale="log", xlabel="width multiplier", ylabel="entropy effective rank",
                title="effective rank (dotted: min(d, rows))")
    for ax in axes:
        ax.set_xticks(ws, [f"{m:g}" for m in cfg.widths])
        ax.minorticks_off()
        ax.legend(fontsize=6, ncols=2)
    fig.suptitle("(2) Aligned weight covariances: similarity across seeds and effective rank")
    return save_png(fig, out_dir, "covariance_similarity.png")


def _plot_accuracy(cfg: Config, widths: dict, out_dir: Path) -> str:
    fig, (ax,) = figure_row(1, 6.0, 4.2)
    ws = np.asarray(cfg.widths, dtype=float)
    for key, label, style in (("trained", f"trained end to end ({cfg.seeds} seeds)", "o-"),
                              ("trained-refit", "trained, last layer refitted", "d:"),
                              ("rainbow", f"rainbow resampled ({cfg.draws} draws)", "^-"),
                              ("white", f"white random features ({cfg.draws} draws)", "x--")):
        mean = np.array([np.mean(widths[m][key]) for m in cfg.widths])
        sd = np.array([np.std(widths[m][key], ddof=1) if len(widths[m][key]) > 1 else 0.0 for m in cfg.widths])
        ax.errorbar(ws, mean, yerr=sd, fmt=style, capsize=3, label=label)
    ax.set(xscale="log", xlabel="width multiplier", ylabel="test accuracy (%)",
           title="(3) Trained vs resampled networks (all but the first refitted by ridge)")
    ax.set_xticks(ws, [f"{m:g}" for m in cfg.widths])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "accuracy.png")


def _plot_first_layer(cfg: Config, widths: dict, out_dir: Path, count: int = 8) -> str:
    from matplotlib.figure import Figure

    largest = max(cfg.widths)
    vectors, spectra = widths[largest]["first_layer_vectors"], widths[largest]["first_layer"]
    k = int(round(math.sqrt(vectors[0].shape[0])))
    count = min(count, vectors[0].shape[1])
    fig = Figure(figsize=(1.3 * count, 1.5 * len(vectors) + 0.4), layout="constrained")
    axes = fig.subplots(len(vectors), count, squeeze=False)
    for row, (v, s) in enumerate(zip(vectors, spectra)):
        share = (s / s.sum()).numpy()
        for col in range(count):
            e = v[:, col].numpy()
            e = e * np.sign(e[np.argmax(np.abs(e))])  # sign fixed: largest entry positive
            ax = axes[row, col]
            if k * k == len(e):
                ax.imshow(e.reshape(k, k), cmap="RdBu_r", vmin=-np.abs(e).max(), vmax=np.abs(e).max())
            ax.set_axis_off()
            ax.set_title(f"seed {row}: {100 * share[col]:.0f} %", fontsize=7)
    fig.suptitle(f"(2) Top eigenvectors of the first-layer weight covariance, two seeds, x{largest:g} (share of trace)",
                 fontsize=9)
    return save_png(fig, out_dir, "first_layer_eigenvectors.png")
