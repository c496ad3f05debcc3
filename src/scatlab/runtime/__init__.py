"""What long jobs share, below every package that runs one: progress reporting, seeding, ranks and
devices under torchrun, threads."""
from .distributed import (close_distributed, default_device, init_distributed, is_main_process, local_device,
                          rank_world, shard_of)
from .progress import Progress, console_progress, no_progress
from .seeding import seed_everything
from .threads import threads_for

__all__ = ["Progress", "console_progress", "no_progress", "seed_everything", "rank_world", "is_main_process", "shard_of",
           "init_distributed", "close_distributed", "default_device", "local_device", "threads_for"]
