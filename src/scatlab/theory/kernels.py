r"""Infinite-width kernels of ReLU networks in closed form, and regression with a kernel.

Conventions (the NTK parameterization of Jacot, Gabriel & Hongler, "Neural tangent kernel:
convergence and generalization in neural networks", NeurIPS 2018). A ReLU MLP with ``depth``
hidden layers on inputs :math:`x \in \mathbb{R}^d`, weights and biases i.i.d. standard normal:

.. math:: h^1 = \frac{\sigma_w}{\sqrt d} W^1 x + \sigma_b b^1,\qquad
          h^{l+1} = \frac{\sigma_w}{\sqrt{n_l}} W^{l+1} \mathrm{relu}(h^l) + \sigma_b b^{l+1},\qquad
          f = h^{\text{depth}+1}.

As the widths :math:`n_l \to \infty`, every output of f at initialization is a Gaussian process
of covariance :math:`\Sigma^{\text{depth}+1}` (the NNGP kernel; Neal 1996, Lee et al. ICLR 2018)
and the tangent kernel :math:`\Theta(x, x') = \langle \nabla_w f(x), \nabla_w f(x')\rangle` is
deterministic, equal to :math:`\Theta^{\text{depth}+1}` (Jacot et al. 2018), by the recursions

.. math:: \Sigma^1 = \sigma_w^2 \frac{\langle x, x'\rangle}{d} + \sigma_b^2,\quad
          \Sigma^{l+1} = \sigma_w^2\, \mathbb{E}[\mathrm{relu}(u)\mathrm{relu}(v)] + \sigma_b^2,\quad
          \dot\Sigma^{l+1} = \sigma_w^2\, \mathbb{E}[\mathrm{relu}'(u)\mathrm{relu}'(v)],\quad
          \Theta^1 = \Sigma^1,\ \Theta^{l+1} = \Theta^l \dot\Sigma^{l+1} + \Sigma^{l+1},

with :math:`(u, v)` centred Gaussian of covariance :math:`\Sigma^l` on :math:`\{x, x'\}`. For
ReLU the expectations are the arc-cosine kernels of degree 1 and 0 (Cho & Saul, NeurIPS 2009):
with :math:`\cos\theta = \Sigma^l(x, x') / \sqrt{\Sigma^l(x, x)\Sigma^l(x', x')}`,

.. math:: \mathbb{E}[\mathrm{relu}(u)\mathrm{relu}(v)] = \frac{\sqrt{\Sigma^l(x,x)\Sigma^l(x',x')}}{2\pi}
          (\sin\theta + (\pi - \theta)\cos\theta),\qquad
          \mathbb{E}[\mathrm{relu}'(u)\mathrm{relu}'(v)] = \frac{\pi - \theta}{2\pi}

(Arora et al., "On exact computation with an infinitely wide neural net", NeurIPS 2019). The
default :math:`\sigma_w^2 = 2`, :math:`\sigma_b = 0` keeps :math:`\Sigma^l(x, x) = 2\|x\|^2/d` at
every layer (and :math:`\Theta^{L+1}(x, x) = 2(L+1)\|x\|^2/d`). :class:`scatlab.theory.lazy.NTKMLP`
is the finite network of these conventions.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..errors import InvalidParameterError, ShapeError

__all__ = ["relu_kernels", "kernel_ridge", "kernel_gradient_descent"]


def _flat(x: torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim < 2 or x.shape[0] < 1:
        raise ShapeError(f"'{name}' must be a batch (n, ...) of n >= 1 inputs; got shape {tuple(x.shape)}.")
    return x.reshape(x.shape[0], -1).double()


def relu_kernels(x1: torch.Tensor, x2: torch.Tensor | None = None, *, depth: int, sigma_w: float = math.sqrt(2.0),
                 sigma_b: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The NNGP kernel :math:`\Sigma^{\text{depth}+1}` and the NTK :math:`\Theta^{\text{depth}+1}` of a ReLU MLP.

    Parameters
    ----------
    x1, x2 : Tensor (n1, ...), (n2, ...)
        Inputs, flattened from dimension 1 (d features); ``x2`` defaults to ``x1``.
    depth : int
        Number of hidden layers (>= 0; 0 is the linear model :math:`\sigma_w W x/\sqrt d + \sigma_b b`).
    sigma_w, sigma_b : float
        Weight and bias scales of the NTK parameterization (module docstring).

    Returns
    -------
    (nngp, ntk) : float64 Tensors (n1, n2), the kernels of one output (the K outputs of a network
    are independent: the full kernels are these times the K x K identity).
    """
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise InvalidParameterError(f"The 'depth' parameter of relu_kernels must be an int >= 0 (hidden layers)."
                                    f" Got {depth!r} instead.")
    if not (sigma_w > 0 and math.isfinite(sigma_w)) or not (sigma_b >= 0 and math.isfinite(sigma_b)):
        raise InvalidParameterError(f"relu_kernels needs sigma_w > 0 and sigma_b >= 0, finite; got sigma_w={sigma_w!r},"
                                    f" sigma_b={sigma_b!r}.")
    a = _flat(x1, "x1")
    b = a if x2 is None else _flat(x2, "x2")
    if a.shape[1] != b.shape[1]:
        raise ShapeError(f"'x1' and 'x2' must have the same number of features; got {a.shape[1]} and {b.shape[1]}.")
    d = a.shape[1]
    sw2, sb2 = sigma_w**2, sigma_b**2
    sigma = sw2 * (a @ b.T) / d + sb2
    q1 = sw2 * (a * a).sum(1) / d + sb2  # Sigma^l(x, x) on x1, then on x2
    q2 = sw2 * (b * b).sum(1) / d + sb2
    ntk = sigma.clone()
    tiny = torch.finfo(torch.float64).tiny
    for _ in range(depth):
        norms = torch.sqrt(torch.clamp(q1[:, None] * q2[None, :], min=tiny))
        cos = torch.clamp(sigma / norms, -1.0, 1.0)
        theta = torch.arccos(cos)
        derivative = sw2 * (math.pi - theta) / (2 * math.pi)
        sigma = sw2 * norms * (torch.sin(theta) + (math.pi - theta) * cos) / (2 * math.pi) + sb2
        ntk = ntk * derivative + sigma
        q1, q2 = sw2 * q1 / 2 + sb2, sw2 * q2 / 2 + sb2
    return sigma, ntk


def _check_kernels(k_train: torch.Tensor, y_train: torch.Tensor, k_test: torch.Tensor) -> tuple:
    k_train, k_test = torch.as_tensor(k_train).double(), torch.as_tensor(k_test).double()
    y = torch.as_tensor(y_train).double()
    n = k_train.shape[0] if k_train.ndim == 2 else -1
    if k_train.ndim != 2 or k_train.shape != (n, n) or n < 1:
        raise ShapeError(f"'k_train' must be a square (n, n) kernel matrix; got shape {tuple(k_train.shape)}.")
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ShapeError(f"'y_train' must be (n,) or (n, K) with n = {n}; got shape {tuple(y.shape)}.")
    if k_test.ndim != 2 or k_test.shape[1] != n:
        raise ShapeError(f"'k_test' must be (m, n) with n = {n} training points; got shape {tuple(k_test.shape)}.")
    return k_train, y, k_test


def kernel_ridge(k_train: torch.Tensor, y_train: torch.Tensor, k_test: torch.Tensor, ridge: float) -> torch.Tensor:
    r"""Kernel ridge regression :math:`K(X_*, X)\,(K(X, X) + \lambda\,\bar k\, I)^{-1} Y`.

    :math:`\bar k = \mathrm{tr} K(X, X) / n` makes ``ridge`` (:math:`\lambda \ge 0`) relative to the
    kernel's scale; :math:`\lambda = 0` is the minimum-norm interpolant (least squares). Returns the
    float64 predictions (m,) or (m, K) at the test points.
    """
    k_train, y, k_test = _check_kernels(k_train, y_train, k_test)
    if not (ridge >= 0 and math.isfinite(ridge)):
        raise InvalidParameterError(f"The 'ridge' parameter of kernel_ridge must be a finite number >= 0. Got {ridge!r}"
                                    " instead.")
    n = k_train.shape[0]
    if ridge > 0:
        scale = float(torch.diagonal(k_train).mean())
        factor = torch.linalg.cholesky(k_train + ridge * scale * torch.eye(n, dtype=k_train.dtype))
        coefficients = torch.cholesky_solve(y.reshape(n, -1), factor)
    else:
        coefficients = torch.linalg.lstsq(k_train, y.reshape(n, -1), driver="gelsd").solution
    return (k_test @ coefficients).reshape((k_test.shape[0],) + y.shape[1:])


def kernel_gradient_descent(k_train: torch.Tensor, y_train: torch.Tensor, k_test: torch.Tensor, *, lr: float,
                            steps: int | Sequence[int]) -> torch.Tensor:
    r"""Predictions at the test points after ``steps`` of full-batch gradient descent on a kernel model.

    The model :math:`f_t = K(\cdot, X)\alpha_t` (a linearized network with tangent kernel K,
    centred so that :math:`f_0 = 0`) trained on :math:`\frac{1}{2n}\|f(X) - Y\|^2` with step ``lr``
    follows :math:`f_{t+1}(X) = f_t(X) - \frac{\eta}{n} K (f_t(X) - Y)`, hence (Lee et al.,
    "Wide neural networks of any depth evolve as linear models under gradient descent", NeurIPS 2019)

    .. math:: f_T(X_*) = K(X_*, X)\, K^{-1}\big(I - (I - \tfrac{\eta}{n} K)^T\big) Y,

    computed from the eigendecomposition of K (exact also where K is singular). ``steps`` may be a
    sequence: the result then has a leading axis, one prediction per number of steps. With
    ``k_test = k_train`` it is the training-set trajectory.
    """
    k_train, y, k_test = _check_kernels(k_train, y_train, k_test)
    many = not isinstance(steps, (int, np.integer))
    grid = [int(s) for s in (steps if many else [steps])]
    if not grid or min(grid) < 0 or not (lr > 0 and math.isfinite(lr)):
        raise InvalidParameterError(f"kernel_gradient_descent needs lr > 0 and steps >= 0; got lr={lr!r},"
                                    f" steps={steps!r}.")
    n = k_train.shape[0]
    eigenvalues, vectors = torch.linalg.eigh((k_train + k_train.T) / 2)
    eigenvalues = torch.clamp(eigenvalues, min=0.0)
    rate = lr * eigenvalues / n
    projected = vectors.T @ y.reshape(n, -1)
    left = k_test @ vectors
    if float(rate.max()) >= 2.0:
        raise InvalidParameterError(f"The 'lr' {lr!r} of kernel_gradient_descent diverges: lr * lambda_max / n ="
                                    f" {float(rate.max()):.3g} >= 2; use lr < {2 * n / float(eigenvalues.max()):.4g}.")
    small = rate < 0.5
    log_factor = torch.log1p(-torch.where(small, rate, torch.zeros_like(rate)))
    positive = eigenvalues > 1e-12 * max(float(eigenvalues.max()), 1e-300)
    out = []
    for t in grid:
        # 1 - (1 - rate)^t, accurate for small rates; gain = that / lambda, continuous at lambda = 0 (t lr / n)
        decay = torch.where(small, -torch.expm1(t * log_factor), 1 - (1 - rate) ** t)
        gain = torch.where(positive, decay / torch.clamp(eigenvalues, min=1e-300), torch.full_like(rate, t * lr / n))
        out.append((left @ (gain[:, None] * projected)).reshape((k_test.shape[0],) + y.shape[1:]))
    return torch.stack(out) if many else out[0]
