"""A/B of two versions of scatlab in one process: this checkout against another one, interleaved.

The other checkout's package is loaded under the name ``scatlab_other`` (its imports are relative),
so both versions run the same inputs, alternately, on the same threads and machine load. For each
transform and mode: the median time of each version, their ratio, and whether the outputs agree
bit for bit.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_versions.py OTHER_CHECKOUT [--repeats 9] [--json OUT]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

import scatlab
from scatlab.commands.bench import call
from scatlab.io import atomic_write_json
from scatlab.reproduce.provenance import git_commit, machine, now

CASES = {  # name: (class name, constructor arguments, input shape)
    "2d-J2-L8-32x32-b256": ("Scattering2D", ((32, 32),), {"J": 2, "L": 8}, (256, 32, 32)),
    "2d-J4-L8-256x256-b8": ("Scattering2D", ((256, 256),), {"J": 4, "L": 8}, (8, 256, 256)),
    "1d-J6-Q8-N8192-b64": ("Scattering1D", (8192,), {"J": 6, "Q": 8}, (64, 8192)),
    "roto-J3-L8-64x64-b16": ("RotoTranslationScattering2D", ((64, 64),), {"J": 3, "L": 8}, (16, 64, 64)),
    "tf-J6-Q8-N8192-b16": ("TimeFrequencyScattering", (8192,), {"J": 6, "Q": 8, "J_fr": 2}, (16, 8192)),
    "3d-J2-L2-32x32x32-b4": ("HarmonicScattering3D", ((32, 32, 32),), {"J": 2, "L": 2}, (4, 32, 32, 32)),
}


def load_other(checkout: Path):
    """The package of another checkout, imported as ``scatlab_other``."""
    init = checkout / "src" / "scatlab" / "__init__.py"
    spec = importlib.util.spec_from_file_location("scatlab_other", init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["scatlab_other"] = module
    spec.loader.exec_module(module)
    return module


def _commit_of(checkout: Path) -> str | None:
    """``git rev-parse HEAD`` of another checkout, or None."""
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (a directory holding src/scatlab)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    other = load_other(args.other)
    rows = []
    for name, (cls, positional, params, shape) in CASES.items():
        ours, theirs = getattr(scatlab, cls)(*positional, **params), getattr(other, cls)(*positional, **params)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            identical = bool(torch.equal(ours(x), theirs(x)))
        row = {"case": name, "identical_output": identical}
        for mode in ("forward", "backward"):
            call(ours, x, mode), call(theirs, x, mode)
            times = {"this": [], "other": []}
            for _ in range(args.repeats):
                for key, module in (("this", ours), ("other", theirs)):
                    start = time.perf_counter()
                    call(module, x, mode)
                    times[key].append(time.perf_counter() - start)
            row[f"{mode}_this_s"] = statistics.median(times["this"])
            row[f"{mode}_other_s"] = statistics.median(times["other"])
            row[f"{mode}_other_over_this"] = row[f"{mode}_other_s"] / row[f"{mode}_this_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        atomic_write_json(args.json, {"command": " ".join(sys.argv), "commit": git_commit(), "other": str(args.other),
                                      "other_commit": _commit_of(args.other),
                                      "date": now(), "machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
