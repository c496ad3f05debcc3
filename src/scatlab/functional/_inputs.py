"""Input checks, batch chunking and cached banks shared by the engines and their functional twins."""
from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from ..errors import DataError, ShapeError

__all__ = ["check_input", "batch_chunks", "empty_output", "twin_input", "cached_bank"]


def check_input(x, owner: str, signal_shape: tuple[int, ...]) -> None:
    """Raise a clear error for a non-tensor, a non-float dtype, a wrong shape or NaN/Inf values."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{owner} takes a torch.Tensor; got {type(x).__name__}. Use torch.as_tensor(x).")
    if not x.dtype.is_floating_point or x.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"{owner} takes float32 or float64 input; got {x.dtype}. Convert with x.float() or x.double()."
        )
    d = len(signal_shape)
    if x.dim() < d or tuple(x.shape[-d:]) != tuple(signal_shape):
        expected = ", ".join(str(s) for s in signal_shape)
        raise ShapeError(
            f"{owner} was built for signals of shape ({expected}) in the last {d} dimension(s), with any"
            f" leading batch shape; got an input of shape {tuple(x.shape)}. Build a new {owner} with"
            f" shape={tuple(x.shape[-d:]) if x.dim() >= d else '...'} or reshape the input."
        )
    if not bool(torch.isfinite(x).all()):
        raise DataError(f"{owner}: the input holds NaN or Inf values; clean or mask them before the transform.")


GPU_CHUNK_ELEMENTS = 2**26


def batch_chunks(x: torch.Tensor, per_sample_elements: int, cpu_budget: int) -> list[torch.Tensor]:
    """Split the batch so the largest complex intermediate holds about ``cpu_budget`` elements
    on a CPU (measured best near 2^20 on a 2-core machine: smaller chunks pay per-call overhead,
    larger ones leave the caches), and up to GPU_CHUNK_ELEMENTS on a GPU.
    """
    budget = cpu_budget if x.device.type == "cpu" else GPU_CHUNK_ELEMENTS
    size = max(1, budget // max(per_sample_elements, 1))
    return list(x.split(size, dim=0)) if x.shape[0] > size else [x]


def empty_output(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Zeros of ``shape`` for an empty batch, still attached to x's autograd graph."""
    out = x.new_zeros(shape)
    return out + x.sum() if x.requires_grad else out


def twin_input(x, name: str, ndim: int, layout: str) -> torch.dtype:
    """Check the input of a functional twin (a tensor of at least ``ndim`` dimensions, whose last
    ones are the signal, read by the plan); return the precision its bank is prepared for."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} takes a torch.Tensor; got {type(x).__name__}. Use torch.as_tensor(x).")
    if x.dim() < ndim:
        raise ShapeError(f"{name} takes inputs of shape {layout}; got a tensor of shape {tuple(x.shape)}.")
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


@functools.lru_cache(maxsize=32)
def cached_bank(build: Callable, plan, dtype: torch.dtype, device: torch.device):
    """``build(plan, device).prepare(dtype)``, kept for the next call of a functional twin."""
    return build(plan, device).prepare(dtype)
