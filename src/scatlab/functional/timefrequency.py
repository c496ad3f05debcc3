r"""Joint time-frequency scattering as pure torch functions of (input, plan, bank).

Andén, Lostanlen & Mallat, "Joint time-frequency scattering", IEEE TSP 2019 (and Lostanlen's
thesis, 2017). With the scalogram :math:`U_1 x(t, n_1) = |x\star\psi_{n_1}|(t)`,

.. math::
    S_0 x = x\star\phi_T,\qquad S_1 x = U_1 x \star \phi_T \star_{n_1} \phi_F,\qquad
    S_2 x(n_2, j_{fr}, s) = |U_1 x \circledast \Psi_{n_2, j_{fr}, s}| \star\phi_T\star_{n_1}\phi_F,

where :math:`\Psi_{n_2, j_{fr}, s}(t, n_1) = \psi_{n_2}(t)\,\psi_{j_{fr}, s}(n_1)` is a separable 2D
wavelet over time and log-frequency, :math:`s = \pm 1` its spin (see
:mod:`scatlab.filters.frequential`) and :math:`s = 0` the low-pass :math:`\phi_{2^{J_{fr}}}` along
:math:`n_1`. :math:`\phi_F` is the identity when ``F`` is None. The frequency axis is zero-padded.

One 2D FFT of the scalogram per signal; per temporal block one batched product and one inverse
FFT along time; per (temporal block, frequential group) one batched product and one inverse FFT
along frequency over all their wavelets (the frequential filters commute with the time transform).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..errors import ShapeError
from ..filters.frequential import frequential_bank
from ..filters.morlet1d import gaussian_fourier_1d, morlet_fourier_1d, periodize_fourier
from ..plan.timefrequency import PlanTF, plan_tf
from ._fourier import batch_chunks, check_input, empty_output
from ._ops import cast_complex, cast_real, filter_subsample, lowpass_matrix, modulus, significant_blocks

__all__ = ["BankTF", "build_bank_tf", "timefrequency_scattering", "timefrequency_scattering_with_plan"]

OWNER = "TimeFrequencyScattering"
CHUNK_ELEMENTS = 2**21


@dataclass(frozen=True)
class BankTF:
    """Filters as the engine applies them.

    ``phi[k]``: time low-pass at level k (length padded / 2^k), times 2^k / 2^(log2_T - k);
    ``psi1[g]``: first-order wavelets of first group g, divided by 2^k;
    ``psi2[b]``: temporal wavelets of block b at level k1, shape (n, 1, padded / 2^k1), times 2^k1 / 2^(k2 - k1);
    ``fr[g]``: frequential filters of group g, shape (m, 1, fr_padded), divided by 2^kf;
    ``avg_fr[g]`` (real): the matrix of phi_F (or of the crop when F is None) at level kf of group g;
    ``avg_fr1`` (real): the same for the unpadded scalogram rows (order 1).
    """

    phi: tuple[torch.Tensor, ...]
    psi1: tuple[torch.Tensor, ...]
    psi2: tuple[torch.Tensor, ...]
    fr: tuple[torch.Tensor, ...]
    avg_fr: tuple[torch.Tensor, ...]
    avg_fr1: torch.Tensor
    phi_blocks: tuple
    psi1_blocks: tuple
    psi2_blocks: tuple

    def blocks(self) -> tuple:
        return self.phi_blocks, self.psi1_blocks, self.psi2_blocks

    def prepare(self, dtype: torch.dtype) -> "BankTF":
        """Complex filters and real matrices in the precision of ``dtype``."""
        c = lambda fs: cast_complex(fs, dtype)  # noqa: E731
        return BankTF(c(self.phi), c(self.psi1), c(self.psi2), c(self.fr), cast_real(self.avg_fr, dtype),
                      self.avg_fr1.to(dtype), *self.blocks())


def _avg_matrix(plan: PlanTF, kf: int) -> np.ndarray:
    """Rows: output frequency rows; columns: the padded frequency axis at level kf."""
    n = plan.fr_padded // 2**kf
    k_out = plan.log2_F
    start, out_len = plan.fr_start[k_out], plan.n_freq_out
    if plan.F is None:
        return np.eye(n)[start : start + out_len]
    phi = periodize_fourier(gaussian_fourier_1d(plan.fr_padded, plan.sigma_F), 2**kf) * 2**kf
    # crop counts rows at level log2_F, i.e. positions 2^(k_out - kf) (i + start) at level kf
    return lowpass_matrix(phi, 2 ** (k_out - kf), start, out_len)


def build_bank_tf(plan: PlanTF, device=None) -> BankTF:
    """Compute the filters of ``plan`` as float64 tensors (cast to the input's precision later).

    A filter applied at subsampling 2^k is multiplied by 2^k (``normalize='resolution'`` of
    :class:`Scattering1D`): every coefficient is a sample of the full-resolution convolutions,
    whatever the internal subsampling, so that all rows of the scalogram share one scale.
    """
    N, log2_T, k1 = plan.first.padded_length, plan.first.log2_T, plan.k1
    phi0 = gaussian_fourier_1d(N, plan.first.sigma_low)
    phi = [periodize_fourier(phi0, 2**k) * 2**k / 2 ** (log2_T - k) for k in range(log2_T + 1)]
    phi_blocks = tuple(significant_blocks(h, 2 ** (log2_T - k), 1) for k, h in enumerate(phi))
    psi1_all = morlet_fourier_1d(N, plan.first.psi1.xi, plan.first.psi1.sigma)
    psi1 = [psi1_all[g.start : g.stop] / 2**g.k for g in plan.first_groups]
    psi1_blocks = tuple(significant_blocks(h, 2**g.k, 1) for h, g in zip(psi1, plan.first_groups))
    psi2_all = periodize_fourier(morlet_fourier_1d(N, plan.psi2.xi, plan.psi2.sigma), 2**k1)
    psi2 = [psi2_all[b.start : b.stop, None, :] * 2**k1 / 2 ** (b.k2 - k1) for b in plan.time_blocks]
    psi2_blocks = tuple(significant_blocks(h, 2 ** (b.k2 - k1), 1) for h, b in zip(psi2, plan.time_blocks))
    up, down, low = frequential_bank(plan.fr_padded, plan.psi_fr, plan.sigma_fr)
    fr, avg_fr = [], []
    for g in plan.freq_groups:
        rows = [low if spin == 0 else (up if spin > 0 else down)[n_fr] for n_fr, spin in g.members]
        fr.append(np.stack(rows)[:, None, :] / 2**g.kf)
        avg_fr.append(_avg_matrix(plan, g.kf))
    avg_fr1 = _avg_matrix(plan, 0)[:, plan.fr_pad_left : plan.fr_pad_left + plan.n_freq]

    def tensor(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64, device=device)

    return BankTF(
        tuple(map(tensor, phi)), tuple(map(tensor, psi1)), tuple(map(tensor, psi2)), tuple(map(tensor, fr)),
        tuple(map(tensor, avg_fr)), tensor(avg_fr1), phi_blocks, psi1_blocks, psi2_blocks,
    )


def _per_sample_elements(plan: PlanTF) -> int:
    n = plan.first.padded_length
    sizes = [plan.fr_padded * n // 2**plan.k1, plan.n_freq * n]
    for b in plan.time_blocks:
        for g in plan.freq_groups:
            sizes.append((b.stop - b.start) * len(g.members) * plan.fr_padded * n // 2**b.k2)
    return max(sizes)


def timefrequency_scattering_with_plan(x: torch.Tensor, plan: PlanTF, bank: BankTF) -> torch.Tensor:
    """Coefficients of x (..., length): (..., C, T_out) ('time') or (..., P, n_freq_out, T_out) ('joint')."""
    check_input(x, OWNER, (plan.length,))
    bank = bank.prepare(x.dtype)
    batch_shape = x.shape[:-1]
    flat = x.reshape(-1, plan.length)
    if flat.shape[0] == 0:
        return empty_output(x, batch_shape + plan.output_shape)
    if plan.padding == "reflect":
        flat = flat.index_select(-1, torch.as_tensor(plan.first.pad_index, device=x.device))
    chunks = batch_chunks(flat, _per_sample_elements(plan), CHUNK_ELEMENTS)
    order0, joint = zip(*(_scatter(chunk, plan, bank) for chunk in chunks))
    order0, joint = torch.cat(order0), torch.cat(joint)
    if plan.format == "joint":
        return joint.reshape(batch_shape + joint.shape[1:])
    out = torch.cat([order0.unsqueeze(1), joint.flatten(1, 2)], dim=1)
    return out.reshape(batch_shape + out.shape[1:])


def _lowpass_time(u: torch.Tensor, plan: PlanTF, bank: BankTF, k: int) -> torch.Tensor:
    """Real u (..., padded / 2^k) at level k, convolved with phi_T, subsampled to log2_T, cropped.

    From the half spectrum (rfft) only: the fold of the periods of (u * phi)^ is Hermitian, so its
    first n_out / 2 + 1 bins suffice; a period above the Nyquist bin is read, mirrored and
    conjugated, from the half spectrum.
    """
    k_out = plan.first.log2_T
    n = u.shape[-1]
    n_out = n // 2 ** (k_out - k)
    half = n_out // 2 + 1
    r = torch.fft.rfft(u)
    phi = bank.phi[k]
    acc = None
    for (b,) in bank.phi_blocks[k]:
        start = b * n_out
        if start + half - 1 <= n // 2:
            seg = r[..., start : start + half]
        else:  # bins start + j (j < half) are the conjugates of bins n - start - j
            seg = r[..., n - start - half + 1 : n - start + 1].flip(-1).conj()
        term = seg * phi[start : start + half]
        acc = term if acc is None else acc + term
    return torch.fft.irfft(acc, n=n_out)[..., plan.first.start[k_out] : plan.first.stop[k_out]]


def _average_freq(s: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply ``matrix`` along the frequency axis (-2) of s (..., n_freq, T_out)."""
    return torch.matmul(matrix, s)


def _scatter(x: torch.Tensor, plan: PlanTF, bank: BankTF) -> tuple[torch.Tensor, torch.Tensor]:
    """x: (B, padded) real. Returns order 0 (B, T_out) and the joint paths (B, P, n_freq_out, T_out)."""
    k1 = plan.k1
    x_hat = torch.fft.fft(x)
    order0 = _lowpass_time(x, plan, bank, 0)
    # scalogram U1 (B, n_freq, padded / 2^k1): per group at 2^k, modulus, then sampled at 2^k1
    x_hat = x_hat.unsqueeze(1)
    u1 = []
    for g, h, periods in zip(plan.first_groups, bank.psi1, bank.psi1_blocks):
        u = modulus(torch.fft.ifft(filter_subsample(x_hat, h, 2**g.k, periods)))
        u1.append(u[..., :: 2 ** (k1 - g.k)])
    u1 = torch.cat(u1, dim=1)
    order1 = _average_freq(_lowpass_time(u1, plan, bank, k1), bank.avg_fr1)
    # 2D spectrum of the zero-padded scalogram
    left = plan.fr_pad_left
    u1 = torch.nn.functional.pad(u1, (0, 0, left, plan.fr_padded - plan.n_freq - left))
    u1_hat = torch.fft.fft2(u1).unsqueeze(1)  # (B, 1, fr_padded, n_t)
    paths = [order1.unsqueeze(1)]
    rows = slice(left, left + plan.n_freq)
    for b, h2, periods in zip(plan.time_blocks, bank.psi2, bank.psi2_blocks):
        # inverse FFT along time once per temporal wavelet, before the frequential filters (which
        # act on the frequency axis only): the 2D inverse FFT of every path is then a 1D one, along
        # the last axis after one transposition shared by all frequential filters
        y = filter_subsample(u1_hat, h2, 2 ** (b.k2 - k1), periods)  # (B, n2, F, n_t)
        y = torch.fft.ifft(y, dim=-1).transpose(-1, -2).contiguous().unsqueeze(2)  # (B, n2, 1, n_t, F)
        per_group = []
        for g, h_fr, avg in zip(plan.freq_groups, bank.fr, bank.avg_fr):
            z = y * h_fr  # (B, n2, m, n_t, F)
            if g.kf:
                z = z.unflatten(-1, (2**g.kf, -1)).sum(-2)
            u2 = modulus(torch.fft.ifft(z))
            # phi_F (or the crop of the padding) before phi_T: both linear, the smaller array is filtered in time
            u2 = u2[..., rows] if plan.F is None else torch.matmul(u2, avg.T)
            per_group.append(_lowpass_time(u2.transpose(-1, -2), plan, bank, b.k2))
        paths.append(torch.cat(per_group, dim=2).flatten(1, 2))
    return order0, torch.cat(paths, dim=1)


@lru_cache(maxsize=8)
def _cached_bank(plan: PlanTF, dtype: torch.dtype, device: torch.device) -> BankTF:
    return build_bank_tf(plan, device).prepare(dtype)


def timefrequency_scattering(x: torch.Tensor, *, J: int, Q=8, J_fr: int = 3, Q_fr: int = 1, T=None, F=None,
                             padding: str = "reflect", format: str = "time") -> torch.Tensor:
    """Functional twin of :class:`scatlab.TimeFrequencyScattering` (filters cached per dtype and device)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"timefrequency_scattering takes a torch.Tensor; got {type(x).__name__}."
                        " Use torch.as_tensor(x).")
    if x.dim() < 1:
        raise ShapeError("timefrequency_scattering takes signals of shape (..., N); got a 0-dimensional tensor.")
    plan = plan_tf(x.shape[-1], J, Q, J_fr, Q_fr, T, F, padding, format)
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    return timefrequency_scattering_with_plan(x, plan, _cached_bank(plan, dtype, x.device))
