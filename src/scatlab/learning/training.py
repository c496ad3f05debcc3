r"""Deterministic, resumable, optionally distributed training of a classifier by SGD.

Minimizes the mean cross-entropy :math:`-\frac1B\sum_i \log p_\theta(y_i | x_i)` with SGD
(Nesterov momentum, weight decay) and a cosine learning rate :math:`\eta_e = \frac{\eta_0}{2}
(1 + \cos(\pi e / E))` per epoch (Loshchilov & Hutter, ICLR 2017).

Determinism and resumption: the order of the samples in epoch e depends only on (seed, e) (a
:class:`~torch.utils.data.DistributedSampler` with ``set_epoch``, also with one process), their
augmentation (:func:`augment`: random shifts and mirrors) on (seed, e, rank), and
after every epoch a checkpoint holds the model, optimizer, scheduler and RNG states, written
atomically; a resumed run therefore ends with the same weights as an uninterrupted one. A
checkpoint holds only tensors and plain values (:func:`load_checkpoint` reads it with
``weights_only``, so a file from elsewhere cannot run code). Under
torchrun (or any initialized process group), the model is wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel` and each of the W ranks takes B / W samples
of every global batch of B: the averaged gradient is that of the single-process run (BatchNorm
statistics are per rank, as usual in DDP).
"""
from __future__ import annotations

import dataclasses
import io
import pickle
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from ..errors import DataError, InvalidParameterError
from ..io.atomic import atomic_write
from ..runtime import Progress, default_device, no_progress, rank_world, seed_everything

__all__ = ["TrainSettings", "augment", "train", "evaluate", "load_checkpoint"]


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Optimization parameters (part of the identity a checkpoint is checked against)."""

    epochs: int = 30  # passes over the training set
    batch_size: int = 128  # global batch size (split across ranks under DDP)
    lr: float = 0.1  # initial learning rate, cosine-annealed to 0
    momentum: float = 0.9  # Nesterov momentum
    weight_decay: float = 5e-4  # L2 penalty
    max_shift: int = 0  # augmentation: random translations of each training image by up to this many pixels
    hflip: bool = False  # augmentation: mirror each training image left-right with probability 1/2
    seed: int = 0  # seed of the sample order, of the augmentation and of the RNGs

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0 or self.max_shift < 0:
            raise InvalidParameterError(f"TrainSettings needs epochs >= 1, batch_size >= 1, lr > 0 and max_shift >= 0;"
                                        f" got {self}.")


def augment(x: torch.Tensor, max_shift: int, hflip: bool, generator: torch.Generator) -> torch.Tensor:
    """Images x (B, C, M, N) translated by integer (dy, dx) drawn uniformly in [-max_shift, max_shift]^2
    (zeros enter at the border) and, if ``hflip``, mirrored left-right with probability 1/2, each
    image independently: the label-preserving deformations of the standard CIFAR/Fashion-MNIST
    training recipe."""
    B, _, M, N = x.shape
    if max_shift > 0:
        p = max_shift
        offsets = torch.randint(0, 2 * p + 1, (2, B), generator=generator)
        rows = (offsets[0][:, None] + torch.arange(M))[:, None, :, None]  # (B, 1, M, 1) in the padded image
        cols = (offsets[1][:, None] + torch.arange(N))[:, None, None, :]
        padded = F.pad(x, (p, p, p, p))
        x = padded[torch.arange(B)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]
    if hflip:
        mirrored = torch.rand(B, generator=generator) < 0.5
        x = torch.where(mirrored[:, None, None, None], x.flip(-1), x)
    return x


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 512) -> float:
    """Accuracy (%) of ``model`` in eval mode on (x, y)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = sum(int((model(x[s:s + batch_size].to(device)).argmax(1).cpu() == y[s:s + batch_size]).sum())
                  for s in range(0, len(x), batch_size))
    model.train(was_training)
    return 100 * correct / max(len(x), 1)


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, settings: TrainSettings, *,
          test: tuple[torch.Tensor, torch.Tensor] | None = None, checkpoint: str | Path | None = None,
          resume: bool = False, identity: dict | None = None, progress: Progress = no_progress,
          on_epoch_end: Callable[[int, dict], None] | None = None, device: torch.device | None = None) -> list[dict]:
    """Train ``model`` on (x, y) and return one record per epoch (loss, train and test accuracy).

    Parameters
    ----------
    checkpoint : path, optional
        Written atomically after every epoch (by rank 0).
    resume : bool
        Continue from ``checkpoint`` if it exists; its identity (``identity`` plus ``settings``)
        must equal this run's, else :class:`InvalidParameterError`.
    identity : dict, optional
        Plain values only (str, int, float, bool, None, and lists, tuples and dicts of them).
    on_epoch_end : callable(epoch, record), optional
        Called after the checkpoint of each epoch (1-based), e.g. to stop a run.
    """
    device = device or default_device()
    rank, world = rank_world()
    if settings.batch_size % world:
        raise InvalidParameterError(f"The batch size {settings.batch_size} must be a multiple of the {world} ranks.")
    model.to(device)
    full_identity = {"settings": dataclasses.asdict(settings), **(identity or {})}
    if checkpoint is not None and not _plain(full_identity):
        raise InvalidParameterError(f"The identity of a checkpoint must hold plain values only (str, int, float, bool,"
                                    f" None, and lists, tuples and dicts of them); got {full_identity}.")
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay, nesterov=settings.momentum > 0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)
    history: list[dict] = []
    seed_everything(settings.seed)
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        history = _restore(Path(checkpoint), model, optimizer, scheduler, full_identity)
    net = model if world == 1 else nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
    sampler = DistributedSampler(TensorDataset(x, y), num_replicas=world, rank=rank, shuffle=True, seed=settings.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=settings.batch_size // world, sampler=sampler)
    for epoch in range(len(history) + 1, settings.epochs + 1):
        sampler.set_epoch(epoch)
        # the augmentation of epoch e depends only on (seed, e, rank), as the sample order: resumable
        generator = torch.Generator().manual_seed(settings.seed * 1_000_003 + epoch * 1_009 + rank)
        record = _epoch(net, loader, optimizer, progress, f"epoch {epoch}/{settings.epochs}", device,
                        lambda xb: augment(xb, settings.max_shift, settings.hflip, generator))
        scheduler.step()
        record.update(epoch=epoch, lr=optimizer.param_groups[0]["lr"])
        if test is not None:
            record["test_accuracy"] = evaluate(model, *test)
        history.append(record)
        if checkpoint is not None and rank == 0:
            _save(Path(checkpoint), model, optimizer, scheduler, history, full_identity)
        if world > 1:
            dist.barrier()
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    return history


def _epoch(net: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, progress: Progress, desc: str,
           device: torch.device, transform: Callable[[torch.Tensor], torch.Tensor]) -> dict:
    net.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = progress(loader, desc=desc, total=len(loader))
    for xb, yb in bar:
        xb, yb = transform(xb).to(device), yb.to(device)
        out = net(xb)
        loss = F.cross_entropy(out, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(yb)
        correct += int((out.argmax(1) == yb).sum())
        seen += len(yb)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{100 * correct / seen:.2f}")
    return {"loss": total_loss / max(seen, 1), "train_accuracy": 100 * correct / max(seen, 1)}


def _plain(value) -> bool:
    """Whether ``value`` is made of str, int, float, bool, None, lists, tuples and dicts only."""
    if isinstance(value, (list, tuple)):
        return type(value) in (list, tuple) and all(_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value) is dict and all(_plain(k) and _plain(v) for k, v in value.items())
    return value is None or type(value) in (str, int, float, bool)


def _save(path: Path, model: nn.Module, optimizer, scheduler, history: list[dict], identity: dict) -> None:
    name, key, pos, has_gauss, gauss = np.random.get_state()
    state = {"identity": identity, "history": history, "model": model.state_dict(),
             "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                     "numpy": (name, key.tolist(), int(pos), int(has_gauss), float(gauss)),
                     "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, lambda file: file.write(buffer.getvalue()))


def load_checkpoint(path: str | Path) -> dict:
    """The contents of a checkpoint written by :func:`train`, loaded with ``weights_only=True``:
    tensors and plain containers only, so no code in the file runs. A :class:`DataError` names
    any other file (not written by scatlab, or corrupt)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises many types on a corrupt file
        reason = ("it holds objects other than tensors and plain values" if isinstance(exc, pickle.UnpicklingError)
                  else f"{type(exc).__name__}: {exc}")
        raise DataError(f"The checkpoint '{path}' cannot be read ({reason}): it was not written by scatlab (or by an"
                        " older version) or is corrupt; delete it to start the run again.") from None


def _restore(path: Path, model: nn.Module, optimizer, scheduler, identity: dict) -> list[dict]:
    state = load_checkpoint(path)
    if state.get("identity") != identity:
        saved = state.get("identity") or {}
        keys = sorted(k for k in set(saved) | set(identity) if saved.get(k) != identity.get(k))
        raise InvalidParameterError(f"The checkpoint '{path}' was written by another configuration (differs in"
                                    f" {keys}: {[saved.get(k) for k in keys]} vs {[identity.get(k) for k in keys]})."
                                    " Resume with the configuration that wrote it, write to another directory, or delete this"
                                    " file to train it from scratch.")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    name, key, pos, has_gauss, gauss = state["rng"]["numpy"]
    np.random.set_state((name, np.array(key, dtype=np.uint32), pos, has_gauss, gauss))
    random.setstate(state["rng"]["python"])
    if state["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["history"]
