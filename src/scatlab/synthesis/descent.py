r"""Gradient descent on signals to match target features: the engine of synthesis and inversion.

Each sample :math:`x_b` of a batch descends its own relative error

.. math:: e_b = \|\Phi(x_b) - t_b\| / \|t_b\|

by minimizing :math:`\sum_b (e_b / \max(\mathrm{tol}, 10^{-6}))^2` (the samples do not interact;
the constant factor keeps L-BFGS's curvature test :math:`y^\top s > 10^{-10}` meaningful near the
solution) with L-BFGS (``torch.optim.LBFGS``, strong Wolfe line search) or Adam. The budget
``steps`` counts evaluations of :math:`\Phi` with its gradient, the unit of cost (an L-BFGS
iteration takes one or a few). The descent stops at the first evaluated point where every
:math:`e_b \le` ``tol``, when the budget is spent, or when L-BFGS finds no descent direction.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

from .._validation import check_choice, check_int
from ..errors import InvalidParameterError

__all__ = ["METHODS", "Descent", "descend", "check_descent"]

METHODS = ("lbfgs", "adam")
ADAM_LR = 0.3  # Adam's default step, relative to the standard deviation of the starting point


@dataclasses.dataclass(frozen=True)
class Descent:
    """Outcome of :func:`descend`.

    ``x``: the final signals (B, ...); ``history``: (n, B) relative errors, one row per evaluation
    from ``x0`` on (L-BFGS line-search trials included, so it may rise briefly), the last row at
    ``x``; ``evaluations``: evaluations with gradient; ``converged``: every final error <= tol.
    """

    x: torch.Tensor
    history: np.ndarray
    evaluations: int
    converged: bool
    seconds: float

    @property
    def errors(self) -> np.ndarray:
        """The final relative error of each sample."""
        return self.history[-1]


def check_descent(owner: str, method: str, steps: int, tol: float, lr: float | None) -> None:
    """Validate the descent parameters shared by synthesis and inversion."""
    check_choice(owner, "method", method, METHODS)
    check_int(owner, "steps", steps, 1, 10**7)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise InvalidParameterError(f"The 'tol' parameter of {owner} must be a number in [0, 1). Got {tol!r} instead.")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0):
        raise InvalidParameterError(f"The 'lr' parameter of {owner} must be a positive number. Got {lr!r} instead.")


class _Reached(Exception):
    """Raised from inside the L-BFGS closure at the first point where every error is <= tol."""


def descend(features: Callable[[torch.Tensor], torch.Tensor], target: torch.Tensor, x0: torch.Tensor, *,
            method: str = "lbfgs", steps: int = 500, tol: float = 1e-3, lr: float | None = None,
            progress: bool = True, desc: str = "descent") -> Descent:
    """Minimize the relative errors of ``features(x)`` (B, K) to ``target`` (K,) or (B, K) from ``x0``.

    ``lr`` is the L-BFGS step (default 1) or the Adam step (default ``ADAM_LR`` times the standard
    deviation of ``x0``). ``progress`` shows a tqdm bar with the largest error of the batch.
    """
    start = time.perf_counter()
    x = x0.detach().clone().requires_grad_(True)
    norm, scale = target.norm(dim=-1), max(tol, 1e-6)
    history: list[np.ndarray] = []
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)

    def loss() -> torch.Tensor:
        """Errors and gradient at the current x, recorded; raises _Reached once every error <= tol."""
        e = (features(x) - target).norm(dim=-1) / norm
        objective = ((e / scale) ** 2).sum()
        x.grad = None
        objective.backward()
        history.append(e.detach().cpu().numpy())
        bar.update()
        bar.set_postfix(rel_err=f"{history[-1].max():.2e}", refresh=False)
        if history[-1].max() <= tol:
            raise _Reached
        return objective

    reached = False
    with bar:
        try:
            if method == "lbfgs":
                optimizer = torch.optim.LBFGS([x], lr=1.0 if lr is None else lr, max_iter=steps, max_eval=steps,
                                              tolerance_grad=0.0, tolerance_change=0.0, history_size=100,
                                              line_search_fn="strong_wolfe")
                optimizer.step(loss)
            else:
                optimizer = torch.optim.Adam([x], lr=ADAM_LR * float(x0.std()) if lr is None else lr)
                for _ in range(steps):
                    optimizer.step(loss)
        except _Reached:
            reached = True
    evaluations = len(history)
    if not reached:  # L-BFGS moved x after its last evaluation, Adam stepped after it
        with torch.no_grad():
            history.append(((features(x) - target).norm(dim=-1) / norm).cpu().numpy())
    return Descent(x.detach(), np.stack(history), evaluations, bool((history[-1] <= tol).all()),
                   time.perf_counter() - start)
