"""One seed for every generator a run draws from."""
from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (call before building a model for reproducible weights)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
