"""Hot-path operators shared by the engines: modulus, filtering with subsampling, low-pass matrices."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["modulus", "filter_subsample", "fold", "lowpass_matrix", "apply_lowpass_2d"]


class _Modulus(torch.autograd.Function):
    """|z| for complex z, with gradient g z / |z| (and 0 where z = 0, the subgradient of least norm)."""

    @staticmethod
    def forward(ctx, z):
        r = torch.view_as_real(z)
        out = r[..., 0].square().addcmul_(r[..., 1], r[..., 1]).sqrt_()
        ctx.save_for_backward(z, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        z, out = ctx.saved_tensors
        scale = torch.where(out > 0, grad / out, torch.zeros_like(out))
        return z * scale


def modulus(z: torch.Tensor) -> torch.Tensor:
    """Complex modulus, faster than torch.abs on CPU, with a safe gradient at 0."""
    return _Modulus.apply(z)


def fold(z: torch.Tensor, factor: int, ndim: int) -> torch.Tensor:
    """Sum of the ``factor`` periods along each of the last ``ndim`` axes (periodization).

    Divided by factor^ndim this is the DFT of the signal subsampled by ``factor``. Implemented as
    sums of contiguous slices: reductions over strided complex axes are slow on CPU.
    """
    for axis in range(-ndim, 0):
        if factor > 1:
            parts = z.split(z.shape[axis] // factor, dim=axis)
            acc = parts[0] + parts[1]
            for part in parts[2:]:
                acc += part
            z = acc
    return z


def filter_subsample(z_hat: torch.Tensor, h: torch.Tensor, factor: int) -> torch.Tensor:
    """Spectrum of (z * h) subsampled by ``factor`` along the last two axes, up to 1/factor^2.

    Multiplies block by block and accumulates in place, so neither the full-size product nor a
    temporary per block is formed. The filters ``h`` are expected pre-divided by factor^2.
    """
    if factor == 1:
        return z_hat * h
    m, n = z_hat.shape[-2] // factor, z_hat.shape[-1] // factor
    acc = None
    for p in range(factor):
        for q in range(factor):
            rows, cols = slice(p * m, (p + 1) * m), slice(q * n, (q + 1) * n)
            if acc is None:
                acc = z_hat[..., rows, cols] * h[..., rows, cols]
            else:
                acc.addcmul_(z_hat[..., rows, cols], h[..., rows, cols])
    return acc


def lowpass_matrix(h_f: np.ndarray, factor: int, crop: int, out_len: int) -> np.ndarray:
    """Matrix A with (A u)[i] = (u * h)[factor (i + crop)]: circular convolution with the filter of
    Fourier transform ``h_f`` (real, even), subsampled by ``factor``, first ``crop`` samples dropped.
    """
    n = h_f.shape[-1]
    h = np.real(np.fft.ifft(h_f))
    rows = factor * (np.arange(out_len) + crop)
    return h[(rows[:, None] - np.arange(n)[None, :]) % n]


def apply_lowpass_2d(u: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """A_rows u A_cols^T on the last two axes: separable low-pass, subsampling and crop at once."""
    t = u @ cols.T  # (..., m, n_out)
    return (t.transpose(-1, -2) @ rows.T).transpose(-1, -2)
