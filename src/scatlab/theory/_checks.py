"""Input checks shared by the theory tools."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import ShapeError


def as_labels(owner: str, name: str, y, n: int) -> np.ndarray:
    """``y`` as a numpy array of one label per sample, shape (n,); anything else raises, naming ``name``."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.shape != (n,):
        raise ShapeError(f"The '{name}' argument of {owner} must hold one label per sample, shape ({n},); got shape"
                         f" {y.shape}.")
    return y
