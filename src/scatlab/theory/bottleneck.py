r"""The variational information bottleneck (Alemi, Fischer, Dillon & Murphy, "Deep variational
information bottleneck", ICLR 2017) as a torch module around any backbone.

An encoder gives, for each input x, a diagonal Gaussian :math:`q(z \mid x) = \mathcal N(\mu(x),
\mathrm{diag}\,\sigma^2(x))` of a K-dimensional code z, from which a linear decoder predicts the
class. Training minimizes

.. math:: \mathbb E_{x,y}\Big[\mathbb E_{z \sim q(z|x)}[-\log p(y \mid z)]
          + \beta\, \mathrm{KL}\big(q(z \mid x) \,\|\, \mathcal N(0, I)\big)\Big],

a variational bound of :math:`H(Y \mid Z) + \beta I(Z;X)` (the information bottleneck Lagrangian):
the mean KL is an upper bound of I(Z;X) (:math:`I(Z;X) = \mathbb E_x \mathrm{KL}(q(z|x) \| q(z))
\le \mathbb E_x \mathrm{KL}(q(z|x) \| r(z))` for any r, here r = N(0, I)). z is drawn with the
reparameterization :math:`z = \mu + \sigma \odot \varepsilon`; at evaluation the decoder reads the
mean :math:`z = \mu(x)`.

:class:`VariationalBottleneck` trains with :func:`scatlab.learning.training.train`, whose loss is
the cross-entropy of the model's output: in training mode the module's output carries, besides
the logits, the gradient of :math:`\beta\,\mathrm{KL}` (:func:`with_extra_loss`), so one SGD step
of train() is one step on the loss above. Its ``stochastic=False`` twin is the same network without
the bottleneck (z = a linear map of the features, no noise, no KL), the baseline of Alemi et al.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidParameterError, ShapeError, parameter_error

__all__ = ["gaussian_kl_to_standard", "vib_loss", "with_extra_loss", "VariationalBottleneck"]


def gaussian_kl_to_standard(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(\mu, \mathrm{diag}\, e^{s}) \,\|\, \mathcal N(0, I)) =
    \frac12 \sum_k (\mu_k^2 + e^{s_k} - 1 - s_k)` in nats, one value per row of (B, K) ``mean`` and
    ``log_variance`` = s."""
    if mean.shape != log_variance.shape or mean.ndim != 2:
        raise ShapeError(f"The 'mean' and 'log_variance' arguments of gaussian_kl_to_standard must be (B, K) arrays"
                         f" of the same shape; got {tuple(mean.shape)} and {tuple(log_variance.shape)}.")
    return 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance).sum(1)


def vib_loss(logits: torch.Tensor, y: torch.Tensor, mean: torch.Tensor, log_variance: torch.Tensor,
             beta: float) -> torch.Tensor:
    r"""The VIB objective of one batch (Alemi et al. 2017): mean cross-entropy of ``logits`` (computed
    from a sample z of q(z|x)) + ``beta`` x mean :func:`gaussian_kl_to_standard` (nats)."""
    if not beta >= 0:
        raise parameter_error("vib_loss", "beta", "a number >= 0", beta)
    return F.cross_entropy(logits, y) + beta * gaussian_kl_to_standard(mean, log_variance).mean()


class _ExtraLoss(torch.autograd.Function):
    """Identity on ``output``; its backward also sends gradient 1 to the scalar ``extra``."""

    @staticmethod
    def forward(ctx, output, extra):
        return output.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, torch.ones((), dtype=grad.dtype, device=grad.device)


def with_extra_loss(output: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
    r"""``output`` unchanged, but a backward pass from a loss L(output) also back-propagates the
    scalar ``extra`` with weight 1: the parameters receive :math:`\nabla(L + \mathrm{extra})`,
    provided the backward starts from L itself with gradient 1 (``L.backward()``; not with a scaled
    loss, e.g. a mixed-precision gradient scaler). Lets a training loop that minimizes
    L(output) minimize L + extra without changing the loop."""
    if extra.ndim != 0:
        raise ShapeError(f"The 'extra' argument of with_extra_loss must be a scalar; got shape {tuple(extra.shape)}.")
    return _ExtraLoss.apply(output, extra)


class VariationalBottleneck(nn.Module):
    r"""backbone -> (mu, log sigma^2) of a K-dimensional Gaussian code -> linear classifier.

    Parameters
    ----------
    backbone : nn.Module
        Maps inputs to (B, features) (any network; flattened if it returns more dimensions).
    features : int
        The backbone's output width.
    bottleneck : int
        K, the dimension of z.
    num_classes : int
    beta : float
        Weight of the KL term (>= 0); used only when ``stochastic``.
    stochastic : bool
        True: the VIB (z sampled in training, KL penalty). False: the same network without the
        bottleneck (z = mu(x), a linear map of the features; no noise, no KL).

    Notes
    -----
    ``forward`` returns the logits; in training mode with ``stochastic`` and ``beta > 0`` they
    carry the gradient of :math:`\beta\,\overline{\mathrm{KL}}` (:func:`with_extra_loss`), so a loop
    minimizing the cross-entropy of the output minimizes the VIB loss. ``last_kl`` holds the mean
    KL (nats) of the last training batch. :meth:`encode` gives (mu, log_variance).
    """

    def __init__(self, backbone: nn.Module, features: int, bottleneck: int, num_classes: int, *,
                 beta: float = 1e-3, stochastic: bool = True):
        super().__init__()
        for name, value in (("features", features), ("bottleneck", bottleneck), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise parameter_error("VariationalBottleneck", name, "an int >= 1", value)
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
            raise parameter_error("VariationalBottleneck", "beta", "a number >= 0", beta)
        self.backbone, self.features, self.bottleneck = backbone, features, bottleneck
        self.beta, self.stochastic = float(beta), bool(stochastic)
        self.head = nn.Linear(features, 2 * bottleneck if stochastic else bottleneck)
        self.decoder = nn.Linear(bottleneck, num_classes)
        self.last_kl = float("nan")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mu, log_variance) of q(z|x), each (B, K); log_variance is None when not stochastic."""
        h = self.backbone(x).flatten(1)
        if h.shape[1] != self.features:
            raise ShapeError(f"The backbone of VariationalBottleneck returns {h.shape[1]} features but 'features' ="
                             f" {self.features}; give the backbone's output width.")
        out = self.head(h)
        if not self.stochastic:
            return out, None
        mean, log_variance = out.chunk(2, dim=1)
        return mean, log_variance.clamp(-20.0, 20.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, log_variance = self.encode(x)
        if not (self.training and self.stochastic):
            return self.decoder(mean)
        z = mean + (0.5 * log_variance).exp() * torch.randn_like(mean)
        logits = self.decoder(z)
        kl = gaussian_kl_to_standard(mean, log_variance).mean()
        self.last_kl = float(kl.detach())
        return with_extra_loss(logits, self.beta * kl) if self.beta > 0 and torch.is_grad_enabled() else logits

    @torch.no_grad()
    def information_bound(self, x: torch.Tensor, *, batch_size: int = 1000) -> float:
        """The variational upper bound of I(Z;X) on inputs ``x``: mean KL(q(z|x) || N(0, I)), in bits."""
        if not self.stochastic:
            raise InvalidParameterError("information_bound needs a stochastic VariationalBottleneck; the deterministic"
                                        " one (stochastic=False) has I(Z;X) = H(Z), infinite for continuous inputs.")
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        total = 0.0
        for start in range(0, len(x), batch_size):
            mean, log_variance = self.encode(x[start:start + batch_size].to(device))
            total += float(gaussian_kl_to_standard(mean, log_variance).sum())
        self.train(was_training)
        return total / max(len(x), 1) / 0.6931471805599453
