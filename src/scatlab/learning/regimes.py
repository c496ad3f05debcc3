"""Training-size regimes: class-balanced nested subsets, and networks trained on them over seeds.

The small-sample protocol of Bruna & Mallat (TPAMI 2013) and Oyallon et al. (ICCV 2017): train
on n = 100, 500, 1000 ... images drawn evenly from the classes, test on the full test set, report
the mean and standard deviation of the accuracy over independent seeds (subset and weights).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..datasets import load_classification
from ..errors import InvalidParameterError
from ..runtime import Progress, seed_everything
from ..networks import build_model
from .training import TrainSettings, evaluate, train

__all__ = ["balanced_subsets", "check_train_sizes", "train_regimes", "train_experiment", "image_tensors", "regime_runs",
           "summarize"]


def balanced_subsets(labels: np.ndarray, sizes: tuple[int, ...], seed: int) -> dict[int, np.ndarray]:
    """Nested class-balanced index sets: size n takes the first n / classes shuffled indices of each class."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    out = {}
    for n in sizes:
        k = n // len(classes)
        if k * len(classes) != n or any(k > len(p) for p in per_class):
            raise InvalidParameterError(f"The training size {n} must be a multiple of {len(classes)} and at most"
                                        f" {len(classes) * min(len(p) for p in per_class)}.")
        out[n] = np.sort(np.concatenate([p[:k] for p in per_class]))
    return out


def train_regimes(build: Callable[[str], nn.Module], models: tuple[str, ...], data: dict[str, torch.Tensor],
                  runs: list[tuple[int, int]], settings: Callable[[str, int, int], TrainSettings], checkpoints: Path,
                  identity: dict, progress: Progress) -> dict[tuple[str, int, int], dict]:
    """Train every model on every (training size n, seed) of ``runs``; return test accuracy, times and
    the per-epoch history of :func:`scatlab.learning.training.train` (loss, training accuracy, lr; the
    one the run's checkpoint holds).

    ``data`` holds x_train (N, C, M, N), y_train, x_test, y_test; the subset of size n for a seed is
    :func:`balanced_subsets` (labels, (n,), seed). ``settings(model, n, seed)`` gives the optimization;
    each run checkpoints to ``checkpoints/{model}_n{n}_s{seed}.pt`` and resumes from it (the
    experiment runner refuses to start over existing checkpoints unless asked to resume).
    """
    out = {}
    for model_name in models:
        for n, seed in progress(runs, desc=model_name, total=len(runs)):
            index = torch.as_tensor(balanced_subsets(data["y_train"].numpy(), (n,), seed)[n])
            seed_everything(seed)
            model = build(model_name)
            start = time.perf_counter()
            history = train(model, data["x_train"][index], data["y_train"][index], settings(model_name, n, seed),
                            checkpoint=checkpoints / f"{model_name}_n{n}_s{seed}.pt", resume=True,
                            identity={**identity, "model": model_name, "n": n,
                                      "images": list(data["x_train"].shape[1:])}, progress=progress)
            out[model_name, n, seed] = {"test_accuracy": evaluate(model, data["x_test"], data["y_test"]),
                                        "train_accuracy": history[-1]["train_accuracy"], "history": history,
                                        "seconds": time.perf_counter() - start,
                                        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)}
    return out


def train_experiment(cfg, model_kwargs: dict, lr: Callable[[str], float], identity: dict, checkpoints: str | Path,
                     progress: Progress) -> dict[tuple[str, int, int], dict]:
    """Train ``cfg.models`` (built by :func:`build_model` with ``model_kwargs``) on the data set of
    ``cfg.data_dir`` for every training size and seed of ``cfg``, with the augmentation of
    ``cfg.max_shift`` and ``cfg.hflip``: the shared body of the network experiments. ``lr(model)``
    is the initial learning rate of each model; ``cfg.epochs_full`` applies on the whole training
    set, ``cfg.epochs_small`` below it. Checkpoints go to the directory ``checkpoints`` with
    ``identity``, the test-set size and the data directory."""
    data = image_tensors(cfg.data_dir, cfg.n_test)
    full = len(data["y_train"])
    runs = regime_runs(cfg.train_sizes, cfg.repeats, cfg.seed, full)
    shape, channels = tuple(data["x_train"].shape[-2:]), data["x_train"].shape[1]
    return train_regimes(
        lambda name: build_model(name, shape, in_channels=channels, **model_kwargs), cfg.models, data, runs,
        lambda model, n, seed: TrainSettings(epochs=cfg.epochs_small if n < full else cfg.epochs_full,
                                             batch_size=cfg.batch_size, lr=lr(model), weight_decay=cfg.weight_decay,
                                             max_shift=cfg.max_shift, hflip=cfg.hflip, seed=seed),
        Path(checkpoints),
        {**identity, "n_test": cfg.n_test, "data_dir": str(Path(cfg.data_dir).resolve())}, progress)


def image_tensors(data_dir: str | Path, n_test: int) -> dict[str, torch.Tensor]:
    """The data set of ``data_dir`` (Fashion-MNIST, MNIST or CIFAR-10 files) as float32 (N, C, M, N)
    images in [0, 1] and int64 labels; the first ``n_test`` test images."""
    x_train, y_train = load_classification(data_dir, "train")
    x_test, y_test = load_classification(data_dir, "test")
    return {"x_train": torch.as_tensor(x_train, dtype=torch.float32) / 255,
            "y_train": torch.as_tensor(y_train),
            "x_test": torch.as_tensor(x_test[:n_test], dtype=torch.float32) / 255,
            "y_test": torch.as_tensor(y_test[:n_test])}


def check_train_sizes(sizes: tuple[int, ...], full: int) -> None:
    """Raise before any work if a training size exceeds the ``full`` training set."""
    too_large = [n for n in sizes if n > full]
    if too_large:
        kept = ",".join(str(n) for n in sorted({*(n for n in sizes if n < full), full}))
        raise InvalidParameterError(f"The 'train_sizes' {too_large} exceed the {full} training images of the data"
                                    f" set; use sizes up to {full}, e.g. train_sizes=({kept}).")


def regime_runs(sizes: tuple[int, ...], repeats: int, seed: int, full: int) -> list[tuple[int, int]]:
    """(n, seed) pairs: ``repeats`` seeds seed, seed + 1, ... per size below ``full``, one seed at ``full``."""
    check_train_sizes(sizes, full)
    return [(n, seed + k) for n in sorted(sizes) for k in range(repeats if n < full else 1)]


def summarize(results: dict[tuple[str, int, int], dict], models: tuple[str, ...],
              sizes: tuple[int, ...]) -> tuple[dict[str, float], list[list]]:
    """Metrics (mean and std of the test accuracy, mean seconds per model and size) and table rows."""
    metrics: dict[str, float] = {}
    rows = []
    for n in sorted(sizes):
        row: list = [n]
        for model in models:
            runs = [v for (m, size, _), v in results.items() if m == model and size == n]
            acc = np.array([r["test_accuracy"] for r in runs])
            key = f"{model.replace('-', '_')}_n{n}"
            metrics[f"accuracy_mean_{key}"] = float(acc.mean())
            metrics[f"accuracy_std_{key}"] = float(acc.std())
            metrics[f"seconds_mean_{key}"] = float(np.mean([r["seconds"] for r in runs]))
            row.append(f"{acc.mean():.2f} ± {acc.std():.2f} ({len(acc)} seeds)" if len(acc) > 1
                       else f"{acc.mean():.2f} (1 seed)")
        rows.append(row)
    for model in models:
        metrics[f"parameters_{model.replace('-', '_')}"] = float(next(
            v["parameters"] for (m, _, _), v in results.items() if m == model))
    return metrics, rows
