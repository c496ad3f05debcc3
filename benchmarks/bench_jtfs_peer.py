"""Time and compare scatlab's TimeFrequencyScattering with the joint time-frequency scattering of
Kymatio's development branch (commit 11552ed5, version 0.4.0.dev0, torch frontend).

That branch installs as ``kymatio`` like the released 0.3.0 of ``.venv``, so it has a venv of its own,
built by ``bash scripts/setup_peer_main.sh``. Run from the repository root with it::

    OMP_WAIT_POLICY=PASSIVE /work/venv-kmain/bin/python benchmarks/bench_jtfs_peer.py [--threads 2] [--repeats 5] [--json benchmarks/jtfs_peer.json]

Timing: the configurations of ``bench_timefrequency.py`` (same N, J, Q, J_fr, F; a quarter of the
batch), ours with
``time_lowpass_paths=True`` (the peer always computes these paths), in float32,
forward and forward+backward, both modules in one process, interleaved (ours, peer, ours, ...) with
the same threads, median of ``--repeats`` calls after one warm-up call. The peer pads in time by
reflection only, so ours does too (the first configuration runs periodic in ``bench_timefrequency.py``).
Where ours has ``F=None`` (no averaging along log-frequency) the peer runs with ``F=0``, its
setting without frequency averaging (its ``F=None`` means ``F=2**J_fr``).

Agreement: in float64 (the peer stores its filters in float32: a floor near 1e-8), on one white
noise and one pair of exponential chirps, the channels of both 'time' formats matched by their
(order, n1, n2, frequential filter, spin), per path family: relative l2 difference of the family,
median and largest relative difference of its channels, the same on the rows whose frequential
filters (and phi_F) stay clear of the peer's cut of the scalogram (it keeps, for each temporal
wavelet, only the rows j1 < j2 and zero-pads the rest), and the channels only one side computes. A
family whose definitions differ (see ALIGNED) is counted, not compared. ``--json`` writes both tables
with the command, commit, date, machine and load (``benchmarks/tables.py`` renders them).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from scatlab.commands.bench import call  # noqa: E402
from scatlab.filters.morlet1d import gaussian_fourier_1d, lowpass_half_support, morlet_fourier_1d  # noqa: E402
from scatlab.nn.timefrequency import TimeFrequencyScattering  # noqa: E402

from _record import write_record  # noqa: E402
from tables import jtfs_peer as table  # noqa: E402

PEER = "Kymatio 11552ed5"
# (name, N, batch, J, Q, J_fr, F): those of bench_timefrequency.py, all with reflection padding, with a
# quarter of its batches (the peer takes 4-6x as long: the full batches would take most of an hour)
CONFIGS = (
    ("speech-J6-Q8-Jfr2-N8192-b8", 8192, 8, 6, 8, 2, None),
    ("speech-J6-Q8-Jfr3-F8-N8192-b8", 8192, 8, 6, 8, 3, 8),
    ("speech-J8-Q8-Jfr3-N4096-b8", 4096, 8, 8, 8, 3, None),
    ("music-J10-Q12-Jfr4-F16-N32768-b1", 32768, 1, 10, 12, 4, 16),
)


def peer_module(N, J, Q, J_fr, F, out_type="array"):
    from kymatio.torch import TimeFrequencyScattering as Peer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Peer(J=J, J_fr=J_fr, Q=Q, shape=N, F=0 if F is None else F, out_type=out_type, format="time")


def timing(name, N, batch, J, Q, J_fr, F, repeats, modes) -> list[dict]:
    ours = TimeFrequencyScattering(N, J=J, Q=Q, J_fr=J_fr, F=F, time_lowpass_paths=True)
    peer = peer_module(N, J, Q, J_fr, F)
    x = torch.randn(batch, N, generator=torch.Generator().manual_seed(0))
    rows = []
    for mode in modes:
        times = {"ours": [], "peer": []}
        channels = {k: call(m, x, mode).shape[-2] for k, m in (("ours", ours), ("peer", peer))}  # warm-up
        for _ in range(repeats):
            for key, module in (("ours", ours), ("peer", peer)):
                start = time.perf_counter()
                call(module, x, mode)
                times[key].append(time.perf_counter() - start)
        rows.append({"config": name, "mode": mode, "peer_F": 0 if F is None else F,
                     "scatlab_s": statistics.median(times["ours"]), "peer_s": statistics.median(times["peer"]),
                     "scatlab_channels": channels["ours"], "peer_channels": channels["peer"]})
    return rows


def signals(N: int) -> torch.Tensor:
    """White noise, and an exponential up-chirp plus an exponential down-chirp (lines of both slopes
    in log-frequency), float64 (2, N)."""
    t = torch.arange(N, dtype=torch.float64) / N
    up = torch.cos(2 * math.pi * 0.01 * N / math.log(30) * (30**t - 1))
    down = torch.cos(2 * math.pi * 0.3 * N / math.log(20) * (1 - 20**-t))
    noise = torch.randn(N, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return torch.stack([noise, up + down])


ALIGNED = {
    "order 0": lambda F, J_fr: True,
    # ours: S1 * phi_F along n1 (nothing when F is None); the peer: S1 * phi of width 2^J_fr
    "order 1, (phi_t, phi_fr)": lambda F, J_fr: F == 2**J_fr,
    # ours with time_lowpass_paths=True; the peer's first-order spinned paths
    "(phi_t, psi_fr), spin +1": lambda F, J_fr: True,
    # ours averages the spin-0 paths by phi_F too; the peer leaves them at phi of width 2^J_fr
    "order 2, spin 0": lambda F, J_fr: F is None,
    "order 2, spin +1 and -1": lambda F, J_fr: True,
}


def _family(order: int, n2: int, spin: int) -> str:
    if order == 0:
        return "order 0"
    if order == 1:
        return "order 1, (phi_t, phi_fr)"
    if n2 == -1:
        return "(phi_t, psi_fr), spin +1"
    return "order 2, spin 0" if spin == 0 else "order 2, spin +1 and -1"


def _reach(plan, n_fr: int, spin: int) -> int:
    """Rows of n1 that the frequential filter (and phi_F) of a path reaches on either side."""
    big = 2 ** int(math.ceil(math.log2(16 * plan.n_freq)))
    h = (gaussian_fourier_1d(big, plan.sigma_fr) if spin == 0
         else morlet_fourier_1d(big, plan.psi_fr.xi[n_fr], plan.psi_fr.sigma[n_fr])[0])
    reach = lowpass_half_support(h)
    return reach + (0 if plan.F is None else lowpass_half_support(gaussian_fourier_1d(big, plan.sigma_F)))


def _stats(pairs) -> dict:
    if not pairs:
        return {"channels": 0, "rel_l2": None, "median_rel": None, "max_rel": None}
    a = torch.stack([p[0] for p in pairs])
    b = torch.stack([p[1] for p in pairs])
    per = (a - b).flatten(1).norm(dim=1) / b.flatten(1).norm(dim=1)
    return {"channels": len(pairs), "rel_l2": float((a - b).norm() / b.norm()),
            "median_rel": float(per.median()), "max_rel": float(per.max())}


def agreement(name, N, J, Q, J_fr, F) -> list[dict]:
    """One row per path family: channels matched, compared (all rows and rows clear of the peer's
    cut), and the channels of one side only."""
    ours = TimeFrequencyScattering(N, J=J, Q=Q, J_fr=J_fr, F=F, time_lowpass_paths=True)
    peer = peer_module(N, J, Q, J_fr, F, out_type="list").double()
    plan = ours.plan
    xi1, xi2 = np.asarray(plan.first.psi1.xi), np.asarray(plan.psi2.xi)
    peer_xi1 = np.array([f["xi"] for f in peer.psi1_f])
    peer_xi2 = np.array([f["xi"] for f in peer.psi2_f])
    if not (np.allclose(peer_xi1, xi1, rtol=1e-12, atol=0) and np.allclose(peer_xi2, xi2, rtol=1e-12, atol=0)):
        raise SystemExit(f"{name}: the wavelets differ (n1 or n2 would not name the same filter)")
    # the peer's frequential filters: [phi of width 2^J_fr] + spin +1 wavelets + spin -1 wavelets
    fr = [(-1, 0)] + [(n, 1) for n in range(len(plan.psi_fr.xi))] + [(n, -1) for n in range(len(plan.psi_fr.xi))]
    peer_xi_fr = np.array([f["xi"] for f in peer.filters_fr[1]])
    ours_xi_fr = np.array([0.0 if s == 0 else s * plan.psi_fr.xi[n] for n, s in fr])
    if not np.allclose(peer_xi_fr, ours_xi_fr, rtol=1e-12, atol=0):
        raise SystemExit(f"{name}: the frequential filters differ")
    x = signals(N)
    with torch.no_grad():
        ours_out, peer_out = ours(x), peer(x)
    meta = ours.meta
    index = {key: c for c, key in enumerate(zip(*(meta[k].tolist() for k in ("order", "n1", "n2", "n_fr", "spin"))))}
    j1, j2 = np.asarray(plan.first.psi1.j), np.asarray(plan.psi2.j)
    families = {f: {"all": [], "clear": [], "peer_only": 0} for f in ALIGNED}
    matched = set()
    for path in peer_out:
        n = path["n"]
        if len(n) == 0:
            key = (0, -1, -1, -1, 0)
        elif len(n) == 2:  # (n1, n_fr): S1 * phi of width 2^J_fr, or |S1 * psi_fr| (ours: order 2, n2 = -1)
            key = (1, n[0], -1) + fr[n[1]] if n[1] == 0 else (2, n[0], -1) + fr[n[1]]
        else:  # (n1, n2, n_fr)
            key = (2, n[0], n[1]) + fr[n[2]]
        family = families[_family(key[0], key[2], key[4])]
        c = index.get(key)
        if c is None:
            family["peer_only"] += 1
            continue
        matched.add(c)
        pair = (ours_out[:, c], path["coef"])
        family["all"].append(pair)
        if key[0] == 2 and key[2] >= 0 and key[1] + _reach(plan, key[3], key[4]) < int((j1 < j2[key[2]]).sum()):
            family["clear"].append(pair)
    rows = []
    for label, family in families.items():
        ours_only = sum(1 for c in range(len(meta)) if c not in matched
                        and _family(int(meta["order"][c]), int(meta["n2"][c]), int(meta["spin"][c])) == label)
        aligned = ALIGNED[label](F, J_fr)
        row = {"config": name, "family": label, "aligned": aligned, "matched": len(family["all"]),
               "peer_only": family["peer_only"], "scatlab_only": ours_only}
        if aligned:
            row.update(_stats(family["all"]))
            clear = _stats(family["clear"])
            row.update({"clear_" + k: v for k, v in clear.items()})
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", nargs="+", default=["forward", "forward+backward"],
                        choices=["forward", "forward+backward"])
    parser.add_argument("--configs", nargs="*", default=None, help="names of CONFIGS to run (default: all)")
    parser.add_argument("--no-timing", action="store_true", help="agreement only")
    parser.add_argument("--json", help="write the rows and their provenance to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    import kymatio

    rows, agree = [], []
    for name, N, batch, J, Q, J_fr, F in CONFIGS:
        if args.configs and name not in args.configs:
            continue
        agree += agreement(name, N, J, Q, J_fr, F)
        if not args.no_timing:
            rows += timing(name, N, batch, J, Q, J_fr, F, args.repeats, args.modes)
        print(f"# {name}: done", flush=True)
    record = {"rows": rows, "agreement": agree}
    print(table(record))
    if args.json:
        write_record(args.json, "bench_jtfs_peer.py", argv, rows, load_before, repeats=args.repeats,
                     threads=args.threads, peer=f"{PEER} ({kymatio.__version__}, torch frontend)", agreement=agree)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
