"""Joint time-frequency scattering: a slow direct oracle, covariance along log-frequency on real
speech, chirp direction against spin, agreement with Scattering1D at order 1, gradients, shapes,
bad input."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from conftest import recording_segment, rel_err, load_recording

from scatlab import Scattering1D
from scatlab.errors import DataError, InvalidParameterError, ShapeError
from scatlab.filters.frequential import frequential_bank
from scatlab.filters.morlet1d import gaussian_fourier_1d, lowpass_half_support, morlet_fourier_1d
from scatlab.functional.timefrequency import timefrequency_scattering
from scatlab.nn.timefrequency import TimeFrequencyScattering


def oracle(x: np.ndarray, plan) -> tuple[np.ndarray, np.ndarray]:
    """(order 0, joint paths (P, n_freq_out, T_out)) at full resolution, one 2D FFT per path, from the
    definition: every convolution circular on the padded axes, subsampling only at the very end."""
    f = plan.first
    xp = np.asarray(x, dtype=float)[f.pad_index] if plan.padding == "reflect" else np.asarray(x, float)
    N = f.padded_length
    phi_t = gaussian_fourier_1d(N, f.sigma_low)
    kt, t0, t1 = f.log2_T, f.start[f.log2_T], f.stop[f.log2_T]
    Fp, left = plan.fr_padded, plan.fr_pad_left
    kf, r0, r1 = plan.log2_F, plan.fr_start[plan.log2_F], plan.fr_stop[plan.log2_F]

    def avg_time(u):
        return np.real(np.fft.ifft(np.fft.fft(u, axis=-1) * phi_t, axis=-1))[..., :: 2**kt][..., t0:t1]

    def avg_freq(s):
        if plan.F is not None:
            phi_f = gaussian_fourier_1d(Fp, plan.sigma_F)
            s = np.real(np.fft.ifft(np.fft.fft(s, axis=0) * phi_f[:, None], axis=0))
        return s[:: 2**kf][r0:r1]

    psi1 = morlet_fourier_1d(N, f.psi1.xi, f.psi1.sigma)
    u1 = np.zeros((Fp, N))
    u1[left : left + plan.n_freq] = np.abs(np.fft.ifft(np.fft.fft(xp)[None] * psi1, axis=-1))
    paths = [avg_freq(avg_time(u1))]
    psi2 = morlet_fourier_1d(N, plan.psi2.xi, plan.psi2.sigma)
    up, down, low = frequential_bank(Fp, plan.psi_fr, plan.sigma_fr)
    U = np.fft.fft2(u1)
    s1_hat = np.fft.fft(avg_time(u1), axis=0)  # U1 * phi_T, along n1
    for order, n2, n_fr, spin in zip(*(plan.paths[c] for c in ("order", "n2", "n_fr", "spin"))):
        if order == 2 and n2 == -1:  # (phi_T, psi_fr)
            paths.append(avg_freq(np.abs(np.fft.ifft(s1_hat * up[n_fr][:, None], axis=0))))
        elif order == 2:
            h_fr = low if spin == 0 else (up if spin > 0 else down)[n_fr]
            paths.append(avg_freq(avg_time(np.abs(np.fft.ifft2(U * h_fr[:, None] * psi2[n2][None, :])))))
    return avg_time(xp), np.stack(paths)


@pytest.mark.parametrize("N,J,Q,J_fr,F,padding,lowpass", [
    (256, 4, 4, 2, None, "reflect", False),
    (256, 4, 4, 2, 4, "reflect", False),
    (512, 5, 8, 3, 2, "periodic", False),
    (256, 4, 4, 2, None, "reflect", True),
    (512, 5, 8, 3, 8, "reflect", True),
])
def test_agrees_with_direct_oracle(N, J, Q, J_fr, F, padding, lowpass):
    x = recording_segment("3_nicolas_0.wav", N)
    S = TimeFrequencyScattering(N, J=J, Q=Q, J_fr=J_fr, F=F, padding=padding, format="joint",
                                time_lowpass_paths=lowpass)
    got = S(torch.tensor(x)).numpy()
    s0, expected = oracle(x, S.plan)
    assert got.shape == expected.shape == S.output_shape
    # the engine subsamples the scalogram and the 2D maps as early as their bands allow: the
    # aliased tails stay below 3e-3 of every path and 2e-4 overall
    assert rel_err(got, expected) < 2e-4
    assert max(rel_err(g, e) for g, e in zip(got, expected)) < 3e-3
    full = TimeFrequencyScattering(N, J=J, Q=Q, J_fr=J_fr, F=F, padding=padding,
                                   time_lowpass_paths=lowpass)(torch.tensor(x)).numpy()
    assert rel_err(full[0], s0) < 1e-10
    np.testing.assert_allclose(full[1:], got.reshape(-1, got.shape[-1]), rtol=0, atol=0)


def test_order_one_is_the_scalogram_of_scattering1d(recordings):
    x = torch.tensor(recordings["1_jackson_0.wav"][:1024])
    S = TimeFrequencyScattering(1024, J=6, Q=8, J_fr=3)
    S1 = Scattering1D(1024, J=6, Q=8, max_order=1, normalize="resolution")
    ref = S1(x)
    got = S(x)[: ref.shape[0]]
    for column in ("order", "n1", "j1"):
        np.testing.assert_array_equal(S.meta[column][: ref.shape[0]], S1.meta[column])
    # the joint transform samples every scalogram row at one rate 2^k1 (the 1D engine at 2^min(j1, log2 T)):
    # the same coefficients up to the aliasing of the low-pass
    assert rel_err(got, ref) < 1e-3


def test_transposition_shifts_along_log_frequency():
    """An FSDD vowel transposed up by m/Q octave (played 2^(m/Q) faster, by band-limited resampling)
    gives time-averaged joint coefficients shifted by m rows along n1, and no other shift fits."""
    from scipy.signal import resample

    x = load_recording("3_nicolas_0.wav")
    Q, m, N = 8, 2, 2048
    centre = len(x) // 2
    L = int(round(N * 2 ** (m / Q)))
    seg = x[centre - N // 2 : centre + N // 2]
    fast = resample(x[centre - L // 2 : centre - L // 2 + L], N)
    S = TimeFrequencyScattering(N, J=6, Q=Q, J_fr=2, T=N, format="joint")
    a = S(torch.tensor(seg)).sum(-1).numpy()
    b = S(torch.tensor(fast)).sum(-1).numpy()
    lo, hi = 4, 27  # inside the geometric part of the bank (constant-Q rows)

    def err(shift):
        return np.linalg.norm(b[:, lo - shift : hi - shift] - a[:, lo:hi]) / np.linalg.norm(a[:, lo:hi])

    errors = {s: err(s) for s in range(-1, 5)}
    assert min(errors, key=errors.get) == m, errors
    assert errors[m] < 0.2 and errors[m] < 0.35 * errors[0], errors


def _chirp(N: int) -> np.ndarray:
    t = np.arange(N)
    f0, f1 = 0.02, 0.3  # cycles per sample, exponential sweep (a line in log-frequency)
    rate = np.log(f1 / f0) / N
    return np.sin(2 * np.pi * f0 * (np.exp(rate * t) - 1) / rate) * np.hanning(N)


def test_spin_separates_chirp_directions():
    up = _chirp(4096)
    S = TimeFrequencyScattering(4096, J=7, Q=8, J_fr=3)
    up_spin, down_spin = S.meta.select(order=2, spin=1), S.meta.select(order=2, spin=-1)
    y_up, y_down = (S(torch.tensor(s.copy())).numpy() for s in (up, up[::-1]))
    ratio_up = (y_up[up_spin] ** 2).sum() / (y_up[down_spin] ** 2).sum()
    ratio_down = (y_down[up_spin] ** 2).sum() / (y_down[down_spin] ** 2).sum()
    assert ratio_up > 10 and ratio_down < 0.1, (ratio_up, ratio_down)


def test_table_and_formats():
    S = TimeFrequencyScattering(512, J=5, Q=8, J_fr=2, F=2)
    joint = TimeFrequencyScattering(512, J=5, Q=8, J_fr=2, F=2, format="joint")
    P, n_freq, n_t = joint.output_shape
    assert S.output_shape == (1 + P * n_freq, n_t) and len(S.meta) == S.output_shape[0]
    assert len(joint.paths) == len(joint.meta) == P
    assert set(np.unique(S.meta["spin"])) == {-1, 0, 1}
    assert set(np.unique(S.meta["order"])) == {0, 1, 2}
    second = S.meta.select(order=2)
    assert (S.meta["j2"][second] >= 0).all() and np.isfinite(S.meta["xi1"][second]).all()
    # spins come in pairs of the same (n2, j_fr); the spin-0 paths have no frequential wavelet
    assert len(S.meta.select(spin=1)) == len(S.meta.select(spin=-1)) > 0
    assert (S.meta["j_fr"][S.meta.select(order=2, spin=0)] == -1).all()
    assert np.all(np.diff(S.frequencies) < 0)  # rows go down in frequency


@pytest.mark.parametrize("J,Q,J_fr,F", [(6, 8, 3, 8), (5, 8, 2, 4), (6, 12, 2, 3), (6, 8, 2, None)])
def test_kept_rows_start_at_the_first_wavelet(J, Q, J_fr, F):
    """Frequency subsampling by 2^k = 2^floor(log2 F) keeps rows n1 = 0, 2^k, 2 * 2^k, ... whatever the padding
    (the grid of Kymatio's development branch), and the padding still holds the widest filter on each side."""
    S = TimeFrequencyScattering(2048, J=J, Q=Q, J_fr=J_fr, F=F)
    plan, step = S.plan, 2**S.plan.log2_F
    n_freq = plan.n_freq
    np.testing.assert_array_equal(plan.freq_rows, np.arange(0, n_freq, step))
    np.testing.assert_array_equal(np.unique(S.meta["n1"][S.meta.select(order=1)]), np.arange(0, n_freq, step))
    np.testing.assert_array_equal(S.frequencies, np.asarray(plan.first.psi1.xi)[::step])
    widest = min(plan.sigma_fr, plan.sigma_F or np.inf)
    half = lowpass_half_support(gaussian_fourier_1d(16 * plan.fr_padded, widest))
    assert plan.fr_pad_left >= half and plan.fr_padded - n_freq - plan.fr_pad_left >= half


def test_time_lowpass_paths_add_channels_and_change_no_other():
    """The option inserts the (phi_T, psi_fr, spin +1) paths after order 1, one per frequential wavelet, and
    leaves every other channel as it was, bit for bit."""
    x = torch.tensor(recording_segment("3_nicolas_0.wav", 2048))
    for F in (None, 4):
        plain = TimeFrequencyScattering(2048, J=6, Q=8, J_fr=2, F=F)
        more = TimeFrequencyScattering(2048, J=6, Q=8, J_fr=2, F=F, time_lowpass_paths=True)
        added = more.paths.select(order=2, n2=-1)
        assert len(added) == len(more.plan.psi_fr.xi) == len(more.paths) - len(plain.paths)
        np.testing.assert_array_equal(added, np.arange(1, 1 + len(added)))
        assert (more.paths["spin"][added] == 1).all() and (more.paths["xi2"][added] == 0).all()
        kept = np.setdiff1d(np.arange(len(more.meta)), more.meta.select(order=2, n2=-1))
        y_plain, y_more = plain(x), more(x)
        assert y_more.shape[0] == len(more.meta) and len(kept) == len(plain.meta)
        torch.testing.assert_close(y_more[kept], y_plain, rtol=0, atol=0)
        assert (y_more[more.meta.select(order=2, n2=-1)] > 0).any()


def test_batch_shapes_dtypes_and_functional(recordings):
    x = torch.tensor(np.stack([recordings[n][:512] for n in ("0_george_0.wav", "7_theo_0.wav")]))
    S = TimeFrequencyScattering(512, J=5, Q=8, J_fr=2)
    single = torch.stack([S(x[0]), S(x[1])])
    batched = S(x.reshape(2, 1, 512))
    assert batched.shape == (2, 1) + S.output_shape
    torch.testing.assert_close(batched[:, 0], single)
    y32 = S(x.float())
    assert y32.dtype == torch.float32 and rel_err(y32, single) < 1e-5
    torch.testing.assert_close(timefrequency_scattering(x, J=5, Q=8, J_fr=2), single)
    assert S(x[:0]).shape == (0,) + S.output_shape


def test_gradcheck_float64():
    x = torch.tensor(recording_segment("9_yweweler_0.wav", 64), requires_grad=True)
    S = TimeFrequencyScattering(64, J=3, Q=4, J_fr=1, F=2, time_lowpass_paths=True)
    assert torch.autograd.gradcheck(S, (x,), eps=1e-6, atol=1e-6)


def test_module_is_immutable_and_pickles():
    S = TimeFrequencyScattering(256, J=4, Q=4, J_fr=2, F=2)
    with pytest.raises(AttributeError, match="immutable"):
        S.J_fr = 1
    x = torch.tensor(recording_segment("0_george_0.wav", 256))
    torch.testing.assert_close(pickle.loads(pickle.dumps(S))(x), S(x))


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(shape=256, J=4, Q=4, J_fr=4), InvalidParameterError, "J_fr"),
    (dict(shape=256, J=4, Q=4, J_fr=0), InvalidParameterError, "J_fr"),
    (dict(shape=256, J=4, Q=4, J_fr=2, F=99), InvalidParameterError, "'F'"),
    (dict(shape=256, J=4, Q=4, J_fr=2, format="spiral"), InvalidParameterError, "format"),
    (dict(shape=256, J=4, Q=4, J_fr=2, time_lowpass_paths="yes"), InvalidParameterError, "'time_lowpass_paths'"),
    (dict(shape=256, J=4, Q=0, J_fr=2), InvalidParameterError, "'Q'"),
    (dict(shape=64, J=8, Q=4, J_fr=2), ShapeError, "TimeFrequencyScattering.*smaller J"),
])
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        TimeFrequencyScattering(**kwargs)


def test_bad_input():
    S = TimeFrequencyScattering(256, J=4, Q=4, J_fr=2)
    x = torch.tensor(recording_segment("0_george_0.wav", 256))
    with pytest.raises(DataError, match="NaN"):
        S(torch.where(torch.arange(256) == 7, torch.nan, x))
    with pytest.raises(ShapeError, match="shape"):
        S(x[:200])
    with pytest.raises(TypeError, match="float"):
        S(x.long())


def test_fsdd_loader_errors(tmp_path):
    from scipy.io import wavfile

    from scatlab.datasets import load_fsdd
    from scatlab.errors import MissingData

    with pytest.raises(MissingData, match="FSDD is not on this machine.*no recordings/ folder.*data_dir"):
        load_fsdd(tmp_path, (0, 5), 8192)
    (tmp_path / "recordings").mkdir()
    wavfile.write(tmp_path / "recordings" / "0_bob_0.wav", 8000, np.zeros(100, dtype=np.int64))
    with pytest.raises(DataError, match="unsupported format"):
        load_fsdd(tmp_path, (0, 5), 8192)
    with pytest.raises(DataError, match="No FSDD recording"):
        load_fsdd(tmp_path, (5, 10), 8192)


@pytest.mark.parametrize("change, name", [
    (dict(poolings=("max",)), "poolings"), (dict(logistic_Cs=(0.0,)), "logistic_Cs"),
    (dict(validation_indices=(0, 5)), "validation_indices"), (dict(validation_indices=(5, 50)), "validation_indices"),
    (dict(test_indices=(5, 10)), "test_indices"),
])
def test_audio_experiment_rejects_bad_settings_by_name(tmp_path, change, name):
    import dataclasses

    from scatlab.experiments import audio

    with pytest.raises(InvalidParameterError, match=name):
        audio.run(dataclasses.replace(audio.Config(), **change), tmp_path, lambda it, **_: it)


@pytest.mark.slow
def test_audio_experiment_quick(fsdd_dir, tmp_path):
    """The quick run end to end on real recordings (about a minute; the peer only if kymatio imports)."""
    import dataclasses

    from scatlab.experiments import audio

    cfg = dataclasses.replace(audio.Config.quick(), data_dir=str(fsdd_dir))
    result = audio.run(cfg, tmp_path, lambda it, **_: it)
    m = result.metrics
    assert m["n_train"] == 180 and m["n_test"] == 120
    for name in ("time", "jtfs"):
        assert 50 < m[f"test_accuracy_{name}"] <= 100 and m[f"feature_seconds_{name}"] > 0
        assert 0 < m[f"validation_accuracy_{name}"] <= 100
    assert {row[1] for row in result.tables[0][2]} <= {"mean", "flatten"}  # chosen pooling per representation
    (verdict,) = result.verdicts
    p = m["mcnemar_p_jtfs_vs_time"]
    assert 0 < p <= 1 and f"p = {p:.3g}" in verdict.evidence
    assert verdict.verdict == ("holds" if p < 0.05 and m["test_accuracy_jtfs"] > m["test_accuracy_time"] else
                               "partially" if m["test_accuracy_jtfs"] > m["test_accuracy_time"] else "does not hold")
    assert [s.what for s in result.selections][:2] == ["pooling and C of time", "pooling and C of jtfs"]
    try:
        import kymatio.torch  # noqa: F401
    except Exception:  # noqa: BLE001
        assert "test_accuracy_peer" not in m
    else:
        assert 50 < m["test_accuracy_peer"] <= 100
    for name in result.figures:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0 < m["synthesis_spectrogram_error_jtfs"] < 1 and 0 < m["synthesis_spectrogram_error_time"] < 1
