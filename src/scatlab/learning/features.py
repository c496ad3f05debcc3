r"""Batched scattering features of an image set, optionally sharded across torch.distributed ranks.

The feature vector of an image x is its scattering :math:`S_J x` (Bruna & Mallat, "Invariant
scattering convolution networks", IEEE TPAMI 2013) flattened over channels and positions,
optionally restricted to the orders up to ``max_order`` and log-compressed,
:math:`\log(\varepsilon + S_J x)`, which makes the (multiplicative) variability of the
coefficients additive and their distribution closer to Gaussian before a linear classifier.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from ..errors import InvalidParameterError
from ..runtime import Progress, no_progress, rank_world
from ..nn import Scattering2D

__all__ = ["scattering_features", "order_channels", "log_features"]


def order_channels(S: Scattering2D, max_order: int) -> np.ndarray:
    """Indices of the channels of ``S`` of order <= ``max_order`` (order 0 included)."""
    return np.flatnonzero(np.asarray(S.meta["order"]) <= max_order)


def log_features(features: np.ndarray, eps: float) -> np.ndarray:
    r""":math:`\log(\varepsilon + |f|)` elementwise (``eps`` > 0), as float32."""
    if not eps > 0:
        raise InvalidParameterError(f"The 'eps' parameter of log_features must be > 0. Got {eps!r} instead.")
    return np.log(eps + np.abs(features)).astype(np.float32)


@torch.no_grad()
def scattering_features(S: Scattering2D, images: np.ndarray | torch.Tensor, *, batch_size: int = 1024,
                        progress: Progress = no_progress, desc: str = "scattering") -> np.ndarray:
    """Scattering coefficients of ``images`` (n, ..., M, N) as a float32 array (n, ..., K, M', N')
    (K channels of ``S`` per image channel).

    Images are processed in batches of ``batch_size`` on the device of ``S``. Under an initialized
    torch.distributed process group, rank r computes the contiguous r-th shard of the images and
    every rank receives the full array (``all_gather_object``), in the original order.
    """
    if batch_size < 1:
        raise InvalidParameterError("The 'batch_size' parameter of scattering_features must be >= 1."
                                    f" Got {batch_size!r} instead.")
    images = torch.as_tensor(images)
    rank, world = rank_world()
    bounds = np.linspace(0, len(images), world + 1).astype(int)
    shard = images[bounds[rank]:bounds[rank + 1]]
    device = next(iter(S.buffers()), torch.empty(0)).device
    starts = range(0, len(shard), batch_size)
    chunks = [S(shard[s:s + batch_size].to(device=device, dtype=torch.float32)).cpu().numpy()
              for s in progress(starts, desc=desc, total=len(starts))]
    local = np.concatenate(chunks) if chunks else np.zeros((0, *images.shape[1:-2], *S.output_shape), dtype=np.float32)
    if world == 1:
        return local
    gathered: list = [None] * world
    dist.all_gather_object(gathered, local)
    return np.concatenate(gathered)
