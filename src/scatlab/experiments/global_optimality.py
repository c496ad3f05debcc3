r"""Experiment ``global-optimality``: zero slices, enough slices, and the spread of local minima.

Claims (Haeffele & Vidal, "Global optimality in tensor factorization, deep learning, and beyond",
arXiv 1506.07540, 2015, and "Global optimality in neural network training", CVPR 2017;
Choromanska, Henaff, Mathieu, Ben Arous & LeCun, "The loss surfaces of multilayer networks",
AISTATS 2015): when the network map and the regularizer are sums of positively homogeneous
functions of the same degree over slices,

(a) any local minimizer with one all-zero slice is a global minimizer;
(b) with enough slices, local descent reaches a global minimum;
(c) for large networks most local minima are equivalent: the spread of the final losses of
    independent trainings shrinks as the networks grow.

Protocol (tools in :mod:`scatlab.theory.optimality`):

1. Factorization. Y = ``n_images`` training images of the data set as rows (pixels as columns,
   float64). :math:`\min_{U,V}\frac12\|Y - UV^\top\|_F^2 + \lambda\sum_{i\le r}\|u_i\|\|v_i\|` from
   ``starts`` random starts per r, by PALM (alternating proximal-gradient steps, group
   soft-thresholding) in two variants: 'rebalanced' (columns rescaled to :math:`\|u_i\|=\|v_i\|` after
   each sweep, which keeps the objective, so a dead column is an all-zero slice) and 'plain'. The
   global optimum is the singular-value soft-thresholding of Y (closed form). :math:`\lambda =
   \sqrt{\sigma_k\sigma_{k+1}}` (k = ``target_rank``), so the optimum has rank k exactly (a definition
   of the problem, recorded as a Selection). Reported per r: the fraction of starts with relative gap
   < ``gap_tol`` (1e-6), the gaps, the polar certificate :math:`\sigma_{\max}(Y - UV^\top)/\lambda`; the
   zero-slice check on every end point with an all-zero slice (the plain variant's end points are
   rebalanced first: same :math:`UV^\top`, same objective): local-minimum conditions (stationarity of
   the active columns and polar ratio <= 1 + ``cert_tol``) against the closed-form gap; and the
   fraction after Haeffele & Vidal's meta-algorithm (put the top singular pair of the residual into a
   zero slice, descend again).
2. Two-layer ReLU network with weight decay (degree 2 in each slice (w_j, b_j, a_j)) on
   ``relu_n_train`` images (average-pooled by ``pool``, centred), squared loss to centred one-hot
   targets, fitted by full-batch L-BFGS in float64; :math:`\lambda` chosen on a validation split
   (accuracy) at width ``relu_select_width``. Per width and seed: the certificate
   :math:`\max_{\|(w,b)\|=1}\|G^\top\mathrm{relu}(Xw+b)\|/\lambda` (G = residual / n; gradient ascent from
   ``polar_starts`` starts and the network's neurons), the same at the network's own neurons
   (stationarity) and a bound on the relative suboptimality.
3. Loss landscape: ``landscape_runs`` (K >= 10) trainings per width of the same one-hidden-layer
   ReLU network (cross-entropy, SGD with weight decay, :func:`scatlab.learning.training.train`,
   checkpointed) on ``landscape_n_train`` images; learning rate and weight decay chosen on a
   validation split (cross-entropy) at ``landscape_select_width``; the final train and test
   cross-entropies of each run, their standard deviation and range per width; the ReLU certificate
   of the first run of each width (cross-entropy gradient, :math:`\lambda` = weight decay).

Verdicts: (a) holds if every end point with an all-zero slice that passes the local-minimum
conditions is global (relative gap < ``gap_tol``), and at least one exists; (b) holds if, for both
PALM variants, the fraction reaching the global optimum is >= 0.95 at every r from some tested r on;
(b') the ReLU certificate closes if its median ratio at the largest width is <= 1.1 (L-BFGS stops at
ReLU kinks a few per cent from stationarity) and the ratio decreases with width (Spearman < 0);
(c) holds if the standard deviation of both the final train and test losses at the largest width is below half of that at the smallest and decreases with width
(Spearman < 0), partially if one of them does.

Time on this 2-core CPU (one thread): quick 185-272 s wall (36-41 s of CPU: the machine was shared, load ~10);
full measured at 29 min wall (8 min of CPU; factorization 19 min, ReLU 6 min, landscape 4 min wall)
on the same shared machine.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from ..errors import InvalidParameterError
from ..learning.regimes import balanced_subsets, image_tensors
from ..learning.splits import train_validation_indices
from ..learning.training import TrainSettings, train
from ..runtime import Progress, seed_everything
from ..theory import optimality as opt
from ._figures import figure_row, save_png
from ._contract import CHECKPOINTS, Result, Selection, Verdict

__all__ = ["Config", "run"]

HH = "Haeffele & Vidal (arXiv 1506.07540, 2015; CVPR 2017)"
CHOROMANSKA = "Choromanska et al. (AISTATS 2015)"


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the global-optimality experiment; the defaults are the full run."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    seed: int = 0  # seed of the splits, the random starts and the trainings
    # 1. factorization
    n_images: int = 200  # rows of Y: class-balanced training images (pixels as columns)
    target_rank: int = 8  # lambda = sqrt(sigma_k sigma_k+1) of Y: the global optimum has this rank
    ranks: tuple[int, ...] = (2, 4, 6, 8, 12, 16, 24, 32)  # numbers of columns r (slices)
    starts: int = 20  # random starts per r
    max_iter: int = 20000  # PALM sweeps at most
    tol: float = 1e-12  # stop when the relative decrease per sweep is below this
    escape_rounds: int = 5  # rounds of the zero-slice escape (meta-algorithm) after the descent
    gap_tol: float = 1e-6  # a start reached the global optimum if its relative objective gap is below this
    cert_tol: float = 1e-3  # tolerance of the local-minimum conditions (stationarity, polar ratio <= 1 + tol)
    # 2. two-layer ReLU certificate
    pool: int = 2  # average pooling of the images before the networks (1: none)
    relu_n_train: int = 500  # training images of the ReLU fits
    relu_n_validation: int = 500  # validation images (choice of lambda)
    n_test: int = 2000  # first test images
    relu_lams: tuple[float, ...] = (1e-3, 1e-2, 1e-1)  # candidate weight decays lambda
    relu_select_width: int = 64  # width at which lambda is chosen
    relu_widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 256)  # hidden widths
    relu_seeds: int = 2  # initializations per width
    lbfgs_iter: int = 1000  # L-BFGS iterations at most per fit
    polar_starts: int = 64  # random starts (and as many data rows) of the polar search
    polar_steps: int = 300  # gradient-ascent steps of the polar search
    # 3. landscape
    landscape_n_train: int = 2000  # training images of the landscape trainings
    landscape_n_validation: int = 1000  # validation images (choice of lr and weight decay)
    landscape_widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256)  # hidden widths
    landscape_runs: int = 10  # trainings (seeds) per width, K >= 10
    landscape_select_width: int = 64  # width at which lr and weight decay are chosen
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1)  # candidate initial learning rates (cosine schedule)
    weight_decays: tuple[float, ...] = (1e-4, 1e-3)  # candidate weight decays
    epochs: int = 20  # epochs of every training (a budget, not selected)
    batch_size: int = 100  # SGD batch size

    @classmethod
    def quick(cls) -> Config:
        """Smaller Y, fewer r, widths and seeds, short trainings (about 40 s of CPU; 3-5 min wall when shared)."""
        return cls(n_images=50, target_rank=4, ranks=(2, 4, 6, 8, 12), starts=8, relu_n_train=300,
                   relu_n_validation=300, n_test=1000, relu_select_width=32, relu_widths=(2, 8, 32, 128), relu_seeds=1,
                   lbfgs_iter=400, polar_starts=32, polar_steps=150, landscape_n_train=1000, landscape_n_validation=500,
                   landscape_widths=(8, 32, 128), landscape_runs=10, landscape_select_width=32, lrs=(0.03, 0.1),
                   weight_decays=(1e-4, 1e-3), epochs=8)


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Run the three parts on real images; write the figures in ``out_dir``; return numbers and verdicts."""
    _check(cfg)
    out_dir = Path(out_dir)
    times = {}
    data = image_tensors(cfg.data_dir, cfg.n_test)  # read once: float32 images in [0, 1], labels
    start = time.perf_counter()
    factor = _factorization(cfg, data, progress)
    times["factorization"] = time.perf_counter() - start
    start = time.perf_counter()
    relu = _relu_certificates(cfg, data, progress)
    times["relu"] = time.perf_counter() - start
    start = time.perf_counter()
    land = _landscape(cfg, data, out_dir, progress)
    times["landscape"] = time.perf_counter() - start
    metrics = _metrics(cfg, factor, relu, land, times)
    figures = [_plot_spectrum(factor, cfg, out_dir), _plot_fractions(factor, cfg, out_dir),
               _plot_gaps(factor, cfg, out_dir), _plot_relu(relu, cfg, out_dir), _plot_landscape(land, cfg, out_dir)]
    return Result(metrics=metrics, tables=_tables(cfg, factor, relu, land), figures=figures,
                  notes=_notes(cfg, factor, relu, land, times), verdicts=_verdicts(cfg, factor, relu, land),
                  selections=[factor["selection"], relu["selection"], land["selection"]])


def _check(cfg: Config) -> None:
    if cfg.target_rank < 1 or cfg.target_rank >= cfg.n_images:
        raise InvalidParameterError(f"Config.target_rank = {cfg.target_rank} must be in [1, n_images - 1].")
    if not cfg.ranks or min(cfg.ranks) < 1:
        raise InvalidParameterError(f"Config.ranks = {cfg.ranks} must be non-empty numbers of columns >= 1.")
    if not cfg.relu_widths or min(cfg.relu_widths) < 1 or not cfg.landscape_widths or min(cfg.landscape_widths) < 1:
        raise InvalidParameterError("Config.relu_widths and Config.landscape_widths must be non-empty widths >= 1.")
    if len(cfg.landscape_widths) < 2 or len(cfg.relu_widths) < 2:
        raise InvalidParameterError("Config.relu_widths and Config.landscape_widths need at least 2 widths (a trend).")
    if cfg.landscape_runs < 2:
        raise InvalidParameterError(f"Config.landscape_runs = {cfg.landscape_runs}: a spread needs at least 2 runs per"
                                    " width (the claim is tested with K >= 10).")
    if cfg.starts < 1 or cfg.relu_seeds < 1 or cfg.pool < 1 or not cfg.relu_lams or not cfg.lrs \
            or not cfg.weight_decays:
        raise InvalidParameterError("Config.starts, relu_seeds and pool must be >= 1; relu_lams, lrs and weight_decays"
                                    " non-empty.")


# ------------------------------------------------------------------------ 1. factorization


def _factorization(cfg: Config, data: dict, progress: Progress) -> dict:
    index = balanced_subsets(data["y_train"].numpy(), (cfg.n_images,), cfg.seed)[cfg.n_images]
    Y = data["x_train"][torch.as_tensor(index)].flatten(1).double()
    s = torch.linalg.svdvals(Y)
    k = cfg.target_rank
    lam = float((s[k - 1] * s[k]).sqrt())
    best = opt.svt(Y, lam)
    candidates = list(range(max(1, k - 2), k + 3))
    selection = Selection(
        what="lambda of the factorization (as the rank k of its global optimum)", grid=candidates,
        scores=[float((s[j - 1] * s[j]).sqrt()) for j in candidates], chosen=k,
        criterion=f"lambda = sqrt(sigma_k sigma_(k+1)) of Y ({cfg.n_images} training images), scores are these lambdas;"
                  f" k = Config.target_rank = {k} fixed in advance so that the optimum has a known rank (a definition"
                  " of the problem, not fitted to any outcome)")
    rows = {}
    for r in progress(cfg.ranks, desc="factorization r", total=len(cfg.ranks)):
        entry = {}
        for variant, rebalance in (("rebalanced", True), ("plain", False)):
            f = opt.factorize(Y, r, lam, starts=cfg.starts, seed=cfg.seed + 1000 * r, max_iter=cfg.max_iter,
                              tol=cfg.tol, rebalance=rebalance)
            gap = ((f.objective - best.objective) / best.objective).clamp_min(0)
            U, V = opt._rebalance(f.U, f.V)  # same UV^T and objective: a dead column becomes an all-zero slice
            check = opt.zero_slice_check(Y, U, V, lam, tol=cfg.cert_tol)
            entry[variant] = {"gap": gap.numpy(), "ratio": check.polar_ratio.numpy(),
                              "zero": check.has_zero_slice.numpy(), "local_min": check.local_min.numpy(),
                              "stationarity": check.stationarity.numpy(), "converged": f.converged.numpy(),
                              "iterations": f.iterations.numpy(),
                              "active": ((f.U.norm(dim=1) * f.V.norm(dim=1)) > 0).sum(dim=1).numpy(),
                              "half_zero_min": _half_zero_local_minima(Y, f.U, f.V, lam, cfg.cert_tol)}
            if rebalance:
                entry["escape"] = _escape(Y, f, r, lam, best.objective, cfg)
        entry["rank_r_optimum_gap"] = (opt.svt(Y, lam, rank=r).objective - best.objective) / best.objective
        rows[r] = entry
    return {"Y_shape": tuple(Y.shape), "singular_values": s.numpy(), "lam": lam, "best": best.objective,
            "rank": best.rank, "rows": rows, "selection": selection}


def _half_zero_local_minima(Y, U, V, lam, tol) -> np.ndarray:
    """Per start: it has a column with exactly one zero factor, its active columns are stationary, and
    moving the zero factor alone increases the objective to first order (||R v_i|| <= lam ||v_i||)."""
    R = Y - U @ V.transpose(1, 2)
    nu, nv = U.norm(dim=1), V.norm(dim=1)  # (S, r)
    half = (nu == 0) ^ (nv == 0)
    Uh, Vh = U / nu[:, None].clamp_min(1e-300), V / nv[:, None].clamp_min(1e-300)
    pull_u = (R @ Vh).norm(dim=1) / lam  # where u_i = 0: first-order growth needs <= 1
    pull_v = (R.transpose(1, 2) @ Uh).norm(dim=1) / lam
    pull = torch.where(nu == 0, pull_u, pull_v)
    stay = torch.where(half, pull <= 1 + tol, True).all(dim=1)
    stationarity = opt.zero_slice_check(Y, U, V, lam, tol=tol).stationarity
    return (half.any(dim=1) & stay & (stationarity <= tol)).numpy()


def _escape(Y, f, r, lam, best, cfg) -> dict:
    """Haeffele & Vidal's meta-algorithm: fill a zero slice with the residual's top singular pair, descend again."""
    U, V = opt._rebalance(f.U, f.V)
    rounds = np.zeros(U.shape[0], dtype=int)
    objective = f.objective
    for _ in range(cfg.escape_rounds):
        U, V, moved = opt.escape_zero_slice(Y, U, V, lam)
        if not bool(moved.any()):
            break
        rounds += moved.numpy()
        g = opt.factorize(Y, r, lam, init=(U, V), max_iter=cfg.max_iter, tol=cfg.tol)
        U, V, objective = g.U, g.V, g.objective
    return {"gap": ((objective - best) / best).clamp_min(0).numpy(), "rounds": rounds}


# ---------------------------------------------------------------------- 2. ReLU certificate


def _images(x: torch.Tensor, pool: int) -> torch.Tensor:
    return (F.avg_pool2d(x, pool) if pool > 1 else x).flatten(1)


def _split(data: dict, n_train: int, n_validation: int, seed: int) -> dict:
    """Class-balanced disjoint training and validation subsets of the training set, and the test images."""
    train, validation = (torch.as_tensor(i) for i in
                         train_validation_indices(data["y_train"].numpy(), n_train, n_validation, seed))
    return {"x_train": data["x_train"][train], "y_train": data["y_train"][train],
            "x_validation": data["x_train"][validation], "y_validation": data["y_train"][validation],
            "x_test": data["x_test"], "y_test": data["y_test"]}


def _relu_data(cfg: Config, data: dict) -> dict:
    data = _split(data, cfg.relu_n_train, cfg.relu_n_validation, cfg.seed)
    x = {k: _images(data[f"x_{k}"], cfg.pool).double() for k in ("train", "validation", "test")}
    mean = x["train"].mean(dim=0)
    classes = int(max(int(data[f"y_{k}"].max()) for k in ("train", "validation", "test"))) + 1
    out = {}
    for k in ("train", "validation", "test"):
        onehot = F.one_hot(data[f"y_{k}"], classes).double()
        out[k] = (x[k] - mean, onehot - 1.0 / classes, data[f"y_{k}"])
    return out


def _fit(cfg, X, T, width, lam, seed):
    seed_everything(seed)
    model = opt.TwoLayerReLU(X.shape[1], width, T.shape[1]).double()
    fit = opt.fit_two_layer_relu(model, X, T, lam, max_iter=cfg.lbfgs_iter)
    return model, fit


def _accuracy(model, X, y) -> float:
    p = next(model.parameters())
    with torch.no_grad():
        return float((model(X.to(p)).argmax(1).cpu() == y).double().mean() * 100)


def _relu_certificates(cfg: Config, data: dict, progress: Progress) -> dict:
    d = _relu_data(cfg, data)
    X, T, _ = d["train"]
    scores = []
    for lam in progress(cfg.relu_lams, desc="ReLU lambda", total=len(cfg.relu_lams)):
        model, _ = _fit(cfg, X, T, cfg.relu_select_width, lam, cfg.seed)
        scores.append(_accuracy(model, d["validation"][0], d["validation"][2]))
    lam = cfg.relu_lams[int(np.argmax(scores))]
    selection = Selection(what="lambda (weight decay) of the two-layer ReLU network", grid=list(cfg.relu_lams),
                          scores=scores, chosen=lam,
                          criterion=f"validation accuracy (%), {cfg.relu_n_validation} held-out training images,"
                                    f" width {cfg.relu_select_width}, seed {cfg.seed}, max")
    rows = {}
    runs = [(w, s) for w in cfg.relu_widths for s in range(cfg.relu_seeds)]
    for width, k in progress(runs, desc="ReLU widths", total=len(runs)):
        model, fit = _fit(cfg, X, T, width, lam, cfg.seed + k)
        cert = opt.relu_certificate(model, X, T, lam, starts=cfg.polar_starts, steps=cfg.polar_steps,
                                    seed=cfg.seed + k)
        rows.setdefault(width, []).append({**cert, "gradient": fit["gradient_norm"], "iterations": fit["iterations"],
                                           "test_accuracy": _accuracy(model, d["test"][0], d["test"][2])})
    return {"lam": lam, "rows": rows, "selection": selection, "inputs": X.shape[1]}


# ----------------------------------------------------------------------------- 3. landscape


def _landscape(cfg: Config, data: dict, out_dir: Path, progress: Progress) -> dict:
    data = _split(data, cfg.landscape_n_train, cfg.landscape_n_validation, cfg.seed)
    x = {k: (F.avg_pool2d(data[f"x_{k}"], cfg.pool) if cfg.pool > 1 else data[f"x_{k}"])
         for k in ("train", "validation", "test")}
    y = {k: data[f"y_{k}"] for k in ("train", "validation", "test")}
    classes = int(max(int(v.max()) for v in y.values())) + 1
    inputs = int(np.prod(x["train"].shape[1:]))
    checkpoints = out_dir / CHECKPOINTS
    identity = {"experiment": "global-optimality", "n_train": cfg.landscape_n_train, "pool": cfg.pool,
                "data_dir": str(Path(cfg.data_dir).resolve()), "split_seed": cfg.seed}

    def train_one(width, lr, wd, seed, name):
        seed_everything(seed)
        model = opt.TwoLayerReLU(inputs, width, classes)
        settings = TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr, weight_decay=wd, seed=seed)
        train(model, x["train"], y["train"], settings, checkpoint=checkpoints / f"{name}.pt", resume=True,
              identity={**identity, "width": width}, progress=progress)
        return model

    grid = [(lr, wd) for lr in cfg.lrs for wd in cfg.weight_decays]
    scores = []
    for lr, wd in progress(grid, desc="landscape lr, wd", total=len(grid)):
        model = train_one(cfg.landscape_select_width, lr, wd, cfg.seed, f"select_lr{lr:g}_wd{wd:g}")
        scores.append(_cross_entropy(model, x["validation"], y["validation"]))
    lr, wd = grid[int(np.argmin(scores))]
    selection = Selection(what="(learning rate, weight decay) of the landscape trainings", grid=[str(g) for g in grid],
                          scores=scores, chosen=str((lr, wd)),
                          criterion=f"validation cross-entropy, {cfg.landscape_n_validation} held-out training images,"
                                    f" width {cfg.landscape_select_width}, seed {cfg.seed}, {cfg.epochs} epochs, min")
    rows = {}
    runs = [(w, k) for w in cfg.landscape_widths for k in range(cfg.landscape_runs)]
    for width, k in progress(runs, desc="landscape runs", total=len(runs)):
        seed = cfg.seed + 100 + k
        model = train_one(width, lr, wd, seed, f"width{width}_run{k}")
        record = {"train_loss": _cross_entropy(model, x["train"], y["train"]),
                  "test_loss": _cross_entropy(model, x["test"], y["test"]),
                  "test_accuracy": _accuracy(model.eval(), x["test"], y["test"])}
        if k == 0:  # the certificate of the first run: cross-entropy gradient, lambda = weight decay
            model64 = model.double()
            device = next(model64.parameters()).device
            cert = opt.relu_certificate(model64, x["train"].to(device, torch.float64), y["train"].to(device), wd,
                                        loss=F.cross_entropy,
                                        starts=cfg.polar_starts, steps=cfg.polar_steps, seed=seed)
            record.update(ratio=cert["ratio"], active_ratio=cert["active_ratio"])
        rows.setdefault(width, []).append(record)
    spreads = {w: {key: opt.spread([r[key] for r in runs_w], min_runs=2) for key in ("train_loss", "test_loss")}
               for w, runs_w in rows.items()}
    return {"lr": lr, "wd": wd, "rows": rows, "spreads": spreads, "selection": selection}


def _cross_entropy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        p = next(model.parameters())
        return float(F.cross_entropy(model(x.to(p)), y.to(p.device)))


# ----------------------------------------------------------------------------- results


def _fraction(values: np.ndarray, tol: float) -> float:
    return float((values < tol).mean())


def _enough(cfg: Config, factor: dict, variant: str) -> int | None:
    """The smallest tested r from which every larger tested r reaches the optimum in >= 95 % of the starts."""
    enough = None
    for r in sorted(cfg.ranks, reverse=True):
        if _fraction(factor["rows"][r][variant]["gap"], cfg.gap_tol) >= 0.95:
            enough = r
        else:
            break
    return enough


def _zero_slice_counts(cfg: Config, factor: dict) -> dict:
    zero = local = local_global = saddle_global = saddles = 0
    half_min = half_min_nonglobal = 0
    for r, e in factor["rows"].items():
        for variant in ("rebalanced", "plain"):
            v = e[variant]
            glob = v["gap"] < cfg.gap_tol
            zero += int(v["zero"].sum())
            local += int(v["local_min"].sum())
            local_global += int((v["local_min"] & glob).sum())
            saddle_global += int((v["zero"] & ~v["local_min"] & glob).sum())
            saddles += int((v["zero"] & (v["ratio"] > 1 + cfg.cert_tol)).sum())
            if variant == "plain":
                half_min += int(v["half_zero_min"].sum())
                half_min_nonglobal += int((v["half_zero_min"] & ~glob).sum())
    return {"zero": zero, "local": local, "local_global": local_global, "saddle_global": saddle_global,
            "saddles": saddles,
            "half_min": half_min, "half_min_nonglobal": half_min_nonglobal}


def _relu_summary(relu: dict) -> dict:
    return {w: {key: float(np.median([r[key] for r in rows])) for key in rows[0]} for w, rows in relu["rows"].items()}


def _metrics(cfg, factor, relu, land, times) -> dict[str, float]:
    m = {"factor_lambda": factor["lam"], "factor_sigma_max_y": float(factor["singular_values"][0]),
         "factor_optimum_rank": float(factor["rank"]), "factor_optimum_objective": factor["best"]}
    for r, e in factor["rows"].items():
        m[f"factor_fraction_global_r{r}"] = _fraction(e["rebalanced"]["gap"], cfg.gap_tol)
        m[f"factor_fraction_global_plain_r{r}"] = _fraction(e["plain"]["gap"], cfg.gap_tol)
        m[f"factor_fraction_global_escape_r{r}"] = _fraction(e["escape"]["gap"], cfg.gap_tol)
        m[f"factor_median_gap_r{r}"] = float(np.median(e["rebalanced"]["gap"]))
        m[f"factor_max_polar_ratio_r{r}"] = float(e["rebalanced"]["ratio"].max())
    c = _zero_slice_counts(cfg, factor)
    m.update(factor_zero_slice_endpoints=float(c["zero"]), factor_zero_slice_local_minima=float(c["local"]),
             factor_zero_slice_local_minima_global=float(c["local_global"]),
             factor_half_zero_local_minima=float(c["half_min"]),
             factor_half_zero_local_minima_not_global=float(c["half_min_nonglobal"]))
    m["relu_lambda"] = float(relu["lam"])
    for w, v in _relu_summary(relu).items():
        m[f"relu_ratio_w{w}"] = v["ratio"]
        m[f"relu_active_ratio_w{w}"] = v["active_ratio"]
        m[f"relu_gap_bound_w{w}"] = v["gap_bound"]
        m[f"relu_test_accuracy_w{w}"] = v["test_accuracy"]
    m["landscape_lr"], m["landscape_weight_decay"] = float(land["lr"]), float(land["wd"])
    for w, s in land["spreads"].items():
        for key in ("train_loss", "test_loss"):
            m[f"landscape_{key}_mean_w{w}"] = s[key]["mean"]
            m[f"landscape_{key}_std_w{w}"] = s[key]["std"]
            m[f"landscape_{key}_range_w{w}"] = s[key]["range"]
        m[f"landscape_test_accuracy_mean_w{w}"] = float(np.mean([r["test_accuracy"] for r in land["rows"][w]]))
        m[f"landscape_sgd_certificate_w{w}"] = float(land["rows"][w][0]["ratio"])
    for part, seconds in times.items():
        m[f"seconds_{part}"] = float(seconds)
    return m


def _spearman(x, y) -> float:
    value = spearmanr(x, y).statistic
    return float(value) if np.isfinite(value) else 0.0


def _verdicts(cfg, factor, relu, land) -> list[Verdict]:
    c = _zero_slice_counts(cfg, factor)
    if c["local"] == 0:
        zero_verdict = "not tested"
    else:
        zero_verdict = "holds" if c["local_global"] == c["local"] else "does not hold"
    verdicts = [Verdict(
        claim=f"A local minimizer with one all-zero slice is a global minimizer ({HH}, Theorem on zero slices).",
        verdict=zero_verdict,
        evidence=f"{c['zero']} factorization end points have an all-zero slice; {c['local']} pass the local-minimum"
                 f" conditions (stationarity <= {cfg.cert_tol:g}, sigma_max(R)/lambda <= 1 + {cfg.cert_tol:g}) and"
                 f" {c['local_global']} of them are global (relative gap to the SVT optimum < {cfg.gap_tol:g}); the"
                 f" {c['zero'] - c['local']} others fail them, {c['saddles']} of these with sigma_max(R) > lambda(1 + tol):"
                 " saddles (the top singular pair of R can enter the zero slice)."
                 f" Criterion: all local minima with a zero slice are global, at least one exists. Beside the claim:"
                 f" the plain PALM stops at {c['half_min']} points where a column has ONE zero factor and the objective"
                 f" grows to first order when that factor moves; {c['half_min_nonglobal']} of them are not global, so"
                 " the all-zero hypothesis is needed.",
        anchor="Haeffele & Vidal 2015/2017: local minima with an all-zero slice are global minima.")]
    enough = {v: _enough(cfg, factor, v) for v in ("rebalanced", "plain")}
    fractions = "; ".join(f"r={r}: {_fraction(e['rebalanced']['gap'], cfg.gap_tol):.2f} / "
                          f"{_fraction(e['plain']['gap'], cfg.gap_tol):.2f} / "
                          f"{_fraction(e['escape']['gap'], cfg.gap_tol):.2f}" for r, e in factor["rows"].items())
    found = [v for v in enough.values() if v is not None]
    verdicts.append(Verdict(
        claim=f"With enough slices, local descent reaches a global minimum ({HH}).",
        verdict="holds" if len(found) == 2 else "partially" if found else "does not hold",
        evidence=f"Fraction of {cfg.starts} random starts reaching the global optimum (rank {factor['rank']}), rebalanced"
                 f" / plain PALM / rebalanced + zero-slice escapes: {fractions}. Enough slices (>= 95 % from this r on):"
                 f" rebalanced r >= {enough['rebalanced']}, plain r >= {enough['plain']}. Criterion: such an r exists"
                 " for both variants.",
        anchor="Their sufficient r (of order n d) is far larger than the r that suffices here."))
    summary = _relu_summary(relu)
    widths = sorted(summary)
    ratios = [summary[w]["ratio"] for w in widths]
    rho = _spearman(widths, ratios)
    closes = ratios[-1] <= 1.1 and rho < 0
    verdicts.append(Verdict(
        claim=f"For a two-layer ReLU network with weight decay the global-optimality certificate closes as the width"
              f" grows ({HH}, CVPR 2017).",
        verdict="holds" if closes else "partially" if rho < 0 else "does not hold",
        evidence="median max_(w,b) ||G^T relu(Xw + b)|| / lambda over seeds: "
                 + ", ".join(f"width {w}: {v:.3f}" for w, v in zip(widths, ratios))
                 + f" (Spearman with width {rho:.2f}); at the network's own neurons: "
                 + ", ".join(f"{summary[w]['active_ratio']:.3f}" for w in widths)
                 + ". Criterion: <= 1.1 at the largest width and decreasing (Spearman < 0).",
        anchor="At a global minimum the ratio is <= 1 (= 1 on active neurons)."))
    shrinks = {}
    parts = []
    lw = sorted(land["spreads"])
    for key in ("train_loss", "test_loss"):
        stds = [land["spreads"][w][key]["std"] for w in lw]
        rho = _spearman(lw, stds)
        shrinks[key] = stds[-1] < 0.5 * stds[0] and rho < 0
        parts.append(f"{key.replace('_', ' ')} std " + ", ".join(f"{s:.2e}" for s in stds)
                     + f" (Spearman {rho:.2f})")
    n = sum(shrinks.values())
    verdicts.append(Verdict(
        claim=f"For larger networks the local minima found are nearly equivalent: the spread of final losses over"
              f" trainings shrinks with size ({CHOROMANSKA}).",
        verdict="holds" if n == 2 else "partially" if n == 1 else "does not hold",
        evidence=f"{cfg.landscape_runs} trainings per width {lw}: " + "; ".join(parts)
                 + ". Criterion, per loss: std at the largest width < half the std at the smallest, and Spearman < 0;"
                   " holds if both train and test losses shrink.",
        anchor="Choromanska et al. 2015, Fig. 2-3: the test losses of MNIST networks concentrate as the number of"
               " hidden units grows (25 to 500)."))
    return verdicts


def _tables(cfg, factor, relu, land):
    rows = []
    for r, e in factor["rows"].items():
        a, p = e["rebalanced"], e["plain"]
        rows.append([r, _r(e["rank_r_optimum_gap"]), _r(_fraction(a["gap"], cfg.gap_tol)),
                     _r(_fraction(p["gap"], cfg.gap_tol)), _r(_fraction(e["escape"]["gap"], cfg.gap_tol)),
                     f"{np.median(a['gap']):.2e}", f"{a['ratio'].min():.4f}-{a['ratio'].max():.4f}",
                     f"{int(a['zero'].sum())} / {int(p['zero'].sum())}",
                     f"{int(a['local_min'].sum())} / {int(p['local_min'].sum())}",
                     sum(int((v["local_min"] & (v["gap"] < cfg.gap_tol)).sum()) for v in (a, p)),
                     int(p["half_zero_min"].sum()),
                     f"{np.median(a['active']):.0f} / {np.median(p['active']):.0f}", int(a["iterations"].max())])
    factor_table = (
        f"1. Factorization of Y {factor['Y_shape']} (training images), lambda = {factor['lam']:.3f}, optimum rank"
        f" {factor['rank']}: per r, {cfg.starts} starts",
        ["r", "gap of the best rank-r point", "fraction global (rebalanced)", "fraction global (plain)",
         "fraction global (+ escapes)", "median gap (rebalanced)", "polar ratio range (rebalanced)",
         "all-zero-slice end points (reb. / plain, rebalanced)", "of which local minima (reb. / plain)",
         "local minima that are global", "plain: one-factor-zero local minima", "median active columns (reb. / plain)",
         "max sweeps"], rows)
    summary = _relu_summary(relu)
    relu_table = (
        f"2. Two-layer ReLU network, squared loss, lambda = {relu['lam']:g}, {cfg.relu_n_train} training images"
        f" ({relu['inputs'] - 0} inputs + bias): median over {cfg.relu_seeds} seeds",
        ["width", "certificate ratio", "ratio at own neurons", "suboptimality bound", "train loss", "active neurons",
         "L-BFGS gradient", "test accuracy (%)"],
        [[w, _r(v["ratio"]), _r(v["active_ratio"]), _r(v["gap_bound"]), f"{v['loss']:.4g}", _r(v["active_neurons"]),
          f"{v['gradient']:.1e}", _r(v["test_accuracy"])] for w, v in sorted(summary.items())])
    land_rows = []
    for w in sorted(land["spreads"]):
        s = land["spreads"][w]
        acc = [r["test_accuracy"] for r in land["rows"][w]]
        land_rows.append([w, f"{s['train_loss']['mean']:.4f}", f"{s['train_loss']['std']:.2e}",
                          f"{s['train_loss']['range']:.2e}", f"{s['test_loss']['mean']:.4f}",
                          f"{s['test_loss']['std']:.2e}", f"{s['test_loss']['range']:.2e}",
                          f"{np.mean(acc):.2f} ± {np.std(acc, ddof=1):.2f}", _r(land["rows"][w][0]["ratio"])])
    land_table = (
        f"3. Landscape: {cfg.landscape_runs} trainings per width (lr {land['lr']:g}, weight decay {land['wd']:g},"
        f" {cfg.epochs} epochs, {cfg.landscape_n_train} images); final cross-entropies",
        ["width", "train loss mean", "train std", "train range", "test loss mean", "test std", "test range",
         "test accuracy (%)", "certificate ratio (run 0)"], land_rows)
    return [factor_table, relu_table, land_table]


def _notes(cfg, factor, relu, land, times) -> list[str]:
    s = factor["singular_values"]
    k = cfg.target_rank
    c = _zero_slice_counts(cfg, factor)
    dead_reb = sum(int((e["rebalanced"]["active"] < r).sum()) for r, e in factor["rows"].items() if r >= factor["rank"])
    plain_saddles = sum(int((e["plain"]["zero"] & ~e["plain"]["local_min"]).sum()) for e in factor["rows"].values())
    sgd = [rows[0]["ratio"] for rows in land["rows"].values()]
    dead_plain = sum(int((e["plain"]["active"] < r).sum()) for r, e in factor["rows"].items() if r >= factor["rank"])
    return [
        f"Factorization: sigma_1(Y) = {s[0]:.2f}, sigma_{k} = {s[k - 1]:.3f}, sigma_{k + 1} = {s[k]:.3f}, lambda ="
        f" {factor['lam']:.3f}: the global optimum (SVT) has rank {factor['rank']} and objective {factor['best']:.4f}."
        " For r below the rank no start can reach it (the best rank-r point is in the table).",
        "PALM end points with a zero slice and sigma_max(R) > lambda are saddles: a first-order method cannot leave an"
        " exact zero slice, but the meta-algorithm's escape (the top singular pair of R into the slice) lowers the"
        " objective by (sigma_1 - lambda)^2 / 2 and descent then continues.",
        "ReLU: the certificate is searched by gradient ascent (a lower bound of the polar); L-BFGS stops at kinks of"
        " the ReLUs, so the ratio at the network's own neurons measures how stationary the fit is (1 exactly at a"
        " stationary point); the suboptimality bound is only meaningful when the ratio is close to 1.",
        f"Factorization: at r >= the rank of the optimum, {dead_reb} rebalanced and {dead_plain} plain PALM end points"
        f" have a dead column. The plain PALM (a dead u_i keeps its v_i) stopped at {c['half_min']} points where one"
        f" factor of a column is zero and moving it alone raises the objective to first order (local minima of the"
        f" parameterization); {c['half_min_nonglobal']} of them are not global. Rebalanced (same U V^T, the column an"
        f" all-zero slice), {plain_saddles} plain end points fail the local-minimum conditions (sigma_max(R) > lambda:"
        " saddles), which is how the theorem's all-zero hypothesis excludes such points.",
        f"Landscape: the certificate of the SGD end points (cross-entropy gradient, lambda = weight decay) ranges"
        f" {min(sgd):.3g}-{max(sgd):.3g} over widths (1 at a stationary point of the regularized objective): it"
        " measures how far minibatch SGD with a finite budget stops from a stationary point, not the landscape.",
        f"Landscape: cross-entropies without the penalty, on the {cfg.landscape_n_train} training images and"
        f" {cfg.n_test} test images; the seeds change the initialization and the sample order, not the data.",
        "Seconds per part: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()) + ".",
    ]


def _r(value, digits: int = 4):
    return round(float(value), digits)


# ------------------------------------------------------------------------------ figures


def _plot_spectrum(factor, cfg, out_dir) -> str:
    fig, (ax,) = figure_row()
    s = factor["singular_values"]
    shown = min(len(s), 4 * max(cfg.target_rank, max(cfg.ranks)))
    ax.semilogy(np.arange(1, shown + 1), s[:shown], "o-", ms=3, label="singular values of Y")
    ax.axhline(factor["lam"], color="tab:red", ls="--", label=f"lambda = {factor['lam']:.2f}")
    ax.axvline(factor["rank"] + 0.5, color="gray", ls=":", label=f"optimum rank {factor['rank']}")
    ax.set(xlabel="index k", ylabel="sigma_k(Y)", title=f"1. Spectrum of Y ({factor['Y_shape'][0]} images)")
    ax.legend()
    return save_png(fig, out_dir, "factor_spectrum.png")


def _plot_fractions(factor, cfg, out_dir) -> str:
    fig, (ax,) = figure_row()
    rs = sorted(factor["rows"])
    for key, label, style in (("rebalanced", "PALM, rebalanced", "o-"), ("plain", "PALM, plain", "s--"),
                              ("escape", "rebalanced + zero-slice escapes", "^:")):
        ax.plot(rs, [_fraction(factor["rows"][r][key]["gap"], cfg.gap_tol) for r in rs], style, label=label)
    ax.axvline(factor["rank"], color="gray", ls=":", label=f"rank of the optimum ({factor['rank']})")
    ax.set(xlabel="number of columns r (slices)", ylabel=f"fraction of starts with gap < {cfg.gap_tol:g}",
           title=f"1. Reaching the global optimum ({cfg.starts} starts per r)", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "factor_fraction_global.png")


def _plot_gaps(factor, cfg, out_dir) -> str:
    fig, axes = figure_row(2)
    rs = sorted(factor["rows"])
    floor = 1e-16
    for offset, key, marker in ((-0.2, "rebalanced", "o"), (0.2, "plain", "s")):
        for r in rs:
            v = factor["rows"][r][key]
            jitter = r + offset * max(1, r / 8)
            axes[0].scatter(np.full(len(v["gap"]), jitter), np.maximum(v["gap"], floor), marker=marker, s=14,
                            alpha=0.6, color="tab:blue" if key == "rebalanced" else "tab:orange",
                            label=key if r == rs[0] else None)
            axes[1].scatter(np.full(len(v["ratio"]), jitter), v["ratio"], marker=marker, s=14, alpha=0.6,
                            color="tab:blue" if key == "rebalanced" else "tab:orange",
                            label=key if r == rs[0] else None)
    axes[0].axhline(cfg.gap_tol, color="tab:red", ls="--", label=f"gap {cfg.gap_tol:g}")
    axes[0].set(yscale="log", xlabel="r", ylabel=f"relative objective gap (floored at {floor:g})",
                title="1. Gap to the SVT optimum, per start")
    axes[1].axhline(1.0, color="tab:red", ls="--", label="lambda (global iff <= 1)")
    axes[1].set(xlabel="r", ylabel="sigma_max(Y - U V^T) / lambda", title="Polar certificate, per start")
    for ax in axes:
        ax.legend(fontsize=8)
    return save_png(fig, out_dir, "factor_gaps_certificates.png")


def _plot_relu(relu, cfg, out_dir) -> str:
    fig, axes = figure_row(2)
    for w, rows in relu["rows"].items():
        axes[0].scatter([w] * len(rows), [r["ratio"] for r in rows], color="tab:blue", s=12, alpha=0.5)
    summary = _relu_summary(relu)
    ws = sorted(summary)
    axes[0].plot(ws, [summary[w]["ratio"] for w in ws], "o-", color="tab:blue", label="max over unit neurons")
    axes[0].plot(ws, [summary[w]["active_ratio"] for w in ws], "s--", color="tab:green",
                 label="at the network's own neurons")
    axes[0].axhline(1.0, color="tab:red", ls="--", label="lambda")
    axes[0].set(xscale="log", yscale="log", xlabel="width (hidden neurons)",
                ylabel="max ||G^T relu(Xw+b)|| / lambda", title=f"2. ReLU certificate, lambda = {relu['lam']:g}")
    axes[0].legend(fontsize=8)
    axes[1].plot(ws, [summary[w]["loss"] for w in ws], "o-", label="train loss (1/2n ||Y - f||^2)")
    axes[1].set(xscale="log", yscale="log", xlabel="width (hidden neurons)", ylabel="train loss",
                title="Fit and test accuracy")
    twin = axes[1].twinx()
    twin.plot(ws, [summary[w]["test_accuracy"] for w in ws], "s--", color="tab:orange", label="test accuracy")
    twin.set_ylabel("test accuracy (%)")
    handles = axes[1].get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    axes[1].legend(handles=handles, loc="center right", fontsize=8)
    return save_png(fig, out_dir, "relu_certificate.png")


def _plot_landscape(land, cfg, out_dir) -> str:
    fig, axes = figure_row(2)
    ws = sorted(land["rows"])
    for key, color, shift in (("train_loss", "tab:blue", 0.95), ("test_loss", "tab:orange", 1.05)):
        for w in ws:
            values = [r[key] for r in land["rows"][w]]
            axes[0].scatter([w * shift] * len(values), values, color=color, s=10, alpha=0.5,
                            label=key.replace("_", " ") if w == ws[0] else None)
        axes[1].plot(ws, [land["spreads"][w][key]["std"] for w in ws], "o-", color=color,
                     label=f"{key.replace('_', ' ')}: std")
        axes[1].plot(ws, [land["spreads"][w][key]["range"] for w in ws], "s:", color=color,
                     label=f"{key.replace('_', ' ')}: range")
    axes[0].set(xscale="log", yscale="log", xlabel="width (hidden neurons)", ylabel="final cross-entropy",
                title=f"3. Final losses of {cfg.landscape_runs} trainings per width")
    axes[1].set(xscale="log", yscale="log", xlabel="width (hidden neurons)", ylabel="spread of the final loss",
                title="Spread over trainings")
    for ax in axes:
        ax.legend(fontsize=8)
    return save_png(fig, out_dir, "landscape_spread.png")
