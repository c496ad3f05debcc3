"""Throughput of ``scatlab transform`` into a feature store against the transform's own throughput.

Run from the repository root (FSDD recordings: ../shared/data/fsdd or $SCATLAB_FSDD_DIR)::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_store.py [--workers 0 2] [--json benchmarks/store.json]

Transforms every FSDD recording (3,000 WAV files, cut or zero-padded to 8,192 samples;
``Scattering1D(J=6, Q=8)``) into a fresh feature store, once per number of decoding workers, and
reports the files per second of the whole pipeline (decoding, transform, memory-mapped writes)
beside the files per second of the transform alone, measured inside the same run: when the two
are close, the pipeline is not the bottleneck.
"""
from __future__ import annotations

import argparse
import os
import tempfile

import torch

from scatlab.commands.transform import input_files, transform_to_store
from scatlab.datasets.fsdd import fsdd_dir

from _record import write_record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the rows and their provenance to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    files = input_files([fsdd_dir() / "recordings"])
    rows = []
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as scratch:
            report = transform_to_store(files, os.path.join(scratch, "store"), J=6, Q=8, length=8192,
                                        batch_size=args.batch_size, workers=workers)
        rows.append({"files": report.files, "workers": workers, "batch_size": args.batch_size,
                     "seconds": report.seconds, "files_per_s": report.files_per_s,
                     "transform_files_per_s": report.transform_files_per_s})
        print(f"workers={workers}: {report.files_per_s:.0f} files/s (transform alone {report.transform_files_per_s:.0f})",
              flush=True)
    if args.json:
        write_record(args.json, "bench_store.py", argv, rows, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
