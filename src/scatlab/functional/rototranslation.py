r"""Roto-translation (rigid-motion) scattering as pure torch functions of (input, plan, bank).

Sifre & Mallat, "Rotation, scaling and deformation invariant scattering for texture
discrimination", CVPR 2013; L. Sifre, "Rigid-motion scattering for image classification", PhD
thesis, Ecole polytechnique, 2014.

The first layer is the modulus of the 2D Morlet wavelet transform,
:math:`U_1x(u,\theta_1,j_1) = |x\star\psi_{j_1,\theta_1}|(u)`, with L orientations
:math:`\theta_1 = \ell\pi/L` over :math:`[0,\pi)`: for a real image
:math:`\psi_{\theta+\pi} = \overline{\psi_\theta}` so :math:`U_1` is :math:`\pi`-periodic in
:math:`\theta_1`. It is a function on the roto-translation group, sampled at 2L angles of
:math:`[0, 2\pi)`. The second layer convolves it on the group with separable wavelets
:math:`\psi_{j_2,\theta_2}(r_{-\theta}u)\,\psi_k(\theta)`:

.. math:: W(u,\theta_1) = U_1x(\cdot,\theta_1)\star\psi_{j_2,\theta_1+\theta_2}(u), \qquad
          U_2x(u,\theta_1) = \Big|\sum_{\theta'} W(u,\theta')\,\psi_k(\theta_1-\theta')\Big|,

the spatial wavelet rotated with :math:`\theta_1` (:math:`\theta_1+\theta_2` on 2L angles of
:math:`[0,2\pi)`, where :math:`U_1\star\psi_{\theta+\pi} = \overline{U_1\star\psi_\theta}`), and
:math:`\psi_k` periodic 1D Morlet wavelets along :math:`\theta` of both spins (:math:`\psi_k(-\theta)`)
plus the angular average; also :math:`|(U_1x\star\phi_J)\circledast\psi_k|` (spatial low-pass,
angular wavelet). Every output is averaged over the group: :math:`\phi_J` in space and the mean
over :math:`\theta_1`, so it is indexed by the relative angle :math:`\theta_2` only.

Properties (exact up to rounding with ``padding='periodic'``, L even, square images): a rotation
by 90 degrees about pixel (0, 0) rotates the output grid and leaves channels unchanged; a mirror
``x[-i, j]`` mirrors the output grid and permutes channels by ``meta['mirror']``. With
``padding='reflect'`` the output grid is centred (:func:`scatlab.plan.rototranslation.centred_padding`):
the same holds for rotations about pixel (M // 2, M // 2) when the padding rotates with the image. Translations:
covariant, invariant up to 2^J. Filters at coarser resolutions are the sampled filters (their
spectra periodized, not cropped as in Scattering2D), which keeps the rotation covariance exact.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from ..runtime.threads import small_calls_on_one_thread
from ..banks.rototranslation import BankRoto, build_bank_roto
from ..plan.rototranslation import OWNER, PlanRoto, plan_roto
from ._inputs import batch_chunks, cached_bank, check_input, empty_output, twin_input
from ._ops import apply_lowpass_2d, filter_subsample, modulus

__all__ = ["rototranslation_scattering2d", "rototranslation_scattering2d_with_plan"]

# elements of the largest intermediate per batch chunk (2^20, as in Scattering2D, ran 10-20 % slower here)
CHUNK_ELEMENTS = 2**22


def _per_sample_elements(plan: PlanRoto) -> int:
    M, N = plan.padded_shape
    largest = plan.L * M * N
    if plan.max_order >= 2 and plan.J > 1:
        largest = max(largest, (1 + 4 * plan.K * plan.L) * plan.L * (M // 2) * (N // 2))  # angular product
    return largest


@small_calls_on_one_thread
def rototranslation_scattering2d_with_plan(x: torch.Tensor, plan: PlanRoto, bank: BankRoto) -> torch.Tensor:
    """Roto-translation scattering of x (..., M, N) as (..., n_channels, M', N')."""
    check_input(x, OWNER, plan.shape)
    bank = bank.prepare(x.dtype)
    batch_shape = x.shape[:-2]
    flat = x.reshape((-1,) + plan.shape)
    if flat.shape[0] == 0:
        return empty_output(x, batch_shape + (plan.n_channels,) + plan.output_shape)
    if plan.padding == "reflect":
        rows, cols = (torch.as_tensor(i, device=x.device) for i in plan.geometry.pad_index)
        flat = flat.index_select(-2, rows).index_select(-1, cols)
    lift = _lift_indices(plan.L, x.device)
    chunks = batch_chunks(flat, _per_sample_elements(plan), CHUNK_ELEMENTS)
    out = torch.cat([_scatter(chunk, plan, bank, lift) for chunk in chunks], dim=0)
    return out.reshape(batch_shape + out.shape[-3:])


@functools.lru_cache(maxsize=16)
def _lift_indices(L: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For W(t, m) = U1(t) * psi_{t + m}, t and m in [0, L) (t + m indexes 2L angles of [0, 2pi)):
    the index t + m mod L among the L filters of [0, pi), and the sign of the imaginary part of
    U1 * psi_{(t + m) mod L} that gives W (-1 where t + m >= L: a conjugation), shaped
    (1, 2, L, L, 1, 1) for [Re, Im]."""
    t, m = np.arange(L)[:, None], np.arange(L)[None, :]
    sign = np.stack([np.ones((L, L)), np.where(t + m >= L, -1.0, 1.0)])[None, :, :, :, None, None]
    as_tensor = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    return as_tensor(np.broadcast_to(t, (L, L)).copy()), as_tensor((t + m) % L), as_tensor(sign)


class _PairModulus(torch.autograd.Function):
    """sqrt(re^2 + im^2) of real tensors, gradient (re, im) g / |.| (0 where |.| = 0, the subgradient
    of least norm, and where g / |.| overflows, as _Modulus); avoids assembling a complex tensor from
    the two halves of a real matrix product."""

    @staticmethod
    def forward(ctx, re, im):
        out = re.square().addcmul_(im, im).sqrt_()
        ctx.save_for_backward(re, im, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        re, im, out = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiable, the division at |.| > 0 only (as _Modulus)
            positive = out > 0
            scale = torch.where(positive, grad / torch.where(positive, out, 1.0), 0.0)
        else:  # g / |.|, set to 0 where it is not finite (|.| = 0): one pass instead of a mask and a select
            scale = torch.nan_to_num_(grad / out, nan=0.0, posinf=0.0, neginf=0.0)
        return re * scale, im * scale


def _angular(w: torch.Tensor, matrix: torch.Tensor, n_filters: int, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """w (B, 2L, ...): [Re; Im] of W over the first L angles (or Re only, (B, L, ...), for a real W).
    Returns |mean over theta of W| (B, ...) and mean_theta |W (*) psi_f|(theta) (B, n_filters, ...)
    for the first ``n_filters`` angular filters, through the folded angular matrix."""
    B, n = w.shape[:2]
    R, R_all = 1 + n_filters * 2 * L, matrix.shape[0] // 2
    z = torch.cat([matrix[:R, :n], matrix[R_all:R_all + R, :n]]) @ w.reshape(B, n, -1)
    z = _PairModulus.apply(z[:, :R], z[:, R:])
    low = z[:, 0].reshape((B,) + w.shape[2:])
    waves = z[:, 1:].reshape((B, n_filters, 2 * L) + w.shape[2:]).mean(2)
    return low, waves


def _scatter(x: torch.Tensor, plan: PlanRoto, bank: BankRoto, lift) -> torch.Tensor:
    """x: (B, M_pad, N_pad) real. Returns (B, n_channels, M', N')."""
    B, J, L, K = x.shape[0], plan.J, plan.L, plan.K
    matrix = bank.angular
    first, index, sign = lift
    order0 = apply_lowpass_2d(x, bank.rows[0], bank.cols[0]).unsqueeze(1)
    order1, order2 = [], []
    x_hat = torch.fft.fft2(x).unsqueeze(1)
    for j1 in range(J):
        u1 = modulus(torch.fft.ifft2(filter_subsample(x_hat, bank.psi1[j1], 2**j1, bank.psi1_blocks[j1])))
        y = apply_lowpass_2d(u1, bank.rows[j1], bank.cols[j1])  # (B, L, M', N')
        order1.append(y.mean(1, keepdim=True))
        if plan.max_order < 2:
            continue
        if K:  # spatial low-pass x angular wavelet; y is real, so spin -1 gives the same modulus
            order2.append(_angular(y, matrix, K, L)[1])
        scales = plan.second_order_scales(j1)
        if not scales:
            continue
        u1_hat = torch.fft.fft2(u1).unsqueeze(2)
        for i, j2 in enumerate(scales):
            a = torch.fft.ifft2(filter_subsample(u1_hat, bank.psi2[j1][i], 2 ** (j2 - j1), bank.psi2_blocks[j1][i]))
            # W(t, m) for t < L, relative angle m: [Re, Im] as (B, 2, L, L, M2, N2), then (B, 2L, ...)
            w = torch.view_as_real(a)[:, first, index].movedim(-1, 1) * sign.to(a.real.dtype)
            low, waves = _angular(w.reshape((B, 2 * L) + w.shape[3:]), matrix, 2 * K, L)
            u2 = torch.cat([low.unsqueeze(2), waves.transpose(1, 2)], dim=2).reshape((B, -1) + a.shape[-2:])
            order2.append(apply_lowpass_2d(u2, bank.rows[j2], bank.cols[j2]))
    return torch.cat([order0] + order1 + order2, dim=1)


def rototranslation_scattering2d(x: torch.Tensor, *, J: int, L: int = 8, K: int | None = None, max_order: int = 2,
                                 padding: str = "reflect") -> torch.Tensor:
    """Functional twin of :class:`scatlab.RotoTranslationScattering2D` (filters cached per dtype/device)."""
    dtype = twin_input(x, "rototranslation_scattering2d", 2, "(..., M, N)")
    plan = plan_roto(tuple(x.shape[-2:]), J, L, K, max_order, padding)
    return rototranslation_scattering2d_with_plan(x, plan, cached_bank(build_bank_roto, plan, dtype, x.device))
