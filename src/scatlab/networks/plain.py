r"""A plain convolutional network: 3x3 convolutions and ReLUs, then one linear layer; no bias, no
normalization, no skip connection.

The network is a composition :math:`f(x) = A_L \sigma(A_{L-1} \cdots \sigma(A_1 x))` of linear maps
and 1-Lipschitz, positively homogeneous activations: the class for which the spectrally normalized
margin bounds of Bartlett, Foster & Telgarsky ("Spectrally-normalized margin bounds for neural
networks", NeurIPS 2017) are stated, so that their spectral complexity applies to it exactly.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import parameter_error

__all__ = ["PlainCNN"]


class PlainCNN(nn.Module):
    """conv3x3 (stride 1) - ReLU - [conv3x3 (stride 2) - ReLU] x (len(widths) - 1) - flatten - linear.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for Fashion-MNIST, 3 for CIFAR-10).
    num_classes : int
        Outputs (classes).
    shape : (int, int)
        Spatial size (M, N) of the inputs: fixes the size of the final linear layer.
    widths : tuple of int
        Channels of the convolutions; every one after the first halves the spatial size (rounding up).
    """

    def __init__(self, in_channels: int, num_classes: int, shape: tuple[int, int], *,
                 widths: tuple[int, ...] = (32, 64, 64)):
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths):
            raise parameter_error("PlainCNN", "widths", "a non-empty tuple of channel counts >= 1", widths)
        if in_channels < 1 or num_classes < 1 or len(shape) != 2 or min(shape) < 1:
            raise parameter_error("PlainCNN", "in_channels, num_classes, shape", "positive (shape: two sizes)",
                                  (in_channels, num_classes, shape))
        layers, c_in, (m, n) = [], in_channels, shape
        for k, width in enumerate(widths):
            stride = 1 if k == 0 else 2
            layers += [nn.Conv2d(c_in, int(width), 3, stride, 1, bias=False), nn.ReLU()]
            c_in = int(width)
            m, n = (m - 1) // stride + 1, (n - 1) // stride + 1
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in * m * n, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))
