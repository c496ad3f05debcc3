"""Time joint time-frequency scattering against time scattering (scatlab and Kymatio 0.3.0).

Run from the repository root with the package installed::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_timefrequency.py [--threads 2] [--repeats 5] [--json benchmarks/timefrequency.json]

Kymatio 0.3.0 has no released joint time-frequency scattering (its JTFS stayed on a development
branch), so there is no peer for the joint transform itself: the peer column is Kymatio's
``Scattering1D`` with the same J and Q, i.e. what the joint transform adds to the cost of the
time-scattering baseline. All modules are timed in one process, interleaved (A B C A B C ...),
with the same thread settings; medians of ``--repeats`` calls after one warm-up call. The
``fft floor`` column replays alone the FFT calls one forward of the joint transform issues.
``--json`` writes the rows with their provenance (``benchmarks/tables.py`` renders BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import os
import statistics

import torch

from scatlab import Scattering1D
from scatlab.commands.bench import _time_once, fft_floor
from scatlab.nn.timefrequency import TimeFrequencyScattering

from _record import write_record
from tables import timefrequency as table

# (name, N, batch, J, Q, J_fr, F, padding): speech (FSDD experiment), short speech, music-like
CONFIGS = (
    ("speech-J6-Q8-Jfr2-N8192-b32", 8192, 32, 6, 8, 2, None, "periodic"),  # the audio experiment's setting
    ("speech-J6-Q8-Jfr3-F8-N8192-b32", 8192, 32, 6, 8, 3, 8, "reflect"),
    ("speech-J8-Q8-Jfr3-N4096-b32", 4096, 32, 8, 8, 3, None, "reflect"),
    ("music-J10-Q12-Jfr4-F16-N32768-b4", 32768, 4, 10, 12, 4, 16, "reflect"),
)


def modules(N: int, J: int, Q: int, J_fr: int, F, padding: str, peer: bool) -> dict:
    out = {"jtfs": TimeFrequencyScattering(N, J=J, Q=Q, J_fr=J_fr, F=F, padding=padding),
           "scatlab time": Scattering1D(N, J=J, Q=Q)}
    if peer:
        try:
            from kymatio.torch import Scattering1D as PeerScattering1D
        except Exception:  # noqa: BLE001  (absent, or broken by a newer SciPy)
            print("# kymatio not importable: peer column skipped")
        else:
            out["kymatio time"] = PeerScattering1D(J=J, shape=N, Q=Q)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", nargs="+", default=["forward", "backward"], choices=["forward", "backward"])
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--configs", nargs="*", default=None, help="names of CONFIGS to run (default: all)")
    parser.add_argument("--json", help="write the rows and their provenance to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = []
    for name, N, batch, J, Q, J_fr, F, padding in CONFIGS:
        if args.configs and name not in args.configs:
            continue
        mods = modules(N, J, Q, J_fr, F, padding, not args.no_peer)
        x = torch.randn(batch, N)
        floor = fft_floor(mods["jtfs"], x, max(args.repeats // 2, 1))
        for mode in args.modes:
            times = {k: [] for k in mods}
            for module in mods.values():
                _time_once(module, x, mode)  # warm-up (filters cast, caches)
            for _ in range(args.repeats):
                for k, module in mods.items():
                    times[k].append(_time_once(module, x, mode))
            med = {k.replace(" ", "_") + "_s": statistics.median(v) for k, v in times.items()}
            rows.append({"config": name, "mode": mode, **med, "jtfs_channels": mods["jtfs"].output_shape[0],
                         "fft_floor_s": floor if mode == "forward" else None})
        print(f"# {name}: done", flush=True)
    print(table({"rows": rows}))
    if args.json:
        write_record(args.json, "bench_timefrequency.py", argv, rows, load_before, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
