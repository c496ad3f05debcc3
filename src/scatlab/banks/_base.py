"""What every filter bank shares: float64 masters, one ``prepare`` per input precision, a flat view.

A bank is a frozen dataclass of the filters of one plan, laid out as its engine applies them.
Each tensor field says how the engine applies it (:func:`applied_as`): ``COMPLEX`` (Fourier
filters, multiplied with complex spectra) or ``REAL`` (matrices, multiplied with real maps);
unmarked fields (index tensors, lists of significant blocks) are used as they are. Masters are
float64 (complex128 for complex filters); :meth:`Bank.prepare` casts them once per input dtype.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import numpy as np
import torch

__all__ = ["Bank", "COMPLEX", "REAL", "applied_as", "as_tensor", "complex_dtype"]

COMPLEX = "complex"
REAL = "real"


def applied_as(kind: str):
    """A dataclass field of a bank holding tensors (or tuples of them) applied as ``kind``."""
    return dataclasses.field(metadata={"applied_as": kind})


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def as_tensor(a, device=None) -> torch.Tensor:
    """A float64 (or complex128, or int64) master tensor of a NumPy array."""
    a = np.ascontiguousarray(a)
    dtype = torch.int64 if a.dtype.kind in "iu" else torch.complex128 if a.dtype.kind == "c" else torch.float64
    return torch.as_tensor(a, dtype=dtype, device=device)


@dataclasses.dataclass(frozen=True)
class Bank:
    """Base class of the filter banks. ``dtype`` is None for the float64 masters, else the input
    precision the bank is prepared for."""

    dtype: torch.dtype | None = dataclasses.field(default=None, kw_only=True)

    def prepare(self, dtype: torch.dtype) -> Bank:
        """The bank for inputs of ``dtype``: complex filters and real matrices of that precision.
        Returns the bank itself when it is already prepared for ``dtype``."""
        if self.dtype == dtype:
            return self
        changes = {f.name: _cast(getattr(self, f.name), f.metadata.get("applied_as"), dtype)
                   for f in dataclasses.fields(self) if f.name != "dtype"}
        return dataclasses.replace(self, **changes, dtype=dtype)

    def named_tensors(self, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
        """Every tensor of the bank with a name made of its field path (``psi1_0``, ``first_2_filters``)."""
        found = []
        for f in dataclasses.fields(self):
            if f.name != "dtype":
                found += _named(getattr(self, f.name), prefix + f.name)
        return found

    def with_tensors(self, tensors: Iterable) -> Bank:
        """The same layout with its tensors replaced, in the order of :meth:`named_tensors`."""
        return _replace(self, iter(tensors))


def _cast(value, kind: str | None, dtype: torch.dtype):
    if isinstance(value, Bank):
        return value.prepare(dtype)
    if isinstance(value, tuple):
        return tuple(_cast(v, kind, dtype) for v in value)
    if isinstance(value, torch.Tensor) and kind is not None:
        return value.to(complex_dtype(dtype) if kind == COMPLEX else dtype)
    return value


def _named(value, name: str) -> list[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        return [(name, value)]
    if isinstance(value, Bank):
        return value.named_tensors(name + "_")
    if isinstance(value, tuple):
        return [pair for i, v in enumerate(value) for pair in _named(v, f"{name}_{i}")]
    return []


def _replace(value, tensors: Iterator):
    if isinstance(value, torch.Tensor):
        return next(tensors)
    if isinstance(value, Bank):
        return dataclasses.replace(value, **{f.name: _replace(getattr(value, f.name), tensors)
                                             for f in dataclasses.fields(value) if f.name != "dtype"})
    if isinstance(value, tuple):
        return tuple(_replace(v, tensors) for v in value)
    return value
