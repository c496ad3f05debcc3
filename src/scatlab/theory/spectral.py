r"""Spectral measures of a network's layers: exact operator norms of linear layers (convolutions
included), their :math:`(2,1)` norms, and the spectral complexity of Bartlett, Foster & Telgarsky.

For a network :math:`f(x) = A_L\sigma_{L-1}(A_{L-1}\cdots\sigma_1(A_1 x))` with 1-Lipschitz
activations :math:`\sigma_i` (ReLU), Bartlett, Foster & Telgarsky ("Spectrally-normalized margin
bounds for neural networks", NeurIPS 2017, eq. (1.2)) define the spectral complexity

.. math:: R_A = \Big(\prod_{i=1}^L \|A_i\|_\sigma\Big)
          \Big(\sum_{i=1}^L \frac{\|A_i^\top - M_i^\top\|_{2,1}^{2/3}}{\|A_i\|_\sigma^{2/3}}\Big)^{3/2},

with :math:`\|\cdot\|_\sigma` the spectral norm, :math:`\|B\|_{2,1}` the sum of the Euclidean
norms of the columns of B (so :math:`\|A^\top\|_{2,1}` sums the norms of the rows of A: one per
output unit) and :math:`M_i` reference matrices (zero by default). A convolution is the linear map
it applies to a whole image: its spectral norm is computed on that map (:func:`operator_norm`,
Lanczos on the map and its transpose), its row norms exactly by convolving an image of ones with
the squared kernel (:func:`row_norms`).

The margin bound they prove (Theorem 1.1; explicit constants in the lemma of their appendix for
norms fixed in advance) reads, for margins :math:`\gamma > 0`, with probability :math:`1 - \delta`,

.. math:: \Pr[\arg\max_j f(x)_j \ne y] \le \hat R_\gamma(f) + \frac8n
          + \frac{72\,\|X\|_2\,R_A\,\ln(2W)\ln n}{\gamma\,n} + 3\sqrt{\frac{\ln(1/\delta)}{2n}},

:math:`\hat R_\gamma` the fraction of training points of margin at most :math:`\gamma`,
:math:`\|X\|_2 = (\sum_i \|x_i\|^2)^{1/2}` and W the largest number of units of a layer
(:func:`spectral_margin_bound`). The theorem itself adds logarithmic terms from a union bound over
the norms, so this value is a lower value of the bound.

Overlap: a teammate's ``scatlab.theory.lipschitz`` computes layer operator norms too; the two
``operator_norm`` functions are meant to be merged.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import InvalidParameterError, ShapeError, parameter_error
from .lipschitz import operator_norm as lipschitz_operator_norm

__all__ = ["SpectralComplexity", "linear_layers", "operator_norm", "row_norms", "spectral_complexity",
           "spectral_margin_bound"]

LINEAR_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
NORMALIZATION_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _check_shape(input_shape, owner: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in input_shape) if isinstance(input_shape, (tuple, list, torch.Size)) else None
    if not shape or any(s < 1 for s in shape):
        raise parameter_error(owner, "input_shape", "a non-empty tuple of positive sizes without the batch axis,"
                              " e.g. (1, 28, 28)", input_shape)
    return shape


def _dtype_device(module: nn.Module) -> tuple[torch.dtype, torch.device]:
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    return torch.get_default_dtype(), torch.device("cpu")


def operator_norm(layer: nn.Module, input_shape: Sequence[int], *, tol: float = 1e-8, seed: int = 0) -> float:
    r"""Spectral norm :math:`\|A\|_\sigma = \max_{\|v\| = 1}\|Av\|` of the linear part of ``layer``
    acting on inputs of shape ``input_shape`` (no batch axis).

    ``layer`` must be affine (a convolution, a linear layer, an average pooling...): A is its linear
    part :math:`Av = \mathrm{layer}(v) - \mathrm{layer}(0)` (the bias dropped), whose norm
    :func:`scatlab.theory.lipschitz.operator_norm` computes (Lanczos, relative tolerance ``tol``) in
    the layer's precision.
    """
    shape = _check_shape(input_shape, "operator_norm")
    if not isinstance(layer, nn.Module):
        raise parameter_error("operator_norm", "layer", "a torch.nn.Module", type(layer).__name__)
    if not tol > 0:
        raise parameter_error("operator_norm", "tol", "> 0", tol)
    dtype, device = _dtype_device(layer)
    zero = torch.zeros((1, *shape), dtype=dtype, device=device)
    with torch.no_grad():
        try:
            offset = layer(zero)
        except RuntimeError as exc:
            raise ShapeError(f"The layer {type(layer).__name__} does not accept inputs of shape {shape} (batch axis"
                             f" added): {exc}; pass the shape of its input without the batch axis.") from None
    return lipschitz_operator_norm(lambda v: layer(v) - offset, (1, *shape), tol=tol, seed=seed, dtype=dtype,
                                   device=device)


def row_norms(layer: nn.Module, input_shape: Sequence[int], reference: torch.Tensor | None = None) -> torch.Tensor:
    r"""Euclidean norm of every row of the matrix :math:`A - M` of ``layer`` (one row per output unit),
    for inputs of shape ``input_shape``; ``reference`` M is a weight tensor of the layer's shape (zero
    if None).

    For a convolution the row of the output unit (c, p) holds the kernel of channel c restricted to
    the input positions it meets at p (zero padding cuts it at the borders), so the squared row norms
    are exactly the convolution of an image of ones by the squared kernel, with the layer's stride,
    padding, dilation and groups.
    """
    shape = _check_shape(input_shape, "row_norms")
    if not isinstance(layer, LINEAR_TYPES):
        raise parameter_error("row_norms", "layer", f"one of {[t.__name__ for t in LINEAR_TYPES]}",
                              type(layer).__name__)
    weight = layer.weight.detach()
    if reference is not None:
        if tuple(reference.shape) != tuple(weight.shape):
            raise ShapeError(f"The 'reference' of a layer with weights {tuple(weight.shape)} has shape"
                             f" {tuple(reference.shape)}; pass one tensor of the weights' shape per layer.")
        weight = weight - reference.detach().to(weight)
    if isinstance(layer, nn.Linear):
        return weight.norm(dim=1)
    if layer.padding_mode != "zeros":
        raise parameter_error("row_norms", "layer", "a convolution with zero padding (padding_mode='zeros')",
                              layer.padding_mode)
    ones = torch.ones((1, *shape), dtype=weight.dtype, device=weight.device)
    squared = layer._conv_forward(ones, weight.square(), None)  # the layer's stride, padding, dilation, groups
    return squared.clamp_min(0).sqrt().flatten()


def linear_layers(model: nn.Module, input_shape: Sequence[int]) -> list[tuple[nn.Module, tuple[int, ...]]]:
    """The linear layers (Linear, Conv1d/2d/3d) of ``model`` in the order a forward pass calls them,
    each with the shape of its input (no batch axis), read by hooks on one forward pass of zeros.

    Raises :class:`InvalidParameterError` if the model has no such layer or holds a normalization
    layer (fold it into the preceding layer first: the spectral complexity is defined for chains of
    linear maps and 1-Lipschitz activations).
    """
    shape = _check_shape(input_shape, "linear_layers")
    norms = [name for name, m in model.named_modules() if isinstance(m, NORMALIZATION_TYPES)]
    if norms:
        raise InvalidParameterError(f"The model holds normalization layers {norms}: the spectral complexity applies"
                                    " to chains of linear layers and 1-Lipschitz activations; fold them into the"
                                    " preceding layers or use a network without normalization.")
    found: list[tuple[nn.Module, tuple[int, ...]]] = []
    hooks = [m.register_forward_hook(lambda m, args, out: found.append((m, tuple(args[0].shape[1:]))))
             for m in model.modules() if isinstance(m, LINEAR_TYPES)]
    dtype, device = _dtype_device(model)
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *shape), dtype=dtype, device=device))
        model.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    if not found:
        raise InvalidParameterError(f"The model {type(model).__name__} calls no Linear or Conv layer on inputs of"
                                    f" shape {shape}; the spectral complexity needs its weight matrices.")
    return found


@dataclasses.dataclass(frozen=True)
class SpectralComplexity:
    """The spectral complexity :math:`R_A` of a network and its parts, layer by layer (call order).

    ``operator_norms``: :math:`\\|A_i\\|_\\sigma`; ``l21_norms``: :math:`\\|A_i^\\top - M_i^\\top\\|_{2,1}`;
    ``units``: number of outputs of each layer (rows of :math:`A_i`); ``input_units``: size of the input.
    """

    operator_norms: tuple[float, ...]
    l21_norms: tuple[float, ...]
    units: tuple[int, ...]
    input_units: int

    @property
    def lipschitz_product(self) -> float:
        """:math:`\\prod_i \\|A_i\\|_\\sigma`: an upper bound on the Lipschitz constant of the network."""
        return math.prod(self.operator_norms)

    @property
    def correction(self) -> float:
        """:math:`(\\sum_i (\\|A_i^\\top - M_i^\\top\\|_{2,1} / \\|A_i\\|_\\sigma)^{2/3})^{3/2}`."""
        return sum((b / s) ** (2 / 3) for b, s in zip(self.l21_norms, self.operator_norms)) ** 1.5

    @property
    def value(self) -> float:
        """:math:`R_A` = product of the spectral norms times the correction."""
        return self.lipschitz_product * self.correction

    @property
    def max_units(self) -> int:
        """W: the largest number of units of a layer, the input included."""
        return max(self.input_units, *self.units)


def spectral_complexity(model: nn.Module, input_shape: Sequence[int], *,
                        reference: Sequence[torch.Tensor] | None = None,
                        tol: float = 1e-8) -> SpectralComplexity:
    """:class:`SpectralComplexity` of ``model`` (a chain of linear layers and 1-Lipschitz activations)
    on inputs of shape ``input_shape``; ``reference`` holds one matrix :math:`M_i` per layer, in call
    order (e.g. the weights at initialization), zero if None."""
    layers = linear_layers(model, input_shape)
    if reference is not None and len(reference) != len(layers):
        raise parameter_error("spectral_complexity", "reference", f"one tensor per linear layer ({len(layers)})",
                              f"{len(reference)} tensors")
    norms, l21, units = [], [], []
    for k, (layer, shape) in enumerate(layers):
        norms.append(operator_norm(layer, shape, tol=tol))
        rows = row_norms(layer, shape, None if reference is None else reference[k])
        l21.append(float(rows.sum()))
        units.append(rows.numel())
    if min(norms) <= 0:
        raise InvalidParameterError("A linear layer of the model is zero (spectral norm 0): the spectral complexity"
                                    " is undefined; train or initialize the model first.")
    return SpectralComplexity(tuple(norms), tuple(l21), tuple(units), math.prod(_check_shape(input_shape, "")))


def spectral_margin_bound(margins: torch.Tensor, gamma: float, complexity: SpectralComplexity,
                          data_norm: float, *, delta: float = 0.05) -> dict[str, float]:
    r"""The margin bound of Bartlett, Foster & Telgarsky (2017) on the test error, at margin ``gamma``:

    :math:`\hat R_\gamma + 8/n + 72\,\|X\|_2 R_A \ln(2W)\ln(n)/(\gamma n) + 3\sqrt{\ln(1/\delta)/(2n)}`,
    with ``margins`` the output margins of the n training points, ``data_norm`` :math:`\|X\|_2` (the
    Frobenius norm of the training set). Returns the empirical margin risk, the complexity term and
    the bound (a fraction; above 1 it is vacuous).
    """
    margins = torch.as_tensor(margins).flatten()
    n = margins.numel()
    if n < 2 or not gamma > 0 or not 0 < delta < 1 or not data_norm > 0:
        raise parameter_error("spectral_margin_bound", "margins, gamma, delta, data_norm",
                              "at least 2 margins, gamma > 0, 0 < delta < 1 and data_norm > 0",
                              (n, gamma, delta, data_norm))
    risk = float((margins <= gamma).double().mean())
    term = 72 * data_norm * complexity.value * math.log(2 * complexity.max_units) * math.log(n) / (gamma * n)
    bound = risk + 8 / n + term + 3 * math.sqrt(math.log(1 / delta) / (2 * n))
    return {"margin_risk": risk, "complexity_term": term, "bound": bound}
