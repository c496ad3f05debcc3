"""NumPy in, NumPy out: the transforms on arrays, keeping float32 / float64."""
from __future__ import annotations

import numpy as np
import torch

from .errors import InvalidParameterError
from .functional import scattering1d, scattering2d

__all__ = ["scattering1d_numpy", "scattering2d_numpy"]


def _to_tensor(x, owner: str) -> torch.Tensor:
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        if np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.bool_):
            x = x.astype(np.float32)
        else:
            raise InvalidParameterError(f"{owner} takes a float32 or float64 array; got dtype {x.dtype}.")
    return torch.from_numpy(np.ascontiguousarray(x))


def scattering1d_numpy(x, **params) -> np.ndarray:
    """1D scattering of an array (..., N); integer arrays become float32. See Scattering1D."""
    with torch.no_grad():
        return scattering1d(_to_tensor(x, "scattering1d_numpy"), **params).numpy()


def scattering2d_numpy(x, **params) -> np.ndarray:
    """2D scattering of an array (..., M, N); integer arrays become float32. See Scattering2D."""
    with torch.no_grad():
        return scattering2d(_to_tensor(x, "scattering2d_numpy"), **params).numpy()
