"""NumPy in, NumPy out: the transforms on arrays, keeping float32 / float64."""
from __future__ import annotations

import numpy as np
import torch

from .errors import InvalidParameterError
from .functional import scattering1d, scattering2d

__all__ = ["scattering1d_numpy", "scattering2d_numpy"]


def _to_tensor(x, owner: str) -> torch.Tensor:
    """float64 stays float64 (any byte order); other real numbers become float32."""
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):
        raise InvalidParameterError(
            f"{owner} takes an array of real numbers (float32 or float64; integers become float32);"
            f" got dtype {x.dtype}."
        )
    dtype = np.float64 if x.dtype.kind == "f" and x.dtype.itemsize == 8 else np.float32  # any byte order
    return torch.from_numpy(np.ascontiguousarray(x, dtype=dtype))


def scattering1d_numpy(x, **params) -> np.ndarray:
    """1D scattering of an array (..., N); float64 in gives float64 out, else float32. See Scattering1D."""
    with torch.no_grad():
        return scattering1d(_to_tensor(x, "scattering1d_numpy"), **params).numpy()


def scattering2d_numpy(x, **params) -> np.ndarray:
    """2D scattering of an array (..., M, N); float64 in gives float64 out, else float32. See Scattering2D."""
    with torch.no_grad():
        return scattering2d(_to_tensor(x, "scattering2d_numpy"), **params).numpy()
