"""Pre-activation wide ResNets (Zagoruyko & Komodakis, "Wide residual networks", BMVC 2016): depth
6 n + 2 (n basic blocks per stage), widths k (16, 32, 64)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BasicBlock", "WideResNet"]


class BasicBlock(nn.Module):
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
                layers.append(BasicBlock(c_in, c_out, stride if b == 0 else 1))
                c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(c_in)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.stages(self.stem(x))))
        return self.fc(out.mean(dim=(-2, -1)))
