"""Fourier-domain building blocks shared by the engines: checks, periodization, low-pass, chunks."""
from __future__ import annotations

import torch

from ..errors import DataError, ShapeError

__all__ = ["check_input", "periodize", "lowpass_1d", "lowpass_2d", "batch_chunks"]


def check_input(x, owner: str, signal_shape: tuple[int, ...], dtype: torch.dtype | None = None) -> None:
    """Raise a clear error for a non-tensor, a non-float dtype, a wrong shape or NaN/Inf values."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{owner} takes a torch.Tensor; got {type(x).__name__}. Use torch.as_tensor(x).")
    if not x.dtype.is_floating_point or x.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"{owner} takes float32 or float64 input; got {x.dtype}. Convert with x.float() or x.double()."
        )
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"{owner}: the input is {x.dtype} but the filters are {dtype}; call .to({x.dtype}) on the"
            f" module, or convert the input with .to({dtype})."
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


def periodize(z: torch.Tensor, factor: int, ndim: int) -> torch.Tensor:
    """Mean of the ``factor`` periods along each of the last ``ndim`` axes of a spectrum.

    This is the DFT of the signal subsampled by ``factor``: x[k n] <-> mean_p X[m + p N/k].
    """
    if factor == 1:
        return z
    shape = z.shape[:-ndim]
    dims = []
    for i, n in enumerate(z.shape[-ndim:]):
        shape += (factor, n // factor)
        dims.append(len(z.shape) - ndim + 2 * i)
    return z.reshape(shape).mean(dim=tuple(dims))


def lowpass_1d(u_hat: torch.Tensor, phi: torch.Tensor, factor: int, start: int, stop: int) -> torch.Tensor:
    """Real signal of spectrum u_hat (full, length n) convolved with phi, subsampled, cropped.

    Only the non-negative half of the periodized spectrum is formed (the result is real).
    """
    n = u_hat.shape[-1] // factor
    half = n // 2 + 1
    z = u_hat.reshape(u_hat.shape[:-1] + (factor, n))[..., :half]
    y = (z * phi.reshape(factor, n)[..., :half]).mean(dim=-2)
    return torch.fft.irfft(y, n=n)[..., start:stop]


def lowpass_2d(u_hat: torch.Tensor, phi: torch.Tensor, factor: int, crop: int, out_shape) -> torch.Tensor:
    """2D twin of :func:`lowpass_1d`, cropping ``crop`` samples on each side of the output."""
    m, n = u_hat.shape[-2] // factor, u_hat.shape[-1] // factor
    half = n // 2 + 1
    z = u_hat.reshape(u_hat.shape[:-2] + (factor, m, factor, n))[..., :half]
    y = (z * phi.reshape(factor, m, factor, n)[..., :half]).mean(dim=(-4, -2))
    s = torch.fft.irfft2(y, s=(m, n))
    return s[..., crop : crop + out_shape[0], crop : crop + out_shape[1]]


def batch_chunks(x: torch.Tensor, per_sample_elements: int, budget: int) -> list[torch.Tensor]:
    """Split the batch so the largest complex intermediate holds about ``budget`` elements.

    On a CPU this keeps the working set near the caches; on a GPU the budget is larger.
    """
    size = max(1, budget // max(per_sample_elements, 1))
    return list(x.split(size, dim=0)) if x.shape[0] > size else [x]
