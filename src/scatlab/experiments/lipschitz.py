r"""Experiment ``lipschitz``: Lipschitz bounds, adversarial examples and the contraction of scattering.

Claims tested:

1. A network is at most :math:`\prod_j \|W_j\|`-Lipschitz, and that product is a very loose bound
   (Szegedy et al., "Intriguing properties of neural networks", ICLR 2014, Sec. 4.3; Scaman &
   Virmaux, "Lipschitz regularity of deep neural networks", NeurIPS 2018).
2. Trained CNNs are fooled by perturbations far smaller than the image (Szegedy et al. 2014;
   Moosavi-Dezfooli, Fawzi & Frossard, "DeepFool", CVPR 2016; universal perturbations:
   Moosavi-Dezfooli et al., CVPR 2017).
3. The scattering transform is contractive, :math:`\|Sx - Sy\| \le \|x - y\|` (Mallat, "Group
   invariant scattering", CPAM 2012, Prop. 2.5; Oyallon's thesis and Bruna & Mallat 2013), for a
   bank with upper Littlewood-Paley bound B <= 1; for B slightly above 1 the cascade gives
   :math:`\sqrt{\prod_m B_m}` (:func:`scatlab.theory.lipschitz.cascade_bound`).

Protocol. Three classifiers are trained on the same class-balanced Fashion-MNIST subset
(:func:`scatlab.learning.splits.train_validation_test`) with :func:`scatlab.learning.training.train`:
the ResNet (``build_model('resnet')``), the phase-collapse network and a scattering + linear
classifier (periodic ``Scattering2D`` J = 2, then BatchNorm without affine parameters and a linear
layer; the linear head is trained by the same code on the precomputed scattering, then composed
with the transform so that gradients flow through it). Each model's learning rate is chosen on
the validation split (held out of the training set); the test set is scored once.

(1) The product of exact layer norms (:func:`~scatlab.theory.lipschitz.network_lipschitz_bound`)
is compared with the largest local constant over test images, both the Jacobian spectral norm
:math:`\|J_f(x)\|_2` and the margin gradient :math:`\|\nabla m(x)\| \le \sqrt2\,\|J_f(x)\|`, and
with the largest pair ratio :math:`\|f(x)-f(y)\|/\|x-y\|` over all pairs of test images. Verdict:
holds if every measurement is below its bound and bound / max local Jacobian norm >= 10 for every
model; partially if >= 10 for some; does not hold otherwise (or if a bound is violated).

(2) DeepFool (torchattacks) + bisection on correctly classified test images gives the minimal L2
perturbation; the universal perturbation is fitted on validation images for L2 budgets given as
fractions of the median image norm and its fooling rate is measured on test images. Verdict:
holds if the median :math:`\|\delta\|/\|x\|` is below 0.1 for both CNNs (ResNet, phase collapse);
partially if for one; does not hold otherwise. The scattering + linear classifier is reported
beside them.

(3) Contraction on pairs of real images for the 1D (flattened images as signals, periodic,
'resolution' normalization), 2D, roto-translation (periodic) and 3D harmonic (volumes of
consecutive images) transforms, with the outputs normalized by the subsampling
(:func:`~scatlab.theory.lipschitz.normalized_scattering`). Verdict: holds if the largest ratio is
<= 1 (+1e-6) for every transform and below the B bound; partially if below the B bound everywhere
but above 1 somewhere; does not hold if a B bound is exceeded.

Runs on ``data_dir`` with CIFAR-10 files too (3 channels; the 1D signals are the flattened
images, the 3D volumes use the channel mean), and on a GPU (the default device). Measured on the
shared 2-core CPU with one thread (load average ~11 from other jobs): quick 150-170 s wall (50 s
of CPU), 330 s beside a full run; the full run about 70-90 minutes wall at that load (see the
report for its measured time).

``torchattacks.DeepFool`` works image by image and clamps every step to [0, 1]; on Fashion-MNIST's
black backgrounds its steps can stall without crossing the boundary (half of the images after 50
steps in a first trial). :func:`scatlab.theory.adversarial.minimal_l2_perturbation` therefore
runs a few DeepFool steps and then searches along the DeepFool direction (doubling, then
bisection): every reported perturbation is verified to change the decision, so each
:math:`\|\delta\|` is an upper estimate of the minimal one.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidParameterError
from ..learning.splits import train_validation_test
from ..learning.training import TrainSettings, evaluate, train
from ..networks import build_model
from ..nn import Scattering1D, Scattering2D
from ..nn.harmonic3d import HarmonicScattering3D
from ..nn.rototranslation import RotoTranslationScattering2D
from ..runtime import Progress, default_device
from ..theory import adversarial as adv
from ..theory import lipschitz as lip
from ._contract import CHECKPOINTS, Result, Selection, Verdict
from ._figures import save_png

__all__ = ["Config", "run", "scattering_linear"]

MODELS = ("resnet", "phase-collapse", "scattering-linear")
CNNS = ("resnet", "phase-collapse")  # the trained CNNs of claim 2
LOOSE = 10.0  # claim 1: "very loose" = bound at least ten times the largest measured local constant
SMALL = 0.1  # claim 2: "far smaller than the image" = median ||delta|| / ||x|| below 0.1


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the lipschitz experiment; the defaults are the full run."""

    data_dir: str = "/usr/share/datasets/fashion-mnist"  # Fashion-MNIST/MNIST IDX files or CIFAR-10 python batches
    n_train: int = 4000  # class-balanced training images
    n_validation: int = 1000  # held-out training images: learning rates, universal perturbation fit
    n_test: int = 1000  # first test images: accuracy, Lipschitz measurements, attacks
    epochs: int = 8  # training epochs (cosine schedule), the same for every model and learning rate
    batch_size: int = 128  # training batch size
    lr_grid: tuple[tuple[str, tuple[float, ...]], ...] = (  # learning rates tried per model (validation accuracy)
        ("resnet", (0.1, 0.05, 0.02)), ("phase-collapse", (0.01, 0.005, 0.002)),
        ("scattering-linear", (0.1, 0.03, 0.01)))
    widths: tuple[int, ...] = (32, 64, 128)  # phase-collapse widths
    L: int = 8  # orientations of the phase-collapse filters and of the scattering
    J: int = 2  # scale of the scattering + linear classifier (and of the 2D / roto contraction)
    n_local: int = 300  # test images for the local constants (Jacobian norm, margin gradient) and pairs
    jacobian_iterations: int = 20  # power iterations for ||J_f(x)||
    n_attack: int = 200  # correctly classified test images attacked (minimal L2 perturbation)
    deepfool_steps: int = 10  # DeepFool linearization steps (then extension and bisection along its direction)
    bisections: int = 15  # halvings of the DeepFool segment
    n_universal_fit: int = 100  # validation images the universal perturbation is fitted on
    n_universal_test: int = 1000  # test images its fooling rate is measured on
    universal_budgets: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)  # L2 budgets / median test image norm
    universal_passes: int = 1  # passes over the fitting images
    universal_steps: int = 3  # DeepFool steps per image inside the universal perturbation
    n_contraction_pairs: int = 500  # pairs of images per transform (1D, 2D, roto-translation)
    n_volume_pairs: int = 30  # pairs of 3D volumes (each of `volume` consecutive images)
    volume: int = 16  # side of the 3D volumes
    seed: int = 0  # seed of the split, of the training and of the pairs

    @classmethod
    def quick(cls) -> Config:
        """1,000 training images, 3 epochs, two learning rates, small attacks (about 3 minutes)."""
        return cls(n_train=1000, n_validation=500, n_test=500, epochs=3, batch_size=50, widths=(16, 32),
                   lr_grid=(("resnet", (0.1, 0.05)), ("phase-collapse", (0.01, 0.003)),
                            ("scattering-linear", (0.1, 0.01))),
                   n_local=100, jacobian_iterations=10, n_attack=30, deepfool_steps=3, n_universal_fit=20,
                   n_universal_test=300, universal_budgets=(0.1, 0.3), universal_passes=1, n_contraction_pairs=100,
                   n_volume_pairs=10, volume=8)


def scattering_linear(shape: tuple[int, int], num_classes: int, *, in_channels: int = 1, J: int = 2,
                      L: int = 8) -> tuple[nn.Module, nn.Sequential]:
    """(scattering, head): periodic Scattering2D and BatchNorm1d (no affine) + Linear on its flattened
    output; ``nn.Sequential(scattering, head)`` is the classifier, differentiable end to end."""
    S = Scattering2D(shape, J=J, L=L, padding="periodic")
    features = in_channels * math.prod(S.output_shape)
    head = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(features, affine=False), nn.Linear(features, num_classes))
    return S, head


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Train the three classifiers, measure (1)-(3), write the figures in ``out_dir``."""
    _check(cfg)
    out_dir = Path(out_dir)
    device = default_device()
    data = train_validation_test(cfg.data_dir, cfg.n_train, cfg.n_validation, cfg.n_test, cfg.seed)
    models, selections, accuracy = _train_models(cfg, data, out_dir, device, progress)
    x_test, y_test = data["x_test"], data["y_test"]
    image_shape = tuple(x_test.shape[1:])
    lipschitz = {}
    for name in progress(MODELS, desc="Lipschitz", total=len(MODELS)):
        lipschitz[name] = _measure_lipschitz(models[name], x_test[:cfg.n_local], y_test[:cfg.n_local], image_shape, cfg)
    attacks = {name: _attack(models[name], x_test, y_test, cfg) for name in progress(MODELS, desc="attacks",
                                                                                     total=len(MODELS))}
    reference = float(x_test.flatten(1).norm(dim=1).median())
    universal = {name: _universal(models[name], data["x_validation"][:cfg.n_universal_fit],
                                  x_test[:cfg.n_universal_test], reference, cfg)
                 for name in progress(MODELS, desc="universal perturbations", total=len(MODELS))}
    contraction = _contraction(data["x_test"], cfg, progress)
    figures = [
        _plot_bounds(lipschitz, out_dir),
        _plot_perturbations(attacks, out_dir),
        _plot_examples(attacks, x_test, out_dir),
        _plot_universal(universal, cfg, out_dir),
        _plot_contraction(contraction, out_dir),
    ]
    metrics = _metrics(accuracy, lipschitz, attacks, universal, contraction, cfg)
    return Result(metrics=metrics, tables=_tables(lipschitz, attacks, universal, contraction, accuracy, cfg),
                  figures=figures, notes=_notes(lipschitz, contraction), selections=selections,
                  verdicts=_verdicts(lipschitz, attacks, universal, contraction, cfg))


def _check(cfg: Config) -> None:
    grid = dict(cfg.lr_grid)
    missing = [m for m in MODELS if not grid.get(m)]
    if missing:
        raise InvalidParameterError(f"Config.lr_grid needs at least one learning rate for {missing}.")
    if min(min(g) for g in grid.values()) <= 0:
        raise InvalidParameterError(f"Config.lr_grid: learning rates must be > 0; got {cfg.lr_grid}.")
    if cfg.n_local < 2 or cfg.n_attack < 1 or cfg.n_universal_fit < 1 or cfg.n_universal_test < 1:
        raise InvalidParameterError("Config needs n_local >= 2, n_attack >= 1, n_universal_fit >= 1 and"
                                    f" n_universal_test >= 1; got {cfg.n_local}, {cfg.n_attack},"
                                    f" {cfg.n_universal_fit}, {cfg.n_universal_test}.")
    if not cfg.universal_budgets or min(cfg.universal_budgets) <= 0:
        raise InvalidParameterError(f"Config.universal_budgets must be positive; got {cfg.universal_budgets}.")
    if cfg.n_contraction_pairs < 1 or cfg.n_volume_pairs < 1 or cfg.volume < 4:
        raise InvalidParameterError("Config needs n_contraction_pairs >= 1, n_volume_pairs >= 1 and volume >= 4.")
    if max(cfg.n_local, cfg.n_universal_test, cfg.n_attack) > cfg.n_test or cfg.n_universal_fit > cfg.n_validation:
        raise InvalidParameterError("Config: n_local, n_attack and n_universal_test must be <= n_test, and"
                                    " n_universal_fit <= n_validation.")


# ------------------------------------------------------------------------------------ training


def _train_models(cfg: Config, data: dict, out_dir: Path, device, progress: Progress):
    """Every (model, lr) of the grid trained on the training split; the lr of best validation accuracy kept."""
    x_train, y_train = data["x_train"], data["y_train"]
    C, M, N = x_train.shape[1:]
    classes = int(max(data["y_train"].max(), data["y_test"].max())) + 1
    scattering = {}
    models, selections, accuracy = {}, [], {}
    for name, grid in cfg.lr_grid:
        candidates, scores = {}, []
        for lr in grid:
            torch.manual_seed(cfg.seed)
            settings = TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr, seed=cfg.seed)
            identity = {"experiment": "lipschitz", "model": name, "n_train": cfg.n_train, "seed": cfg.seed,
                        "widths": list(cfg.widths), "L": cfg.L, "J": cfg.J, "data": Path(cfg.data_dir).name}
            checkpoint = out_dir / CHECKPOINTS / f"{name}_lr{lr:g}.pt"
            if name == "scattering-linear":
                S, head = scattering_linear((M, N), classes, in_channels=C, J=cfg.J, L=cfg.L)
                S = S.to(device)
                if "train" not in scattering:  # the fixed transform, computed once for the head's training
                    scattering = {split: _features(S, data[f"x_{split}"]) for split in ("train", "validation")}
                train(head, scattering["train"], y_train, settings, checkpoint=checkpoint, resume=True,
                      identity=identity, progress=progress, device=device)
                head.eval()
                score = evaluate(head, scattering["validation"], data["y_validation"])
                model = nn.Sequential(S, head)
            else:
                model = build_model(name, (M, N), classes, in_channels=C, widths=cfg.widths, L=cfg.L)
                train(model, x_train, y_train, settings, checkpoint=checkpoint, resume=True, identity=identity,
                      progress=progress, device=device)
                score = evaluate(model, data["x_validation"], data["y_validation"])
            candidates[lr] = model.eval()
            scores.append(score)
        best = int(np.argmax(scores))
        selections.append(Selection(f"lr ({name})", list(grid), [float(s) for s in scores], grid[best],
                                    f"validation accuracy (%), {cfg.n_validation} held-out training images, max"))
        models[name] = candidates[grid[best]]
        accuracy[name] = evaluate(models[name], data["x_test"], data["y_test"])
    return models, selections, accuracy


@torch.no_grad()
def _features(S: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    device = next(iter(S.buffers())).device
    # (B, C K, M', N'): the 4D layout the training code expects; the head flattens it as the 5D output
    return torch.cat([S(x[s:s + batch_size].to(device)).flatten(1, 2).cpu() for s in range(0, len(x), batch_size)])


# -------------------------------------------------------------------------------- measurements


def _measure_lipschitz(model: nn.Module, x: torch.Tensor, y: torch.Tensor, shape: tuple, cfg: Config) -> dict:
    bound = lip.network_lipschitz_bound(model, shape)
    jac = lip.jacobian_norms(model, x, iterations=cfg.jacobian_iterations)
    margin = lip.local_lipschitz(model, x, y)
    device = next(model.parameters()).device
    pair, _ = lip.pairwise_lipschitz(lambda b: model(b.to(device)), x)
    return {"bound": bound.bound, "factors": bound.factors, "jacobian": float(jac.max()),
            "jacobian_median": float(jac.median()), "margin": float(margin.max()), "pair": pair}


def _attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: Config) -> dict:
    device = next(model.parameters()).device
    with torch.no_grad():
        correct = torch.cat([model(x[s:s + 256].to(device)).argmax(1).cpu() for s in range(0, len(x), 256)]) == y
    index = torch.nonzero(correct)[:cfg.n_attack, 0]
    result = adv.minimal_l2_perturbation(model, x[index].to(device), steps=cfg.deepfool_steps,
                                         bisections=cfg.bisections)
    with torch.no_grad():
        adversarial_label = model(x[index].to(device) + result.delta).argmax(1).cpu()
    found = result.found.cpu()
    return {"index": index, "delta": result.delta.cpu(), "relative": result.relative.cpu()[found].numpy(),
            "norms": result.norms.cpu()[found].numpy(), "found": float(found.float().mean()),
            "labels": result.labels.cpu(), "adversarial_labels": adversarial_label, "found_mask": found}


def _universal(model: nn.Module, x_fit: torch.Tensor, x_test: torch.Tensor, reference: float, cfg: Config) -> dict:
    rates = []
    for fraction in cfg.universal_budgets:
        v = adv.universal_perturbation(model, x_fit, fraction * reference, passes=cfg.universal_passes,
                                       steps=cfg.universal_steps, seed=cfg.seed)
        rates.append(adv.fooling_rate(model, x_test, v))
    return {"budgets": list(cfg.universal_budgets), "rates": rates, "reference": reference}


def _largest_J(length: int, limit: int) -> int:
    """Largest J <= limit with 2**J dividing ``length`` (periodic transforms)."""
    return max(j for j in range(limit + 1) if length % 2**j == 0)


def _contraction(x: torch.Tensor, cfg: Config, progress: Progress) -> dict:
    """Normalized contraction ratios on pairs of real images (1D, 2D, roto) and volumes (3D)."""
    rng = np.random.default_rng(cfg.seed)
    x = x.double()
    n, (C, M, N) = len(x), x.shape[1:]
    first, second = rng.integers(0, n, cfg.n_contraction_pairs), rng.integers(0, n, cfg.n_contraction_pairs)
    keep = first != second
    a, b = x[first[keep]], x[second[keep]]
    length = C * M * N
    J2 = _largest_J(math.gcd(M, N), cfg.J)
    cube = cfg.volume
    volumes = F.interpolate(x.mean(1, keepdim=True), size=(cube, cube), mode="area")[:, 0]  # (n, cube, cube)
    count = (n // cube) // 2 * 2
    volumes = volumes[:count * cube].reshape(count, cube, cube, cube)
    pairs3 = min(cfg.n_volume_pairs, count // 2)
    transforms = {
        "1D": (Scattering1D(length, J=_largest_J(length, 4), Q=4, padding="periodic", normalize="resolution"),
               a.flatten(1), b.flatten(1)),
        "2D": (Scattering2D((M, N), J=J2, L=cfg.L, padding="periodic"), a, b),
        "roto-translation": (RotoTranslationScattering2D((M, N), J=J2, L=cfg.L, padding="periodic"), a, b),
        "3D": (HarmonicScattering3D((cube,) * 3, J=1, L=2), volumes[:pairs3], volumes[pairs3:2 * pairs3]),
    }
    out = {}
    for name, (S, u, v) in progress(transforms.items(), desc="contraction", total=len(transforms)):
        bound = lip.scattering_bound(S)
        ratios = torch.cat([lip.contraction_ratios(S, u[s:s + 50], v[s:s + 50]) for s in range(0, len(u), 50)])
        out[name] = {"ratios": ratios.numpy(), "bound": bound.bound, "B": bound.B, "derivation": bound.derivation,
                     "pairs": len(u)}
    return out


# ------------------------------------------------------------------------------------- figures


def _figure(nrows: int, ncols: int, width: float, height: float):
    """(figure, 2D axes array) laid out so that labels are never cut (no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _plot_bounds(lipschitz: dict, out_dir: Path) -> str:
    fig, axes = _figure(1, 1, 8, 4.5)
    ax = axes[0, 0]
    kinds = [("bound", "product of layer norms (upper bound)"), ("jacobian", "max ||J_f(x)|| over test images"),
             ("margin_scaled", "max ||grad margin|| / sqrt(2)"), ("pair", "max ||f(x)-f(y)|| / ||x-y|| over pairs")]
    width = 0.2
    for k, (key, label) in enumerate(kinds):
        values = [lipschitz[m]["margin"] / math.sqrt(2) if key == "margin_scaled" else lipschitz[m][key]
                  for m in MODELS]
        ax.bar(np.arange(len(MODELS)) + (k - 1.5) * width, values, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(MODELS)), MODELS)
    ax.set_ylabel("Lipschitz constant of the logits (log scale)")
    ax.set_title("Layer-norm product bound vs measured Lipschitz constants")
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "lipschitz_bounds.png")


def _plot_perturbations(attacks: dict, out_dir: Path) -> str:
    fig, axes = _figure(1, 1, 7, 4.5)
    ax = axes[0, 0]
    for name in MODELS:
        r = np.sort(attacks[name]["relative"])
        if len(r):
            ax.plot(r, np.arange(1, len(r) + 1) / len(r), label=f"{name} (median {np.median(r):.3f})")
    ax.axvline(SMALL, color="gray", linestyle="--", label=f"{SMALL} (criterion)")
    ax.set_xscale("log")
    ax.set_xlabel("minimal L2 perturbation ||delta|| / ||x|| (DeepFool + bisection)")
    ax.set_ylabel("fraction of attacked test images")
    ax.set_title("Distribution of minimal adversarial perturbations")
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "perturbation_distribution.png")


def _plot_examples(attacks: dict, x_test: torch.Tensor, out_dir: Path, per_model: int = 3) -> str:
    fig, axes = _figure(len(MODELS), 3 * per_model, 2.0 * 3 * per_model, 2.3 * len(MODELS))
    for row, name in enumerate(MODELS):
        att = attacks[name]
        found = torch.nonzero(att["found_mask"])[:, 0]
        for k in range(per_model):
            cells = axes[row, 3 * k:3 * k + 3]
            for ax in cells:
                ax.set_axis_off()
            if k >= len(found):
                continue
            i = int(found[k])
            x = x_test[int(att["index"][i])]
            delta = att["delta"][i]
            image = lambda t: t.permute(1, 2, 0).clamp(0, 1).numpy().squeeze()  # noqa: E731
            cells[0].imshow(image(x), cmap="gray", vmin=0, vmax=1)
            cells[0].set_title(f"x: class {int(att['labels'][i])}", fontsize=8)
            if k == 0:
                cells[0].text(-0.12, 0.5, name, rotation=90, va="center", ha="right", fontsize=10,
                              transform=cells[0].transAxes)
            cells[1].imshow(image(x + delta), cmap="gray", vmin=0, vmax=1)
            cells[1].set_title(f"x + delta: class {int(att['adversarial_labels'][i])}", fontsize=8)
            scale = float(delta.abs().max()) or 1.0
            cells[2].imshow(delta.mean(0).numpy(), cmap="RdBu_r", vmin=-scale, vmax=scale)
            cells[2].set_title(f"delta, ||d||/||x|| = {float(delta.norm() / x.norm()):.3f}", fontsize=8)
    fig.suptitle("Minimal L2 adversarial examples per model (rows); delta on its own colour scale (red > 0)")
    return save_png(fig, out_dir, "adversarial_examples.png")


def _plot_universal(universal: dict, cfg: Config, out_dir: Path) -> str:
    fig, axes = _figure(1, 1, 7, 4.5)
    ax = axes[0, 0]
    for name in MODELS:
        ax.plot(universal[name]["budgets"], 100 * np.array(universal[name]["rates"]), "o-", label=name)
    ax.set_xlabel(f"universal perturbation budget ||v|| / median ||x|| (median ||x|| ="
                  f" {universal[MODELS[0]]['reference']:.2f})")
    ax.set_ylabel("fooling rate on test images (%)")
    ax.set_title("Universal adversarial perturbation: fooling rate vs L2 budget")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    return save_png(fig, out_dir, "universal_fooling_rate.png")


def _plot_contraction(contraction: dict, out_dir: Path) -> str:
    fig, axes = _figure(1, len(contraction), 3.6 * len(contraction), 3.8)
    for ax, (name, c) in zip(axes[0], contraction.items()):
        ax.hist(c["ratios"], bins=30, color="tab:blue")
        ax.axvline(1.0, color="black", linestyle="--", label="1 (contraction)")
        ax.axvline(c["bound"], color="tab:red", label=f"B bound {c['bound']:.5f}")
        ax.set_title(f"{name}: max {c['ratios'].max():.3f}", fontsize=9)
        ax.set_xlabel("||S~x - S~y|| / ||x - y||")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("pairs of real images")
    fig.suptitle("Contraction of the scattering transforms (outputs normalized for the subsampling)")
    return save_png(fig, out_dir, "contraction.png")


# ------------------------------------------------------------------------------- summary


def _key(name: str) -> str:
    return name.replace("-", "_")


def _metrics(accuracy, lipschitz, attacks, universal, contraction, cfg: Config) -> dict[str, float]:
    m: dict[str, float] = {}
    for name in MODELS:
        k, L = _key(name), lipschitz[name]
        m[f"test_accuracy_{k}"] = float(accuracy[name])
        m[f"bound_{k}"] = L["bound"]
        m[f"max_jacobian_norm_{k}"] = L["jacobian"]
        m[f"max_margin_gradient_{k}"] = L["margin"]
        m[f"max_pair_ratio_{k}"] = L["pair"]
        m[f"bound_over_jacobian_{k}"] = L["bound"] / L["jacobian"]
        m[f"bound_over_margin_{k}"] = math.sqrt(2) * L["bound"] / L["margin"]
        m[f"bound_over_pair_{k}"] = L["bound"] / L["pair"]
        r = attacks[name]["relative"]
        m[f"median_relative_perturbation_{k}"] = float(np.median(r)) if len(r) else float("nan")
        m[f"attack_success_{k}"] = attacks[name]["found"]
        for budget, rate in zip(universal[name]["budgets"], universal[name]["rates"]):
            m[f"universal_fooling_rate_{k}_at_{budget:g}"] = float(rate)
    for name, c in contraction.items():
        k = _key(name).replace("-", "_").lower()
        m[f"contraction_max_{k}"] = float(c["ratios"].max())
        m[f"contraction_bound_{k}"] = float(c["bound"])
    return {key: value for key, value in m.items() if math.isfinite(value)}


def _tables(lipschitz, attacks, universal, contraction, accuracy, cfg: Config) -> list:
    rows = [[name, f"{accuracy[name]:.2f}", f"{L['bound']:.4g}", f"{L['jacobian']:.4g}", f"{L['margin']:.4g}",
             f"{L['pair']:.4g}", f"{L['bound'] / L['jacobian']:.3g}", f"{math.sqrt(2) * L['bound'] / L['margin']:.3g}",
             f"{L['bound'] / L['pair']:.3g}"] for name, L in lipschitz.items()]
    table1 = ("Lipschitz constant of the logits: product bound vs measured (test images)",
              ["model", "test acc. (%)", "product bound", "max ||J_f(x)||", "max ||grad margin||", "max pair ratio",
               "bound / Jacobian", "sqrt2 bound / margin", "bound / pair"], rows)
    rows = []
    for name in MODELS:
        r = attacks[name]["relative"]
        u = universal[name]
        rates = ", ".join(f"{b:g}: {100 * f:.0f} %" for b, f in zip(u["budgets"], u["rates"]))
        q = np.percentile(r, [10, 50, 90]) if len(r) else [float("nan")] * 3
        rows.append([name, len(r), f"{q[0]:.4f}", f"{q[1]:.4f}", f"{q[2]:.4f}", rates])
    table2 = ("Minimal L2 perturbation ||delta||/||x|| (DeepFool + bisection) and universal fooling rate by budget",
              ["model", "images fooled", "10th pct", "median", "90th pct", "universal: budget/median||x||: rate"], rows)
    rows = [[name, c["pairs"], f"{c['ratios'].max():.4f}", f"{np.median(c['ratios']):.4f}",
             ", ".join(f"{b:.5f}" for b in c["B"]), f"{c['bound']:.5f}", c["derivation"]]
            for name, c in contraction.items()]
    table3 = ("Contraction of the scattering transforms on pairs of real images (normalized outputs)",
              ["transform", "pairs", "max ratio", "median ratio", "layer B", "bound", "bound derivation"], rows)
    factors = []
    for name in MODELS:
        factors += [[name, layer, f"{value:.4g}"] for layer, value in lipschitz[name]["factors"]]
    table4 = ("Layer factors of the product bounds", ["model", "layer", "Lipschitz factor"], factors)
    return [table1, table2, table3, table4]


def _notes(lipschitz, contraction) -> list[str]:
    notes = ["Bounds: ResNet blocks bounded by g1 (s + ||conv2|| g2 ||conv1||) (pre-activation residual); the"
             " phase-collapse modulus and soft-thresholding are 1-Lipschitz; the scattering front end by its B-cascade"
             " bound divided by the subsampling normalization (intermediate aliasing neglected, checked by (3))."]
    for name, L in lipschitz.items():
        notes.append(f"{name}: product bound {L['bound']:.3g} vs max local ||J_f|| {L['jacobian']:.3g}"
                     f" (x{L['bound'] / L['jacobian']:.3g}) and max pair ratio {L['pair']:.3g}"
                     f" (x{L['bound'] / L['pair']:.3g}).")
    for name, c in contraction.items():
        notes.append(f"{name} scattering: max ratio {c['ratios'].max():.4f} over {c['pairs']} pairs, bound"
                     f" {c['bound']:.5f} ({c['derivation']}).")
    return notes


def _verdicts(lipschitz, attacks, universal, contraction, cfg: Config) -> list[Verdict]:
    violated = [n for n, L in lipschitz.items()
                if max(L["jacobian"], L["pair"], L["margin"] / math.sqrt(2)) > L["bound"] * (1 + 1e-6)]
    loose = {n: L["bound"] / L["jacobian"] for n, L in lipschitz.items()}
    n_loose = sum(v >= LOOSE for v in loose.values())
    v1 = ("does not hold" if violated or n_loose == 0 else "holds" if n_loose == len(loose) else "partially")
    e1 = ("bound / max local ||J_f(x)|| = " + ", ".join(f"{n} {v:.3g}" for n, v in loose.items())
          + f"; criterion: every measured constant <= bound (violated: {violated or 'none'}) and ratio >= {LOOSE:g}"
          f" for every model (holds), some (partially), none (does not hold).")
    medians = {n: float(np.median(attacks[n]["relative"])) if len(attacks[n]["relative"]) else float("inf")
               for n in MODELS}
    small = [n for n in CNNS if medians[n] < SMALL]
    v2 = "holds" if len(small) == len(CNNS) else "partially" if small else "does not hold"
    e2 = ("median ||delta||/||x|| = " + ", ".join(f"{n} {medians[n]:.4f}" for n in MODELS)
          + f"; criterion: median < {SMALL} for both CNNs (holds), one (partially), none (does not hold)."
          + " Universal fooling rates at the largest budget "
          + f"({cfg.universal_budgets[-1]:g} median ||x||): "
          + ", ".join(f"{n} {100 * universal[n]['rates'][-1]:.0f} %" for n in MODELS) + ".")
    over_bound = [n for n, c in contraction.items() if c["ratios"].max() > c["bound"] * (1 + 1e-9)]
    over_one = [n for n, c in contraction.items() if c["ratios"].max() > 1 + 1e-6]
    v3 = "does not hold" if over_bound else "partially" if over_one else "holds"
    e3 = ("max ratio / bound: " + ", ".join(f"{n} {c['ratios'].max():.4f} / {c['bound']:.4f}"
                                            for n, c in contraction.items())
          + "; criterion: max <= 1 everywhere (holds), <= B bound everywhere but > 1 somewhere (partially),"
          + " above a B bound (does not hold).")
    return [
        Verdict("A network is at most prod_j ||W_j||-Lipschitz and that product is a very loose bound (Szegedy et al."
                " 2014; Scaman & Virmaux 2018)", v1, e1,
                "Scaman & Virmaux 2018: the product of layer norms overestimates the Lipschitz constant by orders of"
                " magnitude on deep networks."),
        Verdict("Trained CNNs are fooled by perturbations far smaller than the image (Szegedy et al. 2014;"
                " Moosavi-Dezfooli et al. 2016, 2017)", v2, e2,
                "DeepFool (CVPR 2016, Table 1) reports average ||r||/||x|| of 0.2 for LeNet on MNIST and 0.012-0.03"
                " on CIFAR-10."),
        Verdict("The scattering transform is contractive, ||Sx - Sy|| <= ||x - y|| (Mallat 2012, Prop. 2.5)", v3, e3,
                "Exact for banks with Littlewood-Paley upper bound B <= 1; sqrt(prod_m B_m) for B > 1."),
    ]
