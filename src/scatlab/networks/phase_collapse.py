r"""The phase-collapse network of Guth, Zarka & Mallat ("Phase collapse in neural networks", ICLR 2022).

Each block applies FIXED filters with stride 2 to every channel,

.. math:: x \mapsto \big(x \star \phi(2u),\ \rho(x \star \psi_\theta(2u))\big)_{\theta},

then a LEARNED 1 x 1 channel matrix :math:`P_j` and a normalization without affine parameters.
:math:`\rho` is the modulus (phase collapse) or, for the comparison of the paper, the complex
soft-thresholding :math:`\rho_t(z) = z\,\max(0, 1 - t / |z|)` with a learned threshold t >= 0 per
channel, which keeps the phase and shrinks the amplitude (real and imaginary parts become two
channels). No learned spatial filter and no bias anywhere.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import parameter_error
from ..filters.morlet2d import gabor_2d, morlet_2d, orientation_angles

__all__ = ["CollapseBlock", "PhaseCollapseNet", "THRESHOLD_INIT"]


def _fixed_filters(L: int, size: int) -> torch.Tensor:
    """(1 + 2L, 1, size, size) real kernels: Gaussian phi, then real and imaginary parts of L Morlet psi_theta.

    sigma = 0.8, xi = 3 pi / 4, slant 4 / L (the j = 0 scattering wavelets), centred, phi of unit sum.
    """
    psi = np.fft.fftshift(morlet_2d(size, size, 0.8, orientation_angles(L), 3 * np.pi / 4, 4 / L), axes=(-2, -1))
    phi = np.fft.fftshift(gabor_2d(size, size, 0.8, 0.0, 0.0).real[0])
    bank = np.concatenate([(phi / phi.sum())[None], psi.real, psi.imag])
    return torch.as_tensor(bank, dtype=torch.float32)[:, None]


THRESHOLD_INIT = 0.05  # initial soft threshold of the wavelet amplitudes (see CollapseBlock)
DENSE_OPERATOR_ELEMENTS = 2**24  # largest fixed-filtering matrix (64 MB in float32) used instead of the convolution


def _filtering_operator(filters: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor | None:
    """The fixed filtering of an M x N map as one (M N, K M' N') matrix, or None when it exceeds
    :data:`DENSE_OPERATOR_ELEMENTS`.

    Reflect padding then convolution with stride 2 is linear: its matrix is its response to the M N
    unit impulses. On the small maps of these networks one matrix product replaces a convolution
    of B C single-channel images, whose backward dominated the training step (5x faster on 28 x 28).
    """
    M, N = shape
    out_elements = filters.shape[0] * ((M + 1) // 2) * ((N + 1) // 2)
    if M * N * out_elements > DENSE_OPERATOR_ELEMENTS:
        return None
    impulses = torch.eye(M * N, dtype=torch.float64).reshape(M * N, 1, M, N)
    return _filter(impulses, filters.double()).reshape(M * N, out_elements).to(filters.dtype)


def _filter(x: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """(n, 1, M, N) -> (n, K, ceil(M/2), ceil(N/2)): reflect padding, convolution with the K filters, stride 2."""
    pad = filters.shape[-1] // 2
    return F.conv2d(F.pad(x, (pad,) * 4, mode="reflect"), filters, stride=2)


class CollapseBlock(nn.Module):
    """Fixed filtering with stride 2, nonlinearity rho, learned 1x1 matrix P, BatchNorm without affine.

    The fixed filtering of the (M, N) input maps is one matrix product when small enough
    (:func:`_filtering_operator`), else a convolution; both compute the same linear map.
    """

    def __init__(self, c_in: int, c_out: int, L: int, nonlinearity: str, size: int, shape: tuple[int, int]):
        super().__init__()
        self.L, self.nonlinearity = L, nonlinearity
        filters = _fixed_filters(L, size)
        operator = _filtering_operator(filters, shape)
        self.register_buffer("filters", filters if operator is None else None, persistent=False)
        self.register_buffer("operator", operator, persistent=False)
        per_channel = 1 + (L if nonlinearity == "modulus" else 2 * L)
        # thresholds start inside the amplitudes' range (on Fashion-MNIST, |x * psi| has median
        # 0.02-0.1 and mean 0.06-0.14 across the blocks): at 0 the block would be linear, and the
        # gradient of |threshold| at 0 is 0, so it would stay linear
        self.threshold = nn.Parameter(torch.full((c_in * L,), THRESHOLD_INIT)) if nonlinearity == "soft-threshold" else None
        self.P = nn.Conv2d(c_in * per_channel, c_out, 1, bias=False)
        self.norm = nn.BatchNorm2d(c_out, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, M, N = x.shape
        K, M2, N2 = 1 + 2 * self.L, (M + 1) // 2, (N + 1) // 2
        if self.operator is not None:
            y = (x.reshape(B * C, M * N) @ self.operator).reshape(B, C, K, M2, N2)
        else:
            y = _filter(x.reshape(B * C, 1, M, N), self.filters).reshape(B, C, K, M2, N2)
        low, real, imag = y.split([1, self.L, self.L], dim=2)  # split: a backward without zero-filled copies
        if self.nonlinearity == "modulus":
            high = torch.sqrt(real**2 + imag**2 + 1e-12).flatten(1, 2)
        else:
            amplitude = torch.sqrt(real**2 + imag**2 + 1e-12).flatten(1, 2)
            gain = F.relu(1 - self.threshold.abs()[None, :, None, None] / amplitude)
            high = torch.cat([real.flatten(1, 2) * gain, imag.flatten(1, 2) * gain], dim=1)
        return self.norm(self.P(torch.cat([low.flatten(1, 2), high], dim=1)))


class PhaseCollapseNet(nn.Module):
    """Blocks of :class:`CollapseBlock` with widths ``widths``, then a linear classifier without bias.

    ``nonlinearity`` is 'modulus' (phase collapse) or 'soft-threshold' (amplitude reduction).
    The input (B, C, M, N) is first normalized by a BatchNorm without affine parameters.
    """

    def __init__(self, shape: tuple[int, int], num_classes: int = 10, *, in_channels: int = 1,
                 widths: tuple[int, ...] = (64, 128, 256), L: int = 8, nonlinearity: str = "modulus",
                 filter_size: int = 7):
        super().__init__()
        if nonlinearity not in ("modulus", "soft-threshold"):
            raise parameter_error("PhaseCollapseNet", "nonlinearity", "'modulus' or 'soft-threshold'", nonlinearity)
        self.input_norm = nn.BatchNorm2d(in_channels, affine=False)
        blocks, c_in, (M, N) = [], in_channels, shape
        for c_out in widths:
            blocks.append(CollapseBlock(c_in, c_out, L, nonlinearity, filter_size, (M, N)))
            c_in, M, N = c_out, (M + 1) // 2, (N + 1) // 2
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in * M * N, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.input_norm(x)).flatten(1))
