r"""Denoising score matching and deterministic (DDIM) sampling, on pixels or on Haar wavelet details.

Diffusion (variance preserving): :math:`x_t = a_t x_0 + s_t\varepsilon`, :math:`a_t = \cos(\pi t/2)`,
:math:`s_t = \sin(\pi t/2)`, :math:`t \in [t_{min}, 1]`. A network :math:`\varepsilon_\theta(x_t, t \mid c)`
trained by denoising score matching (Vincent, Neural Computation 2011; Ho, Jain & Abbeel, NeurIPS 2020),

.. math:: \min_\theta\ \mathbb E_{x_0, t, \varepsilon}\,\|\varepsilon_\theta(a_t x_0 + s_t\varepsilon, t \mid c)
          - \varepsilon\|^2,

gives the score :math:`\nabla\log p_t(x_t \mid c) = -\varepsilon_\theta / s_t`. Samples are drawn by the
deterministic DDIM update (Song, Meng & Ermon, ICLR 2021) on ``steps`` uniform times from 1 to
:math:`t_{min}`, then one final denoising step. For a Gaussian :math:`x_0 \sim N(\mu, \Sigma)` the optimal
network is known: :math:`\varepsilon^*(x_t) = s_t(a_t^2\Sigma + s_t^2 I)^{-1}(x_t - a_t\mu)`
(:func:`gaussian_optimal_noise`), the known answer the tests train against.

Parameterization ("v-prediction", Salimans & Ho, ICLR 2022): the CNN outputs
:math:`v_\theta \approx a_t\varepsilon - s_t x_0` and :math:`\varepsilon_\theta = s_t x_t + a_t v_\theta`,
so :math:`\hat x_0 = a_t x_t - s_t v_\theta`; the loss is :math:`\|v_\theta - v\|^2`, i.e. the noise loss
above weighted by :math:`1/a_t^2`, on :math:`t \in [t_{min}, T_{MAX}]`. With the plain noise output the first
DDIM step divides the network's error by :math:`a_{T_{MAX}} = 0.016` (the network has to learn the identity
to 1e-4 near t = 1): measured on phi^4 at L = 16 (wsgm, quick networks, 300 Adam steps), the
power-spectrum error at 64 steps was 0.87 (pixel) and 1.01 (wavelet) with exploded samples, and 0.17
and 0.07 with this parameterization (noise floor 0.09). :func:`train_score` also keeps an exponential moving
average of the weights (``ScoreSettings.ema``, with the usual warm-up :math:`\min(\text{ema},
(1+k)/(10+k))`) and ends with it; with the cosine-annealed learning rate its measured effect on that
error was below 0.003. The CNN's 3 x 3 convolutions can be dilated (``dilations``) so that a few layers
see the whole periodic field.

The wavelet score model of Guth, Coste, De Bortoli & Mallat (NeurIPS 2022) factorizes
:math:`p(x_0) = p(x_J)\prod_j p(\bar x_j \mid x_j)`: a plain model for the coarse field :math:`x_J` and,
per level, a conditional model of the normalized details given the coarse field at the same
resolution, sampled coarse to fine with the same number of steps at every scale
(:class:`WaveletScoreModel`). The networks are small CNNs written here (a few circular or zero-padded
convolutions): a UNet from diffusers would be far larger than these 8 x 8 to 32 x 32 fields need and
is not installed; the noise schedule is two lines.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..errors import InvalidParameterError, ShapeError
from ..io.atomic import atomic_write
from ..runtime import Progress, no_progress
from .wavelets import haar2d, ihaar2d

__all__ = ["ScoreNet", "ScoreSettings", "train_score", "denoising_loss", "ddim_sample", "gaussian_optimal_noise",
           "schedule", "WaveletScoreModel", "T_MIN", "T_MAX"]

T_MIN = 1e-3
"""The smallest diffusion time (noise level sin(pi T_MIN / 2) ~ 1.6e-3 of the data scale)."""
T_MAX = 0.99
"""The largest sampling time: a_t = 0.016, so N(0, I) is the law of x_t up to 1.6 % of the data scale, and the
first DDIM step divides by a_t = 0.016 rather than by 0 (which would amplify the network's error without bound)."""


def schedule(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""(a_t, s_t) = (cos(pi t / 2), sin(pi t / 2)): signal and noise scales, :math:`a_t^2 + s_t^2 = 1`."""
    return torch.cos(0.5 * math.pi * t), torch.sin(0.5 * math.pi * t)


def gaussian_optimal_noise(x_t: torch.Tensor, t: float, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    r"""The exact :math:`\mathbb E[\varepsilon \mid x_t] = s_t(a_t^2\Sigma + s_t^2 I)^{-1}(x_t - a_t\mu)` for
    :math:`x_0 \sim N(\mu, \Sigma)`; x_t (B, d), mean (d,), cov (d, d)."""
    a, s = (float(v) for v in schedule(torch.tensor(t, dtype=torch.float64)))
    A = a * a * cov + s * s * torch.eye(len(cov), dtype=cov.dtype, device=cov.device)
    return s * torch.linalg.solve(A, (x_t - a * mean).T).T


class ScoreNet(nn.Module):
    r"""A small CNN :math:`\varepsilon_\theta(x_t, t \mid c)`: ``depth`` 3 x 3 convolutions of ``width`` channels
    with SiLU, circular (periodic fields) or zero-padded (``padding_mode="zeros"``, for images in a frame: the padding
    tells the network where the border is, which a circular one, equivariant to cyclic shifts, cannot know), dilated
    by ``dilations`` (one per layer, default all 1: the receptive field has side :math:`1 + 2\sum_i d_i`); inputs:
    the noisy field (``channels``), the condition (``cond_channels``, e.g. the coarse field) and :math:`\log s_t` as a
    constant channel; the raw output is the velocity :math:`v_\theta` (:meth:`velocity`), the call returns the noise
    :math:`s_t x_t + a_t v_\theta` (``channels``)."""

    def __init__(self, channels: int, cond_channels: int = 0, width: int = 32, depth: int = 4,
                 dilations: tuple[int, ...] | None = None, padding_mode: str = "circular"):
        super().__init__()
        for name, value, low in (("channels", channels, 1), ("cond_channels", cond_channels, 0),
                                 ("width", width, 1), ("depth", depth, 2)):
            if not isinstance(value, int) or value < low:
                raise InvalidParameterError(f"The '{name}' parameter of ScoreNet must be an int >= {low}. "
                                            f"Got {value!r} instead.")
        dilations = (1,) * depth if dilations is None else tuple(dilations)
        if len(dilations) != depth or not all(isinstance(d, int) and d >= 1 for d in dilations):
            raise InvalidParameterError(f"The 'dilations' parameter of ScoreNet must hold one int >= 1 per layer "
                                        f"(depth={depth}). Got {dilations!r} instead.")
        if padding_mode not in ("circular", "zeros"):
            raise InvalidParameterError(f"The 'padding_mode' parameter of ScoreNet must be 'circular' or 'zeros'. "
                                        f"Got {padding_mode!r} instead.")
        self.channels, self.cond_channels, self.dilations = channels, cond_channels, dilations
        self.width, self.depth, self.padding_mode = width, depth, padding_mode
        layers: list[nn.Module] = []
        c_in = channels + cond_channels + 1
        for i in range(depth):
            c_out = channels if i == depth - 1 else width
            d = dilations[i]
            layers.append(nn.Conv2d(c_in, c_out, 3, padding=d, dilation=d, padding_mode=padding_mode))
            if i < depth - 1:
                layers.append(nn.SiLU())
            c_in = c_out
        self.body = nn.Sequential(*layers)

    @property
    def architecture(self) -> dict:
        """The constructor's arguments: what a checkpoint must match besides the training settings."""
        return {"channels": self.channels, "cond_channels": self.cond_channels, "width": self.width,
                "depth": self.depth, "dilations": list(self.dilations), "padding_mode": self.padding_mode}

    def velocity(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        r"""The network's raw output :math:`v_\theta(x_t, t \mid c)`, the predicted
        :math:`a_t\varepsilon - s_t x_0`."""
        _, s = schedule(t)
        level = torch.log(s).to(x.dtype)[:, None, None, None].expand(x.shape[0], 1, *x.shape[-2:])
        parts = [x, level] if cond is None else [x, cond, level]
        return self.body(torch.cat(parts, dim=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        r"""x (B, channels, n, n), t (B,), cond (B, cond_channels, n, n) or None -> predicted noise
        :math:`s_t x_t + a_t v_\theta` like x."""
        a, s = (v.to(x.dtype)[:, None, None, None] for v in schedule(t))
        return s * x + a * self.velocity(x, t, cond)


@dataclasses.dataclass(frozen=True)
class ScoreSettings:
    """Optimization of :func:`train_score` (part of a checkpoint's identity)."""

    steps: int = 2000  # Adam steps
    batch_size: int = 64  # fields per step
    lr: float = 2e-3  # Adam learning rate, cosine-annealed to 0
    seed: int = 0  # seed of the batches, times and noises
    ema: float = 0.999  # decay of the exponential moving average of the weights (0: none), see train_score

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or not self.lr > 0 or not 0 <= self.ema < 1:
            raise InvalidParameterError(f"ScoreSettings needs steps >= 1, batch_size >= 1, lr > 0 and 0 <= ema < 1. "
                                        f"Got {self}.")


def train_score(model: ScoreNet, data: torch.Tensor, settings: ScoreSettings, *, cond: torch.Tensor | None = None,
                checkpoint: Path | None = None, progress: Progress = no_progress, desc: str = "score") -> list[float]:
    r"""Train ``model`` by denoising score matching on ``data`` (N, channels, n, n) (with conditions ``cond``
    (N, cond_channels, n, n)); return the loss of every step. Deterministic given ``settings.seed``; with
    ``checkpoint``, the state (model, optimizer, step, losses) is saved atomically every 200 steps and at
    the end, with the settings, the model's architecture and the data's shape; a run finding a checkpoint
    of the same three continues from it (so a resumed run ends with the same weights), any other starts
    afresh and overwrites it."""
    if data.ndim != 4 or data.shape[1] != model.channels or (cond is None) != (model.cond_channels == 0) or (
            cond is not None and (cond.shape[0] != data.shape[0] or cond.shape[1] != model.cond_channels)):
        raise ShapeError(f"train_score: data must be (N, {model.channels}, n, n) and cond (N, {model.cond_channels}, "
                         f"n, n) or None to match the model. Got data {tuple(data.shape)}, cond "
                         f"{None if cond is None else tuple(cond.shape)}.")
    if len(data) < 2:
        raise InvalidParameterError(f"train_score needs at least 2 training fields. Got {len(data)}.")
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.steps)
    losses: list[float] = []
    start = 0
    ema = [p.detach().clone() for p in model.parameters()] if settings.ema > 0 else []
    identity = {"settings": dataclasses.asdict(settings), "architecture": model.architecture,
                "data_shape": list(data.shape), "cond_shape": None if cond is None else list(cond.shape)}
    if checkpoint is not None and Path(checkpoint).is_file():
        state = torch.load(checkpoint, weights_only=True)
        if {key: state.get(key) for key in identity} == identity:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            start, losses = int(state["step"]), list(state["losses"])
            for e, saved in zip(ema, state["ema"], strict=True):
                e.copy_(saved)
    model.train()
    device = next(model.parameters()).device
    data = data.to(device)
    cond = cond.to(device) if cond is not None else None
    for step in progress(range(start, settings.steps), desc=desc, total=settings.steps - start):
        gen = torch.Generator(device="cpu").manual_seed(settings.seed * 1_000_003 + step)  # depends on the step only
        index = torch.randint(0, len(data), (settings.batch_size,), generator=gen)
        t = T_MIN + (T_MAX - T_MIN) * torch.rand(settings.batch_size, generator=gen, dtype=torch.float64)
        noise = torch.randn((settings.batch_size,) + tuple(data.shape[1:]), generator=gen).to(device, data.dtype)
        a, s = (v.to(device, data.dtype)[:, None, None, None] for v in schedule(t))
        x0 = data[index]
        predicted = model.velocity(a * x0 + s * noise, t.to(device), None if cond is None else cond[index])
        loss = ((predicted - (a * noise - s * x0)) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if ema:
            with torch.no_grad():
                decay = min(settings.ema, (1 + step) / (10 + step))
                for e, p in zip(ema, model.parameters()):
                    e.lerp_(p.detach(), 1 - decay)
        losses.append(float(loss.detach()))
        if checkpoint is not None and ((step + 1) % 200 == 0 or step + 1 == settings.steps):
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "step": step + 1, "losses": losses, "ema": ema,
                     **identity}
            atomic_write(checkpoint, lambda file, state=state: torch.save(state, file))
    with torch.no_grad():
        for p, e in zip(model.parameters(), ema):
            p.copy_(e)
    model.eval()
    return losses


@torch.no_grad()
def denoising_loss(model: ScoreNet, data: torch.Tensor, *, cond: torch.Tensor | None = None, times: int = 8,
                   seed: int = 0) -> float:
    r"""The training objective of :func:`train_score` on held-out ``data`` (N, channels, n, n): the mean of
    :math:`\|v_\theta(x_t, t \mid c) - (a_t\varepsilon - s_t x_0)\|^2` per coefficient over ``times`` evenly spaced
    t in [0.05, 0.95] (fixed noises from ``seed``), for choosing hyperparameters on validation fields."""
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    data = data.to(device)
    cond = cond.to(device) if cond is not None else None
    losses = []
    for t in torch.linspace(0.05, 0.95, times, dtype=torch.float64):
        a, s = (float(v) for v in schedule(t))
        noise = torch.randn(data.shape, generator=gen).to(data)
        v = model.velocity(a * data + s * noise, t.expand(len(data)).to(device), cond)
        losses.append(float(((v - (a * noise - s * data)) ** 2).mean()))
    return sum(losses) / len(losses)


@torch.no_grad()
def ddim_sample(model: Callable, shape: tuple[int, ...], steps: int, *, cond: torch.Tensor | None = None,
                generator: torch.Generator | None = None, device=None, dtype=torch.float32) -> torch.Tensor:
    r"""Deterministic DDIM sampling with ``steps`` model evaluations on uniform times
    T_MAX = t_0 > ... > t_steps = T_MIN,
    :math:`x_{t'} = a_{t'}\hat x_0 + s_{t'}\varepsilon_\theta`, :math:`\hat x_0 = (x_t - s_t\varepsilon_\theta)/a_t`;
    the last step returns :math:`\hat x_0`. Starts from :math:`x_1 \sim N(0, I)` of ``shape``."""
    if not isinstance(steps, int) or steps < 1:
        raise InvalidParameterError(f"The 'steps' parameter of ddim_sample must be an int >= 1. Got {steps!r}.")
    x = torch.randn(shape, generator=generator, dtype=dtype).to(device or "cpu")
    times = torch.linspace(T_MAX, T_MIN, steps + 1, dtype=torch.float64)
    for k in range(steps):
        t, t_next = times[k], times[k + 1]
        a, s = (float(v) for v in schedule(t))
        eps = model(x, t.expand(shape[0]).to(x.device), cond)
        x0 = (x - s * eps) / a
        if k == steps - 1:
            return x0
        a_next, s_next = (float(v) for v in schedule(t_next))
        x = a_next * x0 + s_next * eps
    return x


class WaveletScoreModel:
    r"""Coarse-to-fine generation :math:`p(x_0) = p(x_J)\prod_{j=1}^J p(\bar x_j \mid x_j)` with Haar wavelets.

    ``coarse``: a :class:`ScoreNet` (1 channel) for :math:`x_J` normalized by ``coarse_scale``;
    ``conditionals[j-1]``: a :class:`ScoreNet` (3 channels, 1 condition) for :math:`\bar x_j / \sigma_j` given
    :math:`x_j / \sigma'_j` (``detail_scales``, ``cond_scales``: the standard deviations of the training
    details and coarse fields at level j; a detail scale is one float for the three channels or a tuple of
    three, one per channel). :meth:`sample` runs ``steps`` DDIM steps at every scale.
    """

    def __init__(self, coarse: ScoreNet, conditionals: list[ScoreNet], coarse_size: int, coarse_scale: float,
                 detail_scales: list[float | tuple[float, float, float]], cond_scales: list[float]):
        if len(detail_scales) != len(conditionals) or len(cond_scales) != len(conditionals):
            raise InvalidParameterError("WaveletScoreModel needs one detail and one condition scale per conditional "
                                        f"model. Got {len(conditionals)} models, {len(detail_scales)} and "
                                        f"{len(cond_scales)} scales.")
        for scale in detail_scales:
            if not (isinstance(scale, float) or (isinstance(scale, tuple) and len(scale) == 3)):
                raise InvalidParameterError("The 'detail_scales' of WaveletScoreModel must be floats or tuples of 3 "
                                            f"floats (one per detail channel). Got {scale!r}.")
        self.coarse, self.conditionals, self.coarse_size = coarse, conditionals, coarse_size
        self.coarse_scale, self.detail_scales, self.cond_scales = coarse_scale, detail_scales, cond_scales

    @property
    def levels(self) -> int:
        return len(self.conditionals)

    def detail_scale(self, j: int, like: torch.Tensor) -> float | torch.Tensor:
        """The detail scale of level j (1..levels): its float, or its three as a (3, 1, 1) tensor like ``like``."""
        scale = self.detail_scales[j - 1]
        if isinstance(scale, float):
            return scale
        return torch.tensor(scale, dtype=like.dtype, device=like.device).view(3, 1, 1)

    @staticmethod
    def decompose(x: torch.Tensor, levels: int) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Fields (N, 1, n, n) -> (x_J, [(x_j, xbar_j) for j = 1..J]): x_j (N, 1, ...) is the coarse field the
        details xbar_j (N, 3, ...) are conditioned on."""
        pairs = []
        for _ in range(levels):
            coarse, details = haar2d(x[:, 0])
            pairs.append((coarse[:, None], details))
            x = coarse[:, None]
        return x, pairs

    def sample(self, n: int, steps: int, *, generator: torch.Generator | None = None, device=None,
               dtype=torch.float32) -> torch.Tensor:
        """n fields (n, 1, N, N), coarse to fine, ``steps`` DDIM steps at every scale."""
        size = self.coarse_size
        x = ddim_sample(self.coarse, (n, 1, size, size), steps, generator=generator, device=device,
                        dtype=dtype) * self.coarse_scale
        for j in range(self.levels, 0, -1):
            cond = x / self.cond_scales[j - 1]
            details = ddim_sample(self.conditionals[j - 1], (n, 3, size, size), steps, cond=cond, generator=generator,
                                  device=device, dtype=dtype)
            details = details * self.detail_scale(j, details)
            x = ihaar2d(x[:, 0], details)[:, None]
            size *= 2
        return x
