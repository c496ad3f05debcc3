r"""The orthogonal 2D Haar wavelet transform of periodic fields, and its exact inverse.

One level maps x (..., N, N), N even, to the coarse field and three details (..., N/2, N/2): on every
2 x 2 block [[a, b], [c, d]],

.. math:: x_1 = \tfrac12(a + b + c + d),\quad
          \bar x_1 = \tfrac12\big(a - b + c - d,\; a + b - c - d,\; a - b - c + d\big),

an orthogonal change of coordinates (the four rows are orthonormal), so the inverse is the transpose
and :math:`\|x\|^2 = \|x_1\|^2 + \|\bar x_1\|^2`. Iterating on the coarse field gives the factorization
:math:`x_0 \leftrightarrow (x_J, \bar x_J, \dots, \bar x_1)` behind :math:`p(x_0) = p(x_J)\prod_j
p(\bar x_j | x_j)` (Mallat, "A wavelet tour of signal processing", ch. 7; Guth, Lempereur, Bruna &
Mallat, ICML 2023). The Haar filters need no boundary handling, hence no library (PyWavelets, ptwt):
four slices and sums. The ``levels``-level transform needs N divisible by :math:`2^{levels}`; the full
factorization down to one coefficient (:func:`check_lattice`) needs N a power of two.
"""
from __future__ import annotations

import torch

from ..errors import InvalidParameterError, ShapeError

__all__ = ["haar2d", "ihaar2d", "haar_decompose", "haar_reconstruct", "check_lattice", "max_levels"]


def check_lattice(N: int) -> int:
    """Check that the lattice side N is a power of two >= 2 (needed by the full Haar factorization); return log2 N."""
    if not isinstance(N, int) or isinstance(N, bool) or N < 2 or N & (N - 1):
        raise InvalidParameterError(f"The lattice size 'L' must be a power of two >= 2 for the Haar wavelet "
                                    f"factorization. Got {N!r} instead; use 16, 32 or 64.")
    return N.bit_length() - 1


def max_levels(N: int) -> int:
    """The number of Haar levels of a power-of-two lattice side N (down to a single coefficient)."""
    return check_lattice(N)


def haar2d(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One orthogonal Haar level: fields (..., N, N) -> (coarse (..., N/2, N/2), details (..., 3, N/2, N/2))."""
    _check_square(x, "haar2d")
    if x.shape[-1] % 2:
        raise ShapeError(f"haar2d: the lattice side must be even. Got {tuple(x.shape[-2:])}; use a power of two.")
    a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    coarse = (a + b + c + d) / 2
    details = torch.stack([(a - b + c - d) / 2, (a + b - c - d) / 2, (a - b - c + d) / 2], dim=-3)
    return coarse, details


def ihaar2d(coarse: torch.Tensor, details: torch.Tensor) -> torch.Tensor:
    """The exact inverse (transpose) of :func:`haar2d`: (coarse, details) -> fields (..., N, N)."""
    if details.shape[-3:] != (3,) + tuple(coarse.shape[-2:]) or details.shape[:-3] != coarse.shape[:-2]:
        raise ShapeError(f"ihaar2d: details must have shape coarse.shape[:-2] + (3, n, n). Got coarse "
                         f"{tuple(coarse.shape)}, details {tuple(details.shape)}.")
    h, v, g = details.unbind(-3)
    n = coarse.shape[-1]
    x = coarse.new_empty(coarse.shape[:-2] + (2 * n, 2 * n))
    x[..., 0::2, 0::2] = (coarse + h + v + g) / 2
    x[..., 0::2, 1::2] = (coarse - h + v - g) / 2
    x[..., 1::2, 0::2] = (coarse + h - v - g) / 2
    x[..., 1::2, 1::2] = (coarse - h - v + g) / 2
    return x


def haar_decompose(x: torch.Tensor, levels: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``levels`` Haar levels: x_0 -> (x_J, [xbar_1, ..., xbar_J]), xbar_j (..., 3, N/2^j, N/2^j) (finest first)."""
    _check_square(x, "haar_decompose")
    _check_levels(x.shape[-1], levels)
    details = []
    for _ in range(levels):
        x, d = haar2d(x)
        details.append(d)
    return x, details


def haar_reconstruct(coarse: torch.Tensor, details: list[torch.Tensor]) -> torch.Tensor:
    """The exact inverse of :func:`haar_decompose` (details finest first)."""
    for d in reversed(details):
        coarse = ihaar2d(coarse, d)
    return coarse


def _check_square(x: torch.Tensor, owner: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(f"{owner}: fields must be square tensors (..., N, N). Got {shape}.")


def _check_levels(N: int, levels: int) -> None:
    if not isinstance(levels, int) or isinstance(levels, bool) or levels < 1:
        raise InvalidParameterError(f"The 'levels' parameter must be an int >= 1. Got {levels!r} instead.")
    if N % (2 ** levels):
        raise InvalidParameterError(f"The 'levels' parameter ({levels}) needs the lattice size L={N} to be divisible "
                                    f"by 2**levels = {2 ** levels}; use a power-of-two L or fewer levels.")
