r"""Experiment ``random-networks``: what random Gaussian ReLU layers preserve, on real images.

Claims (Giryes, Sapiro & Bronstein, "Deep neural networks with random Gaussian weights: a
universal classification strategy?", IEEE Trans. Signal Process. 2016, building on Cho & Saul,
"Kernel methods for deep learning", NIPS 2009, and on Gordon's and Plan & Vershynin's embedding
results):

(A) a ReLU layer with i.i.d. Gaussian weights maps the angle :math:`\theta` between two inputs to
    :math:`\arccos((\sin\theta + (\pi - \theta)\cos\theta)/\pi)` (the arc-cosine kernel of degree
    1), and L layers to this map iterated L times, up to an error that shrinks with the width
    (like :math:`m^{-1/2}`);
(B) such a layer keeps the distances of low-dimensional data up to a known distortion (a known
    shrinkage, larger for larger angles, plus a random error that shrinks with the width and
    grows with the complexity of the data); deep random networks keep the metric structure;
(C) the Gaussian mean width of the data is the complexity that matters: the distortion is
    governed by it (Gordon: :math:`\sup|\|Au\| - 1| \lesssim w(S)/\sqrt m` over the normalized
    secants S), and real image sets have a smaller width than noise;
(D) the output of an expansive random network can be inverted.

Protocol. Images of ``data_dir`` (Fashion-MNIST by default; MNIST or CIFAR-10 files work the
same, any channels and size) are flattened, centred by the mean image of ``n_reference``
class-balanced training images and scaled to unit norm. Networks: no bias, weights
:math:`N(0, 2/m_l)` (norms kept on average), :class:`scatlab.theory.random_networks.RandomGaussianNetwork`.

(A) ``n_pairs`` random pairs of test images, through ``networks`` random networks of depth
    ``depth`` for every width of ``widths``: output angle vs input angle at every depth, RMS
    error against the iterated map, and the slope of log error vs log width per depth.
(B, C) Sets of ``set_points`` test images: projected onto the top-k principal directions of the
    reference images (k in ``pca_dims``: exactly k-dimensional data), one class, all classes,
    and Gaussian noise of the same (unit) norm. For each set: intrinsic dimension (PCA 95 %
    energy; Levina-Bickel MLE, k = 10), Gordon's width w(S) of the normalized secants, the mean
    width of the set on the unit sphere; over all pairs, the largest distortion of a Gaussian
    linear layer (against Gordon's bound with t = 3) and of a ReLU layer (measured over expected
    distance, :func:`~scatlab.theory.random_networks.distance_ratios`), for every width.
(D) Test images projected onto the top-d principal directions (d in ``recovery_dims``), their
    d coefficients fed to a depth-``recovery_depth`` ReLU network whose widths grow by the ratio
    r per layer (:math:`m_l = \lceil r^l d\rceil`); recovered from the output by layer-wise least
    squares on the active set and by gradient descent; median relative error vs r. The step
    size and the number of steps of the gradient descent are chosen on ``n_validation``
    held-out training images (a Selection); nothing else is tuned.

Verdicts are computed from the numbers by the criteria stated in each. Measured times on this
2-core CPU with one thread, shared with other jobs (load about 8): ``--quick`` 45-60 s; the full
run 28 minutes (3 for (A), 1.5 for (B, C), the rest for (D), mostly the validation of the step
size over 3,000 gradient steps). Nothing is trained, so nothing checkpoints.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from ..errors import InvalidParameterError
from ..learning.splits import train_validation_test
from ..runtime import Progress, default_device
from ..theory import random_networks as rn
from ._figures import figure_row, save_png
from ._contract import Result, Selection, Verdict

__all__ = ["Config", "run"]

ANGLE_TOLERANCE_DEG = 2.0  # (A) RMS angle error allowed at the largest width, every depth
SLOPE_RANGE = (-0.65, -0.35)  # fitted slopes accepted as "~ width^-1/2"
SPEARMAN_MIN = 0.95  # (B) rank correlation of input and output angles counted as "metric structure kept"
EXACT = 1e-3  # (D) relative error counted as exact recovery
EXACT_RATIO = 3.0  # (D) smallest per-layer expansion at which exact layer-wise recovery is required


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the random-networks experiment; the defaults are the full run (~30 min on CPU)."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    n_reference: int = 2000  # class-balanced training images: the mean image and the principal directions
    n_validation: int = 200  # other training images: choice of the inversion's step size and steps
    n_test: int = 10000  # first test images: every measurement
    n_pairs: int = 1000  # (A) random pairs of test images
    widths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048, 4096)  # (A, B) layer widths m
    depth: int = 8  # (A) layers of the deep networks
    networks: int = 3  # (A) random networks (seeds) per width
    pca_dims: tuple[int, ...] = (4, 16, 64)  # (B) dimensions of the projected image sets
    set_points: int = 300  # (B, C) points per set (all pairs are measured)
    width_draws: int = 2000  # (C) Gaussian vectors of the mean-width Monte Carlo
    recovery_dims: tuple[int, ...] = (16, 64)  # (D) input dimension d (principal coefficients)
    recovery_ratios: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0)  # (D) expansion r per layer
    recovery_depth: int = 2  # (D) layers of the inverted networks
    recovery_images: int = 100  # (D) test images inverted (and as many validation images)
    gd_lrs: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8)  # (D) candidate step sizes of the gradient descent
    gd_steps: tuple[int, ...] = (300, 1000, 3000)  # (D) candidate numbers of steps
    seed: int = 0  # pairs, subsets and network weights

    @classmethod
    def quick(cls) -> Config:
        """Widths up to 2,048, 500 pairs, smaller sets and one inversion dimension (about a minute)."""
        return cls(n_test=2000, n_pairs=500, widths=(64, 128, 256, 512, 1024, 2048), networks=2, set_points=200,
                   width_draws=500, recovery_dims=(16,), recovery_ratios=(1.0, 1.5, 2.0, 3.0, 4.0),
                   recovery_images=40, n_validation=40, gd_lrs=(0.1, 0.2, 0.4, 0.8), gd_steps=(300, 1000))


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Measure (A)-(D) on the images of ``cfg.data_dir``; write the figures in ``out_dir``."""
    _check(cfg)
    out_dir = Path(out_dir)
    device = default_device()
    data = _load(cfg, device)
    angles = _angles(data, cfg, progress)
    sets = _sets(data, cfg, progress)
    recovery, selection = _recovery(data, cfg, progress)
    metrics = _metrics(angles, sets, recovery, cfg)
    figures = [_plot_angle_scatter(angles, cfg, out_dir), _plot_angle_error(angles, cfg, out_dir),
               _plot_distortion(sets, cfg, out_dir), _plot_mean_width(sets, cfg, out_dir),
               _plot_recovery(recovery, cfg, out_dir), _plot_recovery_examples(recovery, data, cfg, out_dir)]
    return Result(metrics=metrics, tables=_tables(angles, sets, recovery, cfg), figures=figures,
                  notes=_notes(metrics, sets, data, cfg), verdicts=_verdicts(metrics, angles, sets, recovery, cfg),
                  selections=[selection])


def _check(cfg: Config) -> None:
    for name in ("n_pairs", "depth", "networks", "set_points", "width_draws", "recovery_depth", "recovery_images"):
        if getattr(cfg, name) < 1:
            raise InvalidParameterError(f"The '{name}' field of the random-networks Config must be >= 1."
                                        f" Got {getattr(cfg, name)!r} instead.")
    for name in ("widths", "pca_dims", "recovery_dims", "recovery_ratios", "gd_lrs", "gd_steps"):
        values = getattr(cfg, name)
        if not values or min(values) <= 0:
            raise InvalidParameterError(f"The '{name}' field of the random-networks Config must be a non-empty tuple"
                                        f" of positive numbers. Got {values!r} instead.")
    if len(cfg.widths) < 2:
        raise InvalidParameterError("The 'widths' field of the random-networks Config needs at least 2 widths to"
                                    f" fit a slope. Got {cfg.widths!r} instead.")
    if cfg.set_points < 3 or cfg.n_test < max(2 * cfg.set_points, cfg.recovery_images, 2):
        raise InvalidParameterError(f"'n_test' = {cfg.n_test} must be at least 2 * set_points = {2 * cfg.set_points}"
                                    f" and recovery_images = {cfg.recovery_images}; set_points must be >= 3.")
    if cfg.n_validation < cfg.recovery_images and cfg.n_validation < 10:
        raise InvalidParameterError(f"'n_validation' = {cfg.n_validation} is too small; use at least 10.")


# ----------------------------------------------------------------------------------- data


def _load(cfg: Config, device: torch.device) -> dict:
    """Flattened images, centred by the reference mean image and scaled to unit norm; principal directions."""
    raw = train_validation_test(cfg.data_dir, cfg.n_reference, cfg.n_validation, cfg.n_test, cfg.seed)
    shape = tuple(raw["x_test"].shape[1:])
    reference = raw["x_train"].flatten(1).double()
    mean = reference.mean(dim=0)

    def normalize(x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1).double() - mean
        return (x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)).to(device)

    ref = normalize(raw["x_train"])
    _, s, vt = torch.linalg.svd(ref, full_matrices=False)  # principal directions of the normalized images
    return {"test": normalize(raw["x_test"]), "y_test": raw["y_test"].numpy(), "validation": normalize(
        raw["x_validation"]), "basis": vt.T.contiguous(), "energy": (s**2 / (s**2).sum()).cpu().numpy(),
        "shape": shape, "mean": mean, "n": int(ref.shape[1])}


# --------------------------------------------------------------------------------- (A) angles


def _angles(data: dict, cfg: Config, progress: Progress) -> dict:
    """Output angles (networks, widths, depth, pairs) in radians for random pairs of test images."""
    rng = np.random.default_rng(cfg.seed)
    n = len(data["test"])
    first = rng.integers(0, n, cfg.n_pairs)
    second = (first + rng.integers(1, n, cfg.n_pairs)) % n  # never the same image
    x = torch.cat([data["test"][first], data["test"][second]])
    theta_in = rn.pair_angles(x[:cfg.n_pairs], x[cfg.n_pairs:]).cpu().numpy()
    out = np.zeros((cfg.networks, len(cfg.widths), cfg.depth, cfg.n_pairs))
    steps = [(k, i) for k in range(cfg.networks) for i in range(len(cfg.widths))]
    for k, i in progress(steps, desc="angles: networks x widths", total=len(steps)):
        m = cfg.widths[i]
        net = rn.RandomGaussianNetwork(data["n"], (m,) * cfg.depth, seed=cfg.seed * 10_007 + 97 * k + i,
                                       materialize=m <= 1024, device=x.device)
        with torch.no_grad():
            for depth, h in enumerate(net.layers(x.float())):
                out[k, i, depth] = rn.pair_angles(h[:cfg.n_pairs], h[cfg.n_pairs:]).cpu().numpy()
    predicted = rn.iterated_angle_map(theta_in, cfg.depth)[1:]  # (depth, pairs)
    error = out - predicted[None, None]
    rms = np.sqrt((error**2).mean(axis=(0, 3)))  # (widths, depth)
    slopes = np.array([_slope(cfg.widths, rms[:, d]) for d in range(cfg.depth)])
    spearman = np.array([[np.mean([stats.spearmanr(theta_in, out[k, i, d])[0] for k in range(cfg.networks)])
                          for d in range(cfg.depth)] for i in range(len(cfg.widths))])
    same = data["y_test"][first] == data["y_test"][second]
    return {"theta_in": theta_in, "out": out, "predicted": predicted, "rms": rms, "slopes": slopes,
            "bias": error.mean(axis=(0, 3)), "spearman": spearman, "same_class": same}


def _slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float)), 1)[0])


# ------------------------------------------------------------------------ (B, C) sets, widths


def _sets(data: dict, cfg: Config, progress: Progress) -> dict:
    """Image sets, their dimensions and widths, and the largest distortion of random layers on their pairs."""
    test, labels, n = data["test"], data["y_test"], data["n"]
    rng = np.random.default_rng(cfg.seed + 1)
    points = rng.choice(len(test), cfg.set_points, replace=False)
    images = test[points]
    sets = {}
    for k in cfg.pca_dims:
        u = data["basis"][:, :min(k, n)]
        sets[f"PCA-{k} images"] = (images @ u) @ u.T
    one_class = np.flatnonzero(labels == labels[points[0]])
    sets["one class"] = test[rng.choice(one_class, min(cfg.set_points, len(one_class)), replace=False)]
    sets["all classes"] = images
    generator = torch.Generator().manual_seed(cfg.seed + 2)
    noise = torch.randn(cfg.set_points, n, generator=generator, dtype=torch.float64).to(test.device)
    sets["Gaussian noise"] = noise / noise.norm(dim=1, keepdim=True)
    out = {"names": list(sets), "class": int(labels[points[0]]), "per_class": {}}
    rows = {}
    for name, x in progress(sets.items(), desc="sets", total=len(sets)):
        rows[name] = _measure_set(x, cfg)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen = rng.choice(members, min(cfg.set_points, len(members)), replace=False)
        out["per_class"][int(c)] = rn.gaussian_mean_width(test[chosen], draws=cfg.width_draws, seed=cfg.seed + 3,
                                                          normalize=True)
    out["rows"] = rows
    return out


def _measure_set(x: torch.Tensor, cfg: Config) -> dict:
    """Dimensions, widths, and per width the largest linear / ReLU distortion over all pairs of x."""
    i, j = torch.triu_indices(len(x), len(x), 1, device=x.device)
    row = {"points": len(x), "pca95": rn.pca_dimension(x, 0.95),
           "mle": rn.mle_intrinsic_dimension(x, min(10, len(x) - 1)),
           "secant": rn.secant_half_width(x, draws=cfg.width_draws, seed=cfg.seed + 4),
           "width": rn.gaussian_mean_width(x, draws=cfg.width_draws, seed=cfg.seed + 5, normalize=True),
           "linear": [], "relu": [], "gordon": [], "relu_mean": []}
    for m in cfg.widths:
        linear = rn.RandomGaussianNetwork(x.shape[1], (m,), activation="linear", seed=cfg.seed + 7 * m,
                                          dtype=torch.float64, device=x.device)
        relu = rn.RandomGaussianNetwork(x.shape[1], (m,), seed=cfg.seed + 7 * m + 1, dtype=torch.float64,
                                        device=x.device)
        with torch.no_grad():
            a, f = linear(x), relu(x)
        ratios_linear = rn.pairwise_distance_ratios(x, a, activation="linear")
        ratios_relu = rn.pairwise_distance_ratios(x, f)
        row["linear"].append(float((ratios_linear - 1).abs().max()))
        row["relu"].append(float((ratios_relu - 1).abs().max()))
        row["relu_mean"].append(float((ratios_relu - 1).abs().mean()))
        row["gordon"].append(rn.gordon_distortion_bound(row["secant"].width, m))
    gram = (x @ x.T).cpu().numpy()
    i, j = i.cpu().numpy(), j.cpu().numpy()
    norms = np.sqrt(np.diag(gram))
    theta = np.arccos(np.clip(gram[i, j] / (norms[i] * norms[j]), -1, 1))
    expected = rn.relu_expected_sq_distance(norms[i], norms[j], theta)
    row["shrinkage"] = float(np.median(np.sqrt(expected / (norms[i]**2 + norms[j]**2 - 2 * gram[i, j]))))
    return row


# ---------------------------------------------------------------------------- (D) recovery


def _recovery(data: dict, cfg: Config, progress: Progress) -> tuple[dict, Selection]:
    """Relative errors of layer-wise and gradient inversion; the gradient's (lr, steps) chosen on validation."""
    test = data["test"][:cfg.recovery_images]
    validation = data["validation"][:cfg.recovery_images]
    cells = [(d, r) for d in cfg.recovery_dims for r in cfg.recovery_ratios]
    candidates = [(lr, s) for lr in cfg.gd_lrs for s in cfg.gd_steps]
    scores = {c: [] for c in candidates}
    for d, r in progress(cells, desc="recovery: validation", total=len(cells)):
        net, c = _recovery_problem(data, validation, d, r, cfg)
        target = net(c)
        for lr in cfg.gd_lrs:
            _, recorded = rn.invert_gradient(net, target, steps=max(cfg.gd_steps), lr=lr, seed=cfg.seed,
                                             record_at=cfg.gd_steps)
            for s in cfg.gd_steps:
                scores[lr, s].append(math.log10(_median_error(recorded[s], c)))
    mean_scores = [float(np.mean(scores[c])) for c in candidates]
    best = min(mean_scores)
    chosen = min((c for c, v in zip(candidates, mean_scores) if v <= best + 0.05), key=lambda c: (c[1], -c[0]))
    labels = [f"lr={lr:g}, steps={s}" for lr, s in candidates]
    selection = Selection(
        what="gradient-descent inversion: step size and number of steps", grid=labels, scores=mean_scores,
        chosen=labels[candidates.index(chosen)],
        criterion=f"mean over d in {cfg.recovery_dims} and r in {cfg.recovery_ratios} of log10(median relative"
                  f" error) on {len(validation)} held-out training images; the fewest steps (then the largest"
                  " step) within 0.05 of the minimum")
    lr, steps = chosen
    out = {"dims": cfg.recovery_dims, "ratios": cfg.recovery_ratios, "lr": lr, "steps": steps,
           "layerwise": np.zeros((len(cfg.recovery_dims), len(cfg.recovery_ratios), len(test))),
           "gradient": np.zeros((len(cfg.recovery_dims), len(cfg.recovery_ratios), len(test))), "examples": {}}
    for a, d in enumerate(cfg.recovery_dims):
        for b, r in progress(list(enumerate(cfg.recovery_ratios)), desc=f"recovery: test, d = {d}",
                             total=len(cfg.recovery_ratios)):
            net, c = _recovery_problem(data, test, d, r, cfg)
            target = net(c)
            layerwise = rn.invert_layerwise(net, target)
            gradient, _ = rn.invert_gradient(net, target, steps=steps, lr=lr, seed=cfg.seed)
            out["layerwise"][a, b] = _errors(layerwise, c)
            out["gradient"][a, b] = _errors(gradient, c)
            if a == len(cfg.recovery_dims) - 1:
                u = data["basis"][:, :d]
                out["examples"][r] = {"true": (c[:4] @ u.T).cpu(), "layerwise": (layerwise[:4] @ u.T).cpu(),
                                      "gradient": (gradient[:4] @ u.T).cpu()}
    return out, selection


def _recovery_problem(data: dict, images: torch.Tensor, d: int, r: float, cfg: Config):
    """The d principal coefficients of ``images`` and a ReLU network of widths ceil(r^l d), l = 1..depth."""
    d = min(d, data["n"])
    c = images @ data["basis"][:, :d]
    widths = tuple(math.ceil(r**layer * d - 1e-9) for layer in range(1, cfg.recovery_depth + 1))
    net = rn.RandomGaussianNetwork(d, widths, seed=cfg.seed + 1000 * d + int(100 * r), dtype=torch.float64,
                                   device=images.device)
    return net, c


def _errors(estimate: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    """Relative errors ||estimate - truth|| / ||truth||, capped at 1e3 (a diverged descent), NaN counted as 1e3."""
    error = ((estimate - truth).norm(dim=1) / truth.norm(dim=1)).cpu().numpy()
    return np.nan_to_num(np.minimum(error, 1e3), nan=1e3)


def _median_error(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    return float(max(np.median(_errors(estimate, truth)), 1e-16))


# ------------------------------------------------------------------------------ metrics, verdicts


def _metrics(angles: dict, sets: dict, recovery: dict, cfg: Config) -> dict[str, float]:
    m: dict[str, float] = {}
    largest = len(cfg.widths) - 1
    for d in range(cfg.depth):
        m[f"angle_rms_error_deg_depth{d + 1}_largest_width"] = math.degrees(angles["rms"][largest, d])
        m[f"angle_error_slope_depth{d + 1}"] = float(angles["slopes"][d])
        m[f"angle_spearman_depth{d + 1}_largest_width"] = float(angles["spearman"][largest, d])
    m["angle_error_slope_mean"] = float(angles["slopes"].mean())
    m["angle_rms_error_deg_worst_depth_largest_width"] = math.degrees(float(angles["rms"][largest].max()))
    m["angle_out_mean_deg_depth_last"] = math.degrees(float(angles["out"][:, largest, -1].mean()))
    m["angle_in_mean_deg"] = math.degrees(float(angles["theta_in"].mean()))
    m["angle_shrunk_fraction_depth1_largest_width"] = float(
        (angles["out"][:, largest, 0] < angles["theta_in"][None]).mean())
    for name, row in sets["rows"].items():
        key = _key(name)
        m[f"secant_width_{key}"] = row["secant"].width
        m[f"mean_width_{key}"] = row["width"].width
        m[f"mean_width_stderr_{key}"] = row["width"].stderr
        m[f"pca95_dimension_{key}"] = float(row["pca95"])
        m[f"mle_dimension_{key}"] = row["mle"]
        m[f"linear_distortion_{key}_largest_width"] = row["linear"][-1]
        m[f"relu_distortion_{key}_largest_width"] = row["relu"][-1]
        m[f"relu_distortion_slope_{key}"] = _slope(cfg.widths, row["relu"])
        m[f"gordon_ratio_max_{key}"] = max(a / b for a, b in zip(row["linear"], row["gordon"]))
        m[f"relu_distance_shrinkage_median_{key}"] = row["shrinkage"]
    m["gordon_ratio_max"] = max(m[f"gordon_ratio_max_{_key(n)}"] for n in sets["rows"])
    for a, d in enumerate(recovery["dims"]):
        for b, r in enumerate(recovery["ratios"]):
            m[f"recovery_layerwise_median_error_d{d}_r{r:g}"] = float(np.median(recovery["layerwise"][a, b]))
            m[f"recovery_gradient_median_error_d{d}_r{r:g}"] = float(np.median(recovery["gradient"][a, b]))
    m["recovery_gd_lr"] = float(recovery["lr"])
    m["recovery_gd_steps"] = float(recovery["steps"])
    return m


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace(" ", "_")


def _verdicts(m: dict, angles: dict, sets: dict, recovery: dict, cfg: Config) -> list[Verdict]:
    verdicts = []
    # (A) angle map
    worst = m["angle_rms_error_deg_worst_depth_largest_width"]
    slopes = angles["slopes"]
    in_range = (slopes >= SLOPE_RANGE[0]) & (slopes <= SLOPE_RANGE[1])
    small = worst <= ANGLE_TOLERANCE_DEG
    verdict = "holds" if small and in_range.all() else "partially" if small or in_range.any() else "does not hold"
    verdicts.append(Verdict(
        claim="A ReLU layer with i.i.d. Gaussian weights maps the input angle theta to arccos((sin theta +"
              " (pi - theta) cos theta) / pi), L layers to this map iterated L times, with an error shrinking"
              " like width^-1/2 (Cho & Saul 2009; Giryes, Sapiro & Bronstein, IEEE TSP 2016)",
        verdict=verdict,
        evidence=f"RMS error of the output angle against the iterated map at width {cfg.widths[-1]}: at most"
                 f" {worst:.2f} deg over depths 1..{cfg.depth} (criterion <= {ANGLE_TOLERANCE_DEG} deg); slopes of"
                 f" log RMS error vs log width per depth: {', '.join(f'{s:.2f}' for s in slopes)}"
                 f" ({int(in_range.sum())}/{cfg.depth} in [{SLOPE_RANGE[0]}, {SLOPE_RANGE[1]}]); {cfg.n_pairs}"
                 f" pairs of test images, {cfg.networks} networks per width.",
        anchor="infinite-width limit: the normalized arc-cosine kernel of degree 1 (Cho & Saul 2009)"))
    # (B) distances of low-dimensional data
    rows = sets["rows"]
    gordon_ok = m["gordon_ratio_max"] <= 1.0
    relu_slopes = {name: m[f"relu_distortion_slope_{_key(name)}"] for name in rows}
    slopes_ok = all(SLOPE_RANGE[0] - 0.1 <= s <= SLOPE_RANGE[1] + 0.1 for s in relu_slopes.values())
    verdict = "holds" if gordon_ok and slopes_ok else "partially" if gordon_ok or slopes_ok else "does not hold"
    verdicts.append(Verdict(
        claim="A random Gaussian (ReLU) layer keeps the distances of low-dimensional data up to a known"
              " distortion: the known shrinkage ||x-y||^2 - (2/pi)||x|| ||y|| (sin t - t cos t) plus an error"
              " bounded by the data's Gaussian width over sqrt(width) (Giryes et al. 2016; Gordon 1988)",
        verdict=verdict,
        evidence=f"Linear Gaussian layer: largest distortion over all pairs / Gordon's bound (w(S)+3)/sqrt(m) ="
                 f" {m['gordon_ratio_max']:.2f} at worst over {len(rows)} sets x {len(cfg.widths)} widths"
                 f" (criterion <= 1). ReLU layer: slope of the largest |measured / expected distance - 1| vs width: "
                 + ", ".join(f"{name} {s:.2f}" for name, s in relu_slopes.items())
                 + f" (criterion in [{SLOPE_RANGE[0] - 0.1:.2f}, {SLOPE_RANGE[1] + 0.1:.2f}]).",
        anchor="Gordon's escape-through-the-mesh bound; Giryes et al. 2016 (distance shrinkage formula)"))
    # (B') metric structure through depth
    rho = angles["spearman"][-1]
    verdict = "holds" if rho.min() >= SPEARMAN_MIN else "partially" if rho[0] >= SPEARMAN_MIN else "does not hold"
    verdicts.append(Verdict(
        claim="Deep random Gaussian ReLU networks keep the metric structure of the data (Giryes et al. 2016)",
        verdict=verdict,
        evidence=f"Spearman rank correlation of output vs input angles at width {cfg.widths[-1]}, depths"
                 f" 1..{cfg.depth}:"
                 f" {', '.join(f'{r:.3f}' for r in rho)} (criterion >= {SPEARMAN_MIN} at every depth); the mean angle"
                 f" falls from {m['angle_in_mean_deg']:.1f} to {m['angle_out_mean_deg_depth_last']:.1f} deg at depth"
                 f" {cfg.depth}, as the iterated map predicts (points draw together, their order is kept).",
        anchor="the iterated arc-cosine map is increasing, so ranks are kept in the wide limit"))
    # (C) mean width
    w = {name: rows[name]["width"] for name in rows}
    one, every, noise = w["one class"], w["all classes"], w["Gaussian noise"]
    ordered = (one.width + 3 * math.hypot(one.stderr, every.stderr) < every.width
               and every.width + 3 * math.hypot(every.stderr, noise.stderr) < noise.width)
    names = list(rows)
    rhos = [stats.spearmanr([rows[n]["secant"].width for n in names], [rows[n]["linear"][k] for n in names])[0]
            for k in range(len(cfg.widths))]
    tracks = float(np.mean(rhos)) >= 0.8
    verdict = "holds" if ordered and tracks else "partially" if ordered or tracks else "does not hold"
    verdicts.append(Verdict(
        claim="The Gaussian mean width of the data measures the complexity that matters for random networks:"
              " real image sets have a smaller width than noise, and the distortion follows the width"
              " (Giryes et al. 2016)",
        verdict=verdict,
        evidence=f"Mean width on the unit sphere ({cfg.set_points} points, +- MC standard error): one class (label"
                 f" {sets['class']}) {one.width:.2f} +- {one.stderr:.2f}, all classes {every.width:.2f} +- "
                 f"{every.stderr:.2f}, noise {noise.width:.2f} +- {noise.stderr:.2f} (criterion: strictly"
                 f" increasing by 3 standard errors: {'yes' if ordered else 'no'}). Rank correlation across the"
                 f" {len(names)} sets between the secant width w(S) and the largest linear-layer distortion, mean"
                 f" over widths: {np.mean(rhos):.2f} (criterion >= 0.8).",
        anchor="w(unit ball of R^n) = 2 E||g||; Gordon: distortion <~ w(S)/sqrt(m)"))
    # (D) inversion
    ratios = np.asarray(recovery["ratios"])
    big = ratios >= EXACT_RATIO
    if big.any():
        exact_share = float((recovery["layerwise"][:, big] < EXACT).mean())
        gd = float(np.median(recovery["gradient"][:, big]))
        exact_ok, gd_ok = exact_share >= 0.95, gd < 1e-2
        verdict = "holds" if exact_ok and gd_ok else "partially" if exact_ok or gd_ok else "does not hold"
        below = ratios < 2
        failing = (f" Below r = 2 (no ReLU layer can be injective) the layer-wise median error is"
                   f" {np.median(recovery['layerwise'][:, below]):.3f}." if below.any() else "")
        evidence = (f"Per-layer expansion r >= {EXACT_RATIO:g}, depth {cfg.recovery_depth}, d in {cfg.recovery_dims}:"
                    f" {100 * exact_share:.1f} % of test images recovered by layer-wise least squares with relative"
                    f" error < {EXACT:g} (criterion >= 95 %); gradient descent (lr {recovery['lr']:g},"
                    f" {recovery['steps']} steps, chosen on validation) median error {gd:.2e} (criterion < 1e-2)."
                    + failing)
    else:
        verdict, evidence = "not tested", f"no expansion ratio >= {EXACT_RATIO:g} in recovery_ratios"
    verdicts.append(Verdict(
        claim="The output of an expansive random Gaussian ReLU network can be inverted (Giryes et al. 2016;"
              " Hand & Voroninski 2018)", verdict=verdict, evidence=evidence,
        anchor="a ReLU layer of width m < 2n cannot be injective (x and -x have complementary active sets)"))
    return verdicts


# ------------------------------------------------------------------------------ tables, notes


def _tables(angles: dict, sets: dict, recovery: dict, cfg: Config) -> list:
    depths = list(range(1, cfg.depth + 1))
    angle_table = ("(A) RMS error (deg) of the output angle against the iterated arc-cosine map",
                   ["width"] + [f"depth {d}" for d in depths],
                   [[m] + [_r(math.degrees(v), 3) for v in angles["rms"][i]] for i, m in enumerate(cfg.widths)]
                   + [["slope"] + [_r(s, 3) for s in angles["slopes"]]])
    set_table = ("(B, C) Image sets: dimension, widths, largest distortion over all pairs at the largest width",
                 ["set", "points", "PCA 95 % dim", "MLE dim", "mean width (sphere)", "secant width w(S)",
                  f"linear distortion m={cfg.widths[-1]}", f"Gordon bound m={cfg.widths[-1]}",
                  f"ReLU distortion m={cfg.widths[-1]}", "ReLU distortion slope", "median ReLU shrinkage"],
                 [[name, row["points"], row["pca95"], _r(row["mle"], 2),
                   f"{row['width'].width:.2f} ± {row['width'].stderr:.2f}",
                   f"{row['secant'].width:.2f} ± {row['secant'].stderr:.2f}", _r(row["linear"][-1]),
                   _r(row["gordon"][-1]), _r(row["relu"][-1]), _r(_slope(cfg.widths, row["relu"]), 3),
                   _r(row["shrinkage"])] for name, row in sets["rows"].items()])
    class_table = ("(C) Mean width of each class on the unit sphere (± Monte Carlo standard error)",
                   ["class", "mean width"],
                   [[c, f"{w.width:.3f} ± {w.stderr:.3f}"] for c, w in sets["per_class"].items()])
    rows = []
    for a, d in enumerate(recovery["dims"]):
        for b, r in enumerate(recovery["ratios"]):
            lw, gd = recovery["layerwise"][a, b], recovery["gradient"][a, b]
            widths = [math.ceil(r**layer * d - 1e-9) for layer in range(1, cfg.recovery_depth + 1)]
            rows.append([d, r, "-".join(map(str, widths)), f"{np.median(lw):.2e}", _r(float((lw < EXACT).mean()), 3),
                         f"{np.median(gd):.2e}", _r(float((gd < EXACT).mean()), 3)])
    recovery_table = (f"(D) Recovery of {len(recovery['layerwise'][0, 0])} test images (relative error)",
                      ["d", "r", "widths", "layer-wise median", f"layer-wise < {EXACT:g}", "gradient median",
                       f"gradient < {EXACT:g}"], rows)
    return [angle_table, set_table, class_table, recovery_table]


def _notes(m: dict, sets: dict, data: dict, cfg: Config) -> list[str]:
    return [
        f"Images: {data['n']} values each, centred by the mean of {cfg.n_reference} training images and scaled to"
        " unit norm; networks without bias, weights N(0, 2/width) (norms kept on average).",
        f"(A) The mean input angle of the pairs is {m['angle_in_mean_deg']:.1f} deg; at depth {cfg.depth} and width"
        f" {cfg.widths[-1]} the outputs are at {m['angle_out_mean_deg_depth_last']:.1f} deg: random ReLU layers"
        " draw all points together, by the amount the iterated map predicts.",
        f"(B) The ReLU layer shrinks distances by the known factor (median sqrt(E||f(x)-f(y)||^2) / ||x-y|| ="
        f" {m['relu_distance_shrinkage_median_all_classes']:.3f} on all classes); the distortion reported is the"
        " deviation from that expectation.",
        "(C) Mean widths are of the sets scaled to the unit sphere; the whole sphere of R^n has"
        f" {rn.l2_ball_mean_width(data['n']):.1f}, and N random unit vectors about 2 sqrt(2 log N) ="
        f" {2 * math.sqrt(2 * math.log(cfg.set_points)):.2f}. Gordon's secant width w(S) of N points is at most about"
        f" sqrt(2 log N^2) = {math.sqrt(4 * math.log(cfg.set_points)):.2f}, so finite sets of noise are 'simple' for"
        " a random projection too.",
        f"(D) The networks act on the d principal coefficients of the images (a Gaussian matrix restricted to a"
        f" d-dimensional subspace is again Gaussian); gradient descent uses lr {m['recovery_gd_lr']:g} and"
        f" {int(m['recovery_gd_steps'])} steps, chosen on held-out training images.",
    ]


def _r(value, digits: int = 4):
    return round(float(value), digits)


# ------------------------------------------------------------------------------------ figures


def _plot_angle_scatter(angles: dict, cfg: Config, out_dir: Path) -> str:
    depths = sorted({1, 2, max(cfg.depth // 2, 1), cfg.depth})
    fig, axes = figure_row(len(depths), 4.0, 4.0)
    grid = np.linspace(0, np.pi, 200)
    curve = rn.iterated_angle_map(grid, cfg.depth)
    theta = np.degrees(angles["theta_in"])
    for ax, d in zip(axes, depths):
        for i, color in ((0, "tab:orange"), (len(cfg.widths) - 1, "tab:blue")):
            ax.scatter(theta, np.degrees(angles["out"][0, i, d - 1]), s=4, alpha=0.4, color=color,
                       label=f"width {cfg.widths[i]}")
        ax.plot(np.degrees(grid), np.degrees(curve[d]), "k-", lw=1.5, label=f"map iterated {d}x")
        ax.plot([0, 180], [0, 180], ":", color="gray", lw=1, label="identity")
        ax.set(xlim=(0, 180), ylim=(0, 180), xlabel="input angle (deg)", ylabel="output angle (deg)",
               title=f"depth {d}")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("(A) Angles through random Gaussian ReLU layers vs the arc-cosine map (Fashion-MNIST pairs)")
    return save_png(fig, out_dir, "angles.png")


def _plot_angle_error(angles: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(2, 5.5)
    widths = np.asarray(cfg.widths, dtype=float)
    for d in range(cfg.depth):
        axes[0].plot(widths, np.degrees(angles["rms"][:, d]), marker="o", ms=3,
                     label=f"depth {d + 1}: slope {angles['slopes'][d]:.2f}")
    reference = np.degrees(angles["rms"][0].mean()) * (widths / widths[0]) ** -0.5
    axes[0].plot(widths, reference, "k--", label="width^-1/2")
    axes[0].set(xscale="log", yscale="log", xlabel="width m", ylabel="RMS angle error (deg)",
                title="(A) error vs the iterated map")
    _log_ticks(axes[0], widths)
    axes[0].legend(fontsize=7)
    for i in (0, len(cfg.widths) - 1):
        axes[1].plot(range(1, cfg.depth + 1), np.degrees(angles["bias"][i]), marker="o",
                     label=f"mean error, width {cfg.widths[i]}")
        axes[1].plot(range(1, cfg.depth + 1), np.degrees(angles["rms"][i]), marker="s", ls="--",
                     label=f"RMS error, width {cfg.widths[i]}")
    axes[1].axhline(0, color="gray", lw=0.8)
    axes[1].set(xlabel="depth", ylabel="output angle - iterated map (deg)", title="bias and spread vs depth")
    axes[1].legend(fontsize=7)
    return save_png(fig, out_dir, "angle_error.png")


def _log_ticks(ax, widths: np.ndarray) -> None:
    """Width ticks on a log x axis and readable plain numbers on a log y axis spanning less than a decade."""
    from matplotlib.ticker import LogLocator, NullLocator, ScalarFormatter

    ax.set_xticks(widths, [str(int(w)) for w in widths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_locator(NullLocator())


def _plot_distortion(sets: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(3, 4.8)
    widths = np.asarray(cfg.widths, dtype=float)
    for k, (name, row) in enumerate(sets["rows"].items()):
        color = f"C{k}"
        axes[0].plot(widths, row["linear"], marker="o", ms=3, color=color, label=name)
        axes[0].plot(widths, row["gordon"], ls="--", color=color, lw=0.8)
        axes[1].plot(widths / max(row["pca95"], 1), row["relu"], marker="o", ms=3, color=color,
                     label=f"{name} (dim {row['pca95']})")
        axes[2].plot(widths / row["secant"].width ** 2, row["relu"], marker="o", ms=3, color=color,
                     label=f"{name} (w = {row['secant'].width:.1f})")
    axes[0].set(xscale="log", yscale="log", xlabel="width m", ylabel="max over pairs | ||Ax-Ay|| / ||x-y|| - 1 |",
                title="linear Gaussian layer (dashed: Gordon bound)")
    axes[1].set(xscale="log", yscale="log", xlabel="width / intrinsic dimension (PCA 95 %)",
                ylabel="max over pairs | measured / expected - 1 |", title="ReLU layer vs m / dimension")
    axes[2].set(xscale="log", yscale="log", xlabel="width / w(S)^2 (secant Gaussian width)",
                ylabel="max over pairs | measured / expected - 1 |", title="ReLU layer vs m / w(S)^2")
    for ax in axes:
        ax.legend(fontsize=6)
    fig.suptitle("(B) Largest distance distortion over all pairs of each set")
    return save_png(fig, out_dir, "distortion.png")


def _plot_mean_width(sets: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = figure_row(2, 5.5)
    classes = list(sets["per_class"])
    values = [sets["per_class"][c].width for c in classes]
    errors = [2 * sets["per_class"][c].stderr for c in classes]
    axes[0].bar([str(c) for c in classes], values, yerr=errors, color="tab:blue", capsize=2)
    for name, color in (("all classes", "tab:green"), ("Gaussian noise", "tab:red")):
        axes[0].axhline(sets["rows"][name]["width"].width, color=color, ls="--", label=name)
    axes[0].set(xlabel="class", ylabel="mean width w(K) (unit sphere)", ylim=(0, 1.2 * max(values + [
        sets["rows"]["Gaussian noise"]["width"].width])), title=f"(C) Gaussian mean width, {cfg.set_points} images"
                " per set (±2 s.e.)")
    axes[0].legend(fontsize=8, loc="upper center", ncols=2)
    names = list(sets["rows"])
    x = np.arange(len(names))
    secant = [sets["rows"][n]["secant"].width for n in names]
    axes[1].bar(x, secant, color="tab:purple")
    axes[1].set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    axes[1].set(ylabel="w(S) of normalized secants", title="Gordon's secant width per set")
    return save_png(fig, out_dir, "mean_width.png")


def _plot_recovery(recovery: dict, cfg: Config, out_dir: Path) -> str:
    fig, (ax,) = figure_row(1, 6.0)
    ratios = np.asarray(recovery["ratios"], dtype=float)
    for a, d in enumerate(recovery["dims"]):
        for key, marker in (("layerwise", "o"), ("gradient", "s")):
            errors = recovery[key][a]
            median = np.maximum(np.median(errors, axis=1), 1e-16)
            low, high = np.maximum(np.percentile(errors, 25, axis=1), 1e-16), np.percentile(errors, 75, axis=1)
            line, = ax.plot(ratios, median, marker=marker, ls="-" if key == "layerwise" else "--",
                            label=f"{'layer-wise least squares' if key == 'layerwise' else 'gradient descent'}, d={d}")
            ax.fill_between(ratios, low, high, color=line.get_color(), alpha=0.15)
    ax.axvline(2.0, color="gray", ls=":", label="r = 2 (injectivity needs r >= 2)")
    ax.axhline(EXACT, color="k", lw=0.6)
    ax.set(yscale="log", xlabel="expansion per layer r = m_l / m_(l-1)", ylabel="relative error (median, IQR)",
           title=f"(D) Inverting a depth-{cfg.recovery_depth} random ReLU network\n(d principal coefficients of"
                 " test images)")
    ax.legend(fontsize=7)
    return save_png(fig, out_dir, "recovery.png")


def _plot_recovery_examples(recovery: dict, data: dict, cfg: Config, out_dir: Path) -> str:
    ratios = list(recovery["examples"])
    shown = list(dict.fromkeys([ratios[0], ratios[len(ratios) // 2], ratios[-1]]))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.6 * (1 + 2 * len(shown)), 1.7 * 4), layout="constrained")
    axes = fig.subplots(4, 1 + 2 * len(shown), squeeze=False)
    shape = data["shape"]

    def picture(v: torch.Tensor) -> np.ndarray:
        """A centred, normalized image vector shown with its range stretched to [0, 1]."""
        image = v.double().reshape(shape)
        image = (image.permute(1, 2, 0) if shape[0] in (3, 4) else image[0]).numpy()
        return (image - image.min()) / max(image.max() - image.min(), 1e-12)

    first = recovery["examples"][shown[0]]
    for row in range(4):
        columns = [(first["true"][row], "PCA image")]
        for r in shown:
            ex = recovery["examples"][r]
            columns += [(ex["layerwise"][row], f"LS r={r:g}"), (ex["gradient"][row], f"GD r={r:g}")]
        for col, (v, title) in enumerate(columns):
            ax = axes[row, col]
            ax.imshow(picture(v), cmap="gray")
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title, fontsize=8)
    fig.suptitle(f"(D) Recovered images, d = {recovery['dims'][-1]} (contrast stretched)", fontsize=9)
    return save_png(fig, out_dir, "recovery_examples.png")
