r"""Orthogonal 2D wavelet packets of periodic fields, grouped into frequency bands of 1 or 1/2 octave.

A periodic two-channel filter bank splits a signal x of even length n into

.. math:: a[m] = \sum_k h[k - 2m]\,x[k],\qquad d[m] = \sum_k g[k - 2m]\,x[k],

(indices mod n), with a low-pass h and the high-pass :math:`\hat g(\omega) = e^{-i\omega}\,
\overline{\hat h(\omega + \pi)}`. It is orthogonal (its inverse is its transpose) whenever
:math:`|\hat h(\omega)|^2 + |\hat h(\omega + \pi)|^2 = 2` on the n DFT frequencies, so it is computed
exactly in the Fourier domain: a filter is just its DFT on the grid (an FIR filter periodized, or a filter
defined in frequency), the convolution a product, and the subsampling the fold
:math:`\hat a(q) = \tfrac12(\hat y(q) + \hat y(q + n/2))` (Mallat, "A wavelet tour of signal processing",
3rd ed., ch. 7-8). Splitting both outputs again, ``depth`` times, gives the full wavelet packet tree
(Coifman, Meyer & Wickerhauser 1992); along one axis the :math:`2^{depth}` packets are put in frequency
order by the Gray code (the packet of Paley index p = f XOR (f >> 1) covers the f-th frequency interval,
because subsampling a high-pass band mirrors its spectrum). In 2D the tree is the tensor product of the
two 1D trees: packet (f1, f2) covers frequencies near
:math:`|\omega_1| \in [f_1, f_1 + 1]\pi/2^{depth}`, :math:`|\omega_2| \in [f_2, f_2 + 1]\pi/2^{depth}`.

Bands. As in Guth, Lempereur, Bruna & Mallat ("Conditionally strongly log-concave generative models",
ICML 2023, arXiv 2306.00181, Fig. 2) and the public code of its second author
(https://github.com/Elempereur/WCRG: ``WCRG/Models/bands.py``, ``Wavelet_Packets/``), a band is the
set of packets whose larger frequency index :math:`\max(f_1, f_2)` lies in [lo, hi): a square annulus
in frequency. With 1-octave bands ([P/2, P), [P/4, P/2), ..., P = 2^depth) the finest band spans exactly
the detail space of one level of the orthogonal wavelet transform with the same filter; 1/2-octave bands
split each octave [M, 2M) into [3M/2, 2M) and [M, 3M/2), so the finest one keeps
:math:`\max(|\omega_1|, |\omega_2|) \ge 3\pi/4`. That code iterates periodic orthogonal Daubechies
filters (``Db_wavelets(m=4)``, 8 taps, in its example notebook) in a frequency-ordered quadtree.

Filters (``wavelet``): ``"haar"`` (2 taps, the space of :mod:`scatlab.generation.wavelets`), ``"db<p>"``
(Daubechies with p vanishing moments, 2p taps, p = 1..10, by spectral factorization; ``"db4"`` is the
WCRG choice) and ``"shannon"`` (the ideal half-band filter :math:`\hat h = \sqrt2` on
:math:`|\omega| < \pi/2`, 0 beyond, 1 at :math:`\pm\pi/2`: the best frequency localization an
orthogonal packet can have, so a bound on what any filter can achieve; its atoms decay slowly in space,
which does not matter for exact Hessians). All three share this one Fourier-domain code path, so the
Haar case is cross-checked against the direct Haar transform.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import re

import numpy as np
import torch

from ..errors import InvalidParameterError, ShapeError

__all__ = ["daubechies", "WaveletPackets2D", "PacketBand", "band_ranges"]

_DB = re.compile(r"db(\d+)$")


def daubechies(p: int) -> np.ndarray:
    r"""The Daubechies low-pass filter with p vanishing moments (2p taps, :math:`\sum h = \sqrt2`), minimum phase.

    :math:`|\hat h(\omega)|^2 = 2\cos^{2p}(\omega/2)\,P(\sin^2(\omega/2))` with
    :math:`P(y) = \sum_{k<p}\binom{p-1+k}{k}y^k` (Daubechies, "Ten lectures on wavelets", 1992, ch. 6);
    the factor of P is built from the roots of :math:`z^{p-1}P((2 - z - 1/z)/4)` inside the unit circle.
    """
    if not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= 10:
        raise InvalidParameterError(f"The 'p' parameter of daubechies must be an int in [1, 10]. Got {p!r} instead.")
    # y = (2 - z - 1/z) / 4 = -(z - 1)^2 / (4 z): P(y) z^(p-1) = sum_k C(p-1+k, k) (-(z-1)^2 / 4)^k z^(p-1-k)
    poly = np.zeros(2 * p - 1)
    for k in range(p):
        term = np.array([1.0])
        for _ in range(k):
            term = np.polymul(term, [-0.25, 0.5, -0.25])  # -(z - 1)^2 / 4, highest power first
        term = np.concatenate([term, np.zeros(p - 1 - k)])  # times z^(p-1-k)
        poly[-len(term):] += math.comb(p - 1 + k, k) * term
    roots = np.roots(poly) if p > 1 else np.array([])
    inside = roots[np.abs(roots) < 1]
    h = np.real(np.poly(np.concatenate([inside, -np.ones(p)])))  # (1 + z)^p times the minimum-phase factor
    return h * math.sqrt(2) / h.sum()


def _lowpass_dft(wavelet: str, n: int) -> np.ndarray:
    """The DFT (n,) of the low-pass filter ``wavelet`` on n points (periodized FIR, or defined in frequency)."""
    if wavelet == "shannon":
        q = np.fft.fftfreq(n) * n  # integer frequencies in [-n/2, n/2)
        H = np.where(np.abs(q) < n / 4, math.sqrt(2), 0.0)
        return np.where(np.abs(q) == n / 4, 1.0, H).astype(complex)
    h = np.array([1.0, 1.0]) / math.sqrt(2) if wavelet == "haar" else daubechies(int(_DB.match(wavelet).group(1)))
    periodic = np.zeros(n)
    np.add.at(periodic, np.arange(len(h)) % n, h)
    return np.fft.fft(periodic)


@functools.lru_cache(maxsize=64)
def _filters(wavelet: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, G) DFTs (n,) of the orthogonal pair on n points: G(w) = exp(-i w) conj(H(w + pi))."""
    H = _lowpass_dft(wavelet, n)
    q = np.arange(n)
    G = np.exp(-2j * np.pi * q / n) * np.conj(np.roll(H, -(n // 2)))
    return H, G


def _split_last(x: torch.Tensor, wavelet: str) -> torch.Tensor:
    """One two-channel analysis along the last axis: x (..., c, n) -> (..., 2c, n/2), channel k -> 2k low, 2k+1 high."""
    n = x.shape[-1]
    H, G = (torch.as_tensor(f, device=x.device) for f in _filters(wavelet, n))
    X = torch.fft.fft(x.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64), dim=-1)
    out = []
    for F in (H, G):
        Y = X * F.conj().to(X.dtype)
        out.append(torch.fft.ifft(0.5 * (Y[..., : n // 2] + Y[..., n // 2:]), dim=-1).real)
    return torch.stack(out, dim=-2).flatten(-3, -2)


def _merge_last(c: torch.Tensor, wavelet: str) -> torch.Tensor:
    """The transpose (and inverse) of :func:`_split_last`: (..., 2c, m) -> (..., c, 2m)."""
    m = c.shape[-1]
    H, G = (torch.as_tensor(f, device=c.device) for f in _filters(wavelet, 2 * m))
    pairs = c.unflatten(-2, (-1, 2))
    C = torch.fft.fft(pairs.to(torch.complex128 if c.dtype == torch.float64 else torch.complex64), dim=-1)
    C = torch.cat([C, C], dim=-1)  # upsampling by 2 tiles the spectrum
    X = C[..., 0, :] * H.to(C.dtype) + C[..., 1, :] * G.to(C.dtype)
    return torch.fft.ifft(X, dim=-1).real


def _gray(f: int) -> int:
    return f ^ (f >> 1)


@dataclasses.dataclass(frozen=True)
class WaveletPackets2D:
    r"""The full orthogonal wavelet packet transform of periodic N x N fields to ``depth`` levels (module docstring).

    Parameters
    ----------
    N : int
        Lattice side, divisible by ``2**depth``.
    depth : int
        Levels of the tree, >= 1; P = 2**depth packets per axis, each of side N / P.
    wavelet : str
        ``"haar"``, ``"db1"``...``"db10"`` or ``"shannon"``.

    Shape
    -----
    :meth:`decompose`: (..., N, N) -> (..., P, P, N/P, N/P), packet [f1, f2] in frequency order (f1 along rows);
    :meth:`reconstruct` is its exact inverse (and transpose). float32 and float64 keep their dtype.

    Examples
    --------
    >>> W = WaveletPackets2D(16, 2, "db4")
    >>> c = W.decompose(torch.randn(3, 16, 16, dtype=torch.float64))
    >>> tuple(c.shape)
    (3, 4, 4, 4, 4)
    """

    N: int
    depth: int
    wavelet: str = "db4"

    def __post_init__(self):
        if not isinstance(self.depth, int) or isinstance(self.depth, bool) or self.depth < 1:
            raise InvalidParameterError(f"The 'depth' parameter of WaveletPackets2D must be an int >= 1. "
                                        f"Got {self.depth!r} instead.")
        if (not isinstance(self.N, int) or isinstance(self.N, bool) or self.N < 2 ** self.depth
                or self.N % (2 ** self.depth)):
            raise InvalidParameterError(f"The 'N' parameter of WaveletPackets2D must be an int divisible by "
                                        f"2**depth = {2 ** self.depth}. Got {self.N!r} instead; use a power of two.")
        ok = self.wavelet in ("haar", "shannon") or (isinstance(self.wavelet, str) and _DB.match(self.wavelet)
                                                     and 1 <= int(_DB.match(self.wavelet).group(1)) <= 10)
        if not ok:
            raise InvalidParameterError(f"The 'wavelet' parameter of WaveletPackets2D must be 'haar', 'db1'...'db10' "
                                        f"or 'shannon'. Got {self.wavelet!r} instead.")

    @property
    def P(self) -> int:
        """Packets per axis, 2**depth."""
        return 2 ** self.depth

    def _order(self) -> list[int]:
        return [_gray(f) for f in range(self.P)]  # Paley index of the packet of frequency index f

    def decompose(self, x: torch.Tensor) -> torch.Tensor:
        """Fields (..., N, N) -> packets (..., P, P, N/P, N/P) in frequency order."""
        _check_fields(x, self.N)
        order = torch.tensor(self._order(), device=x.device)
        c = x.unsqueeze(-2)  # (..., N, 1, N): one channel along columns
        for _ in range(self.depth):
            c = _split_last(c, self.wavelet)
        c = c.index_select(-2, order)  # (..., N, P, n)
        c = c.movedim(-3, -1).unsqueeze(-2)  # (..., P, n, 1, N): rows last
        for _ in range(self.depth):
            c = _split_last(c, self.wavelet)
        c = c.index_select(-2, order)  # (..., P2, n2, P1, n1)
        return c.permute(*range(c.ndim - 4), c.ndim - 2, c.ndim - 4, c.ndim - 1, c.ndim - 3).contiguous()

    def reconstruct(self, c: torch.Tensor) -> torch.Tensor:
        """Packets (..., P, P, N/P, N/P) -> fields (..., N, N): the exact inverse of :meth:`decompose`."""
        n = self.N // self.P
        if not isinstance(c, torch.Tensor) or c.ndim < 4 or tuple(c.shape[-4:]) != (self.P, self.P, n, n):
            shape = tuple(c.shape) if isinstance(c, torch.Tensor) else type(c).__name__
            raise ShapeError(f"WaveletPackets2D.reconstruct: packets must have shape (..., {self.P}, {self.P}, {n}, "
                             f"{n}). Got {shape}.")
        inverse = torch.tensor(np.argsort(self._order()), device=c.device)  # frequency -> Paley order
        lead = c.ndim - 4
        t = c.permute(*range(lead), lead + 1, lead + 3, lead, lead + 2)  # (..., P2, n2, P1, n1)
        t = t.index_select(-2, inverse)
        for _ in range(self.depth):
            t = _merge_last(t, self.wavelet)
        t = t.squeeze(-2).movedim(-1, -3)  # (..., N, P2, n2)
        t = t.index_select(-2, inverse)
        for _ in range(self.depth):
            t = _merge_last(t, self.wavelet)
        return t.squeeze(-2)


def band_ranges(depth: int, bandwidth: float) -> list[tuple[int, int]]:
    r"""The bands [lo, hi) of :math:`\max(f_1, f_2)` at ``depth``, finest first, down to (0, 1) (the low-pass x_J).

    ``bandwidth`` 1: octaves [P/2, P), [P/4, P/2), ..., [1, 2); 0.5: each octave [M, 2M) with M >= 2 split into
    [3M/2, 2M) and [M, 3M/2) (the octave [1, 2) cannot be split at this depth).
    """
    if bandwidth not in (1, 0.5):
        raise InvalidParameterError(f"The 'bandwidth' parameter must be 1 or 0.5 (octaves). Got {bandwidth!r} instead.")
    P, bands = 2 ** depth, []
    M = P // 2
    while M >= 1:
        if bandwidth == 0.5 and M >= 2:
            bands += [(3 * M // 2, 2 * M), (M, 3 * M // 2)]
        else:
            bands.append((M, 2 * M))
        M //= 2
    return bands + [(0, 1)]


class PacketBand:
    r"""The coordinates of one frequency band of orthogonal wavelet packets of N x N periodic fields.

    ``band`` = 1 is the finest band :math:`\bar x_1` of bandwidth ``bandwidth`` (1 or 0.5 octave), 2 the next, ...
    The tree depth is the smallest that resolves the band (1 octave: depth = band; 1/2 octave: the octave's
    index + 1). :meth:`analysis` (B, N, N) -> (B, d) gives the band's coefficients, :meth:`synthesis`
    (B, d) -> (B, N, N) the field they synthesize (every other coefficient 0): its transpose. So
    :math:`S^T\nabla^2E(x)S` is the Hessian of E restricted to the band at x, the exact Hessian of
    :math:`-\log p(\bar x_1 \mid x_1)` for the finest band.
    """

    def __init__(self, N: int, wavelet: str = "db4", bandwidth: float = 1, band: int = 1):
        if not isinstance(band, int) or isinstance(band, bool) or band < 1:
            raise InvalidParameterError(f"The 'band' parameter of PacketBand must be an int >= 1. Got {band!r}.")
        if bandwidth not in (1, 0.5):
            raise InvalidParameterError(f"The 'bandwidth' parameter of PacketBand must be 1 or 0.5 (octaves). "
                                        f"Got {bandwidth!r} instead.")
        depth = band if bandwidth == 1 else (band + 1) // 2 + 1
        if not isinstance(N, int) or N % (2 ** depth) or N < 2 ** depth:
            raise InvalidParameterError(f"The 'N' parameter of PacketBand must be divisible by 2**{depth} for band "
                                        f"{band} of {bandwidth} octave. Got {N!r}.")
        self.N, self.wavelet, self.bandwidth, self.band = N, wavelet, bandwidth, band
        self.packets = WaveletPackets2D(N, depth, wavelet)
        self.lo, self.hi = band_ranges(depth, bandwidth)[band - 1]
        f = torch.arange(self.packets.P)
        top = torch.maximum(f[:, None], f[None, :])
        self.mask = (top >= self.lo) & (top < self.hi)  # (P, P) packets of the band
        n = N // self.packets.P
        self.d = int(self.mask.sum()) * n * n

    def analysis(self, fields: torch.Tensor) -> torch.Tensor:
        """Fields (B, N, N) -> band coefficients (B, d)."""
        if not isinstance(fields, torch.Tensor) or fields.ndim != 3:
            shape = tuple(fields.shape) if isinstance(fields, torch.Tensor) else type(fields).__name__
            raise ShapeError(f"PacketBand.analysis: fields must have shape (B, {self.N}, {self.N}). Got {shape}.")
        c = self.packets.decompose(fields)
        return c[:, self.mask.to(c.device)].reshape(fields.shape[0], -1)

    def synthesis(self, z: torch.Tensor) -> torch.Tensor:
        """Band coefficients (B, d) -> fields (B, N, N) (the coefficients outside the band are 0)."""
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.d:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ShapeError(f"PacketBand.synthesis: coefficients must have shape (B, {self.d}). Got {shape}.")
        P, n = self.packets.P, self.N // self.packets.P
        c = z.new_zeros((z.shape[0], P, P, n, n))
        c[:, self.mask.to(z.device)] = z.reshape(z.shape[0], -1, n, n)
        return self.packets.reconstruct(c)

    def __repr__(self) -> str:
        return (f"PacketBand(N={self.N}, wavelet={self.wavelet!r}, bandwidth={self.bandwidth}, band={self.band}: "
                f"max(f1, f2) in [{self.lo}, {self.hi}) of {self.packets.P}, d={self.d})")


def _check_fields(x: torch.Tensor, N: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or tuple(x.shape[-2:]) != (N, N):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(f"WaveletPackets2D: fields must be tensors (..., {N}, {N}). Got {shape}.")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"WaveletPackets2D: fields must be float32 or float64. Got {x.dtype}.")
