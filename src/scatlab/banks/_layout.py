"""How filters are laid out for the engines: periods worth multiplying, low-pass filters as matrices."""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["BLOCK_RTOL", "significant_blocks", "lowpass_matrix"]

BLOCK_RTOL = 1e-9  # far below float32 rounding (6e-8): skipped blocks change no printed digit


def significant_blocks(h_f: np.ndarray, factor: int, ndim: int) -> tuple[tuple[int, ...], ...]:
    """Blocks (one index per axis) of a spectrum cut into ``factor`` periods per axis where the
    filters ``h_f`` (..., *grid) reach BLOCK_RTOL of their peak; the others are skipped."""
    blocks = list(itertools.product(range(factor), repeat=ndim))
    if factor == 1 or h_f.size == 0:
        return tuple(blocks)
    sizes = [s // factor for s in h_f.shape[-ndim:]]
    peak = np.abs(h_f).max()
    keep = []
    for block in blocks:
        index = (Ellipsis,) + tuple(slice(b * s, (b + 1) * s) for b, s in zip(block, sizes))
        if np.abs(h_f[index]).max() >= BLOCK_RTOL * peak:
            keep.append(block)
    return tuple(keep)



def lowpass_matrix(h_f: np.ndarray, factor: int, crop: int, out_len: int) -> np.ndarray:
    """Matrix A with (A u)[i] = (u * h)[factor (i + crop)]: circular convolution with the filter of
    Fourier transform ``h_f`` (real, even), subsampled by ``factor``, first ``crop`` samples dropped.
    """
    n = h_f.shape[-1]
    h = np.real(np.fft.ifft(h_f))
    rows = factor * (np.arange(out_len) + crop)
    return h[(rows[:, None] - np.arange(n)[None, :]) % n]
