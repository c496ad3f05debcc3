r"""Networks for the image classification experiments: scattering hybrids, phase collapse, ResNets.

Every network takes (B, C, M, N) images: C = 1 for (Fashion-)MNIST, 3 for CIFAR-10.

- :class:`WideResNet`: pre-activation wide ResNet (Zagoruyko & Komodakis, BMVC 2016) of depth
  6 n + 2 (n basic blocks per stage) and widths k (16, 32, 64);
- :class:`ScatteringHybrid`: fixed :math:`S_J x` (J = 2, Oyallon, Belilovsky & Zagoruyko, ICCV
  2017, "Scaling the scattering transform") -> BatchNorm -> wide ResNet head without its stem;
- :class:`PhaseCollapseNet`: the phase-collapse network of Guth, Zarka & Mallat ("Phase collapse
  in neural networks", ICLR 2022). Each block applies FIXED filters with stride 2 to every channel,

  .. math:: x \mapsto \big(x \star \phi(2u),\ \rho(x \star \psi_\theta(2u))\big)_{\theta},

  then a LEARNED 1 x 1 channel matrix :math:`P_j` and a normalization without affine parameters.
  :math:`\rho` is the modulus (phase collapse) or, for the comparison of the paper, the complex
  soft-thresholding :math:`\rho_t(z) = z\,\max(0, 1 - t / |z|)` with a learned threshold
  t >= 0 per channel, which keeps the phase and shrinks the amplitude (real and imaginary parts
  become two channels). No learned spatial filter and no bias anywhere.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import parameter_error
from ..filters.morlet2d import gabor_2d, morlet_2d, orientation_angles
from ..nn import Scattering2D

__all__ = ["WideResNet", "ScatteringHybrid", "PhaseCollapseNet", "build_model", "MODELS"]

MODELS = ("hybrid", "wrn", "resnet", "phase-collapse", "soft-threshold")


class _Block(nn.Module):
    """Pre-activation basic block BN-ReLU-conv3x3-BN-ReLU-conv3x3 with a 1x1 shortcut when shapes change."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride, bias=False) if stride != 1 or c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        return skip + self.conv2(F.relu(self.bn2(out)))


class WideResNet(nn.Module):
    """Wide ResNet: 3x3 stem, three stages of ``blocks`` blocks (strides ``strides``), BN-ReLU, average, linear.

    Parameters
    ----------
    in_channels, num_classes : int
    blocks : int
        Basic blocks per stage n (depth 6 n + 2).
    width : int
        Widening factor k: the stages have 16k, 32k, 64k channels.
    strides : tuple of 3 ints
        Stride of the first block of each stage (1, 2, 2 on pixels; 1, 1, 2 on 7x7 scattering maps).
    """

    def __init__(self, in_channels: int, num_classes: int = 10, *, blocks: int = 2, width: int = 2,
                 strides: tuple[int, int, int] = (1, 2, 2)):
        super().__init__()
        widths = [16 * width, 32 * width, 64 * width]
        self.stem = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        layers, c_in = [], widths[0]
        for c_out, stride in zip(widths, strides):
            for b in range(blocks):
                layers.append(_Block(c_in, c_out, stride if b == 0 else 1))
                c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(c_in)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.stages(self.stem(x))))
        return self.fc(out.mean(dim=(-2, -1)))


class ScatteringHybrid(nn.Module):
    """Fixed scattering :math:`S_J x` of each input channel (K coefficients each, at M/2^J) -> the
    C K maps -> BatchNorm -> :class:`WideResNet` head."""

    def __init__(self, shape: tuple[int, int], num_classes: int = 10, *, in_channels: int = 1, J: int = 2,
                 L: int = 8, blocks: int = 2, width: int = 2):
        super().__init__()
        self.scattering = Scattering2D(shape, J=J, L=L)
        channels = in_channels * self.scattering.output_shape[0]
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.head = WideResNet(channels, num_classes, blocks=blocks, width=width, strides=(1, 1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            s = self.scattering(x).flatten(1, 2)  # (B, C, K, M', N') -> (B, C K, M', N')
        return self.head(self.bn(s))


def _fixed_filters(L: int, size: int) -> torch.Tensor:
    """(1 + 2L, 1, size, size) real kernels: Gaussian phi, then real and imaginary parts of L Morlet psi_theta.

    sigma = 0.8, xi = 3 pi / 4, slant 4 / L (the j = 0 scattering wavelets), centred, phi of unit sum.
    """
    psi = np.fft.fftshift(morlet_2d(size, size, 0.8, orientation_angles(L), 3 * np.pi / 4, 4 / L), axes=(-2, -1))
    phi = np.fft.fftshift(gabor_2d(size, size, 0.8, 0.0, 0.0).real[0])
    bank = np.concatenate([(phi / phi.sum())[None], psi.real, psi.imag])
    return torch.as_tensor(bank, dtype=torch.float32)[:, None]


THRESHOLD_INIT = 0.05  # initial soft threshold of the wavelet amplitudes (see _CollapseBlock)
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


class _CollapseBlock(nn.Module):
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
    """Blocks of :class:`_CollapseBlock` with widths ``widths``, then a linear classifier without bias.

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
            blocks.append(_CollapseBlock(c_in, c_out, L, nonlinearity, filter_size, (M, N)))
            c_in, M, N = c_out, (M + 1) // 2, (N + 1) // 2
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in * M * N, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.input_norm(x)).flatten(1))


def build_model(name: str, shape: tuple[int, int] = (28, 28), num_classes: int = 10, *, in_channels: int = 1,
                width: int = 2, blocks: int = 2, widths: tuple[int, ...] = (64, 128, 256), L: int = 8) -> nn.Module:
    """A model of :data:`MODELS` for (B, in_channels, M, N) inputs.

    'hybrid': :class:`ScatteringHybrid` (J = 2); 'wrn': the same :class:`WideResNet` on pixels;
    'phase-collapse' / 'soft-threshold': :class:`PhaseCollapseNet` with the modulus or the
    soft-thresholding; 'resnet': a :class:`WideResNet` of width 1 with one block per stage (3
    stages + stem + classifier: the depth of the default 3-layer phase-collapse network, whatever
    ``widths`` is).
    """
    if name == "hybrid":
        return ScatteringHybrid(shape, num_classes, in_channels=in_channels, J=2, L=L, blocks=blocks, width=width)
    if name == "wrn":
        return WideResNet(in_channels, num_classes, blocks=blocks, width=width)
    if name == "resnet":
        return WideResNet(in_channels, num_classes, blocks=1, width=1)
    if name in ("phase-collapse", "soft-threshold"):
        return PhaseCollapseNet(shape, num_classes, in_channels=in_channels, widths=widths, L=L,
                                nonlinearity="modulus" if name == "phase-collapse" else "soft-threshold")
    raise parameter_error("build_model", "name", f"one of {MODELS}", name)
