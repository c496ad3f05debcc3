r"""Experiment ``textures``: synthesis from scattering moments against Gaussian and first-order models.

Bruna & Mallat ("Multiscale sparse microcanonical models", Math. Stat. Learn. 2019) model a
stationary process X by its scattering moments :math:`m(X)` (orders 0, 1, 2: mean,
:math:`\overline{|x\star\psi_{\lambda_1}|}`, :math:`\overline{||x\star\psi_{\lambda_1}|\star
\psi_{\lambda_2}|}`, O(log^2 d) numbers for d samples) estimated on one realisation, and sample
:math:`\{x : \|m(x) - m(X)\| \le \varepsilon\}` by gradient descent from white noise. They claim
that second-order moments give textures that resemble the original where the Gaussian model (the
power spectrum kept, phases random) and first-order moments do not.

For real textures of scikit-image (brick, grass, gravel), a photograph (camera) and speech (an
FSDD recording; a longer one from Debian's codec2-examples when installed), this experiment
synthesizes one sample with each model and measures

- the relative moment error :math:`\|m(x) - m(X)\| / \|m(X)\|` (all orders, and per order) of
  every method, with the order-2 transform;
- held-out statistics that no model fits (:mod:`scatlab.synthesis.statistics`): value histogram
  (Wasserstein-1), power spectrum (dB), a random ReLU network's channel statistics, and the
  multiscale kurtosis of random filters (fourth order, 3 for every Gaussian process);
- the same statistics for another crop of the same image, the natural variability of a texture.

Images are cropped (top-left square: the original; bottom-right: the other crop), replaced by
their periodic component (Moisan 2011, as in the ``stability`` experiment: the syntheses are
periodic) and standardized; the transforms use ``padding='periodic'``. Audio is standardized and
cropped to a multiple of 2^J samples; its 1D transform uses ``normalize='resolution'`` so that
order-2 moments are not vanishingly small next to order 1.
"""
from __future__ import annotations

import dataclasses
import io
import math
import re
from pathlib import Path

import numpy as np
import torch

from ..datasets.images import sample_image
from ..errors import DataError, InvalidParameterError, MissingData
from ..io.atomic import atomic_write
from ..datasets.files import read_audio
from ..datasets.fsdd import fsdd_dir
from ..nn import Scattering1D, Scattering2D
from ..synthesis import first_order_transform, gaussian_model, order_errors, relative_error, scattering_moments, synthesize
from ..synthesis import statistics
from ..runtime import Progress
from ._figures import save_png
from ._contract import Result
from .stability import periodic_component

__all__ = ["Config", "run", "load_textures", "load_speech"]

METHODS = ("gaussian", "order1", "order2")
STATISTICS = {  # metric suffix: (table header, function)
    "hist_w1": ("histogram W1 / sigma", statistics.histogram_distance),
    "spectrum_db": ("power spectrum RMS dB", statistics.spectrum_distance),
    "network": ("random network rel. dist.", statistics.network_distance),
    "kurtosis": ("multiscale kurtosis rel. dist.", statistics.kurtosis_distance),
}


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the textures experiment; the defaults are the full run."""

    # scikit-image sample images (bundled, no download): three textures and a photograph
    images: tuple[str, ...] = ("brick", "grass", "gravel", "camera")
    downsample: int = 1  # the 512 x 512 images are first reduced by this factor (local means)
    size: int = 256  # side of the square crops synthesized (pixels); a multiple of 2**J
    J: int = 5  # scales of the 2D scattering (2**J = size / 8)
    L: int = 8  # orientations of the 2D scattering
    # speech WAV files: paths, or fsdd:NAME for a recording of FSDD (scatlab.datasets.fsdd); one that is
    # absent is skipped with a note saying how to get it
    audio: tuple[str, ...] = ("fsdd:0_jackson_0.wav", "/usr/share/codec2/wav/hts1a.wav")
    audio_length: int = 16384  # at most this many samples of each recording (its middle)
    audio_J: int = 8  # scales of the 1D scattering (2**8 samples = 32 ms at 8 kHz)
    audio_Q: int = 8  # first-order wavelets per octave (second order: 1)
    steps: int = 300  # budget of moment evaluations (with gradient) of each synthesis
    tol: float = 1e-3  # stop a synthesis when its relative moment error reaches this
    seed: int = 0  # seed of the white noise starts and of the Gaussian model's phases

    @classmethod
    def quick(cls) -> Config:
        """Two textures at 64 x 64 (J = 3), one short recording: a few seconds."""
        return cls(images=("brick", "gravel"), downsample=4, size=64, J=3,
                   audio=("fsdd:0_jackson_0.wav",), audio_length=2048, audio_J=5,
                   steps=200)


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Synthesize every input with each model, write the figures and WAV files, return the numbers."""
    _check(cfg)
    inputs = load_textures(cfg)
    notes = []
    speech, rates, missing = load_speech(cfg)
    inputs.update(speech)
    if missing:
        notes.append("Audio skipped: " + "; ".join(missing) + ".")
    records = {}
    for name in progress(list(inputs), desc="textures", total=len(inputs)):
        original, other = inputs[name]
        records[name] = _synthesize_all(original, other, _transform(original, cfg), cfg)
    figures = [_plot_images(records, cfg, out_dir), _plot_history(records, out_dir)] if records else []
    for name, record in records.items():
        if record["original"].ndim == 1:
            figures.append(_plot_audio(name, record, out_dir))
            _write_wavs(name, record, rates[name], out_dir)
    metrics = _metrics(records)
    return Result(metrics=metrics, tables=_tables(records), figures=[f for f in figures if f],
                  notes=notes + _notes(records, metrics, cfg))


def _check(cfg: Config) -> None:
    if cfg.size % 2**cfg.J or cfg.size < 2**cfg.J:
        raise InvalidParameterError(f"The 'size' of the textures experiment must be a multiple of 2**J = {2**cfg.J}."
                                    f" Got {cfg.size!r} instead.")
    if cfg.audio_length < 2**cfg.audio_J:
        raise InvalidParameterError(f"The 'audio_length' of the textures experiment must be at least 2**audio_J ="
                                    f" {2**cfg.audio_J}. Got {cfg.audio_length!r} instead.")


# ------------------------------------------------------------------------------------- inputs


def load_textures(cfg: Config) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """{name: (original crop, other crop or None)}: periodic, zero-mean, unit-variance float64 images."""
    images = {name: sample_image(name) for name in cfg.images}
    from skimage import transform  # present: sample_image checked it

    out = {}
    for name, image in images.items():
        image = transform.downscale_local_mean(image, (cfg.downsample, cfg.downsample))
        s = cfg.size
        if min(image.shape) < s:
            raise InvalidParameterError(f"The image {name!r} is {image.shape} after downsampling by {cfg.downsample},"
                                        f" smaller than size = {s}. Lower 'downsample' or 'size'.")
        other = image[-s:, -s:] if min(image.shape) >= 2 * s else None
        out[name] = (_standardized(image[:s, :s]), None if other is None else _standardized(other))
    return out


def _standardized(image: np.ndarray) -> np.ndarray:
    x = periodic_component(torch.as_tensor(image, dtype=torch.float64)).numpy()
    return (x - x.mean()) / x.std()


def load_speech(cfg: Config) -> tuple[dict[str, tuple[np.ndarray, None]], dict[str, int], list[str]]:
    """({name: (standardized middle of the recording, None)}, {name: sample rate}, [why each absent one is]).

    The length is the largest multiple of 2**audio_J at most ``audio_length`` and the recording's length.
    """
    out, rates, missing = {}, {}, []
    for entry in cfg.audio:
        try:
            path = fsdd_dir() / "recordings" / entry[len("fsdd:"):] if entry.startswith("fsdd:") else Path(entry)
        except MissingData as exc:
            missing.append(f"{entry} ({exc})")
            continue
        if not path.is_file():
            missing.append(f"{path} (no such file)")
            continue
        samples, rate = read_audio(path)
        n = min(cfg.audio_length, len(samples)) // 2**cfg.audio_J * 2**cfg.audio_J
        if n == 0:
            raise DataError(f"The recording '{path}' has {len(samples)} samples, fewer than 2**audio_J.")
        start = (len(samples) - n) // 2
        x = samples[start:start + n].astype(np.float64)
        if x.std() == 0:
            raise DataError(f"The recording '{path}' is silent in its middle {n} samples; use another recording.")
        name = re.sub(r"\W", "_", path.stem)
        out[name], rates[name] = ((x - x.mean()) / x.std(), None), rate
    return out, rates, missing


def _transform(x: np.ndarray, cfg: Config) -> torch.nn.Module:
    if x.ndim == 1:
        return Scattering1D(x.shape, J=cfg.audio_J, Q=(cfg.audio_Q, 1), padding="periodic", normalize="resolution")
    return Scattering2D(x.shape, J=cfg.J, L=cfg.L, padding="periodic")


# ---------------------------------------------------------------------------------- synthesis


def _synthesize_all(original: np.ndarray, other: np.ndarray | None, S: torch.nn.Module, cfg: Config) -> dict:
    """Samples of each model, their moment errors, held-out statistics and descent histories."""
    x = torch.as_tensor(original, dtype=torch.float32)
    kwargs = dict(steps=cfg.steps, seed=cfg.seed, tol=cfg.tol, progress=False)
    order2 = synthesize(x, S, **kwargs)
    order1 = synthesize(x, first_order_transform(S), **kwargs)
    samples = {"gaussian": gaussian_model(original, cfg.seed), "order1": order1.samples[0].double().numpy(),
               "order2": order2.samples[0].double().numpy()}
    if other is not None:
        samples["other crop"] = other
    target = scattering_moments(x, S)
    record = {"original": original, "samples": samples, "n_moments": len(S.meta), "size": original.size,
              "history": {"order1": order1.history[:, 0], "order2": order2.history[:, 0]},
              "seconds": {"order1": order1.seconds, "order2": order2.seconds},
              "evaluations": {"order1": order1.evaluations, "order2": order2.evaluations},
              "fitted": {"order1": float(order1.rel_error[0]), "order2": float(order2.rel_error[0])}, "stats": {}}
    for method, sample in samples.items():
        with torch.no_grad():
            moments = scattering_moments(torch.as_tensor(sample, dtype=torch.float32), S)
        per_order = order_errors(moments, target, S)
        record["stats"][method] = {
            "moment_rel_error": float(relative_error(moments, target)),
            **{f"moment_rel_error_order{k}": float(per_order[k]) for k in (1, 2)},
            **{key: function(sample, original) for key, (_, function) in STATISTICS.items()},
        }
    return record


# ------------------------------------------------------------------------------------ numbers


def _metrics(records: dict) -> dict[str, float]:
    metrics = {}
    for name, record in records.items():
        for method, stats in record["stats"].items():
            metrics.update({f"{name}_{method.replace(' ', '_')}_{key}": value for key, value in stats.items()})
        for method in ("order1", "order2"):
            metrics[f"{name}_{method}_fitted_rel_error"] = record["fitted"][method]
            metrics[f"{name}_{method}_seconds"] = record["seconds"][method]
            metrics[f"{name}_{method}_evaluations"] = record["evaluations"][method]
        metrics[f"{name}_n_moments"] = record["n_moments"]
    images = [n for n, r in records.items() if r["original"].ndim == 2]
    if images:
        metrics["images_order2_beats_gaussian_kurtosis"] = sum(
            records[n]["stats"]["order2"]["kurtosis"] < records[n]["stats"]["gaussian"]["kurtosis"] for n in images)
        metrics["images_order2_beats_gaussian_network"] = sum(
            records[n]["stats"]["order2"]["network"] < records[n]["stats"]["gaussian"]["network"] for n in images)
        metrics["images_count"] = len(images)
        metrics["max_order2_moment_rel_error"] = max(records[n]["fitted"]["order2"] for n in records)
    return metrics


def _tables(records: dict) -> list[tuple[str, list[str], list[list]]]:
    header = ["input", "method", "moment rel. error", "order 1", "order 2"] + [h for h, _ in STATISTICS.values()]
    rows = []
    for name, record in records.items():
        for method, stats in record["stats"].items():
            rows.append([name, method] + [_r(stats[k]) for k in ("moment_rel_error", "moment_rel_error_order1",
                                                                  "moment_rel_error_order2")]
                        + [_r(stats[k]) for k in STATISTICS])
    descent = [[name, method, record["n_moments"], record["size"], record["evaluations"][method],
                _r(record["seconds"][method], 1), _r(record["fitted"][method], 5)]
               for name, record in records.items() for method in ("order1", "order2")]
    return [
        ("Moment errors (order-2 moments of each result vs the original) and held-out statistics (distance to the"
         " original; lower is closer)", header, rows),
        ("Descents: moments fitted, budget used, time on this machine, relative error of the fitted moments",
         ["input", "method", "moments (order 2)", "samples d", "evaluations", "seconds", "fitted rel. error"], descent),
    ]


def _notes(records: dict, m: dict[str, float], cfg: Config) -> list[str]:
    if not records:
        return ["No input could be loaded."]
    images = [n for n, r in records.items() if r["original"].ndim == 2]
    notes = [
        f"Order-2 syntheses reach a relative moment error of at most {m['max_order2_moment_rel_error']:.2e}"
        f" (target <= 1e-2) with <= {cfg.steps} evaluations; first-order syntheses fit their moments but leave"
        " the order-2 moments off (column 'order 2').",
    ]
    if images:
        beats = [n for n in images if records[n]["stats"]["order2"]["kurtosis"] < records[n]["stats"]["gaussian"]["kurtosis"]]
        notes.append(
            f"Multiscale kurtosis (fourth order, not fitted): the order-2 synthesis is closer to the original than"
            f" the Gaussian model on {len(beats)} of {len(images)} images ({', '.join(beats) or 'none'}):"
            + ";".join(f" {n} {_stat(records, n, 'order2')} vs {_stat(records, n, 'gaussian')}" for n in images) + ".")
        notes.append(
            "Random-network statistics (channel means and energies): order 2 beats the Gaussian model on"
            f" {int(m['images_order2_beats_gaussian_network'])} of {len(images)} images. These energies follow the power"
            " spectrum, which the Gaussian model copies exactly while the syntheses keep some of the white noise"
            " start at frequencies the wavelets barely see (lowest frequencies, spectrum corners): see the"
            " power-spectrum column.")
    sizes = ", ".join(f"{n}: {r['n_moments']} moments for d = {r['size']}" for n, r in records.items())
    notes.append(f"Model sizes, O(log^2 d) moments for d samples: {sizes}.")
    return notes


def _stat(records: dict, name: str, method: str, key: str = "kurtosis") -> str:
    return f"{records[name]['stats'][method][key]:.3f}"


def _r(value, digits: int = 4):
    return round(float(value), digits) if math.isfinite(value) else str(value)


# ------------------------------------------------------------------------------------ figures


def _plot_images(records: dict, cfg: Config, out_dir: Path) -> str | None:
    from matplotlib.figure import Figure

    images = {n: r for n, r in records.items() if r["original"].ndim == 2}
    if not images:
        return None
    columns = ("original",) + METHODS
    titles = {"original": "original", "gaussian": "Gaussian model", "order1": "order-1 synthesis",
              "order2": "order-2 synthesis"}
    fig = Figure(figsize=(3.0 * len(columns), 3.1 * len(images)), layout="constrained")
    axes = fig.subplots(len(images), len(columns), squeeze=False)
    for row, (name, record) in enumerate(images.items()):
        for col, method in enumerate(columns):
            picture = record["original"] if method == "original" else record["samples"][method]
            axes[row, col].imshow(picture, cmap="gray", vmin=-2.5, vmax=2.5)
            axes[row, col].set_title(f"{name}: {titles[method]}", fontsize=9)
            axes[row, col].set_axis_off()
    fig.suptitle(f"{cfg.size} x {cfg.size} crops, J = {cfg.J}, L = {cfg.L}; grey levels in standard deviations")
    return save_png(fig, out_dir, "textures.png")


def _plot_history(records: dict, out_dir: Path) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.subplots()
    for name, record in records.items():
        line, = ax.plot(record["history"]["order2"], label=f"{name} order 2")
        ax.plot(record["history"]["order1"], "--", color=line.get_color(), label=f"{name} order 1")
    ax.axhline(1e-2, color="k", lw=0.8, ls=":")
    ax.set(yscale="log", xlabel="evaluation of the moments", ylabel="relative moment error",
           title="Descents from white noise (L-BFGS)")
    ax.legend(fontsize=7, ncols=2)
    return save_png(fig, out_dir, "moment_error.png")


def _plot_audio(name: str, record: dict, out_dir: Path) -> str:
    from matplotlib.figure import Figure
    from scipy.signal import spectrogram

    fig = Figure(figsize=(12, 3.2), layout="constrained")
    axes = fig.subplots(1, 4)
    for ax, method in zip(axes, ("original",) + METHODS):
        signal = record["original"] if method == "original" else record["samples"][method]
        f, t, power = spectrogram(signal, fs=1.0, nperseg=256, noverlap=192)
        ax.pcolormesh(t, f, 10 * np.log10(power + 1e-12), shading="auto", vmin=-60, vmax=10)
        ax.set(title=f"{name}: {method}", xlabel="sample", ylabel="frequency (cycles/sample)")
    return save_png(fig, out_dir, f"audio_{name}.png")


def _write_wavs(name: str, record: dict, rate: int, out_dir: Path) -> None:
    """NAME_original.wav and NAME_<method>.wav: 16-bit PCM at the recording's rate, one common peak."""
    from scipy.io import wavfile

    signals = {"original": record["original"], **{m: record["samples"][m] for m in METHODS}}
    peak = max(np.abs(s).max() for s in signals.values())
    for method, signal in signals.items():
        pcm = np.round(signal / peak * 32767 * 0.9).astype(np.int16)
        buffer = io.BytesIO()
        wavfile.write(buffer, rate, pcm)
        atomic_write(out_dir / f"{name}_{method}.wav", lambda file, data=buffer.getvalue(): file.write(data))
