"""Where a result comes from: versions, git commit, machine and date."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

__all__ = ["versions", "git_commit", "cpu_model", "machine", "now"]


def versions() -> dict[str, str]:
    from .. import __version__

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "scatlab": __version__}


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout holding scatlab, or None outside a git checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def cpu_model() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what ``platform`` knows of it: timings
    from two machines of the same architecture differ by their model."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """The host: platform, processor, CPU count and torch's thread count."""
    return {"platform": platform.platform(), "processor": cpu_model(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}


def now() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
