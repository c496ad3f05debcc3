"""Time scatlab's HarmonicScattering3D against Kymatio 0.3.0's in one process, same threads.

Run from the repository root (Kymatio 0.3.0 needs scipy<1.17)::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_harmonic3d.py [--threads 2] [--repeats 5] [--json benchmarks/harmonic3d.json]

Configurations: J=2 L=2 on 64^3, batch 4 (the issue's setting), and the QM9 pipeline's grid
48 x 36 x 30 (J=3, L=2, sigma_0=1.5) with 48 densities (16 molecules x 3 channels); the earlier
pipeline grid 32 x 24 x 20 (J=2) is kept for comparison with older tables. For each, the
median wall time of forward and forward+backward, interleaved (ours, peer, ours, peer, ...), the
speed-up, the time to build the filters and the largest relative difference of the outputs
(scatlab's order 0 left out, Kymatio has none). Prints the table; ``--json`` writes the rows with
the command, commit, date, machine and load (``benchmarks/tables.py`` renders BENCHMARKS.md from it).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from scatlab.commands.bench import call  # noqa: E402
from scatlab.nn.harmonic3d import HarmonicScattering3D  # noqa: E402

from _record import write_record  # noqa: E402
from tables import harmonic3d as table  # noqa: E402

CONFIGS = {
    "3d-J2-L2-64^3-b4": dict(shape=(64, 64, 64), J=2, L=2, sigma_0=1.0, batch=4),
    "3d-qm9-J2-L2-32x24x20-b48": dict(shape=(32, 24, 20), J=2, L=2, sigma_0=1.5, batch=48),
    "3d-qm9-J3-L2-48x36x30-b48": dict(shape=(48, 36, 30), J=3, L=2, sigma_0=1.5, batch=48),
}
POWERS = (0.5, 1.0, 2.0, 3.0)


def run(name: str, cfg: dict, repeats: int, modes) -> list[dict]:
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
        call(ours, x, mode), call(peer, x, mode)  # warm-up
        for _ in range(repeats):
            for lib, module in (("scatlab", ours), ("kymatio", peer)):
                start = time.perf_counter()
                call(module, x, mode)
                times[lib].append(time.perf_counter() - start)
        rows.append({"config": name, "mode": mode, "scatlab_s": statistics.median(times["scatlab"]),
                     "peer_s": statistics.median(times["kymatio"]), "scatlab_build_s": build_ours,
                     "peer_build_s": build_peer, "max_rel_diff": diff})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--modes", nargs="+", default=["forward", "forward+backward"],
                        choices=["forward", "forward+backward"])
    parser.add_argument("--json", help="write the rows and their provenance to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = []
    for name in args.configs:
        rows += run(name, CONFIGS[name], args.repeats, args.modes)
        print(f"# {name}: done", flush=True)
    print(table({"rows": rows}))
    if args.json:
        write_record(args.json, "bench_harmonic3d.py", argv, rows, load_before, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
