"""``TimeFrequencyScattering``: joint time-frequency scattering as a torch.nn.Module."""
from __future__ import annotations

import numpy as np

from ..banks.timefrequency import build_bank_tf
from ..functional.timefrequency import timefrequency_scattering_with_plan
from ..plan.table import ChannelTable
from ..plan.timefrequency import plan_tf
from ._base import ScatteringModule

__all__ = ["TimeFrequencyScattering"]


class TimeFrequencyScattering(ScatteringModule):
    r"""Joint time-frequency scattering (Andén, Lostanlen & Mallat, IEEE TSP 2019), differentiable.

    Parameters
    ----------
    shape : int or tuple of one int
        Length N of the signals.
    J : int
        Log2 of the largest temporal scale, in [1, 24] (first-order bank and temporal wavelets). A
        small J with a large Q1 may leave no temporal wavelet slower than the scalogram's band: an
        InvalidParameterError then asks for a larger J.
    Q : int or tuple (Q1, Q2)
        Wavelets per octave of the first-order bank (Q1, default 8) and of the temporal wavelets
        of the second layer (Q2, default 1).
    J_fr : int
        Log2 of the largest scale along log-frequency; 2**J_fr must not exceed the number of
        first-order wavelets.
    Q_fr : int
        Frequential wavelets per octave.
    T : int, optional
        Temporal averaging scale (default 2**J), output subsampled by 2**floor(log2 T).
    F : int, optional
        Averaging scale along log-frequency, in [1, number of frequencies]; None (default) keeps
        every frequency row (covariance to transpositions), else the rows are averaged by phi_F and
        subsampled by 2**floor(log2 F): rows n1 = 0, 2**floor(log2 F), ... are kept.
    padding : {'reflect', 'periodic'}
        Time padding, as :class:`Scattering1D`. The frequency axis is always zero-padded.
    format : {'time', 'joint'}
        'time': (..., C, T_out), order 0 then one channel per (path, frequency row), described by
        :attr:`meta`. 'joint': (..., P, n_freq_out, T_out), one 2D map per path (order 1 first,
        then the second-order paths), described by :attr:`paths`; order 0 is left out.
    time_lowpass_paths : bool
        Also compute the paths with the low-pass phi_T in place of the temporal wavelet (after
        order 1; n2 = j2 = -1, xi2 = 0, spin +1 only): the time-averaged scalogram filtered along
        log-frequency by each frequential wavelet, its modulus averaged by phi_F. Default False.
        Kymatio's development branch always computes them (its first-order spinned paths).

    Notes
    -----
    .. math:: S_2 x(n_2, j_{fr}, s)(t, n_1) = \big|U_1 x \circledast \psi_{n_2}(t)\,
              \psi_{j_{fr}, s}(n_1)\big| \star \phi_T(t) \star \phi_F(n_1),
              \quad U_1 x(t, n_1) = |x \star \psi_{n_1}|(t),

    with spin :math:`s = +1` for rising frequencies (up-chirps), -1 for falling ones, 0 for the
    low-pass :math:`\phi_{2^{J_{fr}}}` along :math:`n_1`. Channel-table columns: order, n1, j1,
    xi1 (centre frequency of the row), n2, j2, xi2 (temporal wavelet), n_fr, j_fr, xi_fr, spin.

    Examples
    --------
    >>> import torch
    >>> from scatlab.nn.timefrequency import TimeFrequencyScattering
    >>> S = TimeFrequencyScattering(1024, J=5, Q=8, J_fr=2)
    >>> S(torch.randn(2, 1024)).shape == (2,) + S.output_shape
    True
    >>> rising = S.meta.select(order=2, spin=1)  # channels of the up-chirp spin
    """

    engine = staticmethod(timefrequency_scattering_with_plan)

    def __init__(self, shape, *, J: int, Q=8, J_fr: int = 3, Q_fr: int = 1, T: int | None = None,
                 F: int | None = None, padding: str = "reflect", format: str = "time",
                 time_lowpass_paths: bool = False):
        plan = plan_tf(shape, J, Q, J_fr, Q_fr, T, F, padding, format, time_lowpass_paths)
        params = dict(shape=(plan.length,), J=plan.J, Q=plan.Q, J_fr=plan.J_fr, Q_fr=plan.Q_fr, T=plan.T, F=plan.F,
                      padding=padding, format=format, time_lowpass_paths=time_lowpass_paths)
        super().__init__(params, plan, build_bank_tf(plan))

    @property
    def paths(self) -> ChannelTable:
        """One row per joint path: order 1, the (phi_T, psi_fr) paths if asked, then (n2, n_fr, spin) of every
        second-order path."""
        return self._plan.paths

    @property
    def frequencies(self) -> np.ndarray:
        """Centre frequency xi1 (cycles per sample) of each output frequency row."""
        return np.asarray(self._plan.first.psi1.xi)[self._plan.freq_rows]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._plan.output_shape
