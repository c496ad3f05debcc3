r"""Global optimality of positively homogeneous problems: factorization, two-layer ReLU networks, spreads.

Haeffele & Vidal ("Global optimality in tensor factorization, deep learning, and beyond", arXiv
1506.07540, 2015; "Global optimality in neural network training", CVPR 2017) study

.. math:: \min_{W}\ \ell(\Phi_r(W)) + \lambda\,\Theta_r(W), \qquad
          \Phi_r(W) = \sum_{i=1}^r \phi(W_i),\ \Theta_r(W) = \sum_{i=1}^r \theta(W_i),

with :math:`\phi, \theta` positively homogeneous of the same degree and :math:`W_i` the i-th
*slice* of the factors. Their results: a local minimizer with one all-zero slice
(:math:`W_i = 0`) is a global minimizer; :math:`W` is global iff the polar condition
:math:`\Omega^\circ(-\nabla\ell(\Phi)) \le \lambda` holds (with equality on the active slices),
where :math:`\Omega^\circ(G) = \sup_{\theta(W_i) \le 1} \langle G, \phi(W_i)\rangle`.

Two instances are measured here:

- matrix factorization, :math:`\phi(u, v) = u v^\top`, :math:`\theta(u, v) = \|u\|\|v\|`
  (:func:`factorize`): its convex envelope is the nuclear norm, so the global optimum is the
  singular-value soft-thresholding of Y (:func:`svt`), and the polar is the spectral norm
  (:func:`polar_ratio`, :func:`zero_slice_check`, :func:`escape_zero_slice`);
- a two-layer ReLU network :math:`f(x) = \sum_j a_j\,\mathrm{relu}(w_j^\top x + b_j)` with weight
  decay (:class:`TwoLayerReLU`, :func:`fit_two_layer_relu`), whose polar is
  :math:`\max_{\|(w,b)\|=1} \|G^\top \mathrm{relu}(Xw + b)\|` searched by gradient ascent
  (:func:`relu_polar`, :func:`relu_certificate`).

:func:`spread` summarizes the final losses of repeated trainings (Choromanska et al., "The loss
surfaces of multilayer networks", AISTATS 2015: the spread of the losses of local minima shrinks
as networks grow).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..errors import InvalidParameterError, ShapeError

__all__ = ["NuclearSolution", "Factorization", "ZeroSliceCheck", "svt", "factorization_objective", "factorize",
           "polar_ratio", "zero_slices", "zero_slice_check", "escape_zero_slice", "TwoLayerReLU",
           "fit_two_layer_relu", "negative_output_gradient", "relu_polar", "relu_certificate", "spread"]


# ------------------------------------------------------------------------------ checks


def _check_lambda(lam: float, owner: str) -> float:
    if not (isinstance(lam, (int, float)) and np.isfinite(lam) and lam > 0):
        raise InvalidParameterError(f"The 'lam' parameter of {owner} must be a finite number > 0 (the weight of the"
                                    f" regularizer). Got {lam!r} instead.")
    return float(lam)


def _check_matrix(Y: torch.Tensor, owner: str) -> torch.Tensor:
    if not isinstance(Y, torch.Tensor) or Y.ndim != 2 or min(Y.shape) < 1:
        raise ShapeError(f"The 'Y' parameter of {owner} must be a non-empty 2-D tensor (n, d); got"
                         f" {getattr(Y, 'shape', type(Y).__name__)}. Flatten the samples into rows.")
    if not torch.isfinite(Y).all():
        raise InvalidParameterError(f"The 'Y' parameter of {owner} holds NaN or Inf values; clean the data first.")
    return Y


def _check_factors(Y: torch.Tensor, U: torch.Tensor, V: torch.Tensor, owner: str) -> tuple[torch.Tensor, torch.Tensor]:
    """U (S, n, r) or (n, r), V (S, d, r) or (d, r), returned batched."""
    U = U[None] if U.ndim == 2 else U
    V = V[None] if V.ndim == 2 else V
    if U.ndim != 3 or V.ndim != 3 or U.shape[1] != Y.shape[0] or V.shape[1] != Y.shape[1] or U.shape[2] != V.shape[2] \
            or U.shape[0] != V.shape[0]:
        raise ShapeError(f"The factors of {owner} must be U (S, {Y.shape[0]}, r) and V (S, {Y.shape[1]}, r) (or without"
                         f" the batch axis S) for Y {tuple(Y.shape)}; got U {tuple(U.shape)} and V {tuple(V.shape)}.")
    return U, V


# ------------------------------------------------------------------ nuclear-norm optimum


@dataclasses.dataclass(frozen=True)
class NuclearSolution:
    """The closed-form optimum of :func:`svt`: X (n, d), its singular values, objective and rank."""

    X: torch.Tensor
    singular_values: torch.Tensor
    objective: float
    rank: int


def svt(Y: torch.Tensor, lam: float, rank: int | None = None) -> NuclearSolution:
    r"""Global optimum of :math:`\min_X \frac12\|Y - X\|_F^2 + \lambda\|X\|_*` (rank at most ``rank`` if given).

    Singular-value soft-thresholding (Cai, Candès & Shen, SIAM J. Optim. 2010):
    :math:`X^\star = P\,\mathrm{diag}((s - \lambda)_+)\,Q^\top` for :math:`Y = P\,\mathrm{diag}(s)\,Q^\top`;
    the objective is :math:`\sum_k \frac12 \min(s_k, \lambda)^2 + \lambda (s_k - \lambda)_+`.
    With ``rank`` = r, only the r largest singular values are kept (the others set to 0): by von
    Neumann's trace inequality this is the optimum over matrices of rank <= r, i.e. the global
    optimum of the factorization problem with r columns (:func:`factorize`).
    """
    Y = _check_matrix(Y, "svt")
    lam = _check_lambda(lam, "svt")
    if rank is not None and (not isinstance(rank, (int, np.integer)) or rank < 1):
        raise InvalidParameterError(f"The 'rank' parameter of svt must be an int >= 1 or None. Got {rank!r} instead.")
    P, s, Qh = torch.linalg.svd(Y, full_matrices=False)
    x = (s - lam).clamp_min(0)
    if rank is not None:
        x[rank:] = 0
    objective = float(0.5 * ((s - x) ** 2).sum() + lam * x.sum())
    return NuclearSolution(X=(P * x) @ Qh, singular_values=s, objective=objective, rank=int((x > 0).sum()))


# --------------------------------------------------------------- factorization descent


@dataclasses.dataclass(frozen=True)
class Factorization:
    """End points of :func:`factorize` for S starts: U (S, n, r), V (S, d, r), objective (S,),
    iterations (S,) (sweeps until the stopping rule held), converged (S,) bool."""

    U: torch.Tensor
    V: torch.Tensor
    objective: torch.Tensor
    iterations: torch.Tensor
    converged: torch.Tensor


def factorization_objective(Y: torch.Tensor, U: torch.Tensor, V: torch.Tensor, lam: float) -> torch.Tensor:
    r""":math:`\frac12\|Y - UV^\top\|_F^2 + \lambda\sum_i \|u_i\|\,\|v_i\|` for each start of U (S, n, r), V (S, d, r)."""
    Y = _check_matrix(Y, "factorization_objective")
    U, V = _check_factors(Y, U, V, "factorization_objective")
    lam = _check_lambda(lam, "factorization_objective")
    residual = Y - U @ V.transpose(1, 2)
    return 0.5 * (residual**2).sum(dim=(1, 2)) + lam * (U.norm(dim=1) * V.norm(dim=1)).sum(dim=1)


def _prox_step(A: torch.Tensor, B: torch.Tensor, YB: torch.Tensor, lam: float) -> torch.Tensor:
    """One proximal-gradient step on A of 1/2||Y - A B^T||^2 + lam sum ||a_i|| ||b_i|| (B fixed, YB = Y B)."""
    gram = B.transpose(1, 2) @ B
    L = torch.linalg.eigvalsh(gram)[:, -1].clamp_min(torch.finfo(A.dtype).tiny)[:, None, None]  # Lipschitz constant
    Z = A - (A @ gram - YB) / L
    threshold = lam * B.norm(dim=1, keepdim=True) / L  # group soft-thresholding of column i at lam ||b_i|| / L
    norm = Z.norm(dim=1, keepdim=True)
    return Z * (1 - threshold / norm.clamp_min(torch.finfo(A.dtype).tiny)).clamp_min(0)


def _rebalance(U: torch.Tensor, V: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns rescaled to ||u_i|| = ||v_i|| (UV^T and the objective unchanged); a half-zero slice becomes all-zero."""
    nu, nv = U.norm(dim=1, keepdim=True), V.norm(dim=1, keepdim=True)
    target = (nu * nv).sqrt()
    tiny = torch.finfo(U.dtype).tiny
    return U * torch.where(nu > 0, target / nu.clamp_min(tiny), 0), V * torch.where(nv > 0, target / nv.clamp_min(tiny), 0)


def factorize(Y: torch.Tensor, r: int, lam: float, *, starts: int = 1, seed: int = 0,
              init: tuple[torch.Tensor, torch.Tensor] | None = None, max_iter: int = 20000, tol: float = 1e-12,
              check_every: int = 25, rebalance: bool = True) -> Factorization:
    r"""Local descent on :math:`\frac12\|Y - UV^\top\|_F^2 + \lambda\sum_{i=1}^r\|u_i\|\|v_i\|` from ``starts`` random starts.

    The algorithm is PALM (proximal alternating linearized minimization, Bolte, Sabach & Teboulle,
    Math. Program. 2014), the block scheme of Haeffele & Vidal: a proximal-gradient step on U (V
    fixed, step 1 / ||V^T V||_2, the prox of :math:`\lambda\|v_i\|\,\|u_i\|` being a group
    soft-thresholding of column u_i, which can make it exactly zero), then the same on V; with
    ``rebalance``, each sweep ends by rescaling the columns to :math:`\|u_i\| = \|v_i\|`, which changes
    neither :math:`UV^\top` nor the objective but turns a column with one zero factor into an
    all-zero slice. Every step decreases the objective. All starts run batched; a start has
    converged when its objective decreased by at most ``tol`` (relative, per sweep, averaged over
    ``check_every`` sweeps); the loop stops when all have, or after ``max_iter`` sweeps.

    Random starts: U Gaussian, V = Y^T U (half a power step: a Gaussian v in a large pixel space would be
    zeroed by the first thresholding whenever :math:`\|Y\hat v\| < \lambda`), columns rescaled to
    :math:`\|u_i\| = \|v_i\| = \sqrt{\sigma_{\max}(Y)}`.
    ``init`` = (U (S, n, r), V (S, d, r)) starts from given points instead (``starts``, ``seed`` unused).
    Y is used in float64.
    """
    Y = _check_matrix(Y, "factorize").double()
    lam = _check_lambda(lam, "factorize")
    if not isinstance(r, (int, np.integer)) or r < 1:
        raise InvalidParameterError(f"The 'r' parameter of factorize must be an int >= 1 (columns of U and V)."
                                    f" Got {r!r} instead.")
    if not isinstance(starts, (int, np.integer)) or starts < 1:
        raise InvalidParameterError(f"The 'starts' parameter of factorize must be an int >= 1. Got {starts!r} instead.")
    if max_iter < 1 or check_every < 1 or not tol > 0:
        raise InvalidParameterError(f"factorize needs max_iter >= 1, check_every >= 1 and tol > 0; got max_iter="
                                    f"{max_iter}, check_every={check_every}, tol={tol}.")
    n, d = Y.shape
    if init is None:
        g = torch.Generator().manual_seed(int(seed))
        scale = float(torch.linalg.matrix_norm(Y, ord=2)) ** 0.5
        U = torch.randn(starts, n, r, generator=g, dtype=torch.float64).to(Y.device)
        V = Y.T @ U
        U, V = U / U.norm(dim=1, keepdim=True) * scale, V / V.norm(dim=1, keepdim=True).clamp_min(1e-300) * scale
    else:
        U, V = _check_factors(Y, init[0].double(), init[1].double(), "factorize")
        if U.shape[2] != r:
            raise ShapeError(f"The 'init' factors of factorize have {U.shape[2]} columns but r = {r}.")
        U, V = U.clone(), V.clone()
    S = U.shape[0]
    previous = factorization_objective(Y, U, V, lam)
    iterations = torch.full((S,), max_iter, dtype=torch.long)
    converged = torch.zeros(S, dtype=torch.bool)
    last = 0
    for sweep in range(1, max_iter + 1):
        U = _prox_step(U, V, Y @ V, lam)
        V = _prox_step(V, U, Y.T @ U, lam)
        if rebalance:
            U, V = _rebalance(U, V)
        if sweep % check_every == 0 or sweep == max_iter:
            current = factorization_objective(Y, U, V, lam)
            done = ((previous - current) <= tol * (sweep - last) * current.abs()).cpu()
            iterations = torch.where(done & ~converged, sweep, iterations)
            converged |= done
            previous, last = current, sweep
            if bool(converged.all()):
                break
    return Factorization(U=U, V=V, objective=factorization_objective(Y, U, V, lam), iterations=iterations,
                         converged=converged)


# ------------------------------------------------------------------ certificates


def polar_ratio(Y: torch.Tensor, U: torch.Tensor, V: torch.Tensor, lam: float) -> torch.Tensor:
    r""":math:`\sigma_{\max}(Y - UV^\top) / \lambda` per start: the polar (dual) certificate of the factorization.

    The polar of the nuclear norm is the spectral norm; (U, V) is a global minimizer iff this ratio
    is <= 1 and the active columns are stationary (then it equals 1 unless :math:`UV^\top = 0`)
    (Haeffele & Vidal 2015, Corollary 2 with :math:`\Omega = \|\cdot\|_*`).
    """
    Y = _check_matrix(Y, "polar_ratio")
    U, V = _check_factors(Y, U, V, "polar_ratio")
    lam = _check_lambda(lam, "polar_ratio")
    return torch.linalg.matrix_norm(Y - U @ V.transpose(1, 2), ord=2) / lam


def zero_slices(U: torch.Tensor, V: torch.Tensor, *, tol: float = 0.0) -> torch.Tensor:
    """(S, r) bool: column i of start s is an all-zero slice (||u_i|| <= tol and ||v_i|| <= tol)."""
    U = U[None] if U.ndim == 2 else U
    V = V[None] if V.ndim == 2 else V
    return (U.norm(dim=1) <= tol) & (V.norm(dim=1) <= tol)


@dataclasses.dataclass(frozen=True)
class ZeroSliceCheck:
    """Per start: ``has_zero_slice``; ``stationarity`` (largest relative violation of the first-order
    conditions on the active columns); ``polar_ratio``; ``local_min`` (all three conditions hold)."""

    has_zero_slice: torch.Tensor
    stationarity: torch.Tensor
    polar_ratio: torch.Tensor
    local_min: torch.Tensor


def zero_slice_check(Y: torch.Tensor, U: torch.Tensor, V: torch.Tensor, lam: float, *,
                     tol: float = 1e-6, zero_tol: float = 0.0) -> ZeroSliceCheck:
    r"""Whether each end point (U, V) has an all-zero slice and passes the local-minimum conditions there.

    First order, on the active columns (:math:`\|u_i\|\|v_i\| > 0`):
    :math:`R\hat v_i = \lambda\hat u_i` and :math:`R^\top\hat u_i = \lambda\hat v_i` with
    :math:`R = Y - UV^\top`; ``stationarity`` is the largest :math:`\|R\hat v_i - \lambda\hat u_i\| / \lambda`
    (or its transpose). Second order, at the zero slice i: putting :math:`(\varepsilon e, \varepsilon f)`
    there changes the objective by :math:`\varepsilon^2(\lambda - e^\top R f) + O(\varepsilon^3)`, so a
    local minimum needs :math:`\sigma_{\max}(R) \le \lambda`. ``local_min``: a zero slice, stationarity
    <= tol and polar ratio <= 1 + tol. Haeffele & Vidal's theorem says such points are global
    minimizers; compare with :func:`svt` to check it.
    """
    Y = _check_matrix(Y, "zero_slice_check").to(U.dtype)
    U, V = _check_factors(Y, U, V, "zero_slice_check")
    lam = _check_lambda(lam, "zero_slice_check")
    R = Y - U @ V.transpose(1, 2)
    nu, nv = U.norm(dim=1, keepdim=True), V.norm(dim=1, keepdim=True)
    active = ((nu * nv) > 0)[:, 0, :]  # (S, r)
    tiny = torch.finfo(U.dtype).tiny
    Uh, Vh = U / nu.clamp_min(tiny), V / nv.clamp_min(tiny)
    violation = torch.maximum((R @ Vh - lam * Uh).norm(dim=1), (R.transpose(1, 2) @ Uh - lam * Vh).norm(dim=1)) / lam
    stationarity = torch.where(active, violation, 0).amax(dim=1)
    ratio = torch.linalg.matrix_norm(R, ord=2) / lam
    has_zero = zero_slices(U, V, tol=zero_tol).any(dim=1)
    return ZeroSliceCheck(has_zero_slice=has_zero, stationarity=stationarity, polar_ratio=ratio,
                          local_min=has_zero & (stationarity <= tol) & (ratio <= 1 + tol))


def escape_zero_slice(Y: torch.Tensor, U: torch.Tensor, V: torch.Tensor, lam: float, *,
                      zero_tol: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The descent step of Haeffele & Vidal's meta-algorithm at points with a zero slice and :math:`\sigma_1(R) > \lambda`.

    With :math:`(e, \sigma_1, f)` the top singular triple of :math:`R = Y - UV^\top`, the first zero
    slice becomes :math:`(\sqrt{t}e, \sqrt{t}f)`, :math:`t = \sigma_1 - \lambda`, which lowers the
    objective by exactly :math:`t^2 / 2`. Returns (U', V', moved (S,) bool); other starts are unchanged.
    """
    Y = _check_matrix(Y, "escape_zero_slice").to(U.dtype)
    U, V = _check_factors(Y, U, V, "escape_zero_slice")
    lam = _check_lambda(lam, "escape_zero_slice")
    P, s, Qh = torch.linalg.svd(Y - U @ V.transpose(1, 2), full_matrices=False)
    zero = zero_slices(U, V, tol=zero_tol)
    moved = zero.any(dim=1) & (s[:, 0] > lam)
    U, V = U.clone(), V.clone()
    for k in torch.nonzero(moved).flatten().tolist():
        i = int(torch.nonzero(zero[k])[0])
        t = float(s[k, 0] - lam) ** 0.5
        U[k, :, i], V[k, :, i] = t * P[k, :, 0], t * Qh[k, 0, :]
    return U, V, moved


# ----------------------------------------------------------------- two-layer ReLU network


class TwoLayerReLU(nn.Module):
    r""":math:`f(x) = A\,\mathrm{relu}(W x + b)` on flattened inputs, no output bias: degree-2 positively
    homogeneous in the slices :math:`(w_j, b_j, a_j)`, so weight decay :math:`\frac\lambda2\|\theta\|^2`
    gives the Haeffele & Vidal problem with :math:`\theta_j = \|(w_j, b_j)\|\,\|a_j\|` at balance."""

    def __init__(self, in_features: int, width: int, out_features: int):
        super().__init__()
        for name, value in (("in_features", in_features), ("width", width), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise InvalidParameterError(f"The '{name}' parameter of TwoLayerReLU must be an int >= 1."
                                            f" Got {value!r} instead.")
        self.hidden = nn.Linear(in_features, width)
        self.output = nn.Linear(width, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(torch.relu(self.hidden(x.flatten(1))))

    def neurons(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(W~ (width, d + 1) = [W, b], A (out, width)): the slices."""
        return torch.cat([self.hidden.weight, self.hidden.bias[:, None]], dim=1), self.output.weight

    def theta(self) -> torch.Tensor:
        r""":math:`\Theta = \sum_j \|(w_j, b_j)\|\,\|a_j\|` (the balanced value of the weight decay / lambda)."""
        W, A = self.neurons()
        return (W.norm(dim=1) * A.norm(dim=0)).sum()


def _squared_loss(out: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """1/(2n) ||out - Y||_F^2."""
    return 0.5 * ((out - Y) ** 2).sum() / len(Y)


def fit_two_layer_relu(model: TwoLayerReLU, X: torch.Tensor, Y: torch.Tensor, lam: float, *, max_iter: int = 2000,
                       tol: float = 1e-10) -> dict:
    r"""Full-batch L-BFGS on :math:`\frac1{2n}\|Y - f(X)\|_F^2 + \frac\lambda2\|\theta\|^2`.

    Strong Wolfe line search; restarted with a fresh curvature history when it stalls (at ReLU kinks).

    Stops after ``max_iter`` iterations or when the gradient's largest entry is <= ``tol``. Runs in
    the model's dtype (use float64 for certificates). Returns the final 'loss', 'objective' (with the
    balanced penalty :math:`\lambda\Theta`), 'gradient_norm' and 'iterations'.
    """
    lam = _check_lambda(lam, "fit_two_layer_relu")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise InvalidParameterError("The 'model' parameter of fit_two_layer_relu has no trainable parameters.")
    if len(X) != len(Y) or Y.ndim != 2:
        raise ShapeError(f"fit_two_layer_relu needs X (n, ...) and Y (n, C) with the same n; got {tuple(X.shape)}"
                         f" and {tuple(Y.shape)}.")
    if max_iter < 1:
        raise InvalidParameterError(f"The 'max_iter' parameter of fit_two_layer_relu must be >= 1. Got {max_iter}.")
    def closure():
        optimizer.zero_grad()
        value = _squared_loss(model(X), Y) + 0.5 * lam * sum((p**2).sum() for p in params)
        value.backward()
        return value

    iterations, previous = 0, float("inf")
    while iterations < max_iter:  # restarted (fresh curvature history) when the line search stalls at a kink
        optimizer = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter - iterations, tolerance_grad=tol,
                                      tolerance_change=1e-16, history_size=30, line_search_fn="strong_wolfe")
        optimizer.step(closure)
        iterations += max(int(optimizer.state[optimizer._params[0]].get("n_iter", 0)), 1)
        current = float(closure().detach())
        gradient = max(float(p.grad.abs().max()) for p in params)
        if gradient <= tol or current >= previous * (1 - 1e-15):
            break
        previous = current
    with torch.no_grad():
        loss = float(_squared_loss(model(X), Y))
        return {"loss": loss, "objective": loss + lam * float(model.theta()), "gradient_norm": gradient,
                "iterations": iterations}


def negative_output_gradient(model: nn.Module, X: torch.Tensor, target: torch.Tensor,
                             loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    r""":math:`G = -\nabla_\Phi \ell(\Phi, \text{target})` at :math:`\Phi = f(X)` (n, C): for the mean squared
    loss :math:`\frac1{2n}\|Y - \Phi\|^2` it is the residual / n; for the mean cross-entropy,
    (onehot - softmax) / n."""
    with torch.no_grad():
        out = model(X)
    out = out.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(out, target), out)
    return -grad


def relu_polar(X: torch.Tensor, G: torch.Tensor, *, starts: int = 64, steps: int = 300, lr: float = 0.05,
               seed: int = 0, init: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    r""":math:`\max_{\|w\| = 1} \|G^\top \mathrm{relu}(X w)\|_2` searched by gradient ascent (Adam with a
    cosine-annealed step on :math:`z`, :math:`w = z / \|z\|`) from ``starts`` random Gaussian directions, the normalized rows of
    X and the rows of ``init`` (e.g. the network's own neurons), all batched.

    This is the polar :math:`\Omega^\circ(G)` of a two-layer ReLU network (append a column of ones to
    X for a bias). The search returns a lower bound of the maximum (a local maximum). Returns
    (value, maximizer w).
    """
    if X.ndim != 2 or G.ndim != 2 or len(X) != len(G):
        raise ShapeError(f"relu_polar needs X (n, p) and G (n, C) with the same n; got {tuple(X.shape)} and"
                         f" {tuple(G.shape)}.")
    if starts < 1 or steps < 0 or not lr > 0:
        raise InvalidParameterError(f"relu_polar needs starts >= 1, steps >= 0 and lr > 0; got starts={starts},"
                                    f" steps={steps}, lr={lr}.")
    g = torch.Generator().manual_seed(int(seed))
    candidates = [torch.randn(starts, X.shape[1], generator=g, dtype=X.dtype).to(X.device)]
    rows = X[torch.randperm(len(X), generator=g)[:starts].to(X.device)]
    candidates.append(rows)
    if init is not None:
        if init.ndim != 2 or init.shape[1] != X.shape[1]:
            raise ShapeError(f"The 'init' directions of relu_polar must be (k, {X.shape[1]}); got {tuple(init.shape)}.")
        candidates.append(init.to(X))
    Z = torch.cat(candidates)
    Z = Z[Z.norm(dim=1) > 0].detach().clone().requires_grad_(True)

    def value(Z: torch.Tensor) -> torch.Tensor:
        return ((G.T @ torch.relu(X @ (Z / Z.norm(dim=1, keepdim=True)).T)) ** 2).sum(dim=0)  # (starts,)

    optimizer = torch.optim.Adam([Z], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    for _ in range(steps):
        optimizer.zero_grad()
        (-value(Z).sum()).backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        values = value(Z)
        best = int(values.argmax())
        return float(values[best].sqrt()), (Z[best] / Z[best].norm()).detach()


def relu_certificate(model: TwoLayerReLU, X: torch.Tensor, target: torch.Tensor, lam: float, *,
                     loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None, starts: int = 64,
                     steps: int = 300, seed: int = 0) -> dict:
    r"""The polar certificate of a two-layer ReLU network with weight decay ``lam`` at (X, target).

    With :math:`G = -\nabla_\Phi\ell` (:func:`negative_output_gradient`, default loss
    :math:`\frac1{2n}\|Y - \Phi\|^2`) and :math:`\tilde X = [X, 1]`: 'ratio' =
    :math:`\max_{\|(w,b)\|=1}\|G^\top\mathrm{relu}(\tilde X (w, b))\| / \lambda` (:func:`relu_polar`,
    started also from the network's neurons), >= 1 at a stationary point with an active neuron and
    <= 1 at a global minimum (Haeffele & Vidal 2017); 'active_ratio', the same at the network's own
    neurons (about 1 at stationarity); 'gap_bound', an upper bound of the relative suboptimality of the
    objective :math:`\ell + \lambda\Theta` against any width, by convexity of :math:`\ell \ge 0`:
    :math:`(\lambda\Theta - \langle G, \Phi\rangle + (\Omega^\circ(G) - \lambda)_+\,\ell(0)/\lambda) /
    (\ell + \lambda\Theta)` (with the searched :math:`\Omega^\circ`, a lower estimate).
    """
    lam = _check_lambda(lam, "relu_certificate")
    loss = loss or _squared_loss
    X = X.flatten(1)
    G = negative_output_gradient(model, X, target, loss)
    Xt = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype, device=X.device)], dim=1)
    with torch.no_grad():
        W, A = model.neurons()
        W, A = W.detach().to(X.dtype), A.detach().to(X.dtype)
        out = model(X)
        alive = (W.norm(dim=1) * A.norm(dim=0)) > 0
        own = (G.T @ torch.relu(Xt @ (W[alive] / W[alive].norm(dim=1, keepdim=True)).T)).norm(dim=0)
        active_ratio = float(own.max() / lam) if alive.any() else 0.0
    polar, _ = relu_polar(Xt, G, starts=starts, steps=steps, seed=seed, init=W[alive] if alive.any() else None)
    with torch.no_grad():
        data_loss = float(loss(out, target))
        zero_loss = float(loss(torch.zeros_like(out), target))
        theta = float(model.theta())
        objective = data_loss + lam * theta
        bound = lam * theta - float((G * out).sum()) + max(polar - lam, 0.0) * zero_loss / lam
    return {"ratio": polar / lam, "active_ratio": active_ratio, "gap_bound": max(bound, 0.0) / objective,
            "objective": objective, "loss": data_loss, "active_neurons": int(alive.sum())}


# ------------------------------------------------------------------------ spreads


def spread(values, *, min_runs: int = 2) -> dict[str, float]:
    """Mean, standard deviation (ddof = 1), min, max and range of the final losses of repeated runs."""
    v = np.asarray(values, dtype=float).ravel()
    if min_runs < 2 or len(v) < min_runs:
        raise InvalidParameterError(f"A spread needs at least {max(min_runs, 2)} runs (seeds); got {len(v)}."
                                    " Train more seeds per width.")
    if not np.isfinite(v).all():
        raise InvalidParameterError(f"The losses of a spread must be finite; got {v.tolist()}.")
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "min": float(v.min()), "max": float(v.max()),
            "range": float(v.max() - v.min()), "runs": float(len(v))}
