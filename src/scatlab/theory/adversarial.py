r"""Minimal L2 adversarial perturbations and universal perturbations, with torchattacks.

Szegedy et al. ("Intriguing properties of neural networks", ICLR 2014) found that trained
networks change their decision under perturbations far smaller than the image. The smallest L2
perturbation :math:`\delta^*(x) = \arg\min \{\|\delta\|_2 : \hat k(x + \delta) \ne \hat k(x)\}` is
estimated by DeepFool (Moosavi-Dezfooli, Fawzi & Frossard, CVPR 2016; ``torchattacks.DeepFool``),
then shortened by bisection along the segment from x to the adversarial point: the result is an
upper estimate of :math:`\|\delta^*\|`, exact for an affine classifier, where
:math:`\|\delta^*\| = \min_{j \ne y} |f_y(x) - f_j(x)| / \|w_y - w_j\|`. A universal perturbation
(Moosavi-Dezfooli, Fawzi, Fawzi & Frossard, "Universal adversarial perturbations", CVPR 2017) is
one v with :math:`\|v\|_2 \le \xi` fooling most images: iterate over the images, add the DeepFool
perturbation of :math:`x + v` when x is not yet fooled, and project v back onto the ball.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from ..errors import InvalidParameterError, ShapeError

__all__ = ["MinimalPerturbation", "minimal_l2_perturbation", "linear_minimal_distance", "fooling_rate",
           "universal_perturbation"]


@dataclasses.dataclass(frozen=True)
class MinimalPerturbation:
    """Per image: ``delta`` (B, ...) with f(x + delta) != f(x) where ``found``; ``norms`` ||delta||_2
    (inf where not found); ``relative`` ||delta|| / ||x||; ``labels`` the predicted class of x."""

    delta: torch.Tensor
    norms: torch.Tensor
    relative: torch.Tensor
    found: torch.Tensor
    labels: torch.Tensor


def _predict(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(x[s:s + batch_size]).argmax(1) for s in range(0, len(x), batch_size)])


def _check(model: nn.Module, x: torch.Tensor, who: str) -> torch.device:
    params = list(model.parameters())
    if not params:
        raise InvalidParameterError(f"{who}: the 'model' has no parameters; pass a trained classifier.")
    if model.training:
        raise InvalidParameterError(f"{who}: the 'model' is in training mode; call model.eval() first.")
    if x.dim() < 2 or len(x) < 1:
        raise ShapeError(f"{who}: 'x' must be a batch (B, ...) with B >= 1; got shape {tuple(x.shape)}.")
    return params[0].device


def _deepfool(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, steps: int, overshoot: float) -> torch.Tensor:
    """torchattacks.DeepFool on x with the given labels: adversarial images clamped to [0, 1]."""
    import torchattacks  # the attack library: imported when an attack runs

    attack = torchattacks.DeepFool(model, steps=steps, overshoot=overshoot)
    return attack(x, labels)


def minimal_l2_perturbation(model: nn.Module, x: torch.Tensor, *, steps: int = 50, overshoot: float = 0.02,
                            bisections: int = 20, extensions: int = 6) -> MinimalPerturbation:
    r"""Smallest L2 perturbation found per image of x (values in [0, 1]) that changes the model's decision.

    DeepFool (``torchattacks.DeepFool``, ``steps`` linearization steps, ``overshoot``) from the
    predicted label, then ``bisections`` halvings of the segment [x, x_adv] keeping the point
    nearest to x whose decision still differs (the predicate is evaluated on the whole batch at
    once). Where DeepFool ends without a change (its steps clamped to [0, 1] can stall), the segment
    is first doubled up to ``extensions`` times along its direction (points clamped to [0, 1]).
    Exact for an affine classifier, up to :math:`2^{-\text{bisections}}` of the DeepFool step.
    """
    device = _check(model, x, "minimal_l2_perturbation")
    if steps < 1 or bisections < 0 or overshoot < 0 or extensions < 0:
        raise InvalidParameterError(f"minimal_l2_perturbation needs steps >= 1, bisections >= 0, overshoot >= 0 and"
                                    f" extensions >= 0; got {steps}, {bisections}, {overshoot}, {extensions}.")
    x = x.to(device)
    labels = _predict(model, x)
    direction = _deepfool(model, x, labels, steps, overshoot).to(device) - x
    shape = (-1,) + (1,) * (x.dim() - 1)
    point = lambda t: (x + t.view(shape) * direction).clamp(0, 1)  # noqa: E731  (valid images)
    high = torch.ones(len(x), device=device)  # decision changed at point(high), where found
    found = _predict(model, point(high)) != labels
    for _ in range(extensions):  # DeepFool stalls when [0, 1] clamps its steps: go further along its direction
        if bool(found.all()):
            break
        high = torch.where(found, high, 2 * high)
        found = _predict(model, point(high)) != labels
    low = torch.zeros(len(x), device=device)  # decision unchanged at point(low)
    for _ in range(bisections):
        mid = (low + high) / 2
        flipped = _predict(model, point(mid)) != labels
        high = torch.where(flipped, mid, high)
        low = torch.where(flipped, low, mid)
    delta = point(high) - x
    norms = delta.flatten(1).norm(dim=1)
    norms = torch.where(found, norms, torch.full_like(norms, float("inf")))
    relative = norms / x.flatten(1).norm(dim=1)
    return MinimalPerturbation(delta.detach(), norms.detach(), relative.detach(), found, labels)


def linear_minimal_distance(weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Exact minimal L2 distance from each row of x (B, D) to a decision change of the affine classifier
    :math:`f(x) = Wx + b`: :math:`\min_{j \ne y} (f_y - f_j) / \|w_y - w_j\|` with y the predicted class
    (the distance to the nearest face of the convex cell of y)."""
    logits = x @ weight.T + bias
    y = logits.argmax(1)
    gaps = logits.gather(1, y[:, None]) - logits  # (B, K) >= 0
    norms = (weight[y][:, None, :] - weight[None, :, :]).norm(dim=2)  # (B, K)
    ratio = torch.where(norms > 0, gaps / norms.clamp_min(1e-300), torch.full_like(gaps, float("inf")))
    ratio = ratio.scatter(1, y[:, None], float("inf"))
    return ratio.min(1).values


def fooling_rate(model: nn.Module, x: torch.Tensor, v: torch.Tensor) -> float:
    """Fraction of images whose predicted class changes when v is added (the sum clamped to [0, 1])."""
    device = _check(model, x, "fooling_rate")
    x = x.to(device)
    return float((_predict(model, (x + v.to(device)).clamp(0, 1)) != _predict(model, x)).float().mean())


def universal_perturbation(model: nn.Module, x: torch.Tensor, budget: float, *, passes: int = 5,
                           target_rate: float = 0.8, steps: int = 10, overshoot: float = 0.02,
                           seed: int = 0) -> torch.Tensor:
    r"""A universal perturbation v with :math:`\|v\|_2 \le` ``budget`` for the images x (Moosavi-Dezfooli et al. 2017).

    Up to ``passes`` passes over x in a random order (``seed``): for each image not fooled by v, add
    its minimal perturbation at x + v (:func:`minimal_l2_perturbation`: DeepFool with ``steps``,
    then bisection; times 1 + ``overshoot``) and project v onto the L2 ball of radius ``budget``;
    stop when the fooling rate on x reaches ``target_rate``. Images are clamped to [0, 1] after
    adding v.
    """
    device = _check(model, x, "universal_perturbation")
    if not budget > 0:
        raise InvalidParameterError(f"universal_perturbation: the 'budget' must be > 0 (an L2 radius); got {budget}.")
    if passes < 1 or not 0 < target_rate <= 1:
        raise InvalidParameterError(f"universal_perturbation needs passes >= 1 and 0 < target_rate <= 1; got {passes},"
                                    f" {target_rate}.")
    x = x.to(device)
    labels = _predict(model, x)
    v = torch.zeros_like(x[0])
    order = np.random.default_rng(seed).permutation(len(x))
    for _ in range(passes):
        for i in order:
            xi = x[i:i + 1]
            perturbed = (xi + v).clamp(0, 1)
            if _predict(model, perturbed)[0] != labels[i]:
                continue
            step = minimal_l2_perturbation(model, perturbed, steps=steps, overshoot=overshoot, bisections=8)
            if not bool(step.found[0]):
                continue
            v = v + (1 + overshoot) * step.delta[0]
            norm = float(v.norm())
            if norm > budget:
                v = v * (budget / norm)
        if fooling_rate(model, x, v) >= target_rate:
            break
    return v.detach()
