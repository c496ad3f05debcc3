r"""Empirical neural tangent kernels and lazy training.

The empirical NTK of a network f(w, x) with K outputs is
:math:`\Theta(x, x')_{kk'} = \langle \partial_w f_k(w, x), \partial_w f_{k'}(w, x')\rangle = J(x) J(x')^T`
(Jacot, Gabriel & Hongler, NeurIPS 2018). Under the NTK parameterization (:class:`NTKMLP`) it
converges as the width grows to the deterministic kernel of
:func:`scatlab.theory.kernels.relu_kernels` and stays constant during training; its relative
change :math:`\|\Theta_T - \Theta_0\|_F / \|\Theta_0\|_F` shrinks like :math:`1/\sqrt{\text{width}}`
(Lee et al., NeurIPS 2019).

Chizat, Oyallon & Bach ("On lazy training in differentiable programming", NeurIPS 2019) show
that any model can be made lazy by a scale: training :math:`\alpha (f(w, x) - f(w_0, x))` on the
loss divided by :math:`\alpha^2` (:class:`AlphaScaled`) keeps the trajectory within
:math:`O(1/\alpha)` of that of the linearized model
:math:`\alpha\, J(w_0)(w - w_0)` (:class:`Linearized`), with weights moving by :math:`O(1/\alpha)`.
"""
from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vmap

from ..errors import InvalidParameterError, ShapeError
from ..runtime import Progress, no_progress

__all__ = ["NTKMLP", "empirical_ntk", "ntk_relative_change", "output_mean_kernel", "AlphaScaled", "Linearized",
           "relative_weight_change", "gradient_descent_mse"]


def _positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(f"The '{name}' parameter of {owner} must be an int >= 1. Got {value!r} instead.")
    return value


def _check_alpha(alpha, owner: str) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not (alpha > 0 and math.isfinite(alpha)):
        raise InvalidParameterError(f"The 'alpha' parameter of {owner} must be a finite number > 0 (the output scale;"
                                    f" large alpha is the lazy regime). Got {alpha!r} instead.")
    return float(alpha)


class NTKMLP(nn.Module):
    r"""A ReLU MLP in the NTK parameterization (Jacot et al. 2018), standard normal weights.

    :math:`h^1 = \sigma_w W^1 x / \sqrt d + \sigma_b b^1`,
    :math:`h^{l+1} = \sigma_w W^{l+1}\mathrm{relu}(h^l)/\sqrt{n_l} + \sigma_b b^{l+1}`, output
    :math:`h^{\text{depth}+1}` (no biases when ``sigma_b == 0``). Its kernels at infinite width are
    :func:`scatlab.theory.kernels.relu_kernels` with the same ``depth``, ``sigma_w``, ``sigma_b``.
    Inputs (B, ...) are flattened to (B, in_features).
    """

    def __init__(self, in_features: int, width: int, depth: int, out_features: int = 1, *,
                 sigma_w: float = math.sqrt(2.0), sigma_b: float = 0.0):
        super().__init__()
        _positive_int(in_features, "in_features", "NTKMLP")
        _positive_int(width, "width", "NTKMLP")
        _positive_int(out_features, "out_features", "NTKMLP")
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise InvalidParameterError(f"The 'depth' parameter of NTKMLP must be an int >= 0 (hidden layers)."
                                        f" Got {depth!r} instead.")
        if not (sigma_w > 0 and math.isfinite(sigma_w)) or not (sigma_b >= 0 and math.isfinite(sigma_b)):
            raise InvalidParameterError(f"NTKMLP needs sigma_w > 0 and sigma_b >= 0; got {sigma_w!r}, {sigma_b!r}.")
        self.sizes = (in_features,) + (width,) * depth + (out_features,)
        self.sigma_w, self.sigma_b = float(sigma_w), float(sigma_b)
        self.weights = nn.ParameterList(nn.Parameter(torch.randn(m, n)) for n, m in zip(self.sizes, self.sizes[1:]))
        self.biases = nn.ParameterList(nn.Parameter(torch.randn(m)) for m in self.sizes[1:]) if sigma_b > 0 else None

    def _layer(self, l: int, a: torch.Tensor) -> torch.Tensor:
        h = a @ self.weights[l].T * (self.sigma_w / math.sqrt(self.sizes[l]))
        return h + self.sigma_b * self.biases[l] if self.biases is not None else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x.reshape(x.shape[0], -1)
        if a.shape[1] != self.sizes[0]:
            raise ShapeError(f"NTKMLP expects {self.sizes[0]} input features; got {a.shape[1]} (shape {tuple(x.shape)}).")
        for l in range(len(self.weights) - 1):
            a = torch.relu(self._layer(l, a))
        return self._layer(len(self.weights) - 1, a)

    def ntk(self, x1: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
        r"""The empirical NTK (n1, n2, K, K) from the layer structure, exact and fast for wide layers.

        :math:`\Theta_{kk'}(x, x') = \sum_l \big(\tfrac{\sigma_w^2}{n_{l-1}}\langle a^{l-1}(x), a^{l-1}(x')\rangle
        + \sigma_b^2\big)\langle \delta^l_k(x), \delta^l_{k'}(x')\rangle` with :math:`a^0 = x`,
        :math:`a^l = \mathrm{relu}(h^l)` and :math:`\delta^l_k = \partial f_k / \partial h^l`
        (back-propagated in closed form); the same number as :func:`empirical_ntk` at cost
        O(n^2 K^2 width) instead of O(n^2 K^2 parameters).
        """
        with torch.no_grad():
            sides = [self._backward_pass(x) for x in ((x1,) if x2 is None else (x1, x2))]
            (acts1, deltas1), (acts2, deltas2) = sides[0], sides[-1]
            theta = 0
            for l, (a1, a2, d1, d2) in enumerate(zip(acts1, acts2, deltas1, deltas2)):
                gram = a1 @ a2.T * (self.sigma_w**2 / self.sizes[l]) + self.sigma_b**2 * (self.biases is not None)
                theta = theta + gram[:, :, None, None] * torch.einsum("akw,blw->abkl", d1, d2)
        return theta

    def _backward_pass(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Inputs a^{l-1} (n, n_{l-1}) of every layer and delta^l = df/dh^l (n, K, n_l)."""
        a = x.reshape(x.shape[0], -1)
        acts, pre = [a], []
        for l in range(len(self.weights) - 1):
            h = self._layer(l, a)
            pre.append(h)
            a = torch.relu(h)
            acts.append(a)
        K = self.sizes[-1]
        delta = torch.eye(K, dtype=a.dtype, device=a.device).expand(a.shape[0], K, K)
        deltas = [delta]
        for l in range(len(self.weights) - 1, 0, -1):
            delta = (delta @ self.weights[l]) * (self.sigma_w / math.sqrt(self.sizes[l])) * (pre[l - 1] > 0)[:, None, :]
            deltas.append(delta)
        return acts, deltas[::-1]


def empirical_ntk(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor | None = None, *,
                  layers: Sequence[str] | None = None, chunk: int = 16) -> torch.Tensor:
    r"""The empirical NTK :math:`\Theta(x, x') = J(x) J(x')^T` of any module, shape (n1, n2, K, K).

    J is the Jacobian of the K outputs (1 if the output is (B,)) with respect to every parameter
    that requires a gradient, or only those of the submodules named in ``layers`` (names of
    ``model.named_modules()``, e.g. ``["0", "2"]`` for layers of a Sequential; the NTK is the sum
    of the per-layer kernels), computed by ``torch.func`` (``vmap`` of ``jacrev`` through
    ``functional_call``, in batches of ``chunk`` inputs; memory chunk x K x parameters). The model
    is evaluated as it is (call ``model.eval()`` first for dropout or batch normalization).
    """
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    if layers is not None:
        if isinstance(layers, str):
            layers = [layers]
        known = dict(model.named_modules())
        missing = [name for name in layers if name not in known or name == ""]
        if missing or not layers:
            raise InvalidParameterError(f"The 'layers' parameter of empirical_ntk names modules that do not exist:"
                                        f" {missing or list(layers)}; the model has {[n for n in known if n]}.")
        trainable = [name for name in trainable if any(name.startswith(layer + ".") for layer in layers)]
    names = trainable
    if not names:
        raise InvalidParameterError("empirical_ntk needs a 'model' (and 'layers') with at least one parameter that"
                                    " requires a gradient (the NTK is the Gram matrix of the parameter gradients).")
    _positive_int(chunk, "chunk", "empirical_ntk")
    params = {name: p.detach() for name, p in model.named_parameters() if name in names}
    fixed = {name: p.detach() for name, p in model.named_parameters() if name not in names}
    fixed.update(dict(model.named_buffers()))

    def single(p, x):
        out = functional_call(model, ({**p, **fixed},), (x[None],))
        return out.reshape(-1)

    def jacobian(x):
        jac = vmap(jacrev(single), in_dims=(None, 0))(params, x)
        return torch.cat([jac[name].reshape(x.shape[0], jac[name].shape[1], -1) for name in names], dim=2)

    for name, x in (("x1", x1), ("x2", x2)):
        if x is not None and (x.ndim < 1 or x.shape[0] < 1):
            raise ShapeError(f"'{name}' must be a batch (n, ...) with n >= 1; got shape {tuple(x.shape)}.")
    second = x1 if x2 is None else x2
    rows = []
    for i in range(0, x1.shape[0], chunk):
        ja = jacobian(x1[i:i + chunk])
        cols = [torch.einsum("akp,blp->abkl", ja, ja if (x2 is None and j == i) else jacobian(second[j:j + chunk]))
                for j in range(0, second.shape[0], chunk)]
        rows.append(torch.cat(cols, dim=1))
    return torch.cat(rows, dim=0)


def output_mean_kernel(theta: torch.Tensor) -> torch.Tensor:
    r"""The mean of the K diagonal output blocks :math:`\frac1K\sum_k \Theta_{kk}` of an NTK (n1, n2, K, K).

    At infinite width the NTK of an MLP is :math:`\Theta_\infty \otimes I_K`; this is its scalar part.
    """
    if theta.ndim != 4 or theta.shape[2] != theta.shape[3]:
        raise ShapeError(f"'theta' must be an NTK (n1, n2, K, K); got shape {tuple(theta.shape)}.")
    return torch.diagonal(theta, dim1=2, dim2=3).mean(dim=2)


def ntk_relative_change(theta0: torch.Tensor, theta1: torch.Tensor) -> float:
    r""":math:`\|\Theta_1 - \Theta_0\|_F / \|\Theta_0\|_F` (e.g. after training vs at initialization)."""
    if theta0.shape != theta1.shape:
        raise ShapeError(f"The two kernels must have the same shape; got {tuple(theta0.shape)} and"
                         f" {tuple(theta1.shape)}.")
    norm = float(theta0.double().norm())
    if norm == 0:
        raise InvalidParameterError("'theta0' is zero: the relative change is undefined.")
    return float((theta1.double() - theta0.double()).norm()) / norm


class AlphaScaled(nn.Module):
    r"""The centred, scaled model :math:`\alpha\,(f(w, x) - f(w_0, x))` of Chizat, Oyallon & Bach (2019).

    ``model`` is trained in place (its parameters are w, starting at :math:`w_0`); a frozen copy
    keeps :math:`w_0`. Training it on the loss divided by :math:`\alpha^2` is, for SGD without
    weight decay, training it on the loss with the learning rate divided by :math:`\alpha^2`.
    ``alpha = 1`` gives the centred model (output 0 at initialization).
    """

    def __init__(self, model: nn.Module, alpha: float = 1.0):
        super().__init__()
        self.alpha = _check_alpha(alpha, "AlphaScaled")
        if not any(True for _ in model.parameters()):
            raise InvalidParameterError("AlphaScaled needs a 'model' with parameters.")
        self.model = model
        self.initial = copy.deepcopy(model).requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            start = self.initial(x)
        return self.alpha * (self.model(x) - start)

    def weight_change(self) -> float:
        r""":math:`\|w - w_0\| / \|w_0\|` over all parameters."""
        return _relative(list(self.model.parameters()), list(self.initial.parameters()))


class Linearized(nn.Module):
    r"""The linearized model :math:`\alpha\, J(w_0)(w - w_0)` of ``model`` around its current weights :math:`w_0`.

    The trainable parameters are the displacements :math:`w - w_0` (zero at the start, so the
    model starts at 0 like :class:`AlphaScaled`); the forward pass is one Jacobian-vector product
    (``torch.func.jvp``) through a frozen copy of ``model``: the first-order Taylor model
    :math:`f(w_0) + J(w_0)(w - w_0)`, centred and scaled by ``alpha``.
    """

    def __init__(self, model: nn.Module, alpha: float = 1.0):
        super().__init__()
        self.alpha = _check_alpha(alpha, "Linearized")
        self.base = copy.deepcopy(model).requires_grad_(False)
        self.names = [name for name, _ in self.base.named_parameters()]
        if not self.names:
            raise InvalidParameterError("Linearized needs a 'model' with parameters.")
        self.delta = nn.ParameterList(nn.Parameter(torch.zeros_like(p)) for _, p in self.base.named_parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        primals = dict(self.base.named_parameters())
        buffers = dict(self.base.named_buffers())
        tangents = dict(zip(self.names, self.delta))
        _, change = _jvp(lambda p: functional_call(self.base, (p, buffers), (x,)), (primals,), (tangents,))
        return self.alpha * change

    def weight_change(self) -> float:
        r""":math:`\|w - w_0\| / \|w_0\|`, with :math:`w - w_0` the trained displacement."""
        zeros = [torch.zeros_like(p) for p in self.base.parameters()]
        return _relative([d for d in self.delta], zeros, list(self.base.parameters()))


_FORWARD_AD_LOADED = False


def _jvp(function, primals, tangents):
    """torch.func.jvp; its first call loads torch's forward-mode decompositions, which use the deprecated
    torch.jit.script (a DeprecationWarning from torch itself, silenced for that one call only)."""
    global _FORWARD_AD_LOADED
    if _FORWARD_AD_LOADED:
        return jvp(function, primals, tangents)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
        out = jvp(function, primals, tangents)
    _FORWARD_AD_LOADED = True
    return out


def _relative(a: list[torch.Tensor], b: list[torch.Tensor], reference: list[torch.Tensor] | None = None) -> float:
    reference = b if reference is None else reference
    num = math.sqrt(sum(float((x.detach().double() - y.detach().double()).pow(2).sum()) for x, y in zip(a, b)))
    den = math.sqrt(sum(float(r.detach().double().pow(2).sum()) for r in reference))
    return num / den if den > 0 else math.inf


def relative_weight_change(model: nn.Module, initial: nn.Module) -> float:
    r""":math:`\|w - w_0\| / \|w_0\|` between the parameters of two copies of one architecture."""
    a, b = list(model.parameters()), list(initial.parameters())
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        raise ShapeError("'model' and 'initial' must have the same parameter shapes (two copies of one network).")
    return _relative(a, b)


def gradient_descent_mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, lr: float, steps: int,
                         progress: Progress = no_progress) -> list[float]:
    r"""Full-batch gradient descent on :math:`\frac{1}{2n}\|f(X) - Y\|^2`, in place; returns the losses.

    Plain steps :math:`w \leftarrow w - \eta \nabla` (no momentum, no weight decay): the algorithm
    whose infinite-width limit is :func:`scatlab.theory.kernels.kernel_gradient_descent`.
    ``y`` is (n,) or (n, K) like the output of ``model``; ``lr`` > 0, ``steps`` >= 1.
    """
    _positive_int(steps, "steps", "gradient_descent_mse")
    if not (lr > 0 and math.isfinite(lr)):
        raise InvalidParameterError(f"The 'lr' parameter of gradient_descent_mse must be > 0. Got {lr!r} instead.")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise InvalidParameterError("gradient_descent_mse needs a 'model' with trainable parameters.")
    losses = []
    for _ in progress(range(steps), desc="gradient descent", total=steps):
        out = model(x)
        if out.shape != y.shape:
            raise ShapeError(f"The model output {tuple(out.shape)} and 'y' {tuple(y.shape)} must have the same shape.")
        loss = 0.5 * (out - y).pow(2).sum() / x.shape[0]
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
        losses.append(float(loss.detach()))
    return losses
