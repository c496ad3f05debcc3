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
With ``time_lowpass_paths``, the paths with :math:`\phi_T` in place of the temporal wavelet,
:math:`|S_1' x \star_{n_1} \psi_{j_{fr}, +1}| \star_{n_1} \phi_F` with :math:`S_1' x = U_1 x \star \phi_T`
(not averaged along :math:`n_1`), follow order 1; spin -1 would repeat them (:math:`S_1' x` is real).

One 2D FFT of the scalogram per signal; per temporal block one batched product and one inverse
FFT along time; per (temporal block, frequential group) one batched product and one inverse FFT
along frequency over all their wavelets (the frequential filters commute with the time transform).
"""
from __future__ import annotations

import torch

from ..runtime.threads import small_calls_on_one_thread
from ..banks.timefrequency import BankTF, build_bank_tf
from ..plan.timefrequency import OWNER, PlanTF, plan_tf
from ._inputs import batch_chunks, cached_bank, check_input, empty_output, twin_input
from ._ops import filter_subsample, modulus

__all__ = ["timefrequency_scattering", "timefrequency_scattering_with_plan"]

CHUNK_ELEMENTS = 2**21


def _per_sample_elements(plan: PlanTF) -> int:
    n = plan.first.padded_length
    sizes = [plan.fr_padded * n // 2**plan.k1, plan.n_freq * n,
             sum(len(g.up) for g in plan.freq_groups) * plan.fr_padded * plan.output_length]
    for b in plan.time_blocks:
        for g in plan.freq_groups:
            sizes.append((b.stop - b.start) * len(g.members) * plan.fr_padded * n // 2**b.k2)
    return max(sizes)


@small_calls_on_one_thread
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


def _frequential(y_hat: torch.Tensor, h_fr: torch.Tensor, kf: int, avg: torch.Tensor, plan: PlanTF) -> torch.Tensor:
    """|y * h_fr| along the last axis (the padded frequency axis, y_hat its FFT), subsampled by 2^kf,
    then phi_F (its matrix ``avg``) or, when F is None, the crop of the padding."""
    z = y_hat * h_fr
    if kf:
        z = z.unflatten(-1, (2**kf, -1)).sum(-2)
    u = modulus(torch.fft.ifft(z))
    return u[..., plan.fr_pad_left : plan.fr_pad_left + plan.n_freq] if plan.F is None else torch.matmul(u, avg.T)


def _time_lowpass_paths(s1: torch.Tensor, plan: PlanTF, bank: BankTF) -> torch.Tensor:
    """s1 = U1 * phi_T (B, n_freq, T_out). Returns |s1 * psi_fr| * phi_F for the spin +1 wavelets (B, m, n_out, T_out)."""
    left = plan.fr_pad_left
    s = torch.nn.functional.pad(s1, (0, 0, left, plan.fr_padded - plan.n_freq - left))
    s_hat = torch.fft.fft(s.transpose(-1, -2)).unsqueeze(1)  # (B, 1, T_out, fr_padded)
    out = [_frequential(s_hat, h_fr[g.up], g.kf, avg, plan).transpose(-1, -2)
           for g, h_fr, avg in zip(plan.freq_groups, bank.fr, bank.avg_fr) if g.up]
    return torch.cat(out, dim=1)


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
    s1 = _lowpass_time(u1, plan, bank, k1)
    paths = [_average_freq(s1, bank.avg_fr1).unsqueeze(1)]
    if plan.time_lowpass_paths:
        paths.append(_time_lowpass_paths(s1, plan, bank))
    # 2D spectrum of the zero-padded scalogram
    left = plan.fr_pad_left
    u1 = torch.nn.functional.pad(u1, (0, 0, left, plan.fr_padded - plan.n_freq - left))
    u1_hat = torch.fft.fft2(u1).unsqueeze(1)  # (B, 1, fr_padded, n_t)
    for b, h2, periods in zip(plan.time_blocks, bank.psi2, bank.psi2_blocks):
        # inverse FFT along time once per temporal wavelet, before the frequential filters (which
        # act on the frequency axis only): the 2D inverse FFT of every path is then a 1D one, along
        # the last axis after one transposition shared by all frequential filters
        y = filter_subsample(u1_hat, h2, 2 ** (b.k2 - k1), periods)  # (B, n2, F, n_t)
        y = torch.fft.ifft(y, dim=-1).transpose(-1, -2).contiguous().unsqueeze(2)  # (B, n2, 1, n_t, F)
        per_group = []
        for g, h_fr, avg in zip(plan.freq_groups, bank.fr, bank.avg_fr):
            # (B, n2, m, n_t, n_out): phi_F (or the crop of the padding) before phi_T, both linear: the
            # smaller array is filtered in time
            u2 = _frequential(y, h_fr, g.kf, avg, plan)
            per_group.append(_lowpass_time(u2.transpose(-1, -2), plan, bank, b.k2))
        paths.append(torch.cat(per_group, dim=2).flatten(1, 2))
    return order0, torch.cat(paths, dim=1)


def timefrequency_scattering(x: torch.Tensor, *, J: int, Q=8, J_fr: int = 3, Q_fr: int = 1, T=None, F=None,
                             padding: str = "reflect", format: str = "time",
                             time_lowpass_paths: bool = False) -> torch.Tensor:
    """Functional twin of :class:`scatlab.TimeFrequencyScattering` (filters cached per dtype and device)."""
    dtype = twin_input(x, "timefrequency_scattering", 1, "(..., N)")
    plan = plan_tf(x.shape[-1], J, Q, J_fr, Q_fr, T, F, padding, format, time_lowpass_paths)
    return timefrequency_scattering_with_plan(x, plan, cached_bank(build_bank_tf, plan, dtype, x.device))
