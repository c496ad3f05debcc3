"""Ranks, shards and devices under ``torchrun`` (its RANK, WORLD_SIZE and LOCAL_RANK variables), or
one process without it."""
from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist

from ..errors import InvalidParameterError

__all__ = ["rank_world", "is_main_process", "shard_of", "init_distributed", "close_distributed", "default_device",
           "local_device"]


def rank_world() -> tuple[int, int]:
    """(rank, world size) of the initialized process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """False on the ranks other than 0 under torchrun (its ``RANK`` variable), True otherwise."""
    return int(os.environ.get("RANK", 0)) == 0


def shard_of(rank: int | None = None, world: int | None = None) -> tuple[int, int]:
    """(rank, world) from the arguments or torchrun's RANK / WORLD_SIZE (default 0, 1)."""
    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    world = int(os.environ.get("WORLD_SIZE", 1)) if world is None else world
    if not 0 <= rank < world:
        raise InvalidParameterError(f"The shard must satisfy 0 <= rank < world; got rank={rank}, world={world}.")
    return rank, world


def init_distributed() -> tuple[int, int]:
    """Initialize the process group under torchrun (WORLD_SIZE > 1): nccl on GPU, gloo on CPU; return (rank, world)."""
    if dist.is_available() and not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        atexit.register(close_distributed)
    return rank_world()


def close_distributed() -> None:
    """Wait for every rank, then destroy the process group (nothing without one). Registered at exit
    by init_distributed: gloo aborts (SIGABRT) a process that tears down while another rank still
    talks to it."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def default_device() -> torch.device:
    """CUDA (this rank's GPU under torchrun) if available, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def local_device(device: str) -> str:
    """This rank's GPU under torchrun: plain 'cuda' becomes 'cuda:LOCAL_RANK' when LOCAL_RANK is set;
    any other device string is returned unchanged."""
    if device == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return device
