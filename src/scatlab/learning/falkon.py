r"""Kernel ridge regression on many points in memory linear in n: Nyström centres solved by
preconditioned conjugate gradient (FALKON; Rudi, Carratino & Rosasco, "FALKON: An optimal large
scale kernel method", NeurIPS 2017).

With M centres :math:`c_1..c_M` drawn from the n training points, the estimator
:math:`f(x) = \sum_j \alpha_j k(x, c_j)` minimizes
:math:`\frac1n\|y - K_{nM}\alpha\|^2 + \lambda\,\alpha^\top K_{MM}\alpha`, i.e. solves

.. math:: (K_{nM}^\top K_{nM} + \lambda n K_{MM})\,\alpha = K_{nM}^\top y .

FALKON solves it by conjugate gradient on :math:`B^\top H B\beta = B^\top K_{nM}^\top y / n` with the
preconditioner :math:`B = T^{-1}A^{-1}`, :math:`K_{MM} = T^\top T`,
:math:`TT^\top/M + \lambda I = A^\top A` (Cholesky factors), which makes the system well conditioned
so that a few tens of iterations suffice. Memory: the n x M cross kernel, kept in float32 (4 n M
bytes: 110,831 x 10,000 is 4.4 GB) or recomputed block by block at every iteration
(``store=False``: n x ``block`` at a time); the M x M factors T and A in float64 (16 M^2 bytes, 24 M^2
while A is factored: 2.4 GB at M = 10,000). Time per CG iteration: two passes over the cross kernel
and six triangular solves with M x M factors; per penalty, one M^3 product and one Cholesky factor
(:func:`fit_falkon_path` shares the cross kernel and T between penalties).

Limit, measured on QM9 (scattering + log features, residual of the ridge, 10,000 training and 2,288
validation molecules, length scale 8): the exact kernel reaches 2.79 kcal/mol validation MAE at
penalty 1e-9, with the penalty some 1e-13 of K's largest eigenvalue; there FALKON stalls (relative CG
residual 1e-2 after 200 iterations even with every point a centre, 3.70 kcal/mol), and Nyström ridge
solved exactly by SVD, with 2,000-10,000 centres, reaches 3.09-3.19 only: the directions that the
exact solve uses lie below the double precision floor of K_MM. Smooth kernels with tiny penalties
need exact solves (or their block average, :mod:`scatlab.learning.regression`); FALKON suits
penalties well above 1e-12 of the kernel's scale.

``penalty`` follows the exact kernel ridge convention :math:`(K + p I)c = y`: with every training
point as a centre (M = n) the two estimators coincide, and :math:`\lambda = p / n`.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch

from ..errors import InvalidParameterError

__all__ = ["NystromRegressor", "fit_falkon", "fit_falkon_path", "gaussian_kernel"]


def gaussian_kernel(a: torch.Tensor, b: torch.Tensor, lengthscale: float) -> torch.Tensor:
    r""":math:`\exp(-\|a_i - b_k\|^2 / (\ell^2 d))` for the d columns (a length scale relative to
    :math:`\sqrt d`, so that one value suits standardized features of any number)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None]
    d2.addmm_(a, b.T, alpha=-2).clamp_min_(0)
    return d2.mul_(-1.0 / (lengthscale**2 * a.shape[1])).exp_()


@dataclasses.dataclass
class NystromRegressor:
    """The fitted estimator :math:`f(x) = K(x, \\text{centres})\\,\\alpha`, with its CG history."""

    centres: torch.Tensor
    alpha: torch.Tensor
    lengthscale: float
    residuals: list[float]

    def predict(self, x, block: int = 4096) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=self.centres.dtype)
        return torch.cat([gaussian_kernel(x[s:s + block], self.centres, self.lengthscale) @ self.alpha
                          for s in range(0, len(x), block)])


def fit_falkon(x, y, *, centres: int, lengthscale: float, penalty: float, iterations: int = 100,
               tol: float = 1e-7, store: bool = True, block: int = 4096, seed: int = 0,
               progress: Callable = lambda it, **_: it) -> NystromRegressor:
    """Fit Gaussian kernel ridge regression (``penalty`` as in :math:`(K + pI)c = y`) on ``x`` (n, d),
    ``y`` (n,) with ``centres`` Nyström centres drawn uniformly without replacement (``seed``).

    Conjugate gradient stops after ``iterations`` or when the preconditioned residual falls below
    ``tol`` relative to its start (``residuals`` of the result: reached or not); a breakdown
    (non-finite or non-positive curvature) raises ``torch.linalg.LinAlgError``. ``store`` keeps the
    n x M cross kernel in float32 between iterations (products in float64); ``False`` recomputes it
    in blocks (slower, memory n x ``block``).
    """
    model, = fit_falkon_path(x, y, centres=centres, lengthscale=lengthscale, penalties=[penalty],
                             iterations=iterations, tol=tol, store=store, block=block, seed=seed,
                             progress=progress, raise_on_breakdown=True)
    return model


def fit_falkon_path(x, y, *, centres: int, lengthscale: float, penalties, iterations: int = 100,
                    tol: float = 1e-7, store: bool = True, block: int = 4096, seed: int = 0,
                    progress: Callable = lambda it, **_: it,
                    raise_on_breakdown: bool = False) -> list[NystromRegressor | None]:
    """:func:`fit_falkon` for several penalties at once: the centres, the cross kernel and the
    factor T of :math:`K_{MM}` are computed once and shared; one CG solve per penalty. A penalty whose
    solve breaks down gives None (or raises with ``raise_on_breakdown``)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64).reshape(-1)
    n = len(x)
    if x.ndim != 2 or len(y) != n or n == 0:
        raise InvalidParameterError(f"fit_falkon needs x of shape (n, d) and y of shape (n,); got {tuple(x.shape)}"
                                    f" and {tuple(y.shape)}.")
    if isinstance(centres, bool) or not isinstance(centres, int) or not 1 <= centres <= n:
        raise InvalidParameterError(f"fit_falkon: 'centres' must be an integer in [1, n = {n}]; got {centres!r}.")
    penalties = list(penalties)
    for name, value in [("lengthscale", lengthscale), ("tol", tol)] + [("penalty", p) for p in penalties]:
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise InvalidParameterError(f"fit_falkon: '{name}' must be a positive number; got {value!r}.")
    if not penalties:
        raise InvalidParameterError("fit_falkon_path: 'penalties' is empty; give at least one positive penalty.")
    generator = torch.Generator().manual_seed(seed)
    c = x[torch.randperm(n, generator=generator)[:centres]] if centres < n else x
    kmm = gaussian_kernel(c, c, lengthscale)
    kmm.diagonal().add_(1e-12 * centres)  # jitter: K_MM of nearby centres is numerically singular
    T = torch.linalg.cholesky(kmm, upper=True)
    del kmm
    cross = _CrossKernel(x, c, lengthscale, block, store)
    knm_t_y = cross.transpose_times(y)
    models = []
    for penalty in penalties:
        try:
            alpha, residuals = _solve(cross, T, knm_t_y, penalty / n, iterations, tol, progress)
        except torch.linalg.LinAlgError:
            if raise_on_breakdown:
                raise
            models.append(None)
            continue
        models.append(NystromRegressor(c, alpha, float(lengthscale), residuals))
    return models


class _CrossKernel:
    """:math:`K_{nM}` by row blocks, stored in float32 or recomputed in float64 at each use."""

    def __init__(self, x: torch.Tensor, c: torch.Tensor, lengthscale: float, block: int, store: bool):
        self.x, self.c, self.lengthscale, self.block = x, c, lengthscale, block
        self.stored = [self._compute(s).float() for s in range(0, len(x), block)] if store else None

    def _compute(self, start: int) -> torch.Tensor:
        return gaussian_kernel(self.x[start:start + self.block], self.c, self.lengthscale)

    def blocks(self):
        """(start, float64 block): a stored block is widened into one reused buffer (products in
        float32 would make CG stall at a 1e-6 residual with predictions 20 % off)."""
        starts = range(0, len(self.x), self.block)
        if self.stored is None:
            yield from ((s, self._compute(s)) for s in starts)
            return
        buffer = torch.empty(self.stored[0].shape, dtype=torch.float64)
        for s, k in zip(starts, self.stored):
            yield s, buffer[:len(k)].copy_(k)

    def transpose_times(self, y: torch.Tensor) -> torch.Tensor:
        """:math:`K_{nM}^\\top y`."""
        out = torch.zeros(len(self.c), dtype=torch.float64)
        for s, k in self.blocks():
            out += k.T @ y[s:s + len(k)]
        return out

    def gram_times(self, u: torch.Tensor) -> torch.Tensor:
        """:math:`K_{nM}^\\top K_{nM} u`."""
        out = torch.zeros_like(u)
        for _, k in self.blocks():
            out += k.T @ (k @ u)
        return out


def _solve(cross: _CrossKernel, T: torch.Tensor, knm_t_y: torch.Tensor, lam: float, iterations: int, tol: float,
           progress: Callable) -> tuple[torch.Tensor, list[float]]:
    """(alpha, relative residuals) of :math:`(K_{nM}^\\top K_{nM} / n + \\lambda K_{MM})\\alpha = K_{nM}^\\top y / n`
    by CG on :math:`B^\\top H B \\beta = B^\\top K_{nM}^\\top y / n`, :math:`\\alpha = B\\beta`."""
    m, n = len(T), len(cross.x)
    W = T @ T.T
    W.div_(m).diagonal().add_(lam)
    A = torch.linalg.cholesky(W, upper=True)
    del W

    def precondition(v: torch.Tensor) -> torch.Tensor:  # B v = T^-1 A^-1 v
        return torch.linalg.solve_triangular(T, torch.linalg.solve_triangular(A, v[:, None], upper=True),
                                             upper=True)[:, 0]

    def precondition_t(v: torch.Tensor) -> torch.Tensor:  # B^T v = A^-T T^-T v
        w = torch.linalg.solve_triangular(T.T, v[:, None], upper=False)
        return torch.linalg.solve_triangular(A.T, w, upper=False)[:, 0]

    def operator(beta: torch.Tensor) -> torch.Tensor:
        u = precondition(beta)
        return precondition_t(cross.gram_times(u) / n) + lam * torch.linalg.solve_triangular(
            A.T, torch.linalg.solve_triangular(A, beta[:, None], upper=True), upper=False)[:, 0]

    rhs = precondition_t(knm_t_y / n)
    beta = torch.zeros_like(rhs)
    r, residuals = rhs.clone(), []
    p, rs = r.clone(), float(r @ r)
    start = math.sqrt(rs)
    for _ in progress(range(iterations), desc="FALKON conjugate gradient", total=iterations):
        residuals.append(math.sqrt(rs) / start if start > 0 else 0.0)
        if residuals[-1] <= tol:
            break
        q = operator(p)
        curvature = float(p @ q)
        if not math.isfinite(curvature) or curvature <= 0:  # the operator is positive definite in exact arithmetic
            raise torch.linalg.LinAlgError(f"FALKON: conjugate gradient broke down (p^T H p = {curvature:g});"
                                           " use a larger penalty or fewer centres.")
        step = rs / curvature
        beta += step * p
        r -= step * q
        rs_new = float(r @ r)
        p = r + (rs_new / rs) * p
        rs = rs_new
    return precondition(beta), residuals
