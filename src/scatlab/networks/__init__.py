"""Networks: scattering hybrids, phase collapse, ResNets. Every network takes (B, C, M, N) images:
C = 1 for (Fashion-)MNIST, 3 for CIFAR-10.

- :class:`WideResNet`: pre-activation wide ResNet (Zagoruyko & Komodakis, BMVC 2016);
- :class:`ScatteringHybrid`: fixed :math:`S_J x` -> BatchNorm -> wide ResNet head (Oyallon et al. 2017);
- :class:`PhaseCollapseNet`: fixed wavelets, modulus or soft-thresholding, learned 1x1 matrices
  (Guth, Zarka & Mallat 2022);
- :func:`build_model`: any of them by name (:data:`MODELS`).
"""
from .catalog import MODELS, build_model
from .hybrid import ScatteringHybrid
from .phase_collapse import PhaseCollapseNet
from .resnet import WideResNet

__all__ = ["MODELS", "PhaseCollapseNet", "ScatteringHybrid", "WideResNet", "build_model"]
