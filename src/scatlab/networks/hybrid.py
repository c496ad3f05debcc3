"""The scattering hybrid of Oyallon, Belilovsky & Zagoruyko ("Scaling the scattering transform",
ICCV 2017): a fixed scattering front end :math:`S_J x` (J = 2) -> BatchNorm -> wide ResNet head."""
from __future__ import annotations

import torch
from torch import nn

from ..nn import Scattering2D
from .resnet import WideResNet

__all__ = ["ScatteringHybrid"]


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
