r"""Regression on fixed features: cross-validated ridge, and a small network fitted to its residual.

- :func:`fit_ridge`: standardized features, :math:`\min_w \|y - Xw\|^2 + \alpha\|w\|^2` with the
  penalty of least cross-validated MAE.
- :func:`fit_residual_mlp`: the ridge's training residual :math:`r = y - X\hat w` is fitted by a
  two-hidden-layer perceptron :math:`f(x) = W_3\,\sigma(W_2\,\sigma(W_1 x))` (SiLU, Adam with a
  one-cycle schedule, Huber loss); the prediction is :math:`X\hat w + f(x)`. The linear part keeps
  its reading as an equivalent potential (Eickenberg et al. 2018); the network only corrects it.
- :func:`fit_kernel_residual`: the same residual fitted by Gaussian kernel ridge regression,
  :math:`(K + \lambda I)c = r` with :math:`K_{ik} = \exp(-\|x_i - x_k\|^2 / (\ell^2 d))` on the d
  standardized features; the prediction is :math:`X\hat w + K_* c`, with :math:`(\ell, \lambda)`
  of least MAE on a held-out part of the training set; exact (n x n Cholesky); divide and conquer
  (exact fits on disjoint blocks, averaged: memory of one block, time linear in n) when the
  training set is too large for n^2 memory; or by FALKON on Nyström centres
  (:mod:`scatlab.learning.falkon`).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import InvalidParameterError
from .falkon import fit_falkon_path, gaussian_kernel as _gaussian_kernel

__all__ = ["fit_ridge", "fit_residual_mlp", "fit_kernel_residual"]


def _ridge_path(x_fit, y_fit, x_eval, alphas) -> np.ndarray:
    r"""Predictions on x_eval of centred ridge regressions for every alpha, from one SVD of x_fit:
    :math:`w_\alpha = V\,\mathrm{diag}(s/(s^2 + \alpha))\,U^T(y - \bar y)` (singular values below
    1e-15 dropped, as scikit-learn's ``Ridge(solver='svd')``); (len(alphas), n_eval)."""
    x_mean, y_mean = x_fit.mean(0), y_fit.mean()
    u, s, vt = np.linalg.svd(x_fit - x_mean, full_matrices=False)
    s = np.where(s > 1e-15, s, 0.0)
    projected = u.T @ (y_fit - y_mean)
    shrink = s / (s**2 + np.asarray(alphas, dtype=np.float64)[:, None])  # (alphas, rank)
    weights = (shrink * projected) @ vt  # (alphas, features)
    return (x_eval - x_mean) @ weights.T + y_mean if len(x_eval) else np.empty((0, len(alphas)))


def fit_ridge(x_train, y_train, x_test, alphas, folds: int, seed: int) -> tuple[np.ndarray, float]:
    """Standardized ridge with the penalty of least cross-validated MAE; (test predictions, alpha).

    Solved by SVD: scattering features are strongly collinear, and the normal equations of the
    smaller penalties are then ill-conditioned. One SVD per fold serves every penalty (the ridge
    path), the same fits as scikit-learn's ``GridSearchCV(Ridge(solver='svd'))`` at a fraction of
    the cost; ties go to the first penalty of ``alphas``."""
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    x_train, y_train = np.asarray(x_train, dtype=np.float64), np.asarray(y_train, dtype=np.float64)
    alphas = list(alphas)
    errors = np.zeros(len(alphas))
    splits = KFold(min(folds, len(y_train)), shuffle=True, random_state=seed).split(x_train)
    for fit, val in splits:
        scaler = StandardScaler().fit(x_train[fit])
        predictions = _ridge_path(scaler.transform(x_train[fit]), y_train[fit], scaler.transform(x_train[val]), alphas)
        errors += np.abs(predictions - y_train[val][:, None]).mean(0)
    best = alphas[int(np.argmin(errors))]
    scaler = StandardScaler().fit(x_train)
    test = _ridge_path(scaler.transform(x_train), y_train, scaler.transform(np.asarray(x_test, dtype=np.float64)),
                       [best])
    return test[:, 0], float(best)


def fit_residual_mlp(x_train, y_train, x_test, *, alpha: float, epochs: int, width: int = 512,
                     batch_size: int = 256, lr: float = 2e-3, seed: int = 0,
                     progress=lambda it, **_: it) -> np.ndarray:
    """Test predictions of ridge(alpha) + a perceptron trained on the ridge's training residual."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)  # as fit_ridge: constant columns are left unscaled
    xs_train, xs_test = scaler.transform(x_train), scaler.transform(x_test)
    ridge = Ridge(alpha).fit(xs_train, y_train)
    residual = y_train - ridge.predict(xs_train)
    scale = float(residual.std()) or 1.0
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(x_train.shape[1], width), torch.nn.SiLU(),
                              torch.nn.Linear(width, width), torch.nn.SiLU(), torch.nn.Linear(width, 1))
    inputs = torch.tensor(xs_train, dtype=torch.float32)
    targets = torch.tensor(residual / scale, dtype=torch.float32)
    steps = -(-len(inputs) // batch_size)
    optimizer = torch.optim.Adam(net.parameters(), lr / 2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * steps)
    for _ in progress(range(epochs), desc="residual MLP", total=epochs):
        for index in torch.randperm(len(inputs), generator=generator).split(batch_size):
            loss = torch.nn.functional.smooth_l1_loss(net(inputs[index]).squeeze(1), targets[index], beta=0.05)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    with torch.no_grad():
        correction = net(torch.tensor(xs_test, dtype=torch.float32)).squeeze(1).double().numpy() * scale
    return ridge.predict(xs_test) + correction


def _kernel_fits(x_fit, x_eval, residual, lengthscale, penalties):
    """Residual predictions at x_eval, one per penalty, for one length scale (None where
    K + penalty I is numerically not positive definite).

    Memory: one n x n buffer (8 n^2 bytes) and the n_eval x n cross kernel. K is rebuilt for each
    penalty (n^2 d operations, small beside the n^3 / 3 of the factorization) and factored in place
    by torch's LAPACK (MKL). Not scipy's: its bundled OpenBLAS (0.3.31, Haswell kernels) segfaulted in
    a worker thread while factoring a 22,166-point block on the 2-core AMD EPYC (2026-12-08).
    """
    k_eval = _gaussian_kernel(x_eval, x_fit, lengthscale)
    y = residual.reshape(-1, 1)

    def solve(penalty):
        k = _gaussian_kernel(x_fit, x_fit, lengthscale)
        k.diagonal().add_(penalty)
        try:
            torch.linalg.cholesky(k, out=k)  # lower factor, in place (the upper triangle is not read)
        except torch.linalg.LinAlgError:
            return None
        return (k_eval @ torch.cholesky_solve(y, k))[:, 0].numpy()

    return [solve(penalty) for penalty in penalties]


def _falkon_fits(x_fit, x_eval, residual, lengthscale, penalties, centres: int, seed: int):
    """As :func:`_kernel_fits`, by FALKON on ``centres`` Nyström centres (memory linear in n; the
    cross kernel and the factor of K_MM shared by the penalties)."""
    models = fit_falkon_path(x_fit, residual, centres=min(centres, len(x_fit)), lengthscale=lengthscale,
                             penalties=penalties, seed=seed)
    predictions = [None if model is None else model.predict(x_eval).numpy() for model in models]
    return [p if p is not None and np.isfinite(p).all() else None for p in predictions]


def _block_kernel_fits(x_fit, x_eval, residual, lengthscale, penalties, block: int, seed: int):
    """Divide-and-conquer kernel ridge (Zhang, Duchi & Wainwright, "Divide and conquer kernel ridge
    regression", JMLR 2015): :func:`_kernel_fits` on ceil(n / ``block``) disjoint random blocks of
    (nearly) equal size, predictions averaged. Memory 8 b^2 bytes for blocks of b, time n b^2 / 3."""
    n = len(x_fit)
    parts = np.array_split(np.random.default_rng(seed).permutation(n), -(-n // block))
    total = [0.0] * len(penalties)
    for part in parts:
        index = torch.as_tensor(part)
        fits = _kernel_fits(x_fit[index], x_eval, residual[index], lengthscale, penalties)
        total = [None if t is None or f is None else t + f for t, f in zip(total, fits)]
    return [None if t is None else t / len(parts) for t in total]


def fit_kernel_residual(x_train, y_train, x_test, *, alpha: float, lengthscales, penalties,
                        holdout: float = 0.2, max_train: int = 20000, centres: int | None = None,
                        block: int | None = None, seed: int = 0,
                        progress=lambda it, **_: it) -> tuple[np.ndarray, dict]:
    """Test predictions of ridge(alpha) + Gaussian kernel ridge on the ridge's training residual,
    and the chosen {'lengthscale', 'penalty', 'validation_mae', 'n_train'}.

    With ``centres`` None the kernel is exact (a Cholesky factorization of n x n, float64): above
    ``max_train`` training points it is fitted on a random subset of that many (the ridge still sees
    all of them). With ``centres`` = M, it is FALKON on M Nyström centres
    (:func:`scatlab.learning.falkon.fit_falkon`: memory 4 n M bytes), on up to ``max_train`` points.
    With ``block`` = b (and no ``centres``), the exact fits are made on disjoint blocks of at most b
    points and averaged (:func:`_block_kernel_fits`), on up to ``max_train`` points.
    The length scale and penalty are chosen on ``holdout`` of that set, held out from both fits.
    """
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 2):
        raise InvalidParameterError(f"fit_kernel_residual: 'block' must be an integer >= 2 or None; got {block!r}.")
    scaler = StandardScaler().fit(x_train)
    xs_train, xs_test = scaler.transform(x_train), scaler.transform(x_test)
    rng = np.random.default_rng(seed)
    subset = rng.permutation(len(xs_train))[:max_train]
    n_val = max(1, int(round(holdout * len(subset))))
    fit, val = subset[n_val:], subset[:n_val]
    # selection: ridge and kernel fitted on `fit` alone, scored on `val`
    ridge = Ridge(alpha).fit(xs_train[fit], y_train[fit])
    x_fit, x_val = torch.as_tensor(xs_train[fit]), torch.as_tensor(xs_train[val])
    residual = torch.as_tensor(y_train[fit] - ridge.predict(xs_train[fit]))
    base_val = ridge.predict(xs_train[val])

    def fits(x, x_eval, r, ell, lams):
        if centres is not None:
            return _falkon_fits(x, x_eval, r, ell, lams, centres, seed)
        if block is not None:
            return _block_kernel_fits(x, x_eval, r, ell, lams, block, seed)
        return _kernel_fits(x, x_eval, r, ell, lams)

    scores = {}
    for ell in progress(list(lengthscales), desc="kernel length scales", total=len(lengthscales)):
        corrections = fits(x_fit, x_val, residual, ell, penalties)
        for lam, correction in zip(penalties, corrections):
            if correction is not None:
                scores[ell, lam] = float(np.abs(base_val + correction - y_train[val]).mean())
    if not scores:
        raise InvalidParameterError("fit_kernel_residual: K + penalty I was not positive definite for any length scale"
                                    " and penalty tried; use larger penalties.")
    ell, lam = min(scores, key=scores.get)
    # final fit: ridge on every training point, kernel on the whole subset
    ridge = Ridge(alpha).fit(xs_train, y_train)
    x_sub = torch.as_tensor(xs_train[subset])
    residual = torch.as_tensor(y_train[subset] - ridge.predict(xs_train[subset]))
    correction, = fits(x_sub, torch.as_tensor(xs_test), residual, ell, [lam])
    if correction is None:
        raise InvalidParameterError(f"fit_kernel_residual: K + {lam:g} I was not positive definite on all"
                                    f" {len(subset)} points; use larger penalties.")
    chosen = dict(lengthscale=float(ell), penalty=float(lam), validation_mae=scores[ell, lam], n_train=len(subset),
                  centres=min(centres, len(subset)) if centres is not None else len(subset),
                  blocks=-(-len(subset) // block) if block is not None and centres is None else 1)
    return ridge.predict(xs_test) + correction, chosen
