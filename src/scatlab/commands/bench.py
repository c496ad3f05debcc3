"""Benchmark scatlab against Kymatio 0.3.0 (torch frontend) in one process, same threads.

For each configuration: median wall time of forward and forward+backward, interleaved
(ours, peer, ours, peer, ...) so that both see the same machine load; peak resident memory of one
call after a warm-up call, measured in a fresh subprocess per (library, configuration, mode); the relative difference of
the outputs; and the FFT floor: the FFT calls our forward issues, recorded and replayed alone.

Run ``scatlab bench --help``. Set ``OMP_WAIT_POLICY=PASSIVE``
on shared machines: OpenMP spin-waiting distorts timings when another process holds a core.
"""
from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..errors import InvalidParameterError
from ..io.atomic import atomic_write_json
from ..reproduce.provenance import cpu_model, git_commit, now

__all__ = ["CONFIGS", "Config", "UnknownConfig", "call", "run", "child", "to_markdown"]


@dataclass(frozen=True)
class Config:
    name: str
    kind: str  # "1d" or "2d"
    shape: tuple[int, ...]
    params: dict
    batch: int
    channels: int = 0  # 0: input (batch, *shape); else (batch, channels, *shape)

    def input_shape(self) -> tuple[int, ...]:
        return (self.batch,) + ((self.channels,) if self.channels else ()) + self.shape


CONFIGS = (
    Config("2d-J2-L8-32x32-b256", "2d", (32, 32), {"J": 2, "L": 8}, 256),
    Config("2d-J2-L8-32x32-b256-c3", "2d", (32, 32), {"J": 2, "L": 8}, 256, 3),
    Config("2d-J3-L8-32x32-b256", "2d", (32, 32), {"J": 3, "L": 8}, 256),
    Config("2d-J4-L8-256x256-b8", "2d", (256, 256), {"J": 4, "L": 8}, 8),
    Config("1d-J6-Q8-N8192-b64", "1d", (2**13,), {"J": 6, "Q": 8}, 64),
    Config("1d-J8-Q12-N65536-b8", "1d", (2**16,), {"J": 8, "Q": 12}, 8),
    # Shapes users have: non-square, not powers of two, L other than 8, Q other than 8 and 12.
    Config("2d-J2-L4-28x28-b256", "2d", (28, 28), {"J": 2, "L": 4}, 256),
    Config("2d-J3-L6-96x160-b16", "2d", (96, 160), {"J": 3, "L": 6}, 16),
    Config("1d-J7-Q4-N12000-b32", "1d", (12000,), {"J": 7, "Q": 4}, 32),
    Config("1d-J5-Q16-N5000-b64", "1d", (5000,), {"J": 5, "Q": 16}, 64),
)


def build(lib: str, cfg: Config) -> torch.nn.Module:
    if lib == "scatlab":
        import scatlab

        cls = scatlab.Scattering2D if cfg.kind == "2d" else scatlab.Scattering1D
        return cls(cfg.shape if cfg.kind == "2d" else cfg.shape[0], **cfg.params)
    from kymatio.torch import Scattering1D, Scattering2D

    if cfg.kind == "2d":
        return Scattering2D(shape=cfg.shape, **cfg.params)
    return Scattering1D(shape=cfg.shape[0], **cfg.params)


def call(module, x: torch.Tensor, mode: str) -> torch.Tensor:
    """One timed unit: ``module(x)`` without autograd ("forward"), or with the backward pass of its
    sum ("backward", i.e. forward + backward); returns the output."""
    if mode == "forward":
        with torch.no_grad():
            return module(x)
    x = x.detach().requires_grad_(True)
    out = module(x)
    out.sum().backward()
    return out


def _time_once(module, x, mode) -> float:
    start = time.perf_counter()
    call(module, x, mode)
    return time.perf_counter() - start


class _RecordFFT(TorchDispatchMode):
    """Records every aten FFT call (op, input shape and dtype, arguments)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if "fft" in func.__name__:
            self.calls.append((func, tuple(args[0].shape), args[0].dtype, args[1:], kwargs or {}))
        return func(*args, **(kwargs or {}))


def fft_floor(module, x: torch.Tensor, repeats: int) -> float:
    """Median time of replaying, alone, the FFT calls one forward of ``module`` issues."""
    with torch.no_grad(), _RecordFFT() as recorder:
        module(x)
    inputs = [torch.randn(shape, dtype=dtype) for _, shape, dtype, _, _ in recorder.calls]

    def replay():
        start = time.perf_counter()
        for (func, _, _, args, kwargs), tensor in zip(recorder.calls, inputs):
            func(tensor, *args, **kwargs)
        return time.perf_counter() - start

    replay()
    return statistics.median(replay() for _ in range(repeats))


def peak_memory_mb(lib: str, cfg: Config, mode: str, threads: int) -> float | None:
    """Peak resident memory added by one call after a warm-up call, in a fresh process (Linux VmHWM after a reset)."""
    command = [sys.executable, "-m", "scatlab", "bench", "--child", lib, cfg.name, mode, "--threads", str(threads)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True, env=_ALLOCATOR_ENV)
        return json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"]
    except (subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return None


# glibc returns every large block to the system when freed (no heap caching, no dynamic mmap
# threshold), so that VmHWM - VmRSS measures the call's own peak, not what earlier calls left cached.
_ALLOCATOR_ENV = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}


def _vm(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    raise OSError(f"{field} not found in /proc/self/status")


def _child(lib: str, name: str, mode: str) -> None:
    cfg = next(c for c in CONFIGS if c.name == name)
    module = build(lib, cfg)
    x = torch.randn(cfg.input_shape())
    call(module, x, mode)  # warm-up: one-time costs (filter casts, allocator and thread-pool set-up) excluded
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak (VmHWM) to the current resident size
    before = _vm("VmRSS")
    call(module, x, mode)
    print(json.dumps({"peak_mb": _vm("VmHWM") - before}))


def run_config(cfg: Config, repeats: int, threads: int, peer: bool, memory: bool, modes) -> dict:
    torch.manual_seed(0)
    x = torch.randn(cfg.input_shape())
    ours = build("scatlab", cfg)
    theirs = build("kymatio", cfg) if peer else None
    row = {"config": cfg.name}
    if theirs is not None:
        with torch.no_grad():
            a, b = ours(x), theirs(x)
        row["rel_diff"] = float((a - b).norm() / b.norm())
    for mode in modes:
        call(ours, x, mode)
        if theirs is not None:
            call(theirs, x, mode)
        t_ours, t_peer = [], []
        for _ in range(repeats):
            t_ours.append(_time_once(ours, x, mode))
            if theirs is not None:
                t_peer.append(_time_once(theirs, x, mode))
        row[f"{mode}_s"] = statistics.median(t_ours)
        row[f"{mode}_per_s"] = cfg.batch / row[f"{mode}_s"]
        if t_peer:
            row[f"peer_{mode}_s"] = statistics.median(t_peer)
            row[f"{mode}_speedup"] = row[f"peer_{mode}_s"] / row[f"{mode}_s"]
        if memory:
            row[f"{mode}_peak_mb"] = peak_memory_mb("scatlab", cfg, mode, threads)
            if peer:
                row[f"peer_{mode}_peak_mb"] = peak_memory_mb("kymatio", cfg, mode, threads)
    row["fft_floor_s"] = fft_floor(ours, x, repeats)
    row["forward_over_floor"] = row["forward_s"] / row["fft_floor_s"] if "forward_s" in row else None
    return row


def to_markdown(rows: list[dict], modes) -> str:
    def fmt(v, spec):
        return "n/a" if v is None else format(v, spec)

    header = ["configuration"]
    for mode in modes:
        short = "fwd" if mode == "forward" else "fwd+bwd"
        header += [f"{short} s", f"{short} signals/s", f"peer {short} s", f"{short} speed-up",
                   f"{short} peak MB (ours/peer)"]
    header += ["FFT floor s", "fwd / floor", "rel. diff"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["config"]]
        for mode in modes:
            cells += [
                fmt(r.get(f"{mode}_s"), ".3f"),
                fmt(r.get(f"{mode}_per_s"), ".1f"),
                fmt(r.get(f"peer_{mode}_s"), ".3f"),
                fmt(r.get(f"{mode}_speedup"), ".2f") + "x" if r.get(f"{mode}_speedup") else "n/a",
                f"{fmt(r.get(f'{mode}_peak_mb'), '.0f')} / {fmt(r.get(f'peer_{mode}_peak_mb'), '.0f')}",
            ]
        cells += [fmt(r.get("fft_floor_s"), ".3f"), fmt(r.get("forward_over_floor"), ".2f"), fmt(r.get("rel_diff"), ".1e")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


class UnknownConfig(InvalidParameterError):
    """Benchmark configuration names that do not exist (``unknown``; ``known``: every name)."""

    def __init__(self, unknown: list[str], known: list[str]):
        self.unknown, self.known = unknown, known
        super().__init__(f"Unknown benchmark configuration {unknown}; the configurations are: {', '.join(known)}.")


def run(names: list[str] | None = None, *, repeats: int = 7, threads: int = 2, peer: bool = True,
        memory: bool = True, forward_only: bool = False, json_path: str | None = None,
        log=lambda line: print(line, file=sys.stderr, flush=True)) -> tuple[list[dict], str]:
    """Time the configurations ``names`` (all by default) against the peer; return the rows and the
    markdown table; write the rows with the machine to ``json_path`` if given. Each row is logged
    (as JSON) when done; a peer that fails to import is logged and skipped."""
    torch.set_num_threads(threads)
    known = {c.name: c for c in CONFIGS}
    names = names or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownConfig(unknown, list(known))
    if peer:
        try:
            import kymatio.torch  # noqa: F401
        except Exception as error:  # kymatio fails to import with SciPy >= 1.17
            log(f"peer unavailable ({type(error).__name__}: {error}); timing scatlab alone")
            peer = False
    modes = ("forward",) if forward_only else ("forward", "backward")
    load_before = os.getloadavg()[0]
    rows = []
    for name in names:
        rows.append(run_config(known[name], repeats, threads, peer, memory, modes))
        log(json.dumps(rows[-1]))
    if json_path:
        atomic_write_json(json_path, {"command": "OMP_WAIT_POLICY=PASSIVE python -m scatlab bench " + shlex.join(sys.argv[2:]),
                                      "commit": git_commit(), "date": now(), "machine": machine(),
                                      "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                                      "rows": rows})
    return rows, to_markdown(rows, modes)


def child(lib: str, name: str, mode: str, threads: int) -> None:
    """The peak-memory measurement of one call, run in a fresh process by :func:`peak_memory_mb`."""
    torch.set_num_threads(threads)
    _child(lib, name, mode)
