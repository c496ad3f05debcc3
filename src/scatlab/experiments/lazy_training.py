r"""Experiment ``lazy-training``: the neural tangent kernel, the lazy regime and infinite-width kernels.

Claims tested, on class-balanced Fashion-MNIST subsets (any data set of
:func:`scatlab.datasets.load_classification` works: nothing assumes 28 x 28 or one channel):

(A) Under the NTK parameterization, the tangent kernel :math:`\Theta = J J^T` of a network
    converges at initialization to a deterministic kernel and moves less during training as the
    width grows (Jacot, Gabriel & Hongler, NeurIPS 2018, Theorems 1-2; the change is
    :math:`O(1/\sqrt{\text{width}})`, Lee et al., NeurIPS 2019, Fig. 1 and Theorem 2.1).
(B) Scaling a model by alpha, :math:`\alpha(f(w) - f(w_0))` trained on the loss divided by
    :math:`\alpha^2`, keeps training within :math:`O(1/\alpha)` of the trained linearized model
    :math:`\alpha J(w_0)(w - w_0)`, with relative weight changes :math:`O(1/\alpha)`, and this
    lazy regime generalizes worse than feature learning on images (Chizat, Oyallon & Bach, "On
    lazy training in differentiable programming", NeurIPS 2019, Theorems 2.2-2.4 and Fig. 3, where
    the test accuracy of a VGG-11 on CIFAR-10 falls as alpha grows).
(C) The infinite-width NNGP and NTK of ReLU MLPs are computable in closed form (arc-cosine
    recursions; Cho & Saul 2009, Lee et al. ICLR 2018, Arora et al. NeurIPS 2019), and finite
    networks trained by gradient descent approach the kernel predictor as the width grows (Lee et
    al. NeurIPS 2019).

Protocol. (A, C): ReLU MLPs of :class:`scatlab.theory.lazy.NTKMLP` (``mlp_depth`` hidden layers,
:math:`\sigma_w^2 = 2`, no bias) of growing width, trained by full-batch gradient descent on the
MSE :math:`\frac{1}{2n}\|f(X) - f_0(X) - Y\|^2` (centred outputs, one-hot targets minus 1/K) on
``kernel_train`` images (pixels centred by the training mean, each image scaled to norm
:math:`\sqrt d`). The step is half the stability edge of the closed-form NTK,
:math:`\eta = n/\lambda_{\max}(\Theta_\infty)`; the number of steps is chosen on the validation
split with the closed-form kernel predictor after T steps,
:math:`\Theta_{*X}\Theta^{-1}(I - (I - \eta\Theta/n)^T)Y` (the exact infinite-width limit of
this training). The empirical NTK (all K x K output blocks) is measured on ``ntk_probe`` training
images at initialization and after training; its distance to the closed form at initialization
and its relative change are reported vs width, and the networks' test outputs are compared
with the kernel predictor. Closed-form kernel ridge regression (NNGP and NTK, ridge chosen on
validation) gives the kernels' test accuracy. (B): a two-convolution ReLU CNN (standard PyTorch
initialization, no batch normalization) of width ``cnn_width`` is wrapped as
:class:`~scatlab.theory.lazy.AlphaScaled` and trained by :func:`scatlab.learning.training.train`
(cross-entropy, SGD with Nesterov momentum, cosine schedule, no weight decay, ``epochs`` epochs,
checkpointed) with learning rate :math:`\eta/\alpha^2` (the same as the loss divided by
:math:`\alpha^2`); :math:`\eta` is chosen per alpha on the validation split, from ``lrs`` times
:math:`\min(1, \alpha)` (below alpha = 1 a step moves w by :math:`\eta/\alpha` J^T grad), extended
beyond an edge of the grid that wins. Its linearization
:class:`~scatlab.theory.lazy.Linearized` is trained with the same :math:`\eta` from the same
:math:`w_0`. In the variable :math:`u = \alpha(w - w_0)` the linearized model's training does not
depend on alpha (its gradient steps on the loss over :math:`\alpha^2` are the same), so it is
trained once per :math:`\eta` with alpha = 1, and its weight change at alpha is
:math:`\|u\| / (\alpha\|w_0\|)`. The test set is scored once per alpha, for the chosen
:math:`\eta`. The distance and weight change are reported at that
:math:`\eta` and, for every alpha >= 1, at one common :math:`\eta` of ``lrs`` (the one whose lowest
validation accuracy over those alphas is the highest), the setting of the theorems; the verdict
on (B)'s first claim uses the common-:math:`\eta` series. The number of epochs and the widths are
fixed compute budgets, not tuned.

Time (this CPU, one thread): ``--quick`` about 65 s of CPU time, measured 3 minutes of wall time on
the shared machine at a load of ~3 and 12 minutes at a load of ~10 on its 2 cores; the full run
about 40 minutes of CPU time (estimated from the quick run's per-image and per-step costs: 7 alphas x
5-7 learning rates of 12 epochs on 2,000 images, MLPs up to width 2048 for up to 400 steps).
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import InvalidParameterError
from ..learning.splits import train_validation_test
from ..learning.training import TrainSettings, evaluate, train
from ..runtime import Progress, default_device, seed_everything
from ..theory.kernels import kernel_gradient_descent, kernel_ridge, relu_kernels
from ..theory.lazy import AlphaScaled, Linearized, NTKMLP, gradient_descent_mse, ntk_relative_change
from ._figures import figure_row, save_png
from ._contract import CHECKPOINTS, Result, Selection, Verdict

__all__ = ["Config", "run", "SmallCNN"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the lazy-training experiment; the defaults are the full run."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    seed: int = 0  # seed of the subsets, initializations and sample orders
    # (A, C) MLPs and closed-form kernels
    mlp_depth: int = 2  # hidden layers of the MLPs and of the kernels
    widths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)  # hidden widths of the finite MLPs
    net_seeds: int = 2  # MLPs (initializations) per width
    kernel_train: int = 300  # class-balanced training images of the MLPs and kernels
    kernel_validation: int = 200  # held-out training images (ridge and number of steps)
    kernel_test: int = 1000  # first test images
    ntk_probe: int = 100  # training images on which the empirical NTK is measured
    ridges: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # kernel ridge candidates (relative to the mean diagonal)
    steps_grid: tuple[int, ...] = (25, 50, 100, 200, 400)  # gradient-descent steps candidates
    # (B) alpha sweep of a CNN
    alphas: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # output scales (small: feature learning)
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)  # eta candidates (loss / alpha^2), times min(1, alpha)
    lr_extensions: int = 2  # times the eta grid may grow by one value beyond an edge that wins on validation
    cnn_width: int = 16  # channels of the first convolution (the second has twice as many)
    cnn_train: int = 2000  # class-balanced training images of the CNN
    cnn_validation: int = 1000  # held-out training images (learning rate)
    cnn_test: int = 10000  # first test images
    epochs: int = 12  # training epochs of every CNN (a fixed budget)
    batch_size: int = 50  # SGD batch size
    momentum: float = 0.9  # Nesterov momentum

    @classmethod
    def quick(cls) -> Config:
        """Widths 64-512, one network each, 4 alphas x 3-5 learning rates of a narrow CNN (about 3 minutes)."""
        return cls(widths=(64, 128, 256, 512), net_seeds=1, kernel_train=200, kernel_validation=100,
                   kernel_test=500, ntk_probe=50, alphas=(0.3, 1.0, 10.0, 100.0),
                   lrs=(0.03, 0.1, 0.3), cnn_width=8, cnn_train=800, cnn_validation=500, cnn_test=1000,
                   epochs=8)


class SmallCNN(nn.Module):
    """conv3x3(C -> w) - ReLU - avgpool 2 - conv3x3(w -> 2w) - ReLU - avgpool 2 - adaptive avgpool 4x4 - linear.

    No batch normalization (the linearization of a batch-statistics layer depends on the batch);
    any number of input channels and any image size of at least 4 x 4.
    """

    def __init__(self, in_channels: int, width: int, classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(4))
        self.classifier = nn.Linear(2 * width * 16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Measure (A)-(C), write the figures in ``out_dir``, return the numbers, verdicts and selections."""
    _check(cfg)
    out_dir = Path(out_dir)
    device = default_device()
    kernel = _kernels_and_widths(cfg, device, progress)
    sweep = _alpha_sweep(cfg, out_dir / CHECKPOINTS, device, progress)
    figures = [_plot_ntk(kernel, cfg, out_dir), _plot_kernel_match(kernel, out_dir),
               _plot_convergence(kernel, cfg, out_dir), _plot_alpha(sweep, cfg, out_dir)]
    metrics = _metrics(kernel, sweep, cfg)
    return Result(metrics=metrics, tables=_tables(kernel, sweep, cfg), figures=figures, notes=_notes(kernel, sweep, cfg),
                  verdicts=_verdicts(kernel, sweep, cfg), selections=kernel["selections"] + sweep["selections"])


def _check(cfg: Config) -> None:
    if not cfg.widths or min(cfg.widths) < 1 or cfg.net_seeds < 1:
        raise InvalidParameterError(f"Config.widths must hold widths >= 1 and net_seeds must be >= 1; got widths="
                                    f"{cfg.widths}, net_seeds={cfg.net_seeds}.")
    if not cfg.alphas or min(cfg.alphas) <= 0:
        raise InvalidParameterError(f"Config.alphas must hold values > 0 (the output scale); got {cfg.alphas}.")
    if not cfg.lrs or min(cfg.lrs) <= 0 or not cfg.ridges or min(cfg.ridges) < 0 or not cfg.steps_grid:
        raise InvalidParameterError("Config.lrs (> 0), Config.ridges (>= 0) and Config.steps_grid must not be empty.")
    if not 1 <= cfg.ntk_probe <= cfg.kernel_train:
        raise InvalidParameterError(f"Config.ntk_probe = {cfg.ntk_probe} must be between 1 and kernel_train ="
                                    f" {cfg.kernel_train}.")
    if cfg.mlp_depth < 0 or cfg.cnn_width < 1 or cfg.epochs < 1 or cfg.lr_extensions < 0:
        raise InvalidParameterError("Config.mlp_depth and lr_extensions must be >= 0, cnn_width and epochs >= 1.")


# ------------------------------------------------------------------------- (A, C) MLPs and kernels


def _prepare_mlp_data(cfg: Config) -> dict[str, torch.Tensor]:
    """Flattened float64 images: centred by the training mean, each scaled to norm sqrt(d)."""
    data = train_validation_test(cfg.data_dir, cfg.kernel_train, cfg.kernel_validation, cfg.kernel_test, cfg.seed)
    mean = data["x_train"].reshape(cfg.kernel_train, -1).double().mean(0)
    out = {}
    for part in ("train", "validation", "test"):
        x = data[f"x_{part}"].reshape(len(data[f"x_{part}"]), -1).double() - mean
        out[f"x_{part}"] = x * math.sqrt(x.shape[1]) / x.norm(dim=1, keepdim=True).clamp(min=1e-12)
        out[f"y_{part}"] = data[f"y_{part}"]
    return out


def _targets(y: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(y, classes).double() - 1.0 / classes


def _accuracy(scores: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * float((scores.argmax(-1).cpu() == y).double().mean())


def _kernels_and_widths(cfg: Config, device: torch.device, progress: Progress) -> dict:
    data = _prepare_mlp_data(cfg)
    classes = int(data["y_train"].max()) + 1
    y = _targets(data["y_train"], classes)
    x_all = torch.cat([data["x_train"], data["x_validation"], data["x_test"]])
    n, n_val = cfg.kernel_train, cfg.kernel_validation
    out: dict = {"selections": [], "classes": classes}
    # closed-form kernels between every image and the training images
    for name, k in zip(("nngp", "ntk"), relu_kernels(x_all, data["x_train"], depth=cfg.mlp_depth)):
        k_train, k_val, k_test = k[:n], k[n:n + n_val], k[n + n_val:]
        scores = [_accuracy(kernel_ridge(k_train, y, k_val, r), data["y_validation"]) for r in cfg.ridges]
        ridge = cfg.ridges[int(np.argmax(scores))]
        out[f"{name}_ridge"] = ridge
        out[f"{name}_test_accuracy"] = _accuracy(kernel_ridge(k_train, y, k_test, ridge), data["y_test"])
        out["selections"].append(Selection(
            f"ridge of {name.upper()} kernel regression", list(cfg.ridges), scores, ridge,
            f"validation accuracy (%), {n_val} held-out training images, max (first on ties)"))
        out[f"{name}_blocks"] = (k_train, k_val, k_test)
    k_train, k_val, k_test = out["ntk_blocks"]
    lr = n / float(torch.linalg.eigvalsh(k_train).max())  # half the stability edge 2n / lambda_max
    val_scores = [_accuracy(p, data["y_validation"])
                  for p in kernel_gradient_descent(k_train, y, k_val, lr=lr, steps=list(cfg.steps_grid))]
    steps = cfg.steps_grid[int(np.argmax(val_scores))]
    out["selections"].append(Selection(
        "gradient-descent steps T of the MLPs", list(cfg.steps_grid), val_scores, steps,
        f"validation accuracy (%) of the closed-form NTK predictor after T steps (lr = n / lambda_max = {lr:.4g}),"
        f" {n_val} held-out training images, max (first on ties)"))
    kernel_pred = kernel_gradient_descent(k_train, y, k_test, lr=lr, steps=steps)
    out.update(lr=lr, steps=steps, kernel_gd_test_accuracy=_accuracy(kernel_pred, data["y_test"]))
    probe = data["x_train"][:cfg.ntk_probe]
    theta_inf = relu_kernels(probe, depth=cfg.mlp_depth)[1]
    theta_inf_full = theta_inf[:, :, None, None] * torch.eye(classes, dtype=torch.float64)
    rows = []
    runs = [(w, s) for w in cfg.widths for s in range(cfg.net_seeds)]
    for width, s in progress(runs, desc="MLP widths", total=len(runs)):
        seed_everything(cfg.seed * 1_000_003 + 7919 * s + width)
        net = NTKMLP(x_all.shape[1], width, cfg.mlp_depth, classes).to(device)  # float32: fast, errors << distances
        x_train, x_test = data["x_train"].float().to(device), data["x_test"].float().to(device)
        with torch.no_grad():
            f0_train, f0_test = net(x_train), net(x_test)
        theta0 = net.ntk(probe.float().to(device)).double().cpu()
        losses = gradient_descent_mse(net, x_train, y.float().to(device) + f0_train, lr=lr, steps=steps)
        theta1 = net.ntk(probe.float().to(device)).double().cpu()
        with torch.no_grad():
            f_test = (net(x_test) - f0_test).double().cpu()
        distance = float((f_test - kernel_pred).norm() / kernel_pred.norm())
        rows.append({"width": width, "seed": s, "ntk_change": ntk_relative_change(theta0, theta1),
                     "init_error": ntk_relative_change(theta_inf_full, theta0),
                     "distance": distance, "test_accuracy": _accuracy(f_test, data["y_test"]),
                     "final_loss": losses[-1]})
        if width == max(cfg.widths) and s == 0:
            out["match"] = (theta_inf.numpy(), torch.diagonal(theta0, dim1=2, dim2=3).mean(2).numpy(),
                            torch.diagonal(theta1, dim1=2, dim2=3).mean(2).numpy())
    out["rows"] = rows
    out["per_width"] = {key: np.array([np.mean([r[key] for r in rows if r["width"] == w]) for w in cfg.widths])
                        for key in ("ntk_change", "init_error", "distance", "test_accuracy", "final_loss")}
    return out


# ------------------------------------------------------------------------------ (B) alpha sweep


def _alpha_sweep(cfg: Config, checkpoints: Path, device: torch.device, progress: Progress) -> dict:
    data = train_validation_test(cfg.data_dir, cfg.cnn_train, cfg.cnn_validation, cfg.cnn_test, cfg.seed)
    mean, std = float(data["x_train"].mean()), float(data["x_train"].std())
    x = {part: (data[f"x_{part}"] - mean) / std for part in ("train", "validation", "test")}
    classes = int(data["y_train"].max()) + 1
    seed_everything(cfg.seed)
    initial = SmallCNN(x["train"].shape[1], cfg.cnn_width, classes)  # w0, shared by every alpha and lr
    identity = {"experiment": "lazy-training", "cnn_width": cfg.cnn_width, "cnn_train": cfg.cnn_train,
                "seed": cfg.seed, "data_dir": str(cfg.data_dir)}

    def settings(lr: float) -> TrainSettings:
        return TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr, momentum=cfg.momentum,
                             weight_decay=0.0, seed=cfg.seed)

    def fit(model: nn.Module, lr: float, name: str, extra: dict) -> nn.Module:
        train(model, x["train"], data["y_train"], settings(lr), checkpoint=checkpoints / f"{name}.pt", resume=True,
              identity={**identity, **extra}, progress=progress, device=device)
        return model

    out: dict = {"selections": [], "rows": []}
    linear_cache: dict[float, Linearized] = {}
    all_trained: dict[float, dict] = {}
    for alpha in progress(cfg.alphas, desc="alphas", total=len(cfg.alphas)):
        grid = [float(f"{lr * min(1.0, alpha):.6g}") for lr in cfg.lrs]  # below alpha = 1, w moves eta / alpha per step
        trained: dict[float, tuple[nn.Module, float]] = all_trained.setdefault(alpha, {})
        for extension in range(cfg.lr_extensions + 1):
            for eta in grid:
                if eta not in trained:
                    model = fit(AlphaScaled(_copy(initial), alpha), eta / alpha**2, f"scaled_alpha{alpha:g}_eta{eta:g}",
                                {"model": "alpha-scaled", "alpha": alpha, "eta": eta})
                    trained[eta] = (model, evaluate(model, x["validation"], data["y_validation"]))
            best = int(np.argmax([trained[eta][1] for eta in grid]))
            if extension == cfg.lr_extensions or len(grid) < 2 or 0 < best < len(grid) - 1:
                break
            # the best candidate is at an edge of the grid: one more step of the grid's ratio beyond it
            ratio = grid[1] / grid[0]
            grid = [float(f"{grid[0] / ratio:.3g}")] + grid if best == 0 else grid + [float(f"{grid[-1] * ratio:.3g}")]
        scores = [trained[eta][1] for eta in grid]
        best = int(np.argmax(scores))
        eta = grid[best]
        out["selections"].append(Selection(
            f"learning rate eta (of the loss / alpha^2) at alpha = {alpha:g}", grid, scores, eta,
            f"validation accuracy (%) of the alpha-scaled CNN after {cfg.epochs} epochs, {cfg.cnn_validation}"
            " held-out training images, max (first on ties); the grid is extended beyond an edge that wins, at most"
            f" {cfg.lr_extensions} times"))
        if eta not in linear_cache:  # its training does not depend on alpha in u = alpha (w - w0)
            linear_cache[eta] = fit(Linearized(_copy(initial), 1.0), eta, f"linearized_eta{eta:g}",
                                    {"model": "linearized", "eta": eta})
        scaled, linear = trained[eta][0], linear_cache[eta]
        h_scaled, h_linear = _outputs(scaled, x["test"]), _outputs(linear, x["test"])
        out["rows"].append({
            "alpha": alpha, "eta": eta, "validation_accuracy": scores[best],
            "test_accuracy": _accuracy(h_scaled, data["y_test"]),
            "linear_test_accuracy": _accuracy(h_linear, data["y_test"]),
            "distance": float((h_scaled - h_linear).norm() / h_linear.norm()),
            "agreement": 100.0 * float((h_scaled.argmax(1) == h_linear.argmax(1)).double().mean()),
            "weight_change": scaled.weight_change(), "linear_weight_change": linear.weight_change() / alpha})
    # the theorem's setting: every alpha >= 1 at one eta, the base-grid eta whose worst validation accuracy over
    # alpha >= 1 is the highest (stable at every alpha; all these models are trained already)
    lazy_alphas = [a for a in cfg.alphas if a >= 1]
    if lazy_alphas:
        worst = [min(all_trained[a][eta][1] for a in lazy_alphas) for eta in cfg.lrs]
        eta_fixed = cfg.lrs[int(np.argmax(worst))]
        out["selections"].append(Selection(
            "common eta of the fixed-eta series (alpha >= 1)", list(cfg.lrs), worst, eta_fixed,
            f"lowest validation accuracy (%) over alphas {lazy_alphas} of the alpha-scaled CNN, {cfg.cnn_validation}"
            " held-out training images, max"))
        if eta_fixed not in linear_cache:
            linear_cache[eta_fixed] = fit(Linearized(_copy(initial), 1.0), eta_fixed, f"linearized_eta{eta_fixed:g}",
                                          {"model": "linearized", "eta": eta_fixed})
        h_linear = _outputs(linear_cache[eta_fixed], x["test"])
        for r in out["rows"]:
            if r["alpha"] >= 1:
                model = all_trained[r["alpha"]][eta_fixed][0]
                r["distance_fixed_eta"] = float((_outputs(model, x["test"]) - h_linear).norm() / h_linear.norm())
                r["weight_change_fixed_eta"] = model.weight_change()
    else:
        eta_fixed = float("nan")
    out["eta_fixed"] = eta_fixed
    out["n_test"] = len(data["y_test"])
    rich = [r for r in out["rows"] if r["alpha"] <= 1] or out["rows"][:1]
    reference = max(rich, key=lambda r: r["validation_accuracy"])  # first on ties
    out["feature_learning"] = reference
    out["selections"].append(Selection(
        "feature-learning reference alpha (among alpha <= 1)", [r["alpha"] for r in rich],
        [r["validation_accuracy"] for r in rich], reference["alpha"],
        f"validation accuracy (%) at the chosen eta, {cfg.cnn_validation} held-out training images, max"))
    return out


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


@torch.no_grad()
def _outputs(model: nn.Module, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(x[i:i + batch].to(device)).double().cpu() for i in range(0, len(x), batch)])


# ----------------------------------------------------------------------------- numbers and verdicts


def _slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def _metrics(kernel: dict, sweep: dict, cfg: Config) -> dict[str, float]:
    pw = kernel["per_width"]
    m = {"nngp_test_accuracy": kernel["nngp_test_accuracy"], "ntk_test_accuracy": kernel["ntk_test_accuracy"],
         "ntk_gd_kernel_test_accuracy": kernel["kernel_gd_test_accuracy"], "gd_steps": float(kernel["steps"]),
         "gd_lr": kernel["lr"],
         "ntk_change_slope": _slope(cfg.widths, pw["ntk_change"]) if len(cfg.widths) > 1 else 0.0,
         "ntk_init_error_slope": _slope(cfg.widths, pw["init_error"]) if len(cfg.widths) > 1 else 0.0,
         "kernel_distance_slope": _slope(cfg.widths, pw["distance"]) if len(cfg.widths) > 1 else 0.0}
    for i, w in enumerate(cfg.widths):
        m[f"ntk_change_w{w}"] = float(pw["ntk_change"][i])
        m[f"ntk_init_error_w{w}"] = float(pw["init_error"][i])
        m[f"kernel_distance_w{w}"] = float(pw["distance"][i])
        m[f"mlp_test_accuracy_w{w}"] = float(pw["test_accuracy"][i])
    rows = sweep["rows"]
    for r in rows:
        tag = f"alpha{r['alpha']:g}".replace(".", "p")
        for key in ("test_accuracy", "distance", "weight_change", "linear_test_accuracy", "agreement"):
            m[f"{key}_{tag}"] = float(r[key])
    lazy = [r for r in rows if r["alpha"] >= 1]
    for r in lazy:
        tag = f"alpha{r['alpha']:g}".replace(".", "p")
        m[f"distance_fixed_eta_{tag}"] = r["distance_fixed_eta"]
        m[f"weight_change_fixed_eta_{tag}"] = r["weight_change_fixed_eta"]
    if len(lazy) > 1:
        m["alpha_distance_slope"] = _slope([r["alpha"] for r in lazy], [r["distance_fixed_eta"] for r in lazy])
        m["alpha_weight_change_slope"] = _slope([r["alpha"] for r in lazy], [r["weight_change_fixed_eta"] for r in lazy])
        m["eta_fixed"] = sweep["eta_fixed"]
    m["accuracy_gap_feature_learning_vs_lazy"] = sweep["feature_learning"]["test_accuracy"] - rows[-1]["test_accuracy"]
    return m


def _decreasing(values) -> bool:
    return all(b < a for a, b in zip(values, values[1:]))


def _verdicts(kernel: dict, sweep: dict, cfg: Config) -> list[Verdict]:
    pw, widths = kernel["per_width"], cfg.widths
    verdicts = []
    if len(widths) < 2:
        return [Verdict("width-dependent claims (A), (C)", "not tested", "fewer than two widths")]
    change_slope = _slope(widths, pw["ntk_change"])
    holds = change_slope <= -0.25 and pw["ntk_change"][-1] < pw["ntk_change"][0]
    verdicts.append(Verdict(
        "Under the NTK parameterization the tangent kernel moves less during training as the width grows"
        " (Jacot et al. 2018; Lee et al. 2019: change O(width^-1/2))",
        "holds" if holds else ("partially" if change_slope < 0 else "does not hold"),
        "relative change ||Theta_T - Theta_0||_F / ||Theta_0||_F = "
        + ", ".join(f"{v:.3g}" for v in pw["ntk_change"]) + f" at widths {list(widths)}; log-log slope"
        f" {change_slope:.2f}. Criterion: slope <= -0.25 and widest < narrowest (holds); slope < 0 (partially).",
        "Lee et al. 2019, Fig. 1: relative Frobenius change of the NTK falls like 1/sqrt(width) (slope -0.5)"))
    init_slope = _slope(widths, pw["init_error"])
    holds = init_slope <= -0.25 and pw["init_error"][-1] < 0.2
    verdicts.append(Verdict(
        "The NTK at initialization converges to the closed-form arc-cosine kernel of the ReLU MLP (Jacot et al."
        " 2018, Theorem 1; Arora et al. 2019)",
        "holds" if holds else ("partially" if init_slope < 0 else "does not hold"),
        "||Theta_0 - Theta_inf (x) I_K||_F / ||Theta_inf (x) I_K||_F = "
        + ", ".join(f"{v:.3g}" for v in pw["init_error"]) + f"; log-log slope {init_slope:.2f}. Criterion: slope"
        " <= -0.25 and error < 0.2 at the widest (holds); slope < 0 (partially).",
        "fluctuations O(width^-1/2) (Hanin & Nica 2020 for fixed depth)"))
    rows = sweep["rows"]
    lazy = [r for r in rows if r["alpha"] >= 1]
    if len(lazy) >= 2:
        alphas = [r["alpha"] for r in lazy]
        d_slope = _slope(alphas, [r["distance_fixed_eta"] for r in lazy])
        w_slope = _slope(alphas, [r["weight_change_fixed_eta"] for r in lazy])
        holds = d_slope <= -0.5 and w_slope <= -0.5 and lazy[-1]["distance_fixed_eta"] < lazy[0]["distance_fixed_eta"]
        verdicts.append(Verdict(
            "Scaling the model by alpha (loss / alpha^2) keeps training close to its linearization as alpha grows,"
            " with weights moving O(1/alpha) (Chizat, Oyallon & Bach 2019, Theorems 2.2-2.4)",
            "holds" if holds else ("partially" if d_slope < 0 else "does not hold"),
            f"at one eta = {sweep['eta_fixed']:g} (chosen on validation for all alphas >= 1), alphas {alphas}: test-output"
            " distance"
            " ||h_alpha - h_lin|| / ||h_lin|| = " + ", ".join(f"{r['distance_fixed_eta']:.3g}" for r in lazy)
            + ", relative weight change " + ", ".join(f"{r['weight_change_fixed_eta']:.3g}" for r in lazy)
            + f"; log-log slopes: distance {d_slope:.2f}, weight change {w_slope:.2f} (theory -1). With eta chosen per"
            " alpha: distances " + ", ".join(f"{r['distance']:.3g}" for r in rows) + f" at alphas {list(cfg.alphas)}."
            " Criterion: both slopes <= -0.5 (holds); distance slope < 0 (partially).",
            "Chizat et al. 2019: distance to the linearized trajectory O(1/alpha)"))
    else:
        verdicts.append(Verdict("Lazy training stays close to its linearization (Chizat et al. 2019)", "not tested",
                                "fewer than two alphas >= 1"))
    small, large = sweep["feature_learning"], rows[-1]
    p = (small["test_accuracy"] + large["test_accuracy"]) / 200
    se = 100 * math.sqrt(2 * p * (1 - p) / sweep["n_test"])
    gap = small["test_accuracy"] - large["test_accuracy"]
    tested = small["alpha"] < large["alpha"]
    verdicts.append(Verdict(
        "The lazy regime (large alpha) generalizes worse than feature learning (small alpha) on images"
        " (Chizat, Oyallon & Bach 2019, Fig. 3)",
        "not tested" if not tested else ("holds" if gap > 2 * se else ("partially" if gap > 0 else "does not hold")),
        f"test accuracy {small['test_accuracy']:.2f} % at alpha = {small['alpha']:g} (the alpha <= 1 of best"
        f" validation accuracy) vs {large['test_accuracy']:.2f} %"
        f" at alpha = {large['alpha']:g} (linearized model {large['linear_test_accuracy']:.2f} %); gap {gap:+.2f}"
        f" points, standard error {se:.2f}. Criterion: gap > 2 standard errors (holds); gap > 0 (partially).",
        "Chizat et al. 2019, Fig. 3 (VGG-11, CIFAR-10): test accuracy falls as alpha grows, the lazy end far below"))
    d_slope = _slope(widths, pw["distance"])
    holds = d_slope <= -0.25 and pw["distance"][-1] < 0.5 * pw["distance"][0]
    verdicts.append(Verdict(
        "Finite networks trained by gradient descent approach the closed-form NTK predictor as the width grows"
        " (Jacot et al. 2018; Lee et al. 2019)",
        "holds" if holds else ("partially" if d_slope < 0 else "does not hold"),
        "test-output distance to the kernel predictor after the same T steps = "
        + ", ".join(f"{v:.3g}" for v in pw["distance"]) + f" at widths {list(widths)}; log-log slope {d_slope:.2f}."
        f" Kernel accuracies: NNGP ridge {kernel['nngp_test_accuracy']:.2f} %, NTK ridge"
        f" {kernel['ntk_test_accuracy']:.2f} %, NTK after T steps {kernel['kernel_gd_test_accuracy']:.2f} %."
        " Criterion: slope <= -0.25 and widest < half the narrowest (holds); slope < 0 (partially).",
        "Lee et al. 2019, Fig. 2-3: outputs of wide networks match the linearized/kernel dynamics, error O(width^-1/2)"))
    return verdicts


def _tables(kernel: dict, sweep: dict, cfg: Config) -> list:
    mlp = [[r["width"], r["seed"], round(r["init_error"], 4), round(r["ntk_change"], 4), round(r["distance"], 4),
            round(r["test_accuracy"], 2), float(f"{r['final_loss']:.4g}")] for r in kernel["rows"]]
    alpha = [[r["alpha"], r["eta"], round(r["validation_accuracy"], 2), round(r["test_accuracy"], 2),
              round(r["linear_test_accuracy"], 2), round(r["distance"], 4), round(r["agreement"], 2),
              float(f"{r['weight_change']:.4g}"), float(f"{r['linear_weight_change']:.4g}"),
              round(r.get("distance_fixed_eta", float("nan")), 4) if r["alpha"] >= 1 else "",
              float(f"{r['weight_change_fixed_eta']:.4g}") if r["alpha"] >= 1 else ""] for r in sweep["rows"]]
    kernels = [["NNGP, ridge", kernel["nngp_ridge"], round(kernel["nngp_test_accuracy"], 2)],
               ["NTK, ridge", kernel["ntk_ridge"], round(kernel["ntk_test_accuracy"], 2)],
               [f"NTK, {kernel['steps']} GD steps", 0.0, round(kernel["kernel_gd_test_accuracy"], 2)]]
    return [
        (f"(A, C) NTK-parameterized ReLU MLPs, depth {cfg.mlp_depth}, full-batch GD on MSE ({cfg.kernel_train} images,"
         f" {kernel['steps']} steps, lr {kernel['lr']:.4g}); NTK on {cfg.ntk_probe} images",
         ["width", "seed", "NTK init error vs closed form", "NTK relative change", "distance to kernel predictor",
          "test accuracy (%)", "final train loss"], mlp),
        (f"(C) Closed-form kernel regression, {cfg.kernel_train} training images, {cfg.kernel_test} test images",
         ["kernel", "ridge (relative)", "test accuracy (%)"], kernels),
        (f"(B) alpha sweep, CNN width {cfg.cnn_width}, {cfg.cnn_train} images, {cfg.epochs} epochs, cross-entropy",
         ["alpha", "eta (chosen)", "validation accuracy (%)", "test accuracy (%)", "linearized test accuracy (%)",
          "distance to linearized", "argmax agreement (%)", "weight change", "linearized weight change",
          f"distance at eta = {sweep['eta_fixed']:g}", f"weight change at eta = {sweep['eta_fixed']:g}"], alpha)]


def _notes(kernel: dict, sweep: dict, cfg: Config) -> list[str]:
    pw = kernel["per_width"]
    rows = sweep["rows"]
    return [
        f"(A) The relative change of the empirical NTK during training falls from {pw['ntk_change'][0]:.3g} at width"
        f" {cfg.widths[0]} to {pw['ntk_change'][-1]:.3g} at width {cfg.widths[-1]}; its distance to the closed form at"
        f" initialization from {pw['init_error'][0]:.3g} to {pw['init_error'][-1]:.3g}.",
        f"(B) From alpha = {rows[0]['alpha']:g} to {rows[-1]['alpha']:g} the distance between the trained CNN and its"
        f" trained linearization goes from {rows[0]['distance']:.3g} to {rows[-1]['distance']:.3g}, the relative weight"
        f" change from {rows[0]['weight_change']:.3g} to {rows[-1]['weight_change']:.3g}, the test accuracy from"
        f" {rows[0]['test_accuracy']:.2f} % to {rows[-1]['test_accuracy']:.2f} %.",
        f"(C) Closed-form kernels: NNGP {kernel['nngp_test_accuracy']:.2f} %, NTK {kernel['ntk_test_accuracy']:.2f} %"
        f" (kernel ridge regression); finite MLPs reach {pw['test_accuracy'][-1]:.2f} % at width {cfg.widths[-1]} and"
        f" their outputs are within {pw['distance'][-1]:.3g} (relative) of the kernel predictor.",
        "The MSE networks (A, C) are trained by a plain full-batch gradient-descent loop (theory.lazy.gradient_descent_mse,"
        " not checkpointed: seconds per network) because their infinite-width limit is known in closed form only for"
        " that algorithm; the CNNs (B) use the checkpointed scatlab.learning.training.train.",
    ]


# --------------------------------------------------------------------------------------- figures


def _reference(ax, widths, values, slope: float, label: str) -> None:
    w = np.asarray(widths, float)
    ax.plot(w, values[0] * (w / w[0]) ** slope, "k:", label=label)


def _width_ticks(ax, widths) -> None:
    from matplotlib.ticker import NullLocator

    ax.set_xticks(widths, [str(v) for v in widths])
    ax.xaxis.set_minor_locator(NullLocator())


def _plot_ntk(kernel: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(2, 5.0, 4.0)
    pw, w = kernel["per_width"], np.asarray(cfg.widths)
    for r in kernel["rows"]:
        axes[0].plot(r["width"], r["ntk_change"], "o", color="tab:blue", alpha=0.35, ms=4)
        axes[1].plot(r["width"], r["init_error"], "o", color="tab:orange", alpha=0.35, ms=4)
    axes[0].plot(w, pw["ntk_change"], "-o", color="tab:blue", label="mean over seeds")
    _reference(axes[0], w, pw["ntk_change"], -0.5, "slope -1/2")
    axes[0].set(xscale="log", yscale="log", xlabel="hidden width", ylabel="||Theta_T - Theta_0||_F / ||Theta_0||_F",
                title=f"(A) NTK change during training (slope {_slope(w, pw['ntk_change']):.2f})")
    axes[1].plot(w, pw["init_error"], "-o", color="tab:orange", label="mean over seeds")
    _reference(axes[1], w, pw["init_error"], -0.5, "slope -1/2")
    axes[1].set(xscale="log", yscale="log", xlabel="hidden width", ylabel="||Theta_0 - Theta_inf||_F / ||Theta_inf||_F",
                title=f"(A) NTK at init vs closed form (slope {_slope(w, pw['init_error']):.2f})")
    for ax in axes:
        _width_ticks(ax, w)
        ax.legend()
    return save_png(fig, out_dir, "ntk_vs_width.png")


def _plot_kernel_match(kernel: dict, out_dir: Path) -> str:
    theta_inf, theta0, theta1 = kernel["match"]
    fig, axes = figure_row(2, 5.0, 4.0)
    lo, hi = float(theta_inf.min()), float(theta_inf.max())
    axes[0].plot(theta_inf.ravel(), theta0.ravel(), ".", ms=2, alpha=0.5, label="at initialization")
    axes[0].plot(theta_inf.ravel(), theta1.ravel(), ".", ms=2, alpha=0.5, label="after training")
    axes[0].plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
    axes[0].set(xlabel="closed-form NTK Theta_inf(x, x')", ylabel="empirical NTK (mean over outputs)",
                title="(A, C) widest MLP: empirical vs closed-form NTK")
    axes[0].legend(markerscale=4)
    im = axes[1].imshow(theta_inf, cmap="viridis")
    axes[1].set(title="closed-form NTK on the probe images", xlabel="image", ylabel="image")
    fig.colorbar(im, ax=axes[1])
    return save_png(fig, out_dir, "ntk_closed_form.png")


def _plot_convergence(kernel: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(2, 5.0, 4.0)
    pw, w = kernel["per_width"], np.asarray(cfg.widths)
    for r in kernel["rows"]:
        axes[0].plot(r["width"], r["distance"], "o", color="tab:green", alpha=0.35, ms=4)
        axes[1].plot(r["width"], r["test_accuracy"], "o", color="tab:green", alpha=0.35, ms=4)
    axes[0].plot(w, pw["distance"], "-o", color="tab:green", label="mean over seeds")
    _reference(axes[0], w, pw["distance"], -0.5, "slope -1/2")
    axes[0].set(xscale="log", yscale="log", xlabel="hidden width",
                ylabel="||f_net - f_kernel|| / ||f_kernel|| (test)",
                title=f"(C) distance to the NTK predictor, T = {kernel['steps']} steps")
    axes[1].plot(w, pw["test_accuracy"], "-o", color="tab:green", label="finite MLPs (GD, MSE)")
    for key, style, label in (("kernel_gd_test_accuracy", "k--", "NTK predictor, same T steps"),
                              ("ntk_test_accuracy", "b:", "NTK ridge regression"),
                              ("nngp_test_accuracy", "r:", "NNGP ridge regression")):
        axes[1].axhline(kernel[key], linestyle=style[1:], color=style[0], label=label)
    axes[1].set(xscale="log", xlabel="hidden width", ylabel="test accuracy (%)",
                title=f"(C) test accuracy, {cfg.kernel_train} training images")
    for ax in axes:
        _width_ticks(ax, w)
        ax.legend(fontsize=8)
    return save_png(fig, out_dir, "kernel_convergence.png")


def _plot_alpha(sweep: dict, cfg: Config, out_dir: Path) -> str:
    rows = sweep["rows"]
    a = np.array([r["alpha"] for r in rows])
    fig, axes = figure_row(3, 4.4, 4.0)
    axes[0].plot(a, [r["distance"] for r in rows], "-o", label="||h_alpha - h_lin|| / ||h_lin||, eta per alpha")
    lazy = [r for r in rows if r["alpha"] >= 1]
    fixed = f"one eta = {sweep['eta_fixed']:g}"
    axes[0].plot([r["alpha"] for r in lazy], [r["distance_fixed_eta"] for r in lazy], "--^", color="tab:red",
                 label=f"same, {fixed}")
    axes[0].plot(a, a[-1] * rows[-1]["distance"] / a, "k:", label="slope -1")
    axes[0].set(xscale="log", yscale="log", xlabel="alpha", ylabel="relative distance (test logits)",
                title="(B) trained model vs trained linearization")
    axes[1].plot(a, [r["weight_change"] for r in rows], "-o", label="alpha-scaled CNN, eta per alpha")
    axes[1].plot(a, [r["linear_weight_change"] for r in rows], "--s", label="linearized model, same eta")
    axes[1].plot([r["alpha"] for r in lazy], [r["weight_change_fixed_eta"] for r in lazy], "--^", color="tab:red",
                 label=f"alpha-scaled CNN, {fixed}")
    axes[1].set(xscale="log", yscale="log", xlabel="alpha", ylabel="||w - w0|| / ||w0||", title="(B) relative weight change")
    axes[2].plot(a, [r["test_accuracy"] for r in rows], "-o", label="alpha-scaled CNN")
    axes[2].plot(a, [r["linear_test_accuracy"] for r in rows], "--s", label="linearized model, same eta")
    axes[2].set(xscale="log", xlabel="alpha", ylabel="test accuracy (%)",
                title=f"(B) test accuracy ({sweep['n_test']} images)")
    for ax in axes:
        ax.legend(fontsize=8)
    return save_png(fig, out_dir, "alpha_sweep.png")
