r"""Experiment ``audio``: spoken digits (FSDD) with time scattering vs joint time-frequency scattering.

Andén, Lostanlen & Mallat ("Joint time-frequency scattering", IEEE TSP 2019) show that convolving
the scalogram along log-frequency as well as time (spins, frequency-modulation rates) recovers the
spectro-temporal structure that time scattering averages away. This experiment classifies the real
Free Spoken Digit Dataset recordings (3,000 recordings, 8 kHz; official split: recordings with
index 0-4 are the test set) with

- ``time``: scatlab ``Scattering1D(J, Q)`` (``normalize='resolution'``, as the joint transform);
- ``jtfs``: scatlab ``TimeFrequencyScattering(J, Q, J_fr, Q_fr, F)``;
- ``peer``: Kymatio 0.3.0 ``Scattering1D(J, Q)`` (torch frontend), skipped if not importable;

each on the first ``n_samples`` samples (zero-padded, scaled to a peak of 1), followed by
:math:`\log(1 + c\,S)`, a pooling over time (mean, or flattening every frame), standardization and a
logistic regression, all measured in the same run and process. The pooling and the penalty C
are chosen per representation, the peer included, by accuracy on a validation split of the
training recordings (``validation_indices``; fitted on the rest of the training indices), then
refitted on all training recordings and scored once on the test set.

Synthesis comparison (the seeds' figure): one real recording is resynthesized from white noise by
L-BFGS on :math:`\|S y - S x\|` (every time frame of the coefficients, T = 2^synthesis_J), once
with time scattering and once with joint time-frequency scattering; the spectrograms are shown
and the relative error of :math:`\log(1 + |\mathrm{STFT}|)` is reported.

Anchor (measured on this machine): Kymatio 0.3.0 J=6 Q=8 + log(1 + 1000 S), every frame,
standardization + logistic regression, 97.67 %; J=8 Q=12: 97.33 %.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from ..errors import InvalidParameterError
from ..io.atomic import atomic_write
from ..datasets.files import read_audio
from ..datasets.fsdd import fsdd_dir, fsdd_files, load_fsdd
from ..learning.linear import make_classifier
from ..learning.significance import Comparison, mcnemar
from ..nn.scattering1d import Scattering1D
from ..nn.timefrequency import TimeFrequencyScattering
from ..runtime import Progress
from ._contract import Result, Selection, Verdict

__all__ = ["Config", "run"]

POOLINGS = ("mean", "flatten")


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the FSDD experiment; the defaults are the full run (all 3,000 recordings)."""

    data_dir: str = ""  # holds recordings/{digit}_{speaker}_{index}.wav; "": $SCATLAB_FSDD_DIR or the user cache (fetched)
    n_samples: int = 8192  # first samples of each recording, zero-padded
    J: int = 6  # log2 of the averaging scale (time scattering, peer and joint)
    Q: int = 8  # first-order wavelets per octave
    # J_fr, Q_fr and F chosen on the validation split (mean pooling, C = 1): J_fr = 2 with F = None
    # 95.33 %; F = 2 / 4 / 8 (averaging after the transform) 92.67 / 90.0 / 83.0 %
    J_fr: int = 2  # log2 of the largest scale along log-frequency
    Q_fr: int = 1  # frequential wavelets per octave
    F: int | None = None  # averaging along log-frequency (None: none, every row kept)
    padding: str = "periodic"  # of scatlab's transforms (the recordings are zero-padded; the peer reflects)
    log_scale: float = 1000.0  # c of log(1 + c S)
    poolings: tuple[str, ...] = POOLINGS  # over time, chosen on the validation split: 'mean', 'flatten'
    logistic_Cs: tuple[float, ...] = (0.1, 1.0, 10.0)  # inverse L2 penalties tried on the validation split
    max_iter: int = 1000  # lbfgs iterations
    train_indices: tuple[int, int] = (5, 50)  # [start, stop) of the recording index for training
    validation_indices: tuple[int, int] = (5, 10)  # within train_indices: held out to choose pooling and C
    test_indices: tuple[int, int] = (0, 5)  # official test split: index 0-4
    peer: bool = True  # also run Kymatio 0.3.0 (skipped, with a note, if it cannot be imported)
    batch_size: int = 32  # recordings per transform call
    synthesis_recording: str = "3_nicolas_0.wav"  # resynthesized recording ('' skips the comparison)
    synthesis_length: int = 4096  # its centre samples
    synthesis_J: int = 8  # averaging 2^J of the matched coefficients
    synthesis_steps: int = 300  # L-BFGS evaluations per resynthesis
    seed: int = 0  # seed of torch and of the starting noise of the resyntheses

    @classmethod
    def quick(cls) -> Config:
        """Train on index 5-7 (validate on 5), test on index 0-1 of every digit and speaker (300 recordings)."""
        return cls(train_indices=(5, 8), validation_indices=(5, 6), test_indices=(0, 2), logistic_Cs=(0.1, 1.0),
                   synthesis_length=2048, synthesis_J=7, synthesis_steps=30)


def _check(cfg: Config) -> None:
    if not cfg.poolings or any(p not in POOLINGS for p in cfg.poolings):
        raise InvalidParameterError(f"The 'poolings' parameter of the audio experiment must be a non-empty tuple of"
                                    f" {POOLINGS}. Got {cfg.poolings!r} instead.")
    if not cfg.logistic_Cs or any(not c > 0 for c in cfg.logistic_Cs):
        raise InvalidParameterError("The 'logistic_Cs' parameter of the audio experiment must be a non-empty tuple"
                                    f" of positive numbers. Got {cfg.logistic_Cs!r} instead.")
    if not cfg.log_scale > 0:
        raise InvalidParameterError(f"The 'log_scale' parameter of the audio experiment must be > 0."
                                    f" Got {cfg.log_scale!r} instead.")
    lo, hi = cfg.train_indices
    tlo, thi = cfg.test_indices
    vlo, vhi = cfg.validation_indices
    if not (0 <= lo < hi and 0 <= tlo < thi) or max(lo, tlo) < min(hi, thi):
        raise InvalidParameterError("The train_indices and test_indices of the audio experiment must be"
                                    f" non-empty, disjoint [start, stop) ranges. Got {cfg.train_indices},"
                                    f" {cfg.test_indices} instead.")
    if not (lo <= vlo < vhi <= hi and (vlo, vhi) != (lo, hi)):
        raise InvalidParameterError("The validation_indices of the audio experiment must be a non-empty [start, stop)"
                                    f" range inside train_indices {cfg.train_indices} that leaves training recordings"
                                    f" out of it. Got {cfg.validation_indices} instead.")


@torch.no_grad()
def _log_coefficients(transform, signals: np.ndarray, cfg: Config, progress: Progress, desc: str):
    """log(1 + c S) of every signal, (n, channels, frames), and the transform's wall time (s)."""
    out, seconds = [], 0.0
    starts = range(0, len(signals), cfg.batch_size)
    for s in progress(starts, desc=desc, total=len(starts)):
        batch = torch.from_numpy(signals[s : s + cfg.batch_size])
        start = time.perf_counter()
        S = transform(batch)
        seconds += time.perf_counter() - start
        out.append(torch.log1p(cfg.log_scale * S.clamp_min(0)).reshape(len(batch), -1, S.shape[-1]))
    return torch.cat(out), seconds


def _pool(coefficients: torch.Tensor, pooling: str) -> np.ndarray:
    return (coefficients.mean(-1) if pooling == "mean" else coefficients.flatten(1)).numpy()


def _peer(cfg: Config):
    """Kymatio 0.3.0's torch Scattering1D, or None if kymatio cannot be imported."""
    try:
        from kymatio.torch import Scattering1D as PeerScattering1D
    except Exception:  # noqa: BLE001  (kymatio missing, or its import broken by a newer SciPy)
        return None
    return PeerScattering1D(J=cfg.J, shape=cfg.n_samples, Q=cfg.Q)


def _accuracy(f_train, y_train, f_test, y_test, C: float, cfg: Config) -> tuple[float, float, np.ndarray]:
    """Test accuracy (%) of standardization + logistic regression, the fit's wall time (s), and which
    test items it classifies right."""
    model = make_classifier("logistic", len(f_train), C=C, max_iter=cfg.max_iter)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(f_train, y_train)
    correct = model.predict(f_test) == y_test
    return 100 * float(np.mean(correct)), time.perf_counter() - start, correct


def _select(coefficients, labels, held_out, cfg: Config) -> tuple[str, float, float, dict]:
    """(pooling, C, validation accuracy, every score) of best validation accuracy, fitted without the
    held-out recordings."""
    scores = {}
    for pooling in cfg.poolings:
        f = _pool(coefficients, pooling)
        for C in cfg.logistic_Cs:
            scores[pooling, C] = _accuracy(f[~held_out], labels[~held_out], f[held_out], labels[held_out], C, cfg)[0]
    (pooling, C), score = max(scores.items(), key=lambda item: item[1])  # first best: the order of the grid
    return pooling, C, score, scores


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Features of the three representations, one classifier each, accuracies and times."""
    _check(cfg)
    torch.manual_seed(cfg.seed)
    folder = fsdd_dir(cfg.data_dir)
    x_train, y_train = load_fsdd(folder, cfg.train_indices, cfg.n_samples)
    x_test, y_test = load_fsdd(folder, cfg.test_indices, cfg.n_samples)
    held_out = np.array([cfg.validation_indices[0] <= index < cfg.validation_indices[1]
                         for *_, index in fsdd_files(folder, cfg.train_indices)])
    transforms = {
        "time": Scattering1D(cfg.n_samples, J=cfg.J, Q=cfg.Q, normalize="resolution", padding=cfg.padding),
        "jtfs": TimeFrequencyScattering(cfg.n_samples, J=cfg.J, Q=cfg.Q, J_fr=cfg.J_fr, Q_fr=cfg.Q_fr, F=cfg.F,
                                        padding=cfg.padding),
    }
    notes = []
    if cfg.peer:
        peer = _peer(cfg)
        if peer is None:
            notes.append("Kymatio could not be imported: the peer was not run.")
        else:
            transforms["peer"] = peer
    metrics: dict[str, float] = {}
    rows, correct, selections = [], {}, []
    for name, transform in transforms.items():
        c_train, t_train = _log_coefficients(transform, x_train, cfg, progress, f"{name} train")
        c_test, t_test = _log_coefficients(transform, x_test, cfg, progress, f"{name} test")
        pooling, C, validation, scores = _select(c_train, y_train, held_out, cfg)
        selections.append(Selection(f"pooling and C of {name}", [f"{p}, C={c:g}" for p, c in scores],
                                    list(scores.values()), f"{pooling}, C={C:g}",
                                    f"validation accuracy (%), recordings with index in {cfg.validation_indices}"
                                    " held out of training, max (first in grid order on ties)"))
        f_train, f_test = _pool(c_train, pooling), _pool(c_test, pooling)
        accuracy, fit_s, correct[name] = _accuracy(f_train, y_train, f_test, y_test, C, cfg)
        seconds = t_train + t_test
        metrics[f"test_accuracy_{name}"] = accuracy
        metrics[f"validation_accuracy_{name}"] = validation
        metrics[f"feature_seconds_{name}"] = seconds
        metrics[f"feature_dimension_{name}"] = float(f_train.shape[1])
        rows.append([name, pooling, C, f_train.shape[1], round(validation, 2), round(accuracy, 2), round(seconds, 1),
                     round(1e3 * seconds / (len(x_train) + len(x_test)), 2), round(fit_s, 1)])
    metrics["n_train"], metrics["n_test"] = float(len(x_train)), float(len(x_test))
    table = (f"FSDD, train index {cfg.train_indices} (validation {cfg.validation_indices}), test index"
             f" {cfg.test_indices}: log(1 + {cfg.log_scale:g} S), pooling over time and C chosen on validation,"
             " standardization + logistic regression",
             ["representation", "pooling", "C", "dimension", "validation accuracy (%)", "test accuracy (%)",
              "features (s)", "ms per recording", "fit (s)"], rows)
    comparisons = _compare(correct)
    for pair, comparison in comparisons.items():
        metrics[f"mcnemar_p_{pair[0]}_vs_{pair[1]}"] = comparison.p_value
    notes += _notes(metrics, comparisons)
    figures = [_plot(metrics, out_dir)]
    if cfg.synthesis_recording:
        errors, figure = _resynthesis(cfg, out_dir)
        metrics.update(errors)
        figures.append(figure)
        notes.append(f"Resynthesis of {cfg.synthesis_recording} ({cfg.synthesis_length} samples, {cfg.synthesis_steps}"
                     f" L-BFGS evaluations): log-spectrogram error {errors['synthesis_spectrogram_error_time']:.3f}"
                     f" from time scattering, {errors['synthesis_spectrogram_error_jtfs']:.3f} from joint"
                     f" time-frequency scattering (coefficient errors reached"
                     f" {errors['synthesis_coefficient_error_time']:.1e} and"
                     f" {errors['synthesis_coefficient_error_jtfs']:.1e}).")
    return Result(metrics=metrics, tables=[table], figures=figures, notes=notes, selections=selections,
                  verdicts=_verdicts(metrics, comparisons))


def _log_spectrogram(x: torch.Tensor) -> torch.Tensor:
    window = torch.hann_window(256, dtype=x.dtype)
    return torch.log1p(torch.stft(x, 256, hop_length=64, window=window, return_complex=True).abs())


def _resynthesis(cfg: Config, out_dir: Path) -> tuple[dict[str, float], str]:
    """Resynthesize one recording from time and from joint coefficients; errors and spectrogram figure."""
    from ..synthesis.descent import descend

    x, _ = read_audio(fsdd_dir(cfg.data_dir) / "recordings" / cfg.synthesis_recording)
    N = cfg.synthesis_length
    x = np.pad(x, (0, max(N - len(x), 0)))
    centre = len(x) // 2
    x = torch.from_numpy(x[centre - N // 2 : centre - N // 2 + N].astype(np.float64))
    x = (x - x.mean()) / x.std()
    transforms = {
        "time": Scattering1D(N, J=cfg.synthesis_J, Q=cfg.Q, normalize="resolution", padding="periodic"),
        "jtfs": TimeFrequencyScattering(N, J=cfg.synthesis_J, Q=cfg.Q, J_fr=cfg.J_fr, Q_fr=cfg.Q_fr,
                                        padding="periodic"),
    }
    generator = torch.Generator().manual_seed(cfg.seed)
    x0 = torch.randn((1, N), generator=generator, dtype=torch.float64)
    reference = _log_spectrogram(x)
    metrics, spectrograms = {}, {"original": reference}
    for name, S in transforms.items():
        result = descend(lambda y, S=S: S(y).flatten(-2), S(x).flatten(), x0, steps=cfg.synthesis_steps, tol=1e-4,
                         progress=False, desc=f"resynthesis {name}")
        y = result.x.detach()[0]
        spectrograms[name] = _log_spectrogram(y)
        error = (spectrograms[name] - reference).norm() / reference.norm()
        metrics[f"synthesis_spectrogram_error_{name}"] = float(error)
        metrics[f"synthesis_coefficient_error_{name}"] = float(result.history[-1].max())
    return metrics, _plot_spectrograms(spectrograms, cfg, out_dir)


def _plot_spectrograms(spectrograms: dict[str, torch.Tensor], cfg: Config, out_dir: Path) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.0 * len(spectrograms), 3.2), layout="constrained")
    axes = fig.subplots(1, len(spectrograms), squeeze=False)[0]
    vmax = float(spectrograms["original"].max())
    titles = {"original": cfg.synthesis_recording, "time": "from time scattering",
              "jtfs": "from joint time-frequency scattering"}
    for ax, (name, spec) in zip(axes, spectrograms.items()):
        ax.imshow(spec.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax,
                  extent=(0, cfg.synthesis_length / 8000, 0, 4000))
        ax.set_title(titles[name], fontsize=9)
        ax.set_xlabel("time (s) at 8 kHz")
    axes[0].set_ylabel("frequency (Hz)")
    name = "resynthesis_spectrograms.png"
    atomic_write(out_dir / name, lambda file: fig.savefig(file, format="png", dpi=110))
    return name


def _compare(correct: dict[str, np.ndarray]) -> dict[tuple[str, str], Comparison]:
    """McNemar's exact test of jtfs against time scattering, and of each against the peer if it ran."""
    pairs = [("jtfs", "time")] + [(name, "peer") for name in ("time", "jtfs") if "peer" in correct]
    return {(a, b): mcnemar(correct[a], correct[b]) for a, b in pairs}


def _sentence(a: str, b: str, m: dict[str, float], comparison: Comparison) -> str:
    gap = m[f"test_accuracy_{a}"] - m[f"test_accuracy_{b}"]
    return (f"{a} is {comparison.wording()} against {b}: {gap:+.2f} points; {comparison.only_a} test recordings right"
            f" for {a} only, {comparison.only_b} for {b} only, McNemar exact p = {comparison.p_value:.3g}"
            " (significant below 0.05)")


def _notes(m: dict[str, float], comparisons: dict) -> list[str]:
    notes = [f"Test accuracy: time scattering {m['test_accuracy_time']:.2f} %, joint time-frequency scattering"
             f" {m['test_accuracy_jtfs']:.2f} %" + (f", peer Kymatio 0.3.0 {m['test_accuracy_peer']:.2f} %"
                                                    if "test_accuracy_peer" in m else "") + "."]
    notes += [_sentence(a, b, m, c) + "." for (a, b), c in comparisons.items()]
    return notes


def _verdicts(m: dict[str, float], comparisons: dict) -> list[Verdict]:
    """Joint time-frequency scattering classifies better than time scattering (Andén, Lostanlen & Mallat,
    IEEE TSP 2019): holds if significantly better, partially if higher but not significantly, else not."""
    comparison = comparisons["jtfs", "time"]
    wording = comparison.wording()
    higher = m["test_accuracy_jtfs"] > m["test_accuracy_time"]
    verdict = "holds" if wording == "better" else "partially" if higher and wording == "on par" else "does not hold"
    return [Verdict("Joint time-frequency scattering classifies sounds better than time scattering, which averages"
                    " away spectro-temporal structure (Andén, Lostanlen & Mallat, IEEE TSP 2019)", verdict,
                    _sentence("jtfs", "time", m, comparison), "JTFS above time scattering on sound classification")]


def _plot(m: dict[str, float], out_dir: Path) -> str:
    from matplotlib.figure import Figure

    names = [n for n in ("time", "jtfs", "peer") if f"test_accuracy_{n}" in m]
    fig = Figure(figsize=(5.0, 3.5), layout="constrained")
    ax = fig.subplots()
    values = [m[f"test_accuracy_{n}"] for n in names]
    ax.bar(names, values, color=["tab:blue", "tab:orange", "tab:gray"][: len(names)])
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(max(0.0, min(values) - 10), 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("FSDD spoken digits, official split", fontsize=10)
    name = "accuracy.png"
    atomic_write(out_dir / name, lambda file: fig.savefig(file, format="png", dpi=110))
    return name
