"""Time scatlab's HarmonicScattering3D against Kymatio 0.3.0's in one process, same threads.

Run from the repository root (Kymatio 0.3.0 needs scipy<1.17)::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_harmonic3d.py [--threads 2] [--repeats 5]

Configurations: J=2 L=2 on 64^3, batch 4 (the issue's setting), and the QM9 pipeline's grid
48 x 36 x 30 (J=3, L=2, sigma_0=1.5) with 48 densities (16 molecules x 3 channels); the earlier
pipeline grid 32 x 24 x 20 (J=2) is kept for comparison with older tables. For each, the
median wall time of forward and forward+backward, interleaved (ours, peer, ours, peer, ...), the
speed-up, the time to build the filters and the largest relative difference of the outputs
(scatlab's order 0 left out, Kymatio has none). Prints markdown rows for BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from scatlab.nn.harmonic3d import HarmonicScattering3D  # noqa: E402

CONFIGS = {
    "3d-J2-L2-64^3-b4": dict(shape=(64, 64, 64), J=2, L=2, sigma_0=1.0, batch=4),
    "3d-qm9-J2-L2-32x24x20-b48": dict(shape=(32, 24, 20), J=2, L=2, sigma_0=1.5, batch=48),
    "3d-qm9-J3-L2-48x36x30-b48": dict(shape=(48, 36, 30), J=3, L=2, sigma_0=1.5, batch=48),
}
POWERS = (0.5, 1.0, 2.0, 3.0)


def _call(module, x, mode):
    if mode == "forward":
        with torch.no_grad():
            return module(x)
    x = x.detach().requires_grad_(True)
    out = module(x)
    out.sum().backward()
    return out


def run(name: str, cfg: dict, repeats: int, modes) -> list[str]:
    from kymatio.torch import HarmonicScattering3D as Peer

    start = time.perf_counter()
    ours = HarmonicScattering3D(cfg["shape"], J=cfg["J"], L=cfg["L"], sigma_0=cfg["sigma_0"], integral_powers=POWERS)
    build_ours = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        peer = Peer(J=cfg["J"], shape=cfg["shape"], L=cfg["L"], sigma_0=cfg["sigma_0"], integral_powers=POWERS)
    build_peer = time.perf_counter() - start
    x = torch.rand((cfg["batch"],) + cfg["shape"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = ours(x)[:, len(POWERS):], peer(x).reshape(len(x), -1)
    diff = float(((a - b).abs() / b.abs()).max())
    rows = []
    for mode in modes:
        times = {"scatlab": [], "kymatio": []}
        _call(ours, x, mode), _call(peer, x, mode)  # warm-up
        for _ in range(repeats):
            for lib, module in (("scatlab", ours), ("kymatio", peer)):
                start = time.perf_counter()
                _call(module, x, mode)
                times[lib].append(time.perf_counter() - start)
        t_ours, t_peer = statistics.median(times["scatlab"]), statistics.median(times["kymatio"])
        rows.append(f"| {name} | {mode} | {t_ours:.3f} | {t_peer:.3f} | {t_peer / t_ours:.1f}x | {build_ours:.1f} |"
                    f" {build_peer:.1f} | {diff:.1e} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--modes", nargs="+", default=["forward", "forward+backward"],
                        choices=["forward", "forward+backward"])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# python benchmarks/bench_harmonic3d.py {shlex.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# torch {torch.__version__}, {args.threads} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')},"
          f" {platform.machine()}, median of {args.repeats} interleaved calls (seconds)")
    print("| config | mode | scatlab (s) | Kymatio 0.3.0 (s) | speed-up | scatlab build (s) | Kymatio build (s) |"
          " max rel. diff |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.configs:
        for row in run(name, CONFIGS[name], args.repeats, args.modes):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
