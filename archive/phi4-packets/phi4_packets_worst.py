"""Issue 21, second check: is p(xbar_1 | x_1) log-concave everywhere, or only on the typical set?

Strong log-concavity of the finest conditional is a property of every xbar_1 given x_1, while
archive/phi4-packets/phi4_packets.py evaluates the Hessian S^T grad^2 E(x) S only at sampled fields. Here, for sampled
fields x = (x_1, xbar_1), xbar_1 is moved (Adam on the band's coefficients z, x_1 fixed) to minimize the
smallest eigenvalue of S^T (beta Laplacian + diag V''(x)) S: a negative minimum disproves strong
log-concavity of p(. | x_1) even where the sampled value is positive. L = 16 (dense Hessians).

Run (nice'd, one thread, about a minute of CPU):
    PYTHONPATH=src nice -n 19 env OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
        /work/main/.venv/bin/python archive/phi4-packets/phi4_packets_worst.py --out archive/phi4-packets/phi4_packets_worst.json
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time

import torch

from scatlab.generation.packets import PacketBand
from scatlab.generation.phi4 import Phi4, hmc, laplacian

SETTINGS = {"ours beta=0.94 (its Binder crossing)": Phi4(beta=0.94),
            "hopping lam=1, 2 kappa = 0.68 (the published beta_c)": Phi4.from_hopping(0.34, 1.0)}
PROJECTORS = [("haar", 1), ("shannon", 1), ("db4", 0.5), ("shannon", 0.5)]


def worst(energy: Phi4, x: torch.Tensor, band: PacketBand, steps: int, restarts: int, seed: int) -> dict:
    N = x.shape[-1]
    S = band.synthesis(torch.eye(band.d, dtype=torch.float64)).reshape(band.d, -1).T  # (N^2, d)
    stiffness = S.T @ (energy.beta * laplacian(S.T.reshape(-1, N, N))).reshape(band.d, -1).T
    z0 = band.analysis(x[None])[0]
    rest = x.reshape(-1) - S @ z0

    def lowest(z: torch.Tensor) -> torch.Tensor:
        v = energy.hessian_diagonal(rest + S @ z)
        return torch.linalg.eigvalsh(stiffness + (S * v[:, None]).T @ S)[0]

    gen = torch.Generator().manual_seed(seed)
    best, arg = float(lowest(z0)), z0
    out = {"at_sample": best}
    for r in range(restarts):
        z = (z0 + (0.0 if r == 0 else 0.5) * torch.randn(band.d, generator=gen, dtype=torch.float64)).requires_grad_()
        opt = torch.optim.Adam([z], lr=0.05)
        for _ in range(steps):
            opt.zero_grad()
            value = lowest(z)
            value.backward()
            opt.step()
        value = float(lowest(z.detach()))
        if value < best:
            best, arg = value, z.detach()
    # how far the minimizer is from the sample: rms change of the band's coefficients (the sample's rms for scale)
    # and the energy it costs, E(minimizer) - E(sample) (its density is exp(-that) times the sample's)
    out.update(minimized=best, rms_change=float((arg - z0).pow(2).mean().sqrt()),
               rms_sample=float(z0.pow(2).mean().sqrt()),
               energy_cost=float(energy.energy((rest + S @ arg).reshape(N, N)) - energy.energy(x)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="archive/phi4-packets/phi4_packets_worst.json")
    parser.add_argument("--fields", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cpu0 = time.process_time()
    out = {"command": "PYTHONPATH=src nice -n 19 env OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE "
                      "/work/main/.venv/bin/python " + shlex.join(sys.argv),
           "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
           "L": 16, "settings": {}}
    L = 16
    for name, energy in SETTINGS.items():
        init = torch.cat([torch.ones(16, L, L), -torch.ones(16, L, L)]).double()
        run = hmc(energy, L, chains=32, warmup=300, samples=800, n_leapfrog=10, thin=200, init=init, seed=7)
        fields = run.samples[-1][:: 32 // args.fields][: args.fields]  # distinct chains, both starting states
        rows = {}
        for wavelet, bw in PROJECTORS:
            band = PacketBand(L, wavelet, bw)
            rows[f"{wavelet} {bw}"] = [worst(energy, x, band, args.steps, args.restarts, seed=s)
                                       for s, x in enumerate(fields)]
            print(name, wavelet, bw, [(round(r["at_sample"], 3), round(r["minimized"], 3), round(r["rms_change"], 3),
                                       round(r["energy_cost"], 1))
                                      for r in rows[f"{wavelet} {bw}"]], flush=True)
        out["settings"][name] = {"beta": energy.beta, "mass2": energy.mass2, "lam": energy.lam, "rows": rows}
    out["cpu_seconds"] = round(time.process_time() - cpu0, 1)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", args.out, out["cpu_seconds"], "s CPU")


if __name__ == "__main__":
    main()
