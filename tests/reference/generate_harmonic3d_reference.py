"""Writes kymatio_harmonic3d.npz: Kymatio 0.3.0 HarmonicScattering3D outputs for tests/test_harmonic3d.py.

Run with kymatio==0.3.0 and scipy<1.17 (its filters use scipy.special.sph_harm):
    python tests/reference/generate_harmonic3d_reference.py
Inputs: float64 values of a seeded generator (uniform in [0, 1)), given to Kymatio's torch
frontend in float64. Outputs: ``S(x).reshape(B, -1)`` (default rotation_covariant=True,
method='integral'). Only even sizes: for an odd size M Kymatio's frequency grid
(np.mgrid[-M // 2:...] = -(M + 1) / 2 ... (M - 3) / 2, then ifftshift) puts the zero frequency at
index 1, which shifts its wavelets' spectra by one bin; scatlab uses the centered grid. Keys: ``<case>_x``, ``<case>_out``, ``<case>_params`` (shape, J, L, sigma_0,
max_order, powers as a JSON string).
"""
import json
from pathlib import Path

import numpy as np
import torch
from kymatio.torch import HarmonicScattering3D

CASES = {
    "even": dict(shape=(12, 12, 10), J=2, L=2, sigma_0=1.0, max_order=2, powers=(0.5, 1.0, 2.0, 3.0)),
    "mixed": dict(shape=(10, 12, 8), J=1, L=3, sigma_0=0.8, max_order=2, powers=(1.0, 2.0)),
    "order1": dict(shape=(10, 8, 8), J=2, L=1, sigma_0=1.5, max_order=1, powers=(0.5, 3.0)),
}


def main() -> None:
    rng = np.random.default_rng(2026)
    arrays = {}
    for name, p in CASES.items():
        x = rng.random((2,) + p["shape"])
        S = HarmonicScattering3D(J=p["J"], shape=p["shape"], L=p["L"], sigma_0=p["sigma_0"],
                                 max_order=p["max_order"], integral_powers=p["powers"]).double()
        out = S(torch.from_numpy(x)).reshape(2, -1).numpy()
        arrays[f"{name}_x"], arrays[f"{name}_out"] = x, out
        arrays[f"{name}_params"] = np.array(json.dumps(p))
    np.savez_compressed(Path(__file__).with_name("kymatio_harmonic3d.npz"), **arrays)


if __name__ == "__main__":
    main()
