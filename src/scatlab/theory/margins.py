r"""Classification margins of a network, in output space and in input space, and the Jacobian
regularizer that enlarges the latter.

Output margin of a point (x, y): :math:`m(x) = f_y(x) - \max_{j\ne y} f_j(x)` (positive iff x is
classified correctly; :func:`output_margins`).

Input-space margin (Sokolic, Giryes, Sapiro & Rodrigues, "Robust large margin deep neural
networks", IEEE Trans. Signal Process. 2017): the distance from x to the nearest decision
boundary. Two estimates:

- first order (:func:`first_order_margins`): :math:`\min_{j\ne y} (f_y - f_j)(x) /
  \|\nabla_x (f_y - f_j)(x)\|_2`, the distance to the boundaries of the network linearized at x
  (the first step of DeepFool, Moosavi-Dezfooli, Fawzi & Frossard, CVPR 2016); exact for a linear
  classifier, whose class regions are polytopes. Jacobians are batched with ``torch.func``
  (``vmap`` of ``jacrev``);
- measured (:func:`deepfool_margins`): the norm of the perturbation found by the DeepFool attack of
  ``torchattacks``, an upper bound on the distance (any misclassified point found is at least that
  far); on a linear classifier it is the exact distance times (1 + overshoot).

Jacobian regularization (Sokolic et al. 2017, Section V): add :math:`\lambda\,\frac1B\sum_i
\|J(x_i)\|_F^2` to the training loss, J the Jacobian of the logits with respect to the input.
:class:`JacobianRegularized` does it inside the model (the training loop stays that of
:func:`scatlab.learning.training.train`), with the unbiased random-projection estimate
:math:`\|J\|_F^2 = \mathbb E_v\|J^\top v\|^2`, :math:`v \sim N(0, I)` (Hoffman, Roberts & Yaida,
"Robust learning with Jacobian regularization", 2019), one projection per image and step.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import jacrev, vmap

from ..errors import InvalidParameterError, ShapeError, parameter_error
from .bottleneck import with_extra_loss

__all__ = ["JacobianRegularized", "deepfool_margins", "first_order_margins", "jacobian_frobenius", "output_margins"]


def _check(x: torch.Tensor, y: torch.Tensor, owner: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or not x.is_floating_point():
        raise ShapeError(f"{owner} takes float inputs (B, ...); got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}.")
    if y.dim() != 1 or len(y) != len(x):
        raise ShapeError(f"{owner} needs one label per input: 'x' has {len(x)} rows, 'y' shape {tuple(y.shape)}.")


def _device(model: nn.Module) -> torch.device:
    parameters = list(model.parameters())
    if not parameters:
        raise parameter_error("margins", "model", "a torch.nn.Module with parameters (a trained classifier)",
                              type(model).__name__)
    return parameters[0].device


def output_margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`f_y - \\max_{j \\ne y} f_j` for every row of ``logits`` (B, K), K >= 2."""
    if logits.dim() != 2 or logits.shape[1] < 2 or y.shape != (logits.shape[0],):
        raise ShapeError(f"output_margins takes logits (B, K >= 2) and labels (B,); got {tuple(logits.shape)} and"
                         f" {tuple(y.shape)}.")
    y = y.to(logits.device)
    true = logits.gather(1, y[:, None])[:, 0]
    others = logits.scatter(1, y[:, None], float("-inf"))
    return true - others.max(dim=1).values


def _jacobians(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits (B, K), Jacobians (B, K, D)) of the model at every row of x, in one vmap."""
    def single(xi):
        out = model(xi[None])[0]
        return out, out

    jac, logits = vmap(jacrev(single, has_aux=True))(x)
    return logits, jac.flatten(2)


def first_order_margins(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """First-order input-space margins (B,) of ``model`` (eval mode) at the points x with labels y:
    :math:`\\min_{j \\ne y} (f_y - f_j) / \\|\\nabla_x (f_y - f_j)\\|`, negative for misclassified points."""
    _check(x, y, "first_order_margins")
    if batch_size < 1:
        raise parameter_error("first_order_margins", "batch_size", "an integer >= 1", batch_size)
    device = _device(model)
    was_training = model.training
    model.eval()
    out = []
    try:
        for s in range(0, len(x), batch_size):
            xb, yb = x[s:s + batch_size].to(device), y[s:s + batch_size].to(device)
            logits, jac = _jacobians(model, xb)
            gaps = logits.gather(1, yb[:, None]) - logits  # (B, K): f_y - f_j
            grads = (jac.gather(1, yb[:, None, None].expand(-1, 1, jac.shape[2])) - jac).norm(dim=2)
            ratio = gaps / grads.clamp_min(torch.finfo(grads.dtype).tiny)
            ratio = ratio.scatter(1, yb[:, None], float("inf"))
            out.append(ratio.min(dim=1).values.detach().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def jacobian_frobenius(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """:math:`\\|J(x_i)\\|_F` (B,): Frobenius norm of the Jacobian of the logits of ``model`` (eval mode)
    with respect to each input, exactly (``vmap`` of ``jacrev``)."""
    _check(x, torch.zeros(len(x)), "jacobian_frobenius")
    device = _device(model)
    was_training = model.training
    model.eval()
    try:
        out = [_jacobians(model, x[s:s + batch_size].to(device))[1].flatten(1).norm(dim=1).detach().cpu()
               for s in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def deepfool_margins(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int = 50,
                     overshoot: float = 0.02) -> tuple[torch.Tensor, torch.Tensor]:
    """Input-space margins (B,) measured by the DeepFool attack (``torchattacks.DeepFool``): the norm
    :math:`\\|x_{adv} - x\\|_2` of the perturbation found, and whether it changes the prediction.

    Inputs must be in [0, 1] (the attack clips to that box). A point already misclassified gets 0;
    a point the attack fails on within ``steps`` keeps its last perturbation, flagged False.
    """
    import torchattacks

    _check(x, y, "deepfool_margins")
    if steps < 1 or not overshoot >= 0:
        raise parameter_error("deepfool_margins", "steps, overshoot", "steps >= 1 and overshoot >= 0",
                              (steps, overshoot))
    if float(x.min()) < 0 or float(x.max()) > 1:
        raise InvalidParameterError("deepfool_margins needs inputs in [0, 1] (torchattacks clips adversarial examples"
                                    " to that box); rescale 'x' first.")
    device = _device(model)
    was_training = model.training
    model.eval()
    try:
        attack = torchattacks.DeepFool(model, steps=steps, overshoot=overshoot)
        x, y = x.to(device), y.to(device)
        adversarial = attack(x, y)
        with torch.no_grad():
            fooled = model(adversarial).argmax(1) != y
    finally:
        model.train(was_training)
    return (adversarial - x).flatten(1).norm(dim=1).detach().cpu(), fooled.cpu()


class JacobianRegularized(nn.Module):
    """``model`` trained with the Jacobian penalty :math:`\\lambda\\frac1B\\sum_i\\|J(x_i)\\|_F^2` added to
    its loss (Sokolic et al. 2017): in training mode, the forward pass returns the logits unchanged
    but their backward pass adds the gradient of the penalty (estimated with one Gaussian projection
    per image); in eval mode it is ``model``. ``weight`` is :math:`\\lambda >= 0`."""

    def __init__(self, model: nn.Module, weight: float):
        super().__init__()
        if not weight >= 0:
            raise parameter_error("JacobianRegularized", "weight", "a number >= 0", weight)
        self.model, self.weight = model, float(weight)
        self.last_penalty = 0.0  # the penalty of the last training batch (lambda times the mean ||J||_F^2 estimate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.weight == 0 or not torch.is_grad_enabled():
            return self.model(x)
        x = x.detach().requires_grad_(True)
        logits = self.model(x)
        v = torch.randn_like(logits)
        (g,) = torch.autograd.grad((logits * v).sum(), x, create_graph=True)
        penalty = self.weight * g.flatten(1).square().sum(dim=1).mean()
        self.last_penalty = float(penalty.detach())
        return with_extra_loss(logits, penalty)
