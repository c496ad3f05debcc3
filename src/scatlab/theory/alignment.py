r"""Alignment of two networks' representations, aligned weight covariances, and rainbow resampling.

Guth, Ménard, Rochette & Mallat ("A rainbow in deep network black boxes", arXiv:2305.18512, 2023)
model a trained network :math:`\varphi_j = \rho W_j \varphi_{j-1}` as a *rainbow network*: at each
layer the activations are known only up to an orthogonal change of basis :math:`A_j`, and once the
inputs of a layer are expressed in a common basis, the rows of its weight matrix look like i.i.d.
samples of a Gaussian :math:`N(0, C_j)` whose covariance :math:`C_j` is "colored" (far from
isotropic) and of low effective rank. Two networks trained from different seeds then compute the
same representation up to :math:`A_j`, exactly so as the widths grow. The tools here measure these
statements on any torch network:

- :func:`alignment` (orthogonal Procrustes, Schönemann 1966): the orthogonal
  :math:`A = \arg\min_{A^TA = I} E\|A\varphi(x) - \varphi'(x)\|^2 = U V^T`, where
  :math:`E[\varphi'(x)\varphi(x)^T] = U \Sigma V^T` (SVD of the *uncentered* cross-covariance, as in
  the paper), and its relative error
  :math:`e = E\|A\varphi - \varphi'\|^2 / E\|\varphi'\|^2` (:func:`alignment_error`). For a
  convolutional layer, :math:`\varphi(x)` is the channel vector at each position (positions are
  samples, :func:`channel_samples`): one A acts on the channels everywhere, as a 1x1 convolution.
  With ``normalize=True`` both representations are first scaled to the same root-mean-square norm,
  so that a global scale (which no orthogonal A absorbs) does not count as misalignment.
  :func:`procrustes` gives A from an accumulated cross-covariance (rectangular too);
  ``scipy.linalg.orthogonal_procrustes`` solves the square case from the samples and agrees with it.
- :func:`align_weights`: a layer :math:`W` (C_out, C_in[, k, k]) whose inputs are aligned by
  :math:`A_{j-1}` (:math:`\varphi'_{j-1} \approx A_{j-1}\varphi_{j-1}`) acts on the common basis
  as :math:`\tilde W = A_j W A_{j-1}^T` (the product on the input-channel axis; :math:`A_j` on
  the output axis is optional: it rotates the rows and leaves :math:`C_j` unchanged).
- :func:`weight_covariance`: :math:`C_j = \frac{1}{C_\text{out}}\sum_o \tilde w_o \tilde w_o^T`
  with :math:`\tilde w_o \in \mathbb R^{C_\text{in} k^2}` the flattened row o of :math:`\tilde W`
  (uncentered: the model is a zero-mean Gaussian); :func:`covariance_spectrum`,
  :func:`effective_rank` (entropy effective rank of Roy & Vetterli 2007,
  :math:`\exp(-\sum_k p_k\log p_k)`, :math:`p_k = \lambda_k / \sum\lambda`; or the participation
  ratio :math:`(\sum\lambda)^2 / \sum\lambda^2`), :func:`covariance_similarity` (the cosine
  :math:`\langle C, C'\rangle_F / \|C\|_F\|C'\|_F`: 1 for proportional covariances, the kernel
  alignment of Cristianini et al. 2002 without centering).
- :func:`sample_weights`: rows drawn i.i.d. from :math:`N(0, C)`.
- :func:`resample_network` (the paper's rainbow sampling, Sec. 4): layer after layer, draw new rows
  from :math:`N(0, C_j)` (:math:`C_j` expressed in the reference network's basis at layer j-1),
  compose them with the alignment :math:`\hat A_{j-1}` of the sampled network's previous layer
  onto the reference's (:math:`W_j = \tilde W_j \hat A_{j-1}`, so that the covariance applies to
  inputs in the reference basis), then align the new layer's activations onto the reference's
  (:math:`\hat A_j`) before sampling the next layer. The last (classification) layer is not
  sampled; :func:`refit_last_layer` fits it again (a ridge least-squares classifier, its penalty
  chosen on held-out data), as the paper retrains it.

Choices where the paper leaves room (stated so the measurements can be read): the alignments are
fitted on one set of inputs and their error is reported on other inputs by the caller; the
cross-covariance is uncentered, so the mean activation is aligned too; layers with a bias are
refused by :func:`resample_network` (the bias of a new random row would have to be sampled jointly
with it).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .activations import layer_activations
from ..errors import InvalidParameterError, ShapeError, parameter_error

__all__ = ["Alignment", "Resampled", "Refit", "channel_samples", "cross_covariance", "procrustes", "alignment",
           "alignment_error", "align_weights", "weight_covariance", "covariance_spectrum", "effective_rank",
           "covariance_similarity", "sample_weights", "record_activations", "resample_network", "LinearReadout",
           "refit_last_layer"]

RANK_KINDS = ("entropy", "participation")


class Alignment(NamedTuple):
    """An orthogonal alignment ``A`` (d', d) with :math:`A\\varphi \\approx \\varphi'` and its relative error
    :math:`E\\|A\\varphi - \\varphi'\\|^2 / E\\|\\varphi'\\|^2` on the samples it was fitted on."""

    A: torch.Tensor
    error: float


class Resampled(NamedTuple):
    """A rainbow network drawn by :func:`resample_network`: ``model`` (a copy of the reference with
    the sampled layers), ``alignments`` :math:`\\hat A_j` of each sampled layer's activations onto the
    reference's (in layer order) and their relative ``errors`` on the fitting inputs (scale-free:
    :func:`alignment_error` with ``normalize=True``)."""

    model: nn.Module
    alignments: list[torch.Tensor]
    errors: list[float]


class Refit(NamedTuple):
    """Last layers fitted by :func:`refit_last_layer`: one fitted classifier per penalty, its
    validation accuracy (%), and the index of the best one (first of the ties)."""

    classifiers: list
    scores: list[float]
    best: int


# ------------------------------------------------------------------------------------- checks


def _matrix(x, name: str, owner: str) -> torch.Tensor:
    """``x`` as a finite float64 (n, d) tensor with n >= 1, d >= 1."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ShapeError(f"The '{name}' argument of {owner} must be an (n, d) array of n samples of d features; got"
                         f" shape {tuple(x.shape)}. Use channel_samples(activations) for (N, C, H, W) activations.")
    x = x.detach().to(torch.float64)
    if not torch.isfinite(x).all():
        raise InvalidParameterError(f"The '{name}' argument of {owner} holds NaN or infinite values.")
    return x


def _pair(phi, phi_prime, owner: str) -> tuple[torch.Tensor, torch.Tensor]:
    phi, phi_prime = _matrix(phi, "phi", owner), _matrix(phi_prime, "phi_prime", owner)
    if len(phi) != len(phi_prime):
        raise ShapeError(f"The 'phi' and 'phi_prime' arguments of {owner} must hold the same samples (rows); got"
                         f" {len(phi)} and {len(phi_prime)} rows.")
    return phi, phi_prime


def _square(C, name: str, owner: str) -> torch.Tensor:
    C = _matrix(C, name, owner)
    if C.shape[0] != C.shape[1]:
        raise ShapeError(f"The '{name}' argument of {owner} must be a square (d, d) covariance; got shape"
                         f" {tuple(C.shape)}.")
    return C


def _weight(W, name: str, owner: str) -> torch.Tensor:
    if not isinstance(W, torch.Tensor):
        W = torch.as_tensor(np.asarray(W))
    if W.ndim < 2 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ShapeError(f"The '{name}' argument of {owner} must be a weight of shape (C_out, C_in, *kernel) (a"
                         f" linear or convolutional layer's .weight); got shape {tuple(W.shape)}.")
    return W.detach()


# ------------------------------------------------------------------------------------ alignment


def channel_samples(activations: torch.Tensor) -> torch.Tensor:
    """Activations (N, C) or (N, C, *spatial) as (samples, C): every position of every input is a
    sample of the C-dimensional channel vector (the layout of a channel alignment)."""
    if not isinstance(activations, torch.Tensor) or activations.ndim < 2:
        raise ShapeError("The 'activations' argument of channel_samples must be a tensor (N, C) or (N, C, *spatial);"
                         f" got {type(activations).__name__} of shape {tuple(getattr(activations, 'shape', ()))}.")
    if activations.ndim == 2:
        return activations
    return activations.movedim(1, -1).reshape(-1, activations.shape[1])


def cross_covariance(phi, phi_prime) -> torch.Tensor:
    """:math:`M = \\frac1n\\sum_i \\varphi'_i \\varphi_i^T` (d', d), float64, for samples phi (n, d) and
    phi_prime (n, d') of the same inputs (uncentered)."""
    phi, phi_prime = _pair(phi, phi_prime, "cross_covariance")
    return phi_prime.T @ phi / len(phi)


def procrustes(M) -> torch.Tensor:
    """The orthogonal (d', d) matrix :math:`A = UV^T` of the SVD :math:`M = U\\Sigma V^T`: it maximizes
    :math:`\\mathrm{tr}(A^T M)` over matrices with orthonormal rows or columns (orthogonal Procrustes,
    Schönemann, Psychometrika 1966). A rank-deficient M (e.g. dead channels) leaves the
    alignment of its null space arbitrary but A still orthogonal."""
    M = _matrix(M, "M", "procrustes")
    U, _, Vh = torch.linalg.svd(M, full_matrices=False)
    return U @ Vh


def alignment(phi, phi_prime, *, normalize: bool = False) -> Alignment:
    """The orthogonal alignment of the representation phi (n, d) onto phi_prime (n, d'):
    :math:`A = UV^T` from the SVD of :math:`\\sum_i \\varphi'_i\\varphi_i^T`, minimizing
    :math:`\\sum_i\\|A\\varphi_i - \\varphi'_i\\|^2`, with its relative error on these samples
    (``normalize``: see :func:`alignment_error`; A does not depend on it).

    Examples
    --------
    >>> import torch
    >>> phi = torch.randn(500, 4, dtype=torch.float64)
    >>> Q = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64))[0]
    >>> fit = alignment(phi, phi @ Q.T)
    >>> bool(torch.allclose(fit.A, Q)), fit.error < 1e-20
    (True, True)
    """
    phi, phi_prime = _pair(phi, phi_prime, "alignment")
    A = procrustes(phi_prime.T @ phi)
    return Alignment(A, _relative_error(phi, phi_prime, A, normalize))


def alignment_error(phi, phi_prime, A, *, normalize: bool = False) -> float:
    """:math:`\\sum_i\\|A\\varphi_i - \\varphi'_i\\|^2 / \\sum_i\\|\\varphi'_i\\|^2` for phi (n, d), phi_prime
    (n, d') and A (d', d): 0 for a perfect alignment.

    With ``normalize``, phi and phi_prime are first divided by their root-mean-square norms
    :math:`(\\frac1n\\sum_i\\|\\varphi_i\\|^2)^{1/2}` on these samples: the error is then blind to a
    global scale (which an orthogonal A cannot absorb, and which a ReLU network without
    normalization can move between layers without changing its function) and equals
    :math:`2 - 2\\,\\mathrm{tr}(A^T M) / \\sqrt{\\mathrm{tr}\\,\\Sigma\\,\\mathrm{tr}\\,\\Sigma'}` (in [0, 4];
    2 for uncorrelated representations)."""
    phi, phi_prime = _pair(phi, phi_prime, "alignment_error")
    A = _matrix(A, "A", "alignment_error")
    if A.shape != (phi_prime.shape[1], phi.shape[1]):
        raise ShapeError(f"The 'A' argument of alignment_error must have shape (d', d) ="
                         f" {(phi_prime.shape[1], phi.shape[1])} to map phi onto phi_prime; got {tuple(A.shape)}.")
    return _relative_error(phi, phi_prime, A, normalize)


def _relative_error(phi: torch.Tensor, phi_prime: torch.Tensor, A: torch.Tensor, normalize: bool) -> float:
    reference = float((phi_prime**2).sum())
    own = float((phi**2).sum())
    if reference == 0 or (normalize and own == 0):
        raise InvalidParameterError("The 'phi_prime' or 'phi' argument is identically zero: the relative alignment"
                                    " error is undefined (a dead layer?).")
    if normalize:
        phi = phi * math.sqrt(reference / own)  # same mean square norm as phi_prime
    return float(((phi @ A.T - phi_prime) ** 2).sum()) / reference


# ----------------------------------------------------------------------------- weights, covariance


def align_weights(W, A_in=None, A_out=None) -> torch.Tensor:
    """The weight W (C_out, C_in, *kernel) expressed in aligned bases: :math:`A_\\text{out} W A_\\text{in}^T`
    on the (output, input) channel axes, i.e.
    :math:`\\tilde W[o, j] = \\sum_{p, i} A_\\text{out}[o, p]\\, W[p, i]\\, A_\\text{in}[j, i]`.
    If the layer's inputs satisfy :math:`\\varphi' = A_\\text{in}\\varphi` (A_in orthogonal), then
    :math:`\\tilde W\\varphi' = A_\\text{out} W \\varphi`. ``None`` is the identity. Float64."""
    W = _weight(W, "W", "align_weights").to(torch.float64)
    if A_in is not None:
        A_in = _matrix(A_in, "A_in", "align_weights")
        if A_in.shape[1] != W.shape[1]:
            raise ShapeError(f"The 'A_in' argument of align_weights must have {W.shape[1]} columns (the input channels"
                             f" of W); got shape {tuple(A_in.shape)}.")
        W = torch.einsum("oi...,ji->oj...", W, A_in)
    if A_out is not None:
        A_out = _matrix(A_out, "A_out", "align_weights")
        if A_out.shape[1] != W.shape[0]:
            raise ShapeError(f"The 'A_out' argument of align_weights must have {W.shape[0]} columns (the output"
                             f" channels of W); got shape {tuple(A_out.shape)}.")
        W = torch.tensordot(A_out, W, dims=([1], [0]))
    return W


def weight_covariance(W) -> torch.Tensor:
    """:math:`C = \\frac1{C_\\text{out}}\\sum_o w_o w_o^T` (d, d), d = C_in * prod(kernel), float64: the
    second moment of the flattened rows :math:`w_o` = W[o] of a (C_out, C_in, *kernel) weight
    (uncentered; apply :func:`align_weights` first to express it in an aligned input basis)."""
    rows = _weight(W, "W", "weight_covariance").reshape(W.shape[0], -1).to(torch.float64)
    return rows.T @ rows / len(rows)


def covariance_spectrum(C) -> torch.Tensor:
    """Eigenvalues of the symmetric positive semidefinite C, in decreasing order (rounding negatives
    set to 0), float64."""
    C = _square(C, "C", "covariance_spectrum")
    values = torch.linalg.eigvalsh((C + C.T) / 2)
    return values.flip(0).clamp_min(0)


def effective_rank(C, kind: str = "entropy") -> float:
    """Effective rank of a covariance C (d, d) or of its eigenvalues (d,): ``'entropy'``,
    :math:`\\exp(-\\sum p_k\\log p_k)` with :math:`p = \\lambda / \\sum\\lambda` (Roy & Vetterli, EUSIPCO
    2007); ``'participation'``, :math:`(\\sum\\lambda)^2 / \\sum\\lambda^2`. Both equal r for r equal
    nonzero eigenvalues and lie in [1, d]."""
    if kind not in RANK_KINDS:
        raise parameter_error("effective_rank", "kind", f"one of {RANK_KINDS}", kind)
    values = torch.as_tensor(C).detach().to(torch.float64)
    if values.ndim == 2:
        values = covariance_spectrum(values)
    elif values.ndim != 1 or len(values) < 1:
        raise ShapeError(f"The 'C' argument of effective_rank must be a (d, d) covariance or its d eigenvalues; got"
                         f" shape {tuple(values.shape)}.")
    values = values.clamp_min(0)
    total = float(values.sum())
    if not math.isfinite(total) or total <= 0:
        raise InvalidParameterError("The 'C' argument of effective_rank has no positive eigenvalue (a zero"
                                    " covariance has no rank to measure).")
    p = values / total
    if kind == "participation":
        return float(1 / (p**2).sum())
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def covariance_similarity(C1, C2) -> float:
    """:math:`\\langle C_1, C_2\\rangle_F / (\\|C_1\\|_F\\|C_2\\|_F)`: 1 iff proportional; in [0, 1] for
    positive semidefinite matrices; invariant to scaling either one."""
    C1, C2 = _square(C1, "C1", "covariance_similarity"), _square(C2, "C2", "covariance_similarity")
    if C1.shape != C2.shape:
        raise ShapeError(f"The 'C1' and 'C2' arguments of covariance_similarity must have the same shape; got"
                         f" {tuple(C1.shape)} and {tuple(C2.shape)}.")
    norm = float(C1.norm() * C2.norm())
    if norm == 0:
        raise InvalidParameterError("covariance_similarity of a zero covariance is undefined.")
    return float((C1 * C2).sum()) / norm


def sample_weights(C, n_out: int, kernel: Sequence[int] = (), *, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A weight (n_out, C_in, *kernel) whose flattened rows are i.i.d. :math:`N(0, C)`: :math:`w = V
    \\Lambda^{1/2} z`, :math:`z \\sim N(0, I)`, with :math:`C = V\\Lambda V^T`; C_in = d / prod(kernel)."""
    C = _square(C, "C", "sample_weights")
    if isinstance(n_out, bool) or not isinstance(n_out, (int, np.integer)) or n_out < 1:
        raise parameter_error("sample_weights", "n_out", "an int >= 1", n_out)
    kernel = tuple(int(k) for k in kernel)
    size = math.prod(kernel)
    if min(kernel, default=1) < 1 or len(C) % size:
        raise parameter_error("sample_weights", "kernel", f"positive sizes whose product divides d = {len(C)}", kernel)
    values, vectors = torch.linalg.eigh((C + C.T) / 2)
    root = vectors * values.clamp_min(0).sqrt()
    z = torch.randn(n_out, len(C), generator=generator, dtype=torch.float64)
    return (z @ root.T).reshape(n_out, len(C) // size, *kernel).to(dtype)


# ----------------------------------------------------------------------------------- resampling


def record_activations(model: nn.Module, module: nn.Module, x: torch.Tensor, *, batch_size: int = 500,
                       stop: bool = True) -> torch.Tensor:
    """The output of ``module`` (a submodule of ``model``) on the inputs x, in eval mode, as
    :func:`channel_samples` (samples, C) float32 on the CPU. With ``stop`` the forward pass ends at
    ``module`` (the later layers are not computed). The training mode is restored."""
    outputs = layer_activations(model, x, [module], batch_size=batch_size, flatten=False, stop=stop)
    return channel_samples(outputs[0])


def resample_network(model: nn.Module, weights: Sequence[nn.Module], outputs: Sequence[nn.Module],
                     covariances: Sequence, x: torch.Tensor, *, generator: torch.Generator | None = None,
                     batch_size: int = 500) -> Resampled:
    """Draw a rainbow network from the weight covariances of the reference ``model``.

    Parameters
    ----------
    model : nn.Module
        The reference (trained) network; it is not modified.
    weights : sequence of modules
        Its layers to resample, in forward order: ``nn.Conv2d`` / ``nn.Linear`` (any module with a
        ``weight`` (C_out, C_in, *kernel)) without bias.
    outputs : sequence of modules
        Per resampled layer, the submodule whose output is that layer's representation
        :math:`\\varphi_j` (e.g. the pooling after its ReLU): the input of the next resampled layer.
    covariances : sequence of (d_j, d_j)
        :math:`C_j`, d_j = C_in * prod(kernel), in the reference's basis (for the reference's own
        weights, :func:`weight_covariance` of them).
    x : tensor
        Inputs on which each :math:`\\hat A_j` is fitted.

    Notes
    -----
    For j = 1..J: :math:`\\tilde W_j` rows i.i.d. :math:`N(0, C_j)`; layer j of the copy gets
    :math:`W_j = \\tilde W_j \\hat A_{j-1}` (:math:`\\hat A_0 = I`); then
    :math:`\\hat A_j` = :func:`alignment` of the copy's :math:`\\hat\\varphi_j(x)` onto the
    reference's :math:`\\varphi_j(x)`. Layers after the last resampled one keep the reference's
    weights (refit the classifier with :func:`refit_last_layer`).
    """
    owner = "resample_network"
    weights, outputs, covariances = list(weights), list(outputs), list(covariances)
    if not weights:
        raise InvalidParameterError(f"The 'weights' argument of {owner} is empty: give the layers to resample.")
    if len(outputs) != len(weights) or len(covariances) != len(weights):
        raise InvalidParameterError(f"{owner} needs one 'outputs' module and one 'covariances' matrix per resampled"
                                    f" layer; got {len(weights)} weights, {len(outputs)} outputs and"
                                    f" {len(covariances)} covariances.")
    names = {id(m): name for name, m in model.named_modules()}
    for label, modules in (("weights", weights), ("outputs", outputs)):
        for k, m in enumerate(modules):
            if id(m) not in names:
                raise InvalidParameterError(f"The '{label}' argument of {owner}: item {k} is not a submodule of"
                                            " 'model' (a layer that does not exist in this network).")
    for k, m in enumerate(weights):
        W = getattr(m, "weight", None)
        if not isinstance(W, torch.Tensor) or W.ndim < 2:
            raise InvalidParameterError(f"The 'weights' argument of {owner}: item {k} ({type(m).__name__}) has no"
                                        " weight of shape (C_out, C_in, *kernel).")
        if getattr(m, "bias", None) is not None:
            raise InvalidParameterError(f"The 'weights' argument of {owner}: item {k} ({type(m).__name__}) has a"
                                        " bias; the rainbow sampling here needs layers built with bias=False.")
        d = W[0].numel()
        C = _square(covariances[k], "covariances", owner)
        if len(C) != d:
            raise ShapeError(f"The 'covariances' argument of {owner}: item {k} must be ({d}, {d}) for a weight of"
                             f" shape {tuple(W.shape)}; got {tuple(C.shape)}.")
    copy_model = copy.deepcopy(model)
    sampled_alignments, errors = [], []
    previous = None
    for k, (m, out) in enumerate(zip(weights, outputs)):
        W = m.weight
        sample = sample_weights(covariances[k], W.shape[0], W.shape[2:], generator=generator)
        if previous is not None:
            if previous.shape[1] != W.shape[1]:
                raise ShapeError(f"The 'outputs' argument of {owner}: item {k - 1} has {previous.shape[1]} channels"
                                 f" but layer {k} takes {W.shape[1]} inputs.")
            sample = align_weights(sample, A_in=previous.T)  # W_j = W~_j A_{j-1}
        target = copy_model.get_submodule(names[id(m)])
        with torch.no_grad():
            target.weight.copy_(sample.to(target.weight.dtype))
        phi = record_activations(model, out, x, batch_size=batch_size)
        phi_hat = record_activations(copy_model, copy_model.get_submodule(names[id(out)]), x, batch_size=batch_size)
        fit = alignment(phi_hat, phi, normalize=True)
        sampled_alignments.append(fit.A)
        errors.append(fit.error)
        previous = fit.A
    return Resampled(copy_model, sampled_alignments, errors)


class LinearReadout(NamedTuple):
    """A linear classifier on standardized features: scores :math:`((f - \\mu)/\\sigma) W + b`."""

    mean: np.ndarray
    scale: np.ndarray
    W: np.ndarray
    b: np.ndarray

    def predict(self, features) -> np.ndarray:
        """The class of largest score for each row of ``features`` (n, d)."""
        x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return np.argmax(x @ self.W + self.b, axis=1)


def refit_last_layer(features, labels, validation_features, validation_labels, penalties: Sequence[float]) -> Refit:
    """A ridge (least-squares) classifier on standardized features for every penalty of ``penalties``,
    fitted on (features, labels), scored on the validation pair (accuracy %).

    Notes
    -----
    With :math:`X` the standardized training features (n, d), :math:`Y` the centred one-hot labels
    and :math:`G = X^TX/n` (mean eigenvalue 1 after standardization),
    :math:`W_\\alpha = (G + \\alpha I)^{-1} X^TY/n`, :math:`b` = the class frequencies: one
    eigendecomposition of G serves every :math:`\\alpha` (Rifkin & Lippert 2007, regularized least
    squares classification). The paper retrains its last layer by SGD on the cross-entropy; a
    least-squares readout is the closed-form stand-in, the same for every network compared.
    """
    if not penalties or min(penalties) <= 0:
        raise parameter_error("refit_last_layer", "penalties", "a non-empty sequence of positive numbers", penalties)
    x, xv = (np.asarray(f.cpu() if isinstance(f, torch.Tensor) else f, dtype=np.float64)
             for f in (features, validation_features))
    y, yv = np.asarray(labels).astype(np.int64), np.asarray(validation_labels).astype(np.int64)
    if x.ndim != 2 or len(x) != len(y) or xv.ndim != 2 or len(xv) != len(yv) or x.shape[1] != xv.shape[1] or len(x) < 2:
        raise ShapeError("refit_last_layer needs features (n, d) with n >= 2 labels and validation features (m, d) with"
                         f" m labels; got {x.shape}, {y.shape}, {xv.shape}, {yv.shape}.")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-12 * max(float(scale.max()), 1e-300), scale, 1.0)  # constant features stay 0
    z = (x - mean) / scale
    classes = int(max(y.max(), yv.max())) + 1
    onehot = np.eye(classes)[y]
    prior = onehot.mean(axis=0)
    values, vectors = np.linalg.eigh(z.T @ z / len(z))
    projected = vectors.T @ (z.T @ (onehot - prior) / len(z))
    classifiers, scores = [], []
    for alpha in penalties:
        W = vectors @ (projected / (np.maximum(values, 0) + float(alpha))[:, None])
        readout = LinearReadout(mean, scale, W, prior)
        classifiers.append(readout)
        scores.append(100.0 * float((readout.predict(xv) == yv).mean()))
    return Refit(classifiers, scores, int(np.argmax(scores)))
