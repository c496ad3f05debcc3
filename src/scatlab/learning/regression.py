r"""Regression on fixed features: cross-validated ridge, and a small network fitted to its residual.

- :func:`fit_ridge`: standardized features, :math:`\min_w \|y - Xw\|^2 + \alpha\|w\|^2` with the
  penalty of least cross-validated MAE.
- :func:`fit_residual_mlp`: the ridge's training residual :math:`r = y - X\hat w` is fitted by a
  two-hidden-layer perceptron :math:`f(x) = W_3\,\sigma(W_2\,\sigma(W_1 x))` (SiLU, Adam with a
  one-cycle schedule, Huber loss); the prediction is :math:`X\hat w + f(x)`. The linear part keeps
  its reading as an equivalent potential (Eickenberg et al. 2018); the network only corrects it.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["fit_ridge", "fit_residual_mlp"]


def fit_ridge(x_train, y_train, x_test, alphas, folds: int, seed: int) -> tuple[np.ndarray, float]:
    """Standardized ridge with the penalty of least cross-validated MAE; (test predictions, alpha)."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), Ridge())
    search = GridSearchCV(model, {"ridge__alpha": list(alphas)}, scoring="neg_mean_absolute_error",
                          cv=KFold(min(folds, len(y_train)), shuffle=True, random_state=seed))
    search.fit(x_train, y_train)
    return search.predict(x_test), float(search.best_params_["ridge__alpha"])


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
