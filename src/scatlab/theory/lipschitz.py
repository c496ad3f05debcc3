r"""Lipschitz constants of networks and scattering transforms: upper bounds and measured values.

A network :math:`f = f_L \circ \dots \circ f_1` is Lipschitz with
:math:`\mathrm{Lip}(f) \le \prod_j \mathrm{Lip}(f_j)`, and an affine layer's constant is the operator
norm :math:`\|W_j\|_2` of its linear part (Szegedy et al., "Intriguing properties of neural
networks", ICLR 2014, Sec. 4.3; Scaman & Virmaux, "Lipschitz regularity of deep neural networks",
NeurIPS 2018, who show the product is loose). Measured lower bounds: the local constant
:math:`\max_x \|\nabla_x m(x)\|` of the logit margin and the pair ratio
:math:`\max \|f(x) - f(y)\| / \|x - y\|`.

A scattering cascade whose layer banks satisfy :math:`|\hat\phi|^2 + \sum_\lambda|\hat\psi_\lambda|^2
\le B_m` (upper Littlewood-Paley bound) obeys, with :math:`e_m` the energy of the differences
propagated to order m and :math:`s_m` the output at order m,
:math:`s_m + e_{m+1} \le B_m e_m`; hence :math:`\sum_m s_m \le c_0 e_0` with
:math:`c_M = \max|\hat\phi|^2`, :math:`c_m = B_m \max(1, c_{m+1})` (Mallat, "Group invariant
scattering", CPAM 2012, Prop. 2.5 for B = 1, where the transform is contractive).
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidParameterError, ShapeError
from ..filters.littlewood_paley import littlewood_paley_sum
from ..filters.rototranslation import angular_filters, spatial_filters
from ..filters.solid_harmonic import solid_harmonic_fourier
from ..networks.phase_collapse import CollapseBlock, PhaseCollapseNet, _filter
from ..networks.resnet import BasicBlock, WideResNet
from ..nn import Scattering1D, Scattering2D
from ..nn._base import ScatteringModule
from ..nn.harmonic3d import HarmonicScattering3D
from ..nn.rototranslation import RotoTranslationScattering2D

__all__ = ["LipschitzBound", "ScatteringBound", "operator_norm", "circular_conv_norm", "network_lipschitz_bound",
           "logit_margins", "local_lipschitz", "jacobian_norms", "pairwise_lipschitz", "cascade_bound",
           "scattering_bound", "normalized_scattering", "contraction_ratios"]


# ------------------------------------------------------------------------------ operator norms


def _jvp(f, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """torch.func.jvp(f, (x,), (v,))[1]. The first forward-mode call imports torch's jvp
    decompositions, which use the deprecated torch.jit.script (a DeprecationWarning raised inside
    torch 2.13, not by this code): silenced here only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=DeprecationWarning)
        return torch.func.jvp(f, (x,), (v,))[1]



def operator_norm(linear_map, input_shape: tuple[int, ...], *, tol: float = 1e-8, seed: int = 0,
                  dtype: torch.dtype = torch.float64, device=None) -> float:
    r"""Largest singular value :math:`\|A\|_2` of a LINEAR map ``linear_map`` on tensors of ``input_shape``.

    Lanczos bidiagonalization (``scipy.sparse.linalg.svds``, k = 1, relative tolerance ``tol``) on
    the map as a ``LinearOperator``: :math:`A v` = ``linear_map(v)`` and :math:`A^\top u` by
    ``torch.func.vjp``, in ``dtype``; no matrix is formed. Converges much faster than plain power
    iteration when the top singular values are close (as for convolutions).
    """
    from scipy.sparse.linalg import LinearOperator, svds

    if not tol > 0:
        raise InvalidParameterError(f"The 'tol' parameter of operator_norm must be > 0; got {tol}.")
    if not input_shape or min(input_shape) < 1:
        raise ShapeError(f"The 'input_shape' of operator_norm must be non-empty with positive sizes;"
                         f" got {input_shape}.")
    zero = torch.zeros(input_shape, dtype=dtype, device=device)
    out, pullback = torch.func.vjp(linear_map, zero)  # linear: the pullback is the same at every point
    n_in, n_out = zero.numel(), out.numel()
    if min(n_in, n_out) == 1:  # svds needs k < min(shape): a row or a column, whose norm is exact
        vector = pullback(torch.ones_like(out))[0] if n_out == 1 else linear_map(torch.ones_like(zero))
        return float(vector.norm())

    def matvec(v):
        v = torch.as_tensor(np.asarray(v).reshape(input_shape), dtype=dtype, device=device)
        return linear_map(v).detach().reshape(-1).cpu().numpy()

    def rmatvec(u):
        u = torch.as_tensor(np.asarray(u).reshape(out.shape), dtype=dtype, device=device)
        return pullback(u)[0].detach().reshape(-1).cpu().numpy()

    operator = LinearOperator((n_out, n_in), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
    start = np.random.default_rng(seed).standard_normal(min(n_in, n_out))
    if not np.any(matvec(np.random.default_rng(seed + 1).standard_normal(n_in))):
        return 0.0  # the zero map (ARPACK cannot start on it)
    return float(svds(operator, k=1, tol=tol, v0=start, return_singular_vectors=False)[0])


def circular_conv_norm(weight: torch.Tensor, shape: tuple[int, ...]) -> float:
    r"""Exact :math:`\|A\|_2` of the stride-1 circular convolution with ``weight`` (C_out, C_in, k...) on
    maps of spatial ``shape``: :math:`\max_\omega \sigma_{\max}(\hat W(\omega))`, the (C_out, C_in)
    matrix of kernel DFTs at each frequency (Sedghi, Gupta & Long, "The singular values of
    convolutional layers", ICLR 2019). Kernel taps wrap modulo the map size (as circular padding)."""
    d = weight.dim() - 2
    if d < 1 or len(shape) != d or any(k > n for k, n in zip(weight.shape[2:], shape)):
        raise ShapeError(f"circular_conv_norm: 'shape' {tuple(shape)} must have one size per kernel axis of the weight"
                         f" {tuple(weight.shape)}, each at least the kernel size.")
    padded = torch.zeros(weight.shape[:2] + tuple(shape), dtype=torch.float64, device=weight.device)
    padded[(slice(None), slice(None)) + tuple(slice(0, k) for k in weight.shape[2:])] = weight.detach().double()
    spectrum = torch.fft.fftn(padded, dim=tuple(range(2, 2 + d)))  # (C_out, C_in, *shape)
    matrices = spectrum.permute(*range(2, 2 + d), 0, 1)  # (*shape, C_out, C_in)
    return float(torch.linalg.matrix_norm(matrices, ord=2).max())


# -------------------------------------------------------------------------- network bounds


@dataclasses.dataclass(frozen=True)
class LipschitzBound:
    """Upper bound ``bound`` = product of the ``factors`` (layer name, Lipschitz constant of the layer)."""

    bound: float
    factors: tuple[tuple[str, float], ...]


def _conv_linear(conv: nn.modules.conv._ConvNd):
    """The linear part (no bias) of a convolution layer, as a function of one input batch."""
    functional = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[conv.weight.dim() - 2]
    weight = conv.weight.detach().double()

    def apply(x):
        if conv.padding_mode != "zeros":
            x = F.pad(x, conv._reversed_padding_repeated_twice, mode=conv.padding_mode)
            return functional(x, weight, None, conv.stride, 0, conv.dilation, conv.groups)
        return functional(x, weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)
    return apply


def _layer_norm(module: nn.Module, shape: tuple[int, ...], device) -> float:
    """Exact operator norm of a Linear / Conv layer's linear part on inputs of ``shape`` (batch of 1)."""
    if isinstance(module, nn.Linear):
        return float(torch.linalg.matrix_norm(module.weight.detach().double(), ord=2))
    conv = module
    if (conv.padding_mode == "circular" and all(s == 1 for s in conv.stride) and all(d == 1 for d in conv.dilation)
            and conv.groups == 1 and all(2 * p == k - 1 for p, k in zip(conv.padding, conv.kernel_size))):
        # circular padding by (k-1)/2 = circular convolution with the kernel rolled: same singular values
        return circular_conv_norm(conv.weight, shape[2:])
    return operator_norm(_conv_linear(conv), (1,) + tuple(shape[1:]), device=device)


def _batchnorm_gain(bn: nn.modules.batchnorm._BatchNorm) -> float:
    """BatchNorm in eval mode is the affine map x -> gamma (x - mean) / sqrt(var + eps) + beta: max |gain|."""
    if bn.training or bn.running_var is None:
        raise InvalidParameterError(f"network_lipschitz_bound: the BatchNorm {bn} must be in eval mode with running"
                                    " statistics (call model.eval() on a trained model); in training mode it depends on"
                                    " the batch.")
    gain = 1 / torch.sqrt(bn.running_var.detach().double() + bn.eps)
    if bn.weight is not None:
        gain = gain * bn.weight.detach().double().abs()
    return float(gain.max())


ONE_LIPSCHITZ = (nn.ReLU, nn.Identity, nn.Flatten, nn.Dropout, nn.Tanh, nn.LeakyReLU, nn.Unflatten)


def network_lipschitz_bound(model: nn.Module, input_shape: tuple[int, ...]) -> LipschitzBound:
    r"""Upper bound :math:`\prod_j \mathrm{Lip}(f_j)` of the l2 Lipschitz constant of ``model`` in eval mode
    on inputs (B, *input_shape), layer by layer (Szegedy et al. 2014; Scaman & Virmaux 2018).

    Covered: ``nn.Sequential`` (product); ``nn.Linear`` and ``nn.Conv1d/2d/3d`` (exact operator norm:
    Fourier for stride-1 circular convolutions, else power iteration on the layer's linear map at
    its recorded input size); BatchNorm in eval mode (largest gain); ReLU, LeakyReLU, Tanh, Identity,
    Flatten, Dropout (1); :class:`~scatlab.networks.WideResNet` and its pre-activation
    :class:`~scatlab.networks.resnet.BasicBlock` (:math:`\mathrm{Lip} \le g_1 (s + \|c_2\| g_2 \|c_1\|)`,
    s = 1 or the shortcut's norm; average pooling over H x W maps: :math:`1/\sqrt{HW}`);
    :class:`~scatlab.networks.PhaseCollapseNet` (fixed filtering norm x 1 for the modulus or the
    complex soft-thresholding, both 1-Lipschitz x P x normalization); a ``Scattering2D`` /
    ``Scattering1D`` front end (:func:`scattering_bound` divided by the subsampling normalization).
    Any other layer raises :class:`InvalidParameterError` naming it.
    """
    if not any(True for _ in model.parameters()):
        raise InvalidParameterError("network_lipschitz_bound: the 'model' has no parameters; pass a trained network.")
    if model.training:
        raise InvalidParameterError("network_lipschitz_bound: the 'model' is in training mode; call model.eval() first"
                                    " (BatchNorm is only an affine map in eval mode).")
    device = next(model.parameters()).device
    shapes: dict[nn.Module, tuple[int, ...]] = {}

    def record(module, args):  # returns None: the inputs are left unchanged
        shapes.setdefault(module, tuple(args[0].shape))

    hooks = [m.register_forward_pre_hook(record) for m in model.modules()]
    try:
        with torch.no_grad():
            model(torch.zeros((1,) + tuple(input_shape), device=device, dtype=next(model.parameters()).dtype))
    except RuntimeError as exc:
        raise ShapeError(f"network_lipschitz_bound: the model does not accept inputs of 'input_shape'"
                         f" {tuple(input_shape)} ({exc}).") from None
    finally:
        for h in hooks:
            h.remove()
    factors: list[tuple[str, float]] = []
    _walk(model, type(model).__name__, shapes, device, factors)
    return LipschitzBound(float(np.prod([v for _, v in factors])), tuple(factors))


def _walk(module: nn.Module, name: str, shapes: dict, device, factors: list) -> None:
    """Append (name, Lipschitz factor) of ``module``'s layers, in order, to ``factors``."""
    if module not in shapes:  # never called in the forward pass
        return
    if isinstance(module, nn.Sequential):
        for child_name, child in module.named_children():
            _walk(child, f"{name}.{child_name}", shapes, device, factors)
    elif isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        factors.append((name, _layer_norm(module, shapes[module], device)))
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        factors.append((name, _batchnorm_gain(module)))
    elif isinstance(module, ONE_LIPSCHITZ):
        pass
    elif isinstance(module, WideResNet):
        for child in ("stem", "stages", "bn"):
            _walk(getattr(module, child), f"{name}.{child}", shapes, device, factors)
        H, W = shapes[module.bn][2:]
        factors.append((f"{name}.mean", 1 / math.sqrt(H * W)))  # mean over H W positions: ||.|| / sqrt(HW)
        _walk(module.fc, f"{name}.fc", shapes, device, factors)
    elif isinstance(module, BasicBlock):
        g1, g2 = _batchnorm_gain(module.bn1), _batchnorm_gain(module.bn2)
        c1 = _layer_norm(module.conv1, shapes[module.conv1], device)
        c2 = _layer_norm(module.conv2, shapes[module.conv2], device)
        if module.shortcut is None:
            factors.append((name, g1 * c2 * g2 * c1 + 1.0))  # x + F(x): bn1 only on the residual branch
        else:
            s = _layer_norm(module.shortcut, shapes[module.shortcut], device)
            factors.append((name, g1 * (s + c2 * g2 * c1)))
    elif isinstance(module, PhaseCollapseNet):
        _walk(module.input_norm, f"{name}.input_norm", shapes, device, factors)
        _walk(module.blocks, f"{name}.blocks", shapes, device, factors)
        _walk(module.fc, f"{name}.fc", shapes, device, factors)
    elif isinstance(module, CollapseBlock):
        _, _, M, N = shapes[module]
        if module.operator is not None:  # the fixed filtering of one channel as a (M N, K M' N') matrix
            filtering = float(torch.linalg.matrix_norm(module.operator.detach().double(), ord=2))
        else:
            filters = module.filters.detach().double()
            filtering = operator_norm(lambda x: _filter(x, filters), (1, 1, M, N), device=device)
        factors.append((f"{name}.filtering", filtering))  # channel-wise, so the norm of one channel's map
        _walk(module.P, f"{name}.P", shapes, device, factors)  # modulus / soft-threshold: 1-Lipschitz
        _walk(module.norm, f"{name}.norm", shapes, device, factors)
    elif isinstance(module, (Scattering1D, Scattering2D)):
        bound = scattering_bound(module)
        factors.append((name, bound.bound / bound.normalization))
    else:
        raise InvalidParameterError(
            f"network_lipschitz_bound cannot bound the layer '{name}' of type {type(module).__name__}; covered are"
            " Sequential, Linear, Conv1d/2d/3d, BatchNorm (eval), ReLU/LeakyReLU/Tanh/Identity/Flatten/Dropout,"
            " WideResNet, BasicBlock, PhaseCollapseNet, CollapseBlock, Scattering1D, Scattering2D.")


# -------------------------------------------------------------------------- measured constants


def logit_margins(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Margins :math:`f_y(x) - \\max_{j \\ne y} f_j(x)` and the runner-up classes j, per row."""
    other = logits.scatter(1, labels[:, None], float("-inf"))
    runner = other.argmax(1)
    return logits.gather(1, labels[:, None])[:, 0] - logits.gather(1, runner[:, None])[:, 0], runner


def _check_model_data(model: nn.Module, x: torch.Tensor, who: str) -> torch.device:
    params = list(model.parameters())
    if not params:
        raise InvalidParameterError(f"{who}: the 'model' has no parameters; pass a trained network.")
    if x.dim() < 2 or len(x) < 1:
        raise ShapeError(f"{who}: 'x' must be a batch (B, ...) with B >= 1; got shape {tuple(x.shape)}.")
    return params[0].device


def _pullback(model: nn.Module, x: torch.Tensor):
    """(model(x), u -> J^T u, create_graph flag) by reverse-mode autograd. torch.autograd rather than
    torch.func: the scattering transforms' custom autograd Functions do not support functorch
    transforms."""
    x = x.detach().requires_grad_(True)
    out = model(x)

    def pullback(u: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        return torch.autograd.grad(out, x, u, retain_graph=True, create_graph=create_graph)[0]
    return out, pullback


def local_lipschitz(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    r""":math:`\|\nabla_x m(x)\|_2` per image of the logit margin :math:`m = f_y - f_{j^*}` (runner-up
    :math:`j^*` at x), by one backward pass per batch (the model in eval mode treats images
    independently, so the pullback of the per-image cotangents :math:`e_y - e_{j^*}` is the batch of
    per-image gradients). :math:`\max_x` of it is a lower bound on the margin's Lipschitz constant,
    itself at most :math:`\sqrt 2\,\mathrm{Lip}(f)`."""
    device = _check_model_data(model, x, "local_lipschitz")
    if len(labels) != len(x):
        raise ShapeError(f"local_lipschitz: 'labels' has {len(labels)} entries for {len(x)} images.")
    out = []
    for s in range(0, len(x), batch_size):
        xb, yb = x[s:s + batch_size].to(device), labels[s:s + batch_size].to(device)
        logits, pullback = _pullback(model, xb)
        _, runner = logit_margins(logits.detach(), yb)
        k = logits.shape[1]
        cotangent = (F.one_hot(yb, k) - F.one_hot(runner, k)).to(logits.dtype)
        out.append(pullback(cotangent).flatten(1).norm(dim=1).detach().cpu())
    return torch.cat(out)


def jacobian_norms(model: nn.Module, x: torch.Tensor, *, iterations: int = 30, batch_size: int = 128,
                   seed: int = 0) -> torch.Tensor:
    r"""Spectral norm :math:`\|J_f(x)\|_2` of the logits' Jacobian per image (local Lipschitz constant
    of f at x), by ``iterations`` steps of batched power iteration on :math:`J^\top J`:
    :math:`J^\top u` by backward, :math:`J v = \partial_u \langle J^\top u, v\rangle` by double
    backward (a lower estimate that increases to the exact value)."""
    device = _check_model_data(model, x, "jacobian_norms")
    if iterations < 1:
        raise InvalidParameterError(f"jacobian_norms: 'iterations' must be >= 1; got {iterations}.")
    generator = torch.Generator().manual_seed(seed)
    out = []
    for s in range(0, len(x), batch_size):
        xb = x[s:s + batch_size].to(device)
        view = (-1,) + (1,) * (xb.dim() - 1)
        logits, pullback = _pullback(model, xb)
        u = torch.zeros_like(logits, requires_grad=True)
        pulled = pullback(u, create_graph=True)  # J^T u: linear in u, differentiable in u

        def forward(v: torch.Tensor) -> torch.Tensor:  # J v
            return torch.autograd.grad(pulled, u, v, retain_graph=True)[0]
        v = torch.randn(xb.shape, generator=generator).to(device=device, dtype=xb.dtype)
        v = v / v.flatten(1).norm(dim=1).view(view)
        for _ in range(iterations):
            w = pullback(forward(v))
            v = w / w.flatten(1).norm(dim=1).clamp_min(1e-30).view(view)
        out.append(forward(v).flatten(1).norm(dim=1).detach().cpu())
    return torch.cat(out)


def pairwise_lipschitz(f, x: torch.Tensor, *, batch_size: int = 256) -> tuple[float, tuple[int, int]]:
    r"""Global lower bound :math:`\max_{a \ne b} \|f(x_a) - f(x_b)\|_2 / \|x_a - x_b\|_2` over all pairs of
    the batch x (and the pair reaching it); f maps (B, ...) to (B, ...) (a model, or a transform)."""
    if x.dim() < 2 or len(x) < 2:
        raise ShapeError(f"pairwise_lipschitz needs a batch 'x' of at least 2 items; got shape {tuple(x.shape)}.")
    with torch.no_grad():
        out = torch.cat([f(x[s:s + batch_size]).flatten(1).double().cpu() for s in range(0, len(x), batch_size)])
    inputs = x.flatten(1).double().cpu()
    ratio = torch.cdist(out, out) / torch.cdist(inputs, inputs).fill_diagonal_(float("inf"))
    ratio = torch.nan_to_num(ratio, nan=0.0)  # identical inputs (0 / 0 or x / inf)
    index = int(ratio.argmax())
    return float(ratio.flatten()[index]), (index // len(x), index % len(x))


# -------------------------------------------------------------------------- scattering contraction


@dataclasses.dataclass(frozen=True)
class ScatteringBound:
    r"""Bound ``bound`` on :math:`\|\tilde Sx - \tilde Sy\| / \|x - y\|` for the normalized output
    :math:`\tilde S = \text{normalization} \cdot S` (:func:`normalized_scattering`); ``B`` the upper
    Littlewood-Paley bound of each layer's bank; ``derivation`` says how it was obtained."""

    bound: float
    B: tuple[float, ...]
    normalization: float
    derivation: str


def cascade_bound(B: tuple[float, ...], phi_peak: float = 1.0) -> float:
    r"""Lipschitz bound :math:`\sqrt{c_0}` of a scattering cascade with layer bounds ``B`` = (B_0 ... B_{M-1})
    and low-pass peak :math:`\max|\hat\phi|^2` = ``phi_peak``: :math:`c_M` = phi_peak,
    :math:`c_m = B_m \max(1, c_{m+1})`. Equals 1 when every :math:`B_m \le 1` and phi_peak <= 1
    (Mallat 2012, Prop. 2.5), :math:`\sqrt{\prod_m B_m}` when all :math:`B_m \ge 1`."""
    if not B or min(B) < 0 or phi_peak < 0:
        raise InvalidParameterError(f"cascade_bound needs a non-empty 'B' of non-negative bounds and phi_peak >= 0;"
                                    f" got B={B}, phi_peak={phi_peak}.")
    c = phi_peak
    for b in reversed(B):
        c = b * max(1.0, c)
    return math.sqrt(c)


def _lp_max(psi: np.ndarray, phi: np.ndarray | None, ndim: int) -> float:
    return float(littlewood_paley_sum(psi, phi, ndim=ndim).max())


def scattering_bound(S: ScatteringModule) -> ScatteringBound:
    r"""The theoretical Lipschitz bound of a scatlab transform's normalized output (:func:`normalized_scattering`).

    - ``Scattering1D`` / ``Scattering2D``: :func:`cascade_bound` of the ``frame_bounds().B`` of the
      banks of each order (the second-order bank is a subset of order 1's in 2D) and the low-pass
      peak; output normalized by :math:`\sqrt{\text{input size} / \text{output size}}` (undoes the
      subsampling).
    - ``RotoTranslationScattering2D``: layer 1 the spatial Morlet bank (:math:`B_0`), layer 2 the
      separable group wavelets, :math:`B_1 = B_{\text{space}} \cdot B_{\text{angle}}` with
      :math:`B_{\text{angle}} = \max_\nu (\delta_{\nu 0} + \sum_k |\hat\psi_k(\nu)|^2)` on the 2L
      angles (the average, then the angular wavelets); the outputs of orders >= 1 (averages over the
      2L angles of group signals that repeat with period pi, so
      :math:`\|\text{mean}\|^2 \le \frac1{2L}\sum_{2L} = \frac1L\sum_L`) are normalized by
      :math:`\sqrt{L}` times the subsampling factor, order 0 by the subsampling factor only.
    - ``HarmonicScattering3D``: no low-pass; the normalized output is
      :math:`\sqrt{S[p, q=2]} = \|U[p]x\|` for orders 1 and 2, whose differences are bounded by
      :math:`\|U[p]x - U[p]y\|`; with :math:`B_1 = \max_\omega\sum_{j,l,m}|\hat\psi_{j,l,m}|^2` and
      :math:`B_2 = \max_l \max_\omega \sum_{j,m} |\hat\psi_{j,l,m}|^2`,
      bound :math:`= \sqrt{B_1 (1 + B_2)}` (at order 2 only when max_order = 2).
    """
    if isinstance(S, Scattering1D):
        p = S.plan
        orders = [S.frame_bounds(order=m + 1).B for m in range(p.max_order)]
        phi_peak = float(np.abs(S.filters_fourier(1)[1]).max() ** 2)
        norm = math.sqrt(p.length / S.output_shape[-1])
        return ScatteringBound(cascade_bound(tuple(orders), phi_peak), tuple(orders), norm,
                               "cascade of the order-1 and order-2 Morlet banks (frame_bounds)")
    if isinstance(S, Scattering2D):
        B = S.frame_bounds().B
        phi_peak = float(np.abs(S.filters_fourier()[1]).max() ** 2)
        M, N = S.plan.shape
        norm = math.sqrt(M * N / np.prod(S.output_shape[-2:]))
        Bs = (B,) * S.plan.max_order
        return ScatteringBound(cascade_bound(Bs, phi_peak), Bs, norm, "cascade of the 2D Morlet bank (frame_bounds)")
    if isinstance(S, RotoTranslationScattering2D):
        p = S.plan
        M, N = p.padded_shape
        psi, phi = spatial_filters(M, N, p.J, p.L)
        B0 = _lp_max(psi, phi, 2)
        Bs = (B0,)
        if p.max_order >= 2:
            ang = angular_filters(p.L, p.K)
            power = (np.abs(ang) ** 2).sum(0) if len(ang) else np.zeros(2 * p.L)
            power[0] += 1.0  # the angular average: 1 at angular frequency 0, else 0
            B_angle = float(power.max())
            Bs = (B0, _lp_max(psi, phi, 2) * B_angle)
        norm = math.sqrt(p.L * np.prod(p.shape) / np.prod(S.output_shape[-2:]))
        return ScatteringBound(cascade_bound(Bs, float(np.abs(phi).max() ** 2)), Bs, norm,
                               "cascade: spatial Morlet bank, then separable spatial x angular group wavelets")
    if isinstance(S, HarmonicScattering3D):
        p = S.plan
        per_l = []
        for l in range(p.L + 1):
            psi = np.concatenate([solid_harmonic_fourier(tuple(p.shape), p.sigma_0 * 2**j, l) for j in range(p.J + 1)])
            per_l.append(littlewood_paley_sum(psi, None, ndim=3))
        B1 = float(np.sum(per_l, axis=0).max())
        B2 = float(max(lp.max() for lp in per_l))
        bound = math.sqrt(B1 * (1 + B2)) if p.max_order >= 2 else math.sqrt(B1)
        return ScatteringBound(bound, (B1, B2), 1.0, "orders 1-2 maps ||U[p]x|| without low-pass: sqrt(B1 (1 + B2))")
    raise InvalidParameterError(f"scattering_bound: 'S' must be a Scattering1D, Scattering2D,"
                                f" RotoTranslationScattering2D or HarmonicScattering3D; got {type(S).__name__}.")


def normalized_scattering(S: ScatteringModule, x: torch.Tensor) -> torch.Tensor:
    """The output of S on a batch x, flattened to (B, D) and normalized as :func:`scattering_bound` states."""
    if isinstance(S, HarmonicScattering3D):
        out = S(x)
        keep = torch.as_tensor((np.asarray(S.meta["order"]) >= 1) & (np.asarray(S.meta["q"]) == 2.0))
        return out[..., keep].clamp_min(0).sqrt().flatten(1)
    out = S(x)
    if isinstance(S, RotoTranslationScattering2D):  # order 0 is not an average over angles
        L = S.plan.L
        weights = torch.where(torch.as_tensor(np.asarray(S.meta["order"]) == 0), 1 / math.sqrt(L), 1.0)
        out = out * weights.to(out.device, out.dtype)[:, None, None]
    return out.flatten(1) * scattering_bound(S).normalization


def contraction_ratios(S: ScatteringModule, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`\|\tilde Sx_i - \tilde Sy_i\| / \|x_i - y_i\|` for paired batches x, y (normalized output)."""
    if x.shape != y.shape or x.dim() < 2:
        raise ShapeError(f"contraction_ratios: 'x' and 'y' must be batches of the same shape; got {tuple(x.shape)}"
                         f" and {tuple(y.shape)}.")
    with torch.no_grad():
        diff = (normalized_scattering(S, x) - normalized_scattering(S, y)).double().norm(dim=1)
    return diff / (x - y).flatten(1).double().norm(dim=1)
