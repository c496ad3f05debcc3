"""The networks of the classification experiments by name (:data:`MODELS`), for (B, C, M, N) images."""
from __future__ import annotations

from torch import nn

from ..errors import parameter_error
from .hybrid import ScatteringHybrid
from .irevnet import IRevNet
from .phase_collapse import PhaseCollapseNet
from .resnet import WideResNet

__all__ = ["MODELS", "build_model"]

MODELS = ("hybrid", "wrn", "resnet", "phase-collapse", "soft-threshold", "irevnet-injective", "irevnet-bijective")


def build_model(name: str, shape: tuple[int, int] = (28, 28), num_classes: int = 10, *, in_channels: int = 1,
                width: int = 2, blocks: int = 2, widths: tuple[int, ...] = (64, 128, 256), L: int = 8) -> nn.Module:
    """A model of :data:`MODELS` for (B, in_channels, M, N) inputs.

    'hybrid': :class:`ScatteringHybrid` (J = 2); 'wrn': the same :class:`WideResNet` on pixels;
    'phase-collapse' / 'soft-threshold': :class:`PhaseCollapseNet` with the modulus or the
    soft-thresholding; 'resnet': a :class:`WideResNet` of width 1 with one block per stage (3
    stages + stem + classifier: the depth of the default 3-layer phase-collapse network, whatever
    ``widths`` is); 'irevnet-injective' / 'irevnet-bijective': :class:`IRevNet` with two stages of
    ``blocks`` coupling blocks and 16 ``width`` channels inside the first stage's residual functions.
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
    if name in ("irevnet-injective", "irevnet-bijective"):
        return IRevNet(shape, num_classes, in_channels=in_channels, variant=name.split("-")[1], stages=(blocks, blocks),
                       width=16 * width)
    raise parameter_error("build_model", "name", f"one of {MODELS}", name)
