r"""Experiment ``wsgm``: wavelet score-based generation vs a pixel score model, on phi^4 fields and Fashion-MNIST.

Guth, Coste, De Bortoli & Mallat ("Wavelet score-based generative modeling", NeurIPS 2022) factorize
:math:`p(x_0) = p(x_J)\prod_j p(\bar x_j \mid x_j)` with an orthogonal wavelet transform and learn one
score model per scale on the normalized details given the coarse field. Because each conditional
law is well conditioned (close to log-concave, see ``phi4``), a fixed number of discretization steps
per scale suffices whatever the image size, whereas a score model on pixels needs a number of
steps that grows with the size (the ratio of the largest to the smallest variance of the field's
spectrum grows with L for a critical field). Claim tested, on each arm (``arms``) separately, one verdict
each: at equal quality the wavelet model's steps per scale do not grow with L, while the pixel model's do.

Protocol (phi^4 arm). Training and reference fields are :math:`\varphi^4` samples at ``beta`` (above the critical
coupling located by ``phi4``, :math:`\beta_c \approx 0.68`: ordered, with large domains) drawn by HMC
(:mod:`scatlab.generation.phi4`; independent chains for training, validation and reference), with their sign
flips. Models (:mod:`scatlab.generation.score`): a periodic CNN on pixels; and a CNN for the coarse field of
side ``coarse_size`` plus one conditional CNN per level (3 detail channels given the coarse field, both
divided by their training standard deviation), trained by denoising score matching with the same settings
and number of steps. Every CNN predicts the velocity :math:`a_t\varepsilon - s_t x_0` (v-prediction; with
the noise output the first DDIM step divided the network's error by :math:`a_{T} = 0.016` and the samples
exploded: power-spectrum error 0.87 pixel, 1.01 wavelet at L = 16, 64 steps, against 0.17 and 0.07 after),
has dilated 3 x 3 convolutions (1, 2, 4, ... capped at half its field: at L = 16 the undilated pixel CNN,
receptive field 9, plateaued at a power-spectrum error of 0.18 with a magnetization 4 times off; dilated,
0.05), and is sampled with the moving average of its weights (EMA; its effect under the cosine learning
rate measured below 0.003 in that error). The learning rate is chosen per model family on held-out fields
(the validation v-loss of the pixel model, and the mean one of the coarse and conditional models, at the
smallest L; two Selections) and then used at every size. Sampling is deterministic DDIM with ``steps`` per
scale for ``steps`` in ``steps_grid``. Quality against the reference MCMC fields (:func:`quality_against`): the
power-spectrum error (mean over radial frequency bins of :math:`|\log P_{gen} - \log P_{ref}|`), and the
Wasserstein-1 distances of the site values, of the magnetization and of the energy per site. "Steps needed" =
the fewest steps whose power-spectrum error is within ``tolerance`` of the noise floor (the error between two
halves of the reference). Verdict: "not tested" unless both models reach the tolerance at the smallest and
largest size within ``steps_grid``; then "holds" if the wavelet count does not grow from the smallest to the
largest size and the pixel count grows, "partially" if one of the two, "does not hold" otherwise.

Fashion-MNIST arm (the IDX files of ``data_dir``; :class:`~scatlab.errors.MissingData` if absent, and
``--set arms=phi4`` runs the other arm alone). The 28 x 28 images are zero-padded by 2 pixels to 32 x 32:
zero is their background, so the frame extends the background and adds no edge, and it makes the
wrap-around of the power spectrum's FFT join background to background; reflect padding would mirror into
the frame the garments that touch the border (trousers, dresses, bags) and double their edges. The 16 x 16
images are 2 x 2 averages of those (a 14 x 14 image in a 1-pixel frame; :func:`pad_and_average`), so that
"grows with the size" is measured on real images, from 16 to 32. ``fmnist_train`` class-balanced training
images and ``fmnist_validation`` others from the training split (the learning rates: two Selections at L = 16,
as for phi^4), standardized by the training pixels' mean and standard deviation; samples are mapped back to
[0, 1]. The same training, sampling and quality functions as the phi^4 arm, with two changes measured on
quick: zero-padded convolutions, because the images are not periodic and a circular CNN, equivariant to
cyclic shifts, cannot place a garment in its frame (its samples were pieces of garments at any position;
zero-padded: centred shapes in a black frame, validation loss 0.374 against 0.428 for the pixel model, 0.496
against 0.561 for the wavelet models, and half the CPU time); and one scale per wavelet channel, because the
diagonal details are 0.4 times as large as the others (with one scale per level, the diagonal channel of the
finest level was generated at 1.8 times its standard deviation: +1.3 in log power at the highest frequency).
Quality against test images: the power-spectrum error and the Wasserstein-1 distance of the pixel values (all
pixels, frame included), against the first ``fmnist_test`` test images but the first ``n_generated``; the
noise floor compares those ``n_generated`` test images with the same reference, the error of a perfect
generator of as many images (two halves of the test set would give the floor of 5,000 images, far below what
256 generated ones can show). Steps needed and verdict as for phi^4, at L = 16 and 32.

Known limits. The phi^4 floor changes with L, not always downwards (quick: 0.031 at L = 16, 0.034 at L = 32;
full: 0.029, 0.023, 0.055 at L = 64), and the tolerance is added to it for both models. The power-spectrum
error does not see the site marginal: the energy per site drifts up with the number of steps (quick, L = 32,
64 steps: W1 0.30 wavelet, 0.06 pixel) because the generated site values are less concentrated near
:math:`\pm 1` (potential energy per site 0.65 wavelet, 0.50 pixel, MCMC 0.41, at L = 16, while the gradient
energy matches: 0.38); with the true coarse field, the finest conditional alone gives 0.62 at width 12, 600
steps, and at width 32, 2000 steps 0.47: a matter of capacity and training, not of the number of steps. On
Fashion-MNIST both measures are stationary statistics: they do not see whether a sample is a garment (see the
sample figure). In quick the wavelet model's power-spectrum error stays at 0.25-0.31 (floor 0.044) from 16
steps on: from the true coarse field its conditionals give 0.10-0.18, and its 8 x 8 coarse model alone is
0.24 off the true coarse fields at 64 steps (too little power at low frequencies): the small networks, not
the steps, limit it there.

Times on this 2-core CPU, one thread, while other jobs kept the load at 5-7: ``--quick`` (phi^4 L = 16, 32;
Fashion-MNIST 5,000 training images, L = 16, 32; width 12, depth 4, 600 Adam steps per model, batch 32)
measured at 163 s of CPU for both arms (5.5 minutes wall); alone, phi^4 126 s and Fashion-MNIST 70 s. Quick
verdicts: phi^4 "partially" (steps needed 32 at L = 16 and 32 for both models), Fashion-MNIST "not tested"
(the pixel model needs 64 steps at L = 32 and does not reach the tolerance at L = 16; the wavelet model
reaches it at neither). Full phi^4 (L = 16, 32, 64; width 24, depth 5, 1500 steps, batch 32, 256 generated
fields): 2,789 s of CPU (archived run; the pixel model at L = 64 is 1,238 s of it). Full Fashion-MNIST
(20,000 training images; width 24, depth 5, 5000 steps, 256 generated images, 10,000 test images): budget
about 30 minutes of CPU, estimated at 26 from the measured cost of a training step with zero padding (0.155 s
for the pixel model at L = 32, 0.023 s at L = 16, 0.010 s at 8 x 8): 24 minutes of training, 2 of sampling.
The measured time of a run is its record's ``cpu_time_s``. Models are checkpointed in ``out_dir/checkpoints``
(resumable; the phi^4 arm keeps the checkpoint names of the phi^4-only version, so ``--resume`` over a
phi^4-only run reuses its models and trains only the Fashion-MNIST ones, prefixed ``fmnist_``).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets import FASHION_MNIST_DIR, load_mnist
from ..errors import InvalidParameterError, MissingData
from ..generation.phi4 import Phi4, hmc, power_spectrum
from ..generation.score import (T_MIN, ScoreNet, ScoreSettings, WaveletScoreModel, ddim_sample, denoising_loss,
                                train_score)
from ..generation.wavelets import check_lattice
from ..learning.splits import train_validation_indices
from ..runtime import Progress, default_device
from ._figures import save_png
from ._contract import CHECKPOINTS, Result, Selection, Verdict

__all__ = ["ARMS", "Config", "run"]

ARMS = ("phi4", "fmnist")
"""The two arms: simulated phi^4 fields, Fashion-MNIST images."""
FMNIST_SIDE = 32
"""Side of the zero-padded Fashion-MNIST images (28 + 2 + 2); smaller sides are 2 x 2 averages of them."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the wsgm experiment; the defaults are the full run."""

    data_dir: str = str(FASHION_MNIST_DIR)  # Fashion-MNIST (or MNIST) IDX files, for the fmnist arm
    arms: tuple[str, ...] = ARMS  # which arms to run: "phi4" (simulated fields, no data), "fmnist"
    sizes: tuple[int, ...] = (16, 32, 64)  # phi^4 lattice sides (powers of two >= 2 * coarse_size)
    beta: float = 0.9  # phi^4 coupling (above beta_c ~ 0.68 of the phi4 experiment: ordered phase)
    coarse_size: int = 8  # side of the coarsest field x_J of the wavelet model
    train_chains: int = 64  # HMC chains for the training fields
    snapshots: int = 24  # fields kept per training chain (every 20 trajectories after warm-up)
    reference_chains: int = 32  # independent chains for the reference fields (and 8 more for validation)
    width: int = 24  # channels of the CNNs
    depth: int = 5  # 3 x 3 circular convolutions per CNN (dilated 1, 2, 4, ...: receptive field 63 at depth 5)
    train_steps: int = 1500  # Adam steps per phi^4 model
    batch_size: int = 32  # fields per step
    ema: float = 0.999  # decay of the moving average of the weights used for sampling
    lr_grid: tuple[float, ...] = (3e-3, 1e-2)  # learning rates compared on validation fields (per model family)
    steps_grid: tuple[int, ...] = (2, 4, 8, 16, 32, 64)  # DDIM steps per scale
    n_generated: int = 256  # fields generated per (model, size, steps)
    tolerance: float = 0.05  # power-spectrum error allowed above the noise floor for "steps needed"
    fmnist_sizes: tuple[int, ...] = (16, 32)  # image sides: 32 = 28 zero-padded, 16 = its 2 x 2 averages
    fmnist_train: int = 20000  # class-balanced training images from the training split
    fmnist_validation: int = 1000  # class-balanced held-out training-split images (learning rates)
    fmnist_test: int = 10000  # test images: n_generated of them for the noise floor, the others the reference
    fmnist_train_steps: int = 5000  # Adam steps per Fashion-MNIST model (zero-padded CNNs: cheaper per step)
    seed: int = 0  # seed of the chains, of the image split, of training and of sampling

    @classmethod
    def quick(cls) -> Config:
        """L = 16, 32; narrow CNNs; short training (about 5 minutes of CPU for both arms)."""
        return cls(sizes=(16, 32), train_chains=32, snapshots=12, reference_chains=16, width=12, depth=4,
                   train_steps=600, batch_size=32, lr_grid=(3e-3, 1e-2), steps_grid=(2, 4, 8, 16, 32, 64),
                   n_generated=96, fmnist_train=5000, fmnist_validation=500, fmnist_test=2000,
                   fmnist_train_steps=600)


@dataclasses.dataclass(frozen=True)
class _Arm:
    """What differs between the arms: names, training length, quality statistics, display."""

    name: str  # "phi4" or "fmnist"
    tag: str  # prefix of checkpoint and metric names ("" for phi4: the names of the phi4-only version)
    train_steps: int
    statistics: dict[str, Callable[[torch.Tensor], torch.Tensor]]  # W1 column -> values of fields (N, n, n)
    held_out: str  # what the validation data is (Selection criterion)
    reference: str  # what the reference is (tables, figures)
    floor: str  # what the noise floor compares
    what: str  # the data, in the claim
    image: dict  # imshow arguments of the sample figure
    per_channel: bool  # one detail scale per wavelet channel (else one per level)
    padding: str  # padding of the CNNs' convolutions: "circular" (periodic fields) or "zeros" (framed images)


def _arms(cfg: Config) -> list[_Arm]:
    energy = Phi4(cfg.beta)
    phi4 = _Arm("phi4", "", cfg.train_steps,
                {"site_w1": lambda x: x[:, ::3, ::3].flatten(), "mag_w1": lambda x: x.mean((1, 2)).abs(),
                 "energy_w1": lambda x: energy.energy(x) / x.shape[-1] ** 2},
                "validation fields from held-out chains", "MCMC", "MCMC halves", f"phi^4 fields (beta = {cfg.beta})",
                dict(cmap="RdBu_r", vmin=-2, vmax=2), per_channel=False,
                padding="circular")
    fmnist = _Arm("fmnist", "fmnist_", cfg.fmnist_train_steps, {"pixel_w1": lambda x: x.flatten()},
                  "validation images held out from the training split", "test images", "other test images",
                  "Fashion-MNIST images (28 x 28 zero-padded to 32 x 32, and 2 x 2 averages)",
                  dict(cmap="gray", vmin=0, vmax=1), per_channel=True,
                  padding="zeros")
    return [arm for arm in (phi4, fmnist) if arm.name in cfg.arms]


LABELS = {"ps_error": "power-spectrum error", "site_w1": "W1 site values", "mag_w1": "W1 |magnetization|",
          "energy_w1": "W1 energy per site", "pixel_w1": "W1 pixel values"}


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Get the fields and images, train both models per size, generate across step counts; return the numbers."""
    _check(cfg)
    out_dir = Path(out_dir)
    device = default_device()
    ckpt = out_dir / CHECKPOINTS
    ckpt.mkdir(parents=True, exist_ok=True)
    images = _images(cfg) if "fmnist" in cfg.arms else None  # read first: missing data stops before any training
    result = Result(metrics={})
    for arm in _arms(cfg):
        data = images if arm.name == "fmnist" else {L: _fields(cfg, L, device, progress) for L in cfg.sizes}
        lr, selections = _select_lr(cfg, arm, data[min(data)], ckpt, device, progress)
        quality, samples = _generate(cfg, arm, data, lr, ckpt, device, progress)
        sizes = tuple(data)
        needed = {(L, kind): _steps_needed(quality, L, kind, cfg) for L in sizes for kind in ("pixel", "wavelet")}
        result.figures += [_plot_samples(arm, samples, data, cfg, out_dir), _plot_quality(arm, quality, cfg, out_dir)]
        result.metrics.update(_metrics(arm, quality, needed, lr))
        result.tables += _tables(arm, quality, needed, cfg)
        result.notes += _notes(arm, cfg, lr)
        result.verdicts.append(_verdict(arm, needed, sizes, cfg.tolerance))
        result.selections += selections
    return result


def _check(cfg: Config) -> None:
    if not cfg.arms or not set(cfg.arms) <= set(ARMS) or len(set(cfg.arms)) != len(cfg.arms):
        raise InvalidParameterError(f"Config.arms must name each of {ARMS} at most once, at least one. "
                                    f"Got {cfg.arms!r}; use e.g. arms=phi4.")
    for name, sizes in (("sizes", cfg.sizes), ("fmnist_sizes", cfg.fmnist_sizes)):
        for L in sizes:
            check_lattice(L)
            if L < 2 * cfg.coarse_size:
                raise InvalidParameterError(f"Config.{name} must be >= 2 * coarse_size = {2 * cfg.coarse_size}. "
                                            f"Got {L}.")
    if max(cfg.fmnist_sizes) > FMNIST_SIDE:
        raise InvalidParameterError(f"Config.fmnist_sizes must be <= {FMNIST_SIDE} (28 x 28 images zero-padded). "
                                    f"Got {cfg.fmnist_sizes}.")
    check_lattice(cfg.coarse_size)
    if not cfg.steps_grid or min(cfg.steps_grid) < 1 or cfg.n_generated < 8:
        raise InvalidParameterError(f"Config.steps_grid must hold step counts >= 1 and n_generated >= 8. Got "
                                    f"{cfg.steps_grid}, {cfg.n_generated}.")
    if "fmnist" in cfg.arms and cfg.fmnist_test < cfg.n_generated + 2:
        raise InvalidParameterError(f"Config.fmnist_test must exceed n_generated ({cfg.n_generated}) by 2 or more: "
                                    f"n_generated test images give the noise floor, the others are the reference. "
                                    f"Got {cfg.fmnist_test}.")


# ------------------------------------------------------------------------------------------ data
# Every size maps to: train, validation (as the models see them), reference (the fields quality is measured
# against), floor (the pair whose quality is the noise floor), shift and scale (model units -> data units).


def _fields(cfg: Config, L: int, device, progress: Progress) -> dict:
    """phi^4 training (with sign flips), validation and reference fields (N, L, L) from independent chains; the
    floor compares two halves of the reference."""
    energy = Phi4(cfg.beta)
    chains = cfg.train_chains + cfg.reference_chains + 8
    signs = torch.tensor([1.0, -1.0]).repeat(chains // 2 + 1)[:chains]
    init = signs[:, None, None].expand(chains, L, L).clone().to(device)
    r = hmc(energy, L, chains=chains, warmup=400, samples=20 * cfg.snapshots, n_leapfrog=10, thin=20, init=init,
            seed=cfg.seed + L, dtype=torch.float32, device=device, progress=progress, desc=f"phi4 fields L={L}")
    x = r.samples.float().cpu()  # (snapshots, chains, L, L)
    train = x[:, : cfg.train_chains].reshape(-1, L, L)
    validation = x[-4:, cfg.train_chains: cfg.train_chains + 8].reshape(-1, L, L)
    reference = x[:, cfg.train_chains + 8:].reshape(-1, L, L).double()
    half = len(reference) // 2
    return {"train": torch.cat([train, -train]), "validation": validation, "reference": reference,
            "floor": (reference[:half], reference[half:]), "shift": 0.0, "scale": 1.0}


def _images(cfg: Config) -> dict[int, dict]:
    """Fashion-MNIST per side of ``fmnist_sizes`` (:func:`pad_and_average`): class-balanced training and validation
    images of the training split, standardized by the training pixels' mean and standard deviation; test images
    in [0, 1], the first ``n_generated`` against the others (the reference) for the floor."""
    try:
        x_train, y_train = load_mnist(cfg.data_dir, "train")
        x_test, _ = load_mnist(cfg.data_dir, "test")
    except MissingData as exc:
        raise MissingData(exc.dataset, f"{exc.how}; the phi4 arm alone needs no data (--set arms=phi4)",
                          f"data_dir = '{cfg.data_dir}'") from exc
    if cfg.fmnist_test > len(x_test):
        raise InvalidParameterError(f"Config.fmnist_test must be at most the {len(x_test)} test images. "
                                    f"Got {cfg.fmnist_test}.")
    train, validation = train_validation_indices(y_train, cfg.fmnist_train, cfg.fmnist_validation, cfg.seed)
    parts = {name: pad_and_average(x, cfg.fmnist_sizes) for name, x in
             (("train", x_train[train]), ("validation", x_train[validation]), ("test", x_test[: cfg.fmnist_test]))}
    data = {}
    for L in sorted(cfg.fmnist_sizes):
        shift, scale = float(parts["train"][L].mean()), float(parts["train"][L].std())
        test = parts["test"][L].double()
        reference = test[cfg.n_generated:]
        data[L] = {"train": (parts["train"][L] - shift) / scale, "validation": (parts["validation"][L] - shift) / scale,
                   "reference": reference, "floor": (test[: cfg.n_generated], reference), "shift": shift,
                   "scale": scale}
    return data


def pad_and_average(images: np.ndarray, sizes: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """uint8 images (N, 28, 28) -> {n: float32 (N, n, n) in [0, 1]} for n in ``sizes``: zero-padded by 2 pixels
    to 32 x 32, then averaged over 2 x 2 blocks down to n (16: a 14 x 14 image in a 1-pixel zero frame)."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise InvalidParameterError(f"pad_and_average needs 28 x 28 images (N, 28, 28). Got {images.shape}.")
    x = F.pad(torch.as_tensor(images, dtype=torch.float32)[:, None] / 255, (2, 2, 2, 2))
    out = {}
    while x.shape[-1] >= min(sizes):
        if x.shape[-1] in sizes:
            out[x.shape[-1]] = x[:, 0]
        x = F.avg_pool2d(x, 2)
    return out


# -------------------------------------------------------------------------------------- training


def _settings(cfg: Config, lr: float, steps: int) -> ScoreSettings:
    return ScoreSettings(steps=steps, batch_size=cfg.batch_size, lr=lr, seed=cfg.seed, ema=cfg.ema)


def _select_lr(cfg: Config, arm: _Arm, data: dict, ckpt: Path, device,
               progress: Progress) -> tuple[dict, list[Selection]]:
    """One learning rate per model family (pixel, wavelet), each on its validation denoising loss at the smallest
    size."""
    train, validation = data["train"], data["validation"]
    L = train.shape[-1]
    scores: dict[str, list[float]] = {"pixel": [], "wavelet": []}
    for lr in cfg.lr_grid:
        settings = _settings(cfg, lr, arm.train_steps)
        pixel = _train_pixel(cfg, arm, train, settings, ckpt, device, progress)
        scores["pixel"].append(denoising_loss(pixel, validation[:, None], seed=cfg.seed + 99))
        wavelet = _train_wavelet(cfg, arm, train, settings, ckpt, device, progress)
        scores["wavelet"].append(_wavelet_validation_loss(wavelet, validation, cfg.seed + 99))
    on = "" if arm.name == "phi4" else " on Fashion-MNIST"
    chosen, selections = {}, []
    for kind, what in (("pixel", "the pixel score model"),
                       ("wavelet", "the wavelet score models (coarse + conditionals)")):
        chosen[kind] = cfg.lr_grid[int(np.argmin(scores[kind]))]
        selections.append(Selection(
            f"Adam learning rate of {what}{on}", list(cfg.lr_grid), [round(v, 5) for v in scores[kind]],
            chosen[kind], f"denoising score-matching (v) loss at L={L} on {len(validation)} {arm.held_out}, 8 noise "
            "levels" + (", mean over the coarse and conditional models" if kind == "wavelet" else "") + ", min"))
    return chosen, selections


def _wavelet_validation_loss(model: WaveletScoreModel, validation: torch.Tensor, seed: int) -> float:
    coarse, pairs = WaveletScoreModel.decompose(validation[:, None].double(), model.levels)
    losses = [denoising_loss(model.coarse, (coarse / model.coarse_scale).float(), seed=seed)]
    for j, (x_j, details) in enumerate(pairs):
        losses.append(denoising_loss(model.conditionals[j], (details / model.detail_scale(j + 1, details)).float(),
                                     cond=(x_j / model.cond_scales[j]).float(), seed=seed))
    return float(np.mean(losses))


def _dilations(n: int, depth: int) -> tuple[int, ...]:
    """Dilations 1, 2, 4, ... capped at n/2: a depth-5 net sees 63 x 63 sites, all of a 64 x 64 periodic field."""
    return tuple(min(2 ** i, max(n // 2, 1)) for i in range(depth))


def _net(cfg: Config, arm: _Arm, n: int, channels: int = 1, cond_channels: int = 0) -> ScoreNet:
    return ScoreNet(channels, cond_channels, width=cfg.width, depth=cfg.depth, dilations=_dilations(n, cfg.depth),
                    padding_mode=arm.padding)


def _train_pixel(cfg: Config, arm: _Arm, train: torch.Tensor, settings: ScoreSettings, ckpt: Path, device,
                 progress: Progress) -> ScoreNet:
    L = train.shape[-1]
    torch.manual_seed(cfg.seed)
    model = _net(cfg, arm, L).to(device)
    train_score(model, train[:, None].to(device), settings,
                checkpoint=ckpt / f"{arm.tag}pixel_L{L}_lr{settings.lr:g}.pt", progress=progress,
                desc=f"{arm.name} pixel score L={L}")
    return model


def _train_wavelet(cfg: Config, arm: _Arm, train: torch.Tensor, settings: ScoreSettings, ckpt: Path, device,
                   progress: Progress) -> WaveletScoreModel:
    L = train.shape[-1]
    levels = check_lattice(L) - check_lattice(cfg.coarse_size)
    coarse, pairs = WaveletScoreModel.decompose(train[:, None].double(), levels)
    torch.manual_seed(cfg.seed)
    coarse_scale = float(coarse.std())
    coarse_model = _net(cfg, arm, cfg.coarse_size).to(device)
    tag = f"{arm.tag}wavelet_L{L}_lr{settings.lr:g}"
    train_score(coarse_model, (coarse / coarse_scale).float().to(device), settings,
                checkpoint=ckpt / f"{tag}_coarse.pt", progress=progress, desc=f"{arm.name} coarse score L={L}")
    conditionals, detail_scales, cond_scales = [], [], []
    for j, (x_j, details) in enumerate(pairs, start=1):
        std = details.std((0, 2, 3), keepdim=True) if arm.per_channel else details.std()
        d_scale = tuple(float(s) for s in std.flatten()) if arm.per_channel else float(std)
        c_scale = float(x_j.std())
        model = _net(cfg, arm, x_j.shape[-1], 3, 1).to(device)
        train_score(model, (details / std).float().to(device), settings, cond=(x_j / c_scale).float().to(device),
                    checkpoint=ckpt / f"{tag}_level{j}.pt", progress=progress,
                    desc=f"{arm.name} conditional score L={L} level {j}")
        conditionals.append(model)
        detail_scales.append(d_scale)
        cond_scales.append(c_scale)
    return WaveletScoreModel(coarse_model, conditionals, cfg.coarse_size, coarse_scale, detail_scales, cond_scales)


def _generate(cfg: Config, arm: _Arm, data: dict, lr: dict, ckpt: Path, device,
              progress: Progress) -> tuple[dict, dict]:
    """Train both models per size with the chosen learning rates; sample with every step count of ``steps_grid``;
    return the quality (keys (L, kind, steps) and (L, "floor")) and 8 samples per (L, kind, steps), in data units."""
    quality, samples = {}, {}
    for L, d in data.items():
        pixel = _train_pixel(cfg, arm, d["train"], _settings(cfg, lr["pixel"], arm.train_steps), ckpt, device,
                             progress)
        wavelet = _train_wavelet(cfg, arm, d["train"], _settings(cfg, lr["wavelet"], arm.train_steps), ckpt, device,
                                 progress)
        quality[L, "floor"] = quality_against(*d["floor"], arm.statistics)
        for steps in cfg.steps_grid:
            gen = torch.Generator().manual_seed(cfg.seed + steps)
            with torch.no_grad():
                x_pix = ddim_sample(pixel, (cfg.n_generated, 1, L, L), steps, generator=gen, device=device)
                x_wav = wavelet.sample(cfg.n_generated, steps, generator=gen, device=device)
            for kind, x in (("pixel", x_pix), ("wavelet", x_wav)):
                x = x[:, 0].double().cpu() * d["scale"] + d["shift"]
                quality[L, kind, steps] = quality_against(x, d["reference"], arm.statistics)
                samples[L, kind, steps] = x[:8].numpy()
    return quality, samples


# --------------------------------------------------------------------------------------- quality


def _radial_spectrum(x: torch.Tensor) -> np.ndarray:
    L = x.shape[-1]
    spectrum = power_spectrum(x).mean(0).numpy()
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(L), np.fft.fftfreq(L), indexing="ij"))
    bins = np.minimum((k * L).round().astype(int), L // 2)
    return np.array([spectrum[bins == b].mean() for b in range(1, L // 2 + 1)])


def quality_against(x: torch.Tensor, reference: torch.Tensor,
                    statistics: dict[str, Callable[[torch.Tensor], torch.Tensor]]) -> dict[str, float]:
    r"""Distances of fields x (N, n, n) to ``reference`` (M, n, n): ``ps_error``, the mean over the radial
    frequency bins 1..n/2 of :math:`|\log P_x - \log P_{ref}|` (mean power spectra; the zero frequency left out),
    the Wasserstein-1 distance (:func:`scipy.stats.wasserstein_distance`) of the values of every
    ``statistics[name]`` (e.g. the pixel values), and ``finite``, the fraction of finite fields of x (the others are
    left out; inf everywhere if fewer than 2 remain)."""
    from scipy.stats import wasserstein_distance

    finite = torch.isfinite(x).flatten(1).all(1)
    x = x[finite]
    if len(x) < 2:
        return {"ps_error": math.inf, **{name: math.inf for name in statistics}, "finite": 0.0}
    q = {"ps_error": float(np.mean(np.abs(np.log(_radial_spectrum(x)) - np.log(_radial_spectrum(reference)))))}
    for name, values in statistics.items():
        q[name] = float(wasserstein_distance(values(x).numpy(), values(reference).numpy()))
    return {**q, "finite": float(finite.double().mean())}


def _steps_needed(quality: dict, L: int, kind: str, cfg: Config) -> int:
    """The fewest steps whose power-spectrum error is within tolerance of the noise floor (-1 if none)."""
    target = quality[L, "floor"]["ps_error"] + cfg.tolerance
    for steps in cfg.steps_grid:
        if quality[L, kind, steps]["ps_error"] <= target:
            return steps
    return -1


# ------------------------------------------------------------------------------------ results


def _metrics(arm: _Arm, quality: dict, needed: dict, lr: dict) -> dict[str, float]:
    p = arm.tag
    m: dict[str, float] = {f"{p}lr_pixel": lr["pixel"], f"{p}lr_wavelet": lr["wavelet"]}
    for key, q in quality.items():
        if key[1] == "floor":
            m[f"{p}ps_error_floor_L{key[0]}"] = q["ps_error"]
            continue
        L, kind, steps = key
        for name in ("ps_error", *arm.statistics):
            value = q[name]
            m[f"{p}{name}_{kind}_L{L}_steps{steps}"] = value if math.isfinite(value) else 1e9
    for (L, kind), n in needed.items():
        m[f"{p}steps_needed_{kind}_L{L}"] = float(n)
    return m


def _verdict(arm: _Arm, needed: dict, sizes: tuple[int, ...], tolerance: float) -> Verdict:
    small, big = min(sizes), max(sizes)
    w_small, w_big = needed[small, "wavelet"], needed[big, "wavelet"]
    p_small, p_big = needed[small, "pixel"], needed[big, "pixel"]
    reached = all(n > 0 for n in (w_small, w_big, p_small, p_big))
    unreached = "-1 = not reached within the grid"
    wavelet_flat, pixel_grows = w_big <= w_small, p_big > p_small
    if not reached:
        verdict = "not tested"
    elif wavelet_flat and pixel_grows:
        verdict = "holds"
    elif wavelet_flat or pixel_grows:
        verdict = "partially"
    else:
        verdict = "does not hold"
    return Verdict(
        "At equal quality, the steps per scale of a wavelet score-based model do not grow with the image size, "
        f"while those of a pixel score model do (Guth, Coste, De Bortoli & Mallat, NeurIPS 2022): {arm.what}",
        verdict,
        f"steps needed (power-spectrum error within {tolerance} of the noise floor of the {arm.reference}; "
        f"{unreached}): wavelet {w_small} (L={small}) -> {w_big} (L={big}); pixel {p_small} (L={small}) -> {p_big} "
        f"(L={big}). Criterion: not tested unless both models reach the tolerance at both sizes within the grid (a "
        "model that never reaches it is not trained well enough to count steps); then holds if the wavelet count "
        "does not grow and the pixel count grows, partially if one of the two, does not hold otherwise.",
        "Guth et al. 2022: a constant number of steps per scale for the wavelet model (phi^4, CelebA)")


def _tables(arm: _Arm, quality: dict, needed: dict, cfg: Config) -> list:
    columns = ("ps_error", *arm.statistics)
    sizes = sorted({key[0] for key in quality})
    rows = []
    for L in sizes:
        floor = quality[L, "floor"]
        rows.append([L, f"{arm.floor} (floor)", "-"] + [round(floor[k], 4) for k in columns])
        for kind in ("pixel", "wavelet"):
            for steps in cfg.steps_grid:
                q = quality[L, kind, steps]
                rows.append([L, kind, steps] + [round(q[k], 4) if math.isfinite(q[k]) else "inf" for k in columns])
    title = ("Quality against reference MCMC fields (lower is better)" if arm.name == "phi4" else
             f"Fashion-MNIST: quality against {cfg.fmnist_test - cfg.n_generated} test images (lower is better; "
             f"floor: {cfg.n_generated} other test images)")
    table = (title, ["L", "model", "steps per scale", *(LABELS[k] for k in columns)], rows)
    need = (("Steps needed to reach the tolerance" if arm.name == "phi4" else
             "Fashion-MNIST: steps needed to reach the tolerance"), ["L", "pixel", "wavelet"],
            [[L, needed[L, "pixel"], needed[L, "wavelet"]] for L in sizes])
    return [table, need]


def _notes(arm: _Arm, cfg: Config, lr: dict) -> list[str]:
    training = (f"CNNs of width {cfg.width} and depth {cfg.depth}, {arm.train_steps} Adam steps at lr {lr['pixel']:g} "
                f"(pixel) and {lr['wavelet']:g} (wavelet) (chosen on {arm.held_out}), batch {cfg.batch_size}, weights "
                f"averaged (EMA {cfg.ema})")
    if arm.name == "phi4":
        return [f"phi^4 at beta = {cfg.beta}; {training}; dilated 3 x 3 convolutions (1, 2, 4, ... capped at half the "
                f"field) so every network sees its whole field; v-prediction; the wavelet model's coarsest field is "
                f"{cfg.coarse_size} x {cfg.coarse_size}; deterministic DDIM sampling down to t = {T_MIN}.",
                "The noise floor (two halves of the reference) changes with L and the tolerance is added to it for "
                "both models; the power-spectrum error does not see the site marginal (see the energy column: the "
                "generated site values are less concentrated near +-1 than the MCMC ones)."]
    return [f"Fashion-MNIST: {cfg.fmnist_train} class-balanced training images (28 x 28 zero-padded to 32 x 32, "
            f"the background value, so the padding adds no edge; sides {sorted(cfg.fmnist_sizes)} by 2 x 2 averages), "
            f"standardized by the training pixels' mean and standard deviation; {training}; the networks and "
            f"sampling of the phi^4 arm, except zero-padded convolutions (the images are not periodic) and one scale "
            f"per wavelet channel (the diagonal details are 0.4 times as large as the others).",
            f"Fashion-MNIST quality: against {cfg.fmnist_test - cfg.n_generated} test images; the floor compares "
            f"{cfg.n_generated} other test images with them (a perfect generator of {cfg.n_generated} images); the "
            f"pixel histogram distance (W1 pixel values, in [0, 1] units) is over all pixels, the padding included."]


# ------------------------------------------------------------------------------------ figures


def _plot_samples(arm: _Arm, samples: dict, data: dict, cfg: Config, out_dir: Path) -> str:
    from matplotlib.figure import Figure

    steps = max(cfg.steps_grid)
    sizes = list(data)
    fig = Figure(figsize=(2.2 * 4, 2.3 * 3 * len(sizes)), layout="constrained")
    axes = fig.subplots(3 * len(sizes), 4, squeeze=False)
    for i, L in enumerate(sizes):
        rows = [(arm.reference, data[L]["reference"][:4].numpy()),
                (f"pixel, {steps} steps", samples[L, "pixel", steps]),
                (f"wavelet, {steps} steps/scale", samples[L, "wavelet", steps])]
        for r, (label, fields) in enumerate(rows):
            for c in range(4):
                ax = axes[3 * i + r, c]
                ax.imshow(fields[c], **arm.image)
                ax.set_axis_off()
                if c == 0:
                    ax.set_title(f"L={L}: {label}", fontsize=8, loc="left")
    return save_png(fig, out_dir, f"wsgm_{arm.tag}samples.png", dpi=100)


def _plot_quality(arm: _Arm, quality: dict, cfg: Config, out_dir: Path) -> str:
    from matplotlib.figure import Figure

    names = ("ps_error", *arm.statistics)
    sizes = sorted({key[0] for key in quality})
    fig = Figure(figsize=(4.2 * len(names), 3.8), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    styles = {"pixel": "--", "wavelet": "-"}
    for ax, key in zip(axes, names):
        for L, color in zip(sizes, ["tab:blue", "tab:orange", "tab:green", "tab:red"]):
            for kind, ls in styles.items():
                values = [min(quality[L, kind, s][key], 1e3) for s in cfg.steps_grid]
                ax.plot(cfg.steps_grid, values, ls, marker="o", color=color, label=f"{kind}, L={L}")
            ax.axhline(quality[L, "floor"][key], color=color, lw=0.8, ls=":")
        ax.set(xscale="log", yscale="log", xlabel="DDIM steps (per scale)", ylabel=LABELS[key], title=LABELS[key])
        ax.set_xticks(cfg.steps_grid, [str(s) for s in cfg.steps_grid])
        ax.minorticks_off()
    axes[0].legend(fontsize=7, title=f"dotted: floor ({arm.reference})")
    return save_png(fig, out_dir, f"wsgm_{arm.tag}quality.png", dpi=100)
