"""The ``scatlab`` command line: info, transform, synthesize, bench, reproduce.

The only place that parses arguments: each subcommand parses its own and calls the library
(:mod:`scatlab.commands`, :mod:`scatlab.reproduce`), and errors that the library raises with data
(:class:`~scatlab.reproduce.CheckpointsExist`, ...) are phrased here in command-line terms. User errors (scatlab's documented
errors and unwritable outputs) print one line ``scatlab: error: ...`` and exit with status 2; an
experiment of ``reproduce`` stopped by one is reported on its own line and also gives status 2.
"""
from __future__ import annotations

import argparse
import collections
import importlib
import json
import os
import platform
import sys
import warnings
from pathlib import Path
from collections.abc import Iterable, Sequence

from .errors import parameter_error
from .reproduce import (USER_ERRORS, CheckpointsExist, ConfigOverrideError, UnknownExperiment, experiment_names,
                        reproduce)
from .reproduce import registry
from .reproduce.provenance import versions
from .runtime import console_progress, is_main_process

__all__ = ["main", "build_parser"]

_EXTRAS = {"scikit-image": "skimage", "scikit-learn": "sklearn", "kymatio": "kymatio"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scatlab",
                                     description="Wavelet scattering transforms and their experiments.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("info", help="versions, torch threads, devices and optional extras")

    transform = commands.add_parser(
        "transform", help="scattering coefficients of files into an .npz or a feature store",
        description="Scatter WAV (1D), image (PNG, JPEG; 2D) or .npy files (or folders of them), all of one kind"
                    " and one shape. OUT.npz: one archive with coefficients (n_files, C, ...), files, meta_<column>"
                    " and the parameters, built in memory. OUT (any other name): a feature store folder filled in"
                    " batches (coefficients.npy memory-mapped, files.txt, meta.npz), for many files; running the"
                    " command again after an interruption finishes it; under torchrun, ranks share the batches."
                    " Read it with scatlab.io.load_store(OUT).")
    transform.add_argument("inputs", nargs="+", metavar="INPUT", help="files, or folders (read recursively)")
    transform.add_argument("-o", "--output", required=True, metavar="OUT.npz|OUT")
    transform.add_argument("--batch-size", type=int, default=64, help="feature store: files per batch (default 64)")
    transform.add_argument("--workers", type=int, default=2,
                           help="feature store: processes decoding files beside the transform (default 2)")
    transform.add_argument("--kind", choices=("auto", "1d", "2d"), default="auto",
                           help="auto: 1D for audio and 1D arrays, 2D for images (default)")
    transform.add_argument("--J", type=int, default=2, help="number of scales (default 2)")
    transform.add_argument("--L", type=int, default=8, help="orientations, 2D (default 8)")
    transform.add_argument("--Q", type=int, default=1, help="wavelets per octave at order 1, 1D (default 1)")
    transform.add_argument("--Q2", type=int, default=1, help="wavelets per octave at order 2, 1D (default 1)")
    transform.add_argument("--T", type=int, default=None, help="averaging scale, 1D (default 2**J)")
    transform.add_argument("--max-order", type=int, default=2, choices=(1, 2))
    transform.add_argument("--padding", choices=("reflect", "periodic"), default="reflect")
    transform.add_argument("--length", type=int, default=None, metavar="N",
                           help="1D: cut every recording to its first N samples or pad it with zeros to N, so that"
                                " files of different lengths stack (default: all must have one length)")
    transform.add_argument("--normalize", choices=("kymatio", "resolution"), default="kymatio",
                           help="1D: 'kymatio' as the 0.3.0 release (default), 'resolution' scales each filter by"
                                " its subsampling so energies compare across resolutions")

    synthesize = commands.add_parser(
        "synthesize", help="a texture with the scattering moments of an image or a recording",
        description="Synthesize a signal whose scattering moments (spatial averages of orders 0, 1, 2;"
                    " Bruna & Mallat 2019) match those of INPUT, by L-BFGS from white noise. Images (PNG, JPEG,"
                    " 2D .npy) give PNG or .npy; audio (WAV, 1D .npy) gives WAV or .npy.")
    synthesize.add_argument("input", metavar="INPUT")
    synthesize.add_argument("-o", "--output", required=True, metavar="OUTPUT", help=".png, .wav or .npy")
    synthesize.add_argument("--order", type=int, choices=(1, 2), default=2, help="highest moment order (default 2)")
    synthesize.add_argument("--J", type=int, default=None,
                            help="scales (default: images min(5, log2(side) - 3), audio min(8, log2(length) - 2))")
    synthesize.add_argument("--L", type=int, default=8, help="orientations, images (default 8)")
    synthesize.add_argument("--Q", type=int, default=8, help="first-order wavelets per octave, audio (default 8)")
    synthesize.add_argument("--steps", type=int, default=500, help="budget of moment evaluations (default 500)")
    synthesize.add_argument("--tol", type=float, default=1e-3, help="target relative moment error (default 1e-3)")
    synthesize.add_argument("--method", choices=("lbfgs", "adam"), default="lbfgs")
    synthesize.add_argument("--seed", type=int, default=0)
    synthesize.add_argument("--second-moments", action=argparse.BooleanOptionalAction, default=None,
                            help="also match the band energies and the variance (L2 moments); default: the"
                                 " library's choice, measured by the textures experiment")

    from .commands.bench import CONFIGS

    bench = commands.add_parser("bench", help="time the transforms against Kymatio 0.3.0 (same process, interleaved)",
                                epilog="configurations: " + ", ".join(c.name for c in CONFIGS))
    bench.add_argument("--config", action="append", metavar="NAME",
                       help="configuration name (repeatable; listed below); default: all")
    bench.add_argument("--repeats", type=int, default=7)
    bench.add_argument("--threads", type=int, default=2)
    bench.add_argument("--no-peer", action="store_true", help="time scatlab alone")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    bench.add_argument("--forward-only", action="store_true")
    bench.add_argument("--json", help="also write the rows to this JSON file")
    bench.add_argument("--child", nargs=3, help=argparse.SUPPRESS)

    reproduce = commands.add_parser("reproduce", help="run registered experiments and write DIR/index.html",
                                    epilog="experiments: " + ", ".join(registry.EXPERIMENTS))
    reproduce.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: all)")
    reproduce.add_argument("--quick", action="store_true", help="the fast variant of every experiment")
    reproduce.add_argument("--out", default="results", metavar="DIR", help="output directory (default: results)")
    reproduce.add_argument("--seed", type=int, default=0)
    reproduce.add_argument("--resume", action="store_true",
                           help="continue training from the checkpoints in DIR (without it, existing checkpoints"
                                " stop the run before it starts)")
    reproduce.add_argument("--strict", action="store_true",
                           help="fail (exit status 2) when an experiment's data is missing, instead of skipping it")
    reproduce.add_argument("--set", action="append", default=[], dest="options", metavar="KEY=VALUE",
                           help="change a field of the experiments' Config, e.g. --set data_dir=DIR (MNIST or CIFAR-10"
                                " files) or --set train_sizes=1000,60000; repeatable")
    archive = commands.add_parser("archive", help="keep finished runs in the results archive (for RESULTS.md)",
                                  description="Copy RUN_DIR/NAME/results.json and its figures into ARCHIVE/NAME,"
                                              " replacing an earlier archived run of NAME (its NOTES.md is kept).")
    archive.add_argument("run_dir", metavar="RUN_DIR", help="the --out directory of `scatlab reproduce`")
    archive.add_argument("names", nargs="+", metavar="NAME", help="experiments to archive")
    archive.add_argument("--to", default="archive", metavar="ARCHIVE", help="the archive folder (default: archive)")

    results = commands.add_parser("results", help="write RESULTS.md from the results archive",
                                  description="Generate RESULTS.md from ARCHIVE/*/results.json (and NOTES.md).")
    results.add_argument("--archive", default="archive", metavar="ARCHIVE", help="the archive folder (default: archive)")
    results.add_argument("-o", "--output", default="RESULTS.md", metavar="FILE")
    results.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if FILE differs from what the archive generates")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok or data missing, 1 an experiment failed, 2 user error,
    or data missing under ``reproduce --strict``)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return {"info": _info, "transform": _transform, "synthesize": _synthesize, "bench": _bench,
                "reproduce": _reproduce, "archive": _archive, "results": _results}[args.command](args)
    except USER_ERRORS as exc:
        print(f"scatlab: error: {_phrase(exc)}", file=sys.stderr)
        return 2


def _phrase(exc: Exception) -> str:
    """The message of a user error, in command-line terms where the library's refers to parameters."""
    if isinstance(exc, CheckpointsExist):
        return (f"The checkpoint '{exc.first}' ({exc.count} in all) was left by an earlier run of {exc.experiment};"
                " pass --resume to continue its training, or choose another --out DIR to start afresh."
                " Nothing was written.")
    if isinstance(exc, ConfigOverrideError):
        if exc.key == "seed":
            return "Set the seed with --seed N, not --set seed=N (it also seeds the generators)."
        if exc.key not in exc.fields:
            return parameter_error(f"scatlab reproduce {exc.experiment} --set", "KEY", f"one of {list(exc.fields)}",
                                   exc.key).args[0]
        if exc.reason.startswith("expected a value ("):
            return f"--set {exc.key}= for experiment {exc.experiment}: expected a value after '='."
        return f"--set {exc.key}={exc.text!r} for experiment {exc.experiment}: {exc.reason}."
    if isinstance(exc, UnknownExperiment):
        return parameter_error("scatlab reproduce", "NAME", f"a registered experiment: {', '.join(exc.known)}",
                               exc.name).args[0]
    return str(exc)


def _progress(iterable: Iterable, **kwargs) -> Iterable:
    return console_progress()(iterable, **kwargs)


def _info(args: argparse.Namespace) -> int:
    import torch

    for name, version in versions().items():
        print(f"{name:<14}{version}")
    print(f"{'platform':<14}{platform.platform()}")
    print(f"{'torch threads':<14}{torch.get_num_threads()}")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cuda = [torch.cuda.get_device_name(i) for i in range(count)]
    print(f"{'devices':<14}cpu" + "".join(f", cuda:{i} ({n})" for i, n in enumerate(cuda)))
    print(f"{'cuda':<14}{'available' if cuda else 'not available'}")
    for extra, module in _EXTRAS.items():
        print(f"{extra:<14}{_import_status(module)}")
    return 0


def _import_status(module: str) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            imported = importlib.import_module(module)
    except Exception as exc:  # any failure to import means the extra is unusable
        return f"not usable ({type(exc).__name__}: {exc})"
    return f"yes ({getattr(imported, '__version__', 'unknown version')})"


def _transform(args: argparse.Namespace) -> int:
    from .commands.transform import input_files, transform_files, transform_to_store
    from .datasets.files import ConvertedToGrey
    from .io import atomic_savez

    output = Path(args.output)
    as_store = output.suffix.lower() != ".npz" or output.is_dir() or args.output.endswith(("/", os.sep))
    if as_store and output.suffix and not (output.is_dir() or args.output.endswith(("/", os.sep))):
        raise parameter_error("scatlab transform", "--output", "OUT.npz (one NumPy archive) or a folder: a name"
                              " without a suffix, an existing folder or a name ending in '/' (a feature store)",
                              args.output)
    inputs = input_files(args.inputs)
    parameters = dict(kind=args.kind, J=args.J, L=args.L, Q=(args.Q, args.Q2), T=args.T, max_order=args.max_order,
                      padding=args.padding, normalize=args.normalize, length=args.length, progress=_progress)
    new_folder = not output.parent.exists()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvertedToGrey)
        if not as_store:
            arrays = transform_files(inputs, **parameters)
        else:
            report = transform_to_store(inputs, output, batch_size=args.batch_size, workers=args.workers, **parameters)
    for warning in {str(w.message): w for w in caught}.values():
        print(f"note: {warning.message}", file=sys.stderr)
    if as_store:
        resumed = f"; {report.resumed} batch(es) were done by an earlier run" if report.resumed else ""
        print(f"wrote the feature store {report.folder}: coefficients {report.shape} from {len(inputs)} file(s),"
              f" {report.written} of {report.batches} batches in {report.seconds:.1f} s ({report.files_per_s:.1f}"
              f" files/s; the transform alone: {report.transform_files_per_s:.1f} files/s){resumed}")
        return 0
    path = atomic_savez(output, **arrays)
    shape = arrays["coefficients"].shape
    created = f" (created the folder {output.parent})" if new_folder else ""
    print(f"wrote {path}{created}: coefficients {shape} ({arrays['kind']}) from {len(inputs)} file(s)")
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    from .commands.synthesize import synthesize_file

    report = synthesize_file(args.input, args.output, order=args.order, J=args.J, L=args.L, Q=args.Q,
                             steps=args.steps, tol=args.tol, method=args.method, seed=args.seed,
                             second_moments=args.second_moments)
    status = "" if report.converged else f" (did not reach --tol {args.tol:g}: raise --steps)"
    print(f"wrote {report.output}: order-{report.order} synthesis of shape {report.shape} (J={report.J}), relative"
          f" moment error {report.rel_error:.2e} after {report.evaluations} evaluations in {report.seconds:.1f} s"
          f"{status}; energy kept {report.energy_kept:.1%} (variance of the output / the input's;"
          f" second moments {'matched' if report.second_moments else 'not matched'})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .commands import bench

    if args.child:
        bench.child(*args.child, threads=args.threads)
        return 0
    _, table = bench.run(args.config, repeats=args.repeats, threads=args.threads, peer=not args.no_peer,
                         memory=not args.no_memory, forward_only=args.forward_only, json_path=args.json)
    print(table)
    print(f"\nmachine: {json.dumps(bench.machine())}")
    return 0


def _options(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE strings as a dictionary; anything else raises."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise parameter_error("scatlab reproduce", "--set", "KEY=VALUE, e.g. --set epochs_full=15", pair)
        options[key.strip()] = value
    return options


def _archive(args: argparse.Namespace) -> int:
    from .reproduce.archive import archive_run

    for name in experiment_names(args.names):
        print(f"archived {archive_run(args.run_dir, name, args.to)}")
    return 0


def _results(args: argparse.Namespace) -> int:
    from .io import atomic_write_text
    from .report import results_markdown

    text = results_markdown(args.archive, order=registry.EXPERIMENTS)
    output = Path(args.output)
    if args.check:
        same = output.is_file() and output.read_text(encoding="utf-8") == text
        print(f"{output} {'matches' if same else 'differs from'} what {args.archive} generates"
              + ("" if same else ": run `scatlab results`"))
        return 0 if same else 1
    print(f"wrote {atomic_write_text(output, text)} from {len(list(Path(args.archive).glob('*/results.json')))}"
          f" archived run(s)")
    return 0


def _summary_line(record: dict) -> str:
    """One experiment's status, wall time and verdicts (or its error, or how to get its data)."""
    seconds = record["wall_time_s"]
    line = f"  {record['experiment']}: {record['status']} in {seconds:.0f} s" if seconds >= 10 else \
        f"  {record['experiment']}: {record['status']} in {seconds:.1f} s"
    if record.get("cpu_time_s") is not None and seconds >= 10:
        line += f" (CPU {record['cpu_time_s']:.0f} s)"
    if record["status"] != "ok":
        return f"{line}: {record['error']}"
    counts = collections.Counter(v["verdict"] for v in record.get("verdicts") or [])
    return line + (": " + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) if counts else "")


def _reproduce(args: argparse.Namespace) -> int:
    from .report import build_report

    names = experiment_names(args.names)
    records = reproduce(names, args.out, quick=args.quick, seed=args.seed, progress=_progress,
                        options=_options(args.options), resume=args.resume)
    print("\nsummary:")
    for record in records:
        print(_summary_line(record))
    if is_main_process():  # under torchrun, rank 0 alone writes the report
        print(f"report: {build_report(args.out, order=registry.EXPERIMENTS)}")
    failed = [record for record in records if record["status"] == "failed"]
    skipped = [record for record in records if record["status"] == "skipped"]
    if skipped and args.strict:
        return 2
    return 2 if any(record["user_error"] for record in failed) else 1 if failed else 0
