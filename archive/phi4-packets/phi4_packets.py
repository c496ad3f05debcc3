"""Issue 21: is p(xbar_1 | x_1) log-concave for phi^4 near criticality with wavelet packet projectors?

Measures, on HMC samples of L x L periodic phi^4 fields near the critical point of three parameterizations,
the smallest eigenvalue of the Hessian of E restricted to the finest band (the exact Hessian of
-log p(xbar_1 | x_1)) with Haar, 1-octave and 1/2-octave wavelet packets (Daubechies db4 as in Lempereur's
WCRG code, and Shannon, the ideal frequency localization), against that of grad^2 E itself. The critical
coupling of each parameterization is located first from the crossing of the Binder cumulants of L = 16 and 32.

Run (nice'd, one thread; a few minutes of CPU):
    PYTHONPATH=src nice -n 19 env OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
        /work/main/.venv/bin/python archive/phi4-packets/phi4_packets.py --out archive/phi4-packets/phi4_packets.json
"""
from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
import time

import numpy as np
import torch

from scatlab.generation.log_concavity import smallest_eigenvalue
from scatlab.generation.packets import PacketBand
from scatlab.generation.phi4 import Phi4, hmc

# name -> (energy of a coupling, couplings scanned for the Binder crossing, the formula)
FAMILIES = {
    "ours (m2=0, lam=1)": (lambda b: Phi4(beta=b), (0.68, 0.8, 0.9, 1.0, 1.1),
                           "beta/2 sum_<uv> (x_u - x_v)^2 + sum_u (x_u^2 - 1)^2"),
    "product (lam=1)": (lambda b: Phi4.from_product_coupling(b, 1.0), (0.3, 0.34, 0.38, 0.42, 0.46),
                        "-beta sum_<uv> x_u x_v + sum_u (x_u^2 - 1)^2"),
    "hopping (lam=1)": (lambda k: Phi4.from_hopping(k, 1.0), (0.26, 0.29, 0.32, 0.35, 0.38),
                        "sum_u [-2 kappa sum_mu x_u x_(u+mu) + x_u^2 + (x_u^2 - 1)^2]"),
    "hopping (lam=0.1)": (lambda k: Phi4.from_hopping(k, 0.1), (0.25, 0.27, 0.29, 0.31, 0.33),
                          "sum_u [-2 kappa sum_mu x_u x_(u+mu) + x_u^2 + 0.1 (x_u^2 - 1)^2]"),
    # the same as "hopping (lam=1)" written with beta = 2 kappa: beta/2 sum (x_u - x_v)^2 + sum (x^4 - (1 + 2 beta) x^2)
    # = -beta sum_<uv> x_u x_v + sum (x^4 - x^2); finer grid around its Binder crossing, longer chains
    "hopping (lam=1) near beta=2kappa=0.68": (lambda k: Phi4.from_hopping(k, 1.0), (0.33, 0.34, 0.35),
                                               "sum_u [-2 kappa sum_mu x_u x_(u+mu) + x_u^2 + (x_u^2 - 1)^2]"),
}
PROJECTORS = [("haar", 1), ("db4", 1), ("shannon", 1), ("db4", 0.5), ("shannon", 0.5)]


def sample(energy: Phi4, L: int, seed: int, chains: int, warmup: int, samples: int) -> dict:
    half = chains // 2  # start from both ordered states and let HMC mix
    init = torch.cat([torch.ones(half, L, L), -torch.ones(chains - half, L, L)]).double()
    run = hmc(energy, L, chains=chains, warmup=warmup, samples=samples, n_leapfrog=10, thin=samples // 4, init=init,
              seed=seed)
    m = run.magnetization  # (samples, chains)
    m2, m4 = (m ** 2).mean(), (m ** 4).mean()
    return {"binder": float(1 - m4 / (3 * m2 ** 2)), "abs_m": float(np.abs(m).mean()), "accept": run.acceptance_rate,
            "fields": run.samples[-2:].reshape(-1, L, L)}


def crossing(betas, b16, b32) -> float | None:
    diff = np.asarray(b32) - np.asarray(b16)
    for i in range(len(diff) - 1):
        if diff[i] < 0 <= diff[i + 1] or diff[i] <= 0 < diff[i + 1]:
            return float(betas[i] + (betas[i + 1] - betas[i]) * -diff[i] / (diff[i + 1] - diff[i]))
    return None


def invariants(e: Phi4) -> dict:
    """With y = sqrt(beta) x the energy is 1/2 sum (y_u - y_v)^2 + sum (a/2 y^2 + b y^4) + const: (a, b) locate the
    model along its critical line independently of the normalization (b -> 0: Gaussian; b -> inf: Ising)."""
    return {"a": (e.mass2 - 4 * e.lam) / e.beta, "b": e.lam / e.beta ** 2}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="archive/phi4-packets/phi4_packets.json")
    parser.add_argument("--chains", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--fields", type=int, default=6, help="fields per (L, coupling) whose Hessians are analysed")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES)[:4], help="names of FAMILIES to run")
    parser.add_argument("--sizes", type=int, nargs="*", default=[16, 32], help="lattice sides")
    parser.add_argument("--couplings", type=float, nargs="*", default=None, help="override the families' couplings")
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0, cpu0 = time.time(), time.process_time()
    out = {"command": "PYTHONPATH=src nice -n 19 env OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE "
                      "/work/main/.venv/bin/python " + shlex.join(sys.argv),
           "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
           "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
           "projectors": [f"{w} {bw} octave" for w, bw in PROJECTORS], "families": {}}
    for name in args.families:
        make, couplings, formula = FAMILIES[name]
        couplings = tuple(args.couplings) if args.couplings else couplings
        fam = {"energy": formula, "couplings": list(couplings), "rows": []}
        binders = {L: [] for L in args.sizes}
        for c in couplings:
            e = make(c)
            for L in args.sizes:
                seed = 1000 * L + int(round(c * 1000))
                s = sample(e, L, seed, args.chains, args.warmup, args.samples)
                binders[L].append(s["binder"])
                fields = s["fields"][: args.fields]
                row = {"coupling": c, "L": L, "beta": e.beta, "mass2": e.mass2, "lam": e.lam, **invariants(e),
                       "binder": round(s["binder"], 4), "abs_m": round(s["abs_m"], 4), "accept": round(s["accept"], 3),
                       "n_fields": len(fields)}
                full = [smallest_eigenvalue(e.energy, x, hvp=e.hvp, dense_up_to=300) for x in fields]
                row["full"] = {"mean": float(np.mean(full)), "min": float(np.min(full))}
                for wavelet, bw in PROJECTORS:
                    band = PacketBand(L, wavelet, bw)
                    vals = [smallest_eigenvalue(e.energy, x, hvp=e.hvp, band=band, dense_up_to=300) for x in fields]
                    row[f"{wavelet} {bw}"] = {"mean": float(np.mean(vals)), "min": float(np.min(vals)),
                                              "max": float(np.max(vals))}
                    # at x = 0 (the saddle): the band's lowest beta w + m^2 - 4 lam, whatever the samples
                    zero = torch.zeros(L, L, dtype=torch.float64)
                    row[f"{wavelet} {bw}"]["at_zero"] = smallest_eigenvalue(e.energy, zero, hvp=e.hvp, band=band,
                                                                            dense_up_to=300)
                fam["rows"].append(row)
                print(name, c, L, {k: (round(v["mean"], 3) if isinstance(v, dict) else v) for k, v in row.items()},
                      flush=True)
        if len(args.sizes) >= 2:
            small, big = sorted(args.sizes)[-2:]
            fam[f"binder_crossing_{small}_{big}"] = crossing(couplings, binders[small], binders[big])
        out["families"][name] = fam
    out["wall_seconds"] = round(time.time() - t0, 1)
    out["cpu_seconds"] = round(time.process_time() - cpu0, 1)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", args.out, out["cpu_seconds"], "s CPU")


if __name__ == "__main__":
    main()
