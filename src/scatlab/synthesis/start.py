r"""White-noise starting points of the descent, matched in mean and variance to a target.

When only scattering moments are known, the mean is the order-0 moment and the standard deviation
is read off the order-1 moments. For a Gaussian process, :math:`m_1(\lambda)^2` is proportional
to the energy of the band :math:`\lambda` (:math:`E|Z| = \sqrt{\pi E|Z|^2} / 2` for a complex
Gaussian Z), and the wavelets nearly tile the frequencies, so

.. math:: \hat\sigma = \|m_1\| / \|u_1\|,

with :math:`u_1` the order-1 moments of one unit-variance white noise: exact for white noise,
close for Gaussian processes of any spectrum, lower for sparse signals (whose
:math:`E|x\star\psi|` is smaller for the same energy) and for signals with much energy below the
coarsest wavelet (in the band of :math:`\phi_J`, which the moments do not see). Moments with
second-order moments (``second_moments=True``) end with the standard deviation itself, which is used.
"""
from __future__ import annotations

import torch

from .moments import scattering_moments

__all__ = ["noise_level", "white_noise"]


def noise_level(moments: torch.Tensor, S: torch.nn.Module, *, log: bool = False, normalize: bool = False,
                seed: int = 0) -> tuple[float, float]:
    """(mean, standard deviation) of the white noise whose moments are closest to ``moments`` (C,).

    Normalized moments carry no scale: the standard deviation is then 1. Moments longer than
    ``len(S.meta)`` hold the second-order moments, whose last entry is the standard deviation.
    """
    mean = float(moments[S.meta.select(order=0)].mean())
    if normalize:
        return mean, 1.0
    if moments.shape[-1] > len(S.meta):
        return mean, float(moments[-1].exp() if log else moments[-1])
    first = torch.as_tensor(S.meta.select(order=1), device=moments.device)
    m1 = moments[first].exp() if log else moments[first]
    unit = scattering_moments(white_noise(S, 1, 0.0, 1.0, seed=seed, like=moments)[0], S)[first]
    return mean, float(m1.norm() / unit.norm())


def white_noise(S: torch.nn.Module, n: int, mean: float, std: float, *, seed: int,
                like: torch.Tensor) -> torch.Tensor:
    """``n`` Gaussian white noises (n, *S.shape) of the given mean and std, dtype and device of ``like``.

    Drawn on the CPU from ``seed``, so a seed gives the same noise on every device.
    """
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((n, *S.shape), generator=generator, dtype=torch.float64)
    return (mean + std * noise).to(dtype=like.dtype, device=like.device)
