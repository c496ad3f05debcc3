"""The ``scatlab`` command line: info, transform, bench, reproduce.

Each subcommand parses its arguments and calls the library. User errors (scatlab's documented
errors and unwritable outputs) print one line ``scatlab: error: ...`` and exit with status 2; an
experiment of ``reproduce`` stopped by one is reported on its own line and also gives status 2.
"""
from __future__ import annotations

import argparse
import importlib
import platform
import sys
import warnings
from collections.abc import Iterable, Sequence

from tqdm import tqdm

from .errors import parameter_error
from .experiments.registry import USER_ERRORS, experiment_names, is_main_process, reproduce, versions
from .synthesis import command as synthesize_command

__all__ = ["main", "build_parser"]

_EXTRAS = {"scikit-image": "skimage", "scikit-learn": "sklearn", "kymatio": "kymatio"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scatlab",
                                     description="Wavelet scattering transforms and their experiments.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("info", help="versions, torch threads, devices and optional extras")

    transform = commands.add_parser(
        "transform", help="scattering coefficients of files into an .npz",
        description="Scatter WAV (1D), image (PNG, JPEG; 2D) or .npy files, all of one kind and one shape,"
                    " into OUT.npz: coefficients (n_files, C, ...), files, meta_<column> and the parameters.")
    transform.add_argument("inputs", nargs="+", metavar="INPUT")
    transform.add_argument("-o", "--output", required=True, metavar="OUT.npz")
    transform.add_argument("--kind", choices=("auto", "1d", "2d"), default="auto",
                           help="auto: 1D for audio and 1D arrays, 2D for images (default)")
    transform.add_argument("--J", type=int, default=2, help="number of scales (default 2)")
    transform.add_argument("--L", type=int, default=8, help="orientations, 2D (default 8)")
    transform.add_argument("--Q", type=int, default=1, help="wavelets per octave at order 1, 1D (default 1)")
    transform.add_argument("--Q2", type=int, default=1, help="wavelets per octave at order 2, 1D (default 1)")
    transform.add_argument("--T", type=int, default=None, help="averaging scale, 1D (default 2**J)")
    transform.add_argument("--max-order", type=int, default=2, choices=(1, 2))
    transform.add_argument("--padding", choices=("reflect", "periodic"), default="reflect")
    transform.add_argument("--normalize", choices=("kymatio", "resolution"), default="kymatio",
                           help="1D: 'kymatio' as the 0.3.0 release (default), 'resolution' scales each filter by"
                                " its subsampling so energies compare across resolutions")

    synthesize_command.add_parser(commands)

    commands.add_parser("bench", help="run the benchmarks (scatlab.bench); arguments are passed on", add_help=False)

    reproduce = commands.add_parser("reproduce", help="run registered experiments and write DIR/index.html")
    reproduce.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: all)")
    reproduce.add_argument("--quick", action="store_true", help="the fast variant of every experiment")
    reproduce.add_argument("--out", default="results", metavar="DIR", help="output directory (default: results)")
    reproduce.add_argument("--seed", type=int, default=0)
    reproduce.add_argument("--resume", action="store_true",
                           help="continue training from the checkpoints in DIR (without it, existing checkpoints"
                                " stop the run before it starts)")
    reproduce.add_argument("--set", action="append", default=[], dest="options", metavar="KEY=VALUE",
                           help="change a field of the experiments' Config, e.g. --set data_dir=DIR (MNIST or CIFAR-10"
                                " files) or --set train_sizes=1000,60000; repeatable")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 an experiment failed, 2 user error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["bench"]:
            return _bench(argv[1:])
        args = build_parser().parse_args(argv)
        return {"info": _info, "transform": _transform, "synthesize": synthesize_command.run,
                "reproduce": _reproduce}[args.command](args)
    except USER_ERRORS as exc:
        print(f"scatlab: error: {exc}", file=sys.stderr)
        return 2


def _progress(iterable: Iterable, **kwargs) -> Iterable:
    return tqdm(iterable, leave=False, dynamic_ncols=True, **kwargs)


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
    from .io import atomic_savez, transform_files

    arrays = transform_files(args.inputs, kind=args.kind, J=args.J, L=args.L, Q=(args.Q, args.Q2), T=args.T,
                             max_order=args.max_order, padding=args.padding, normalize=args.normalize,
                             progress=_progress)
    path = atomic_savez(args.output, **arrays)
    shape = arrays["coefficients"].shape
    print(f"wrote {path}: coefficients {shape} ({arrays['kind']}) from {len(args.inputs)} file(s)")
    return 0


def _bench(argv: list[str]) -> int:
    from . import bench

    return int(bench.main(argv) or 0)


def _options(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE strings as a dictionary; anything else raises."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise parameter_error("scatlab reproduce", "--set", "KEY=VALUE, e.g. --set epochs_full=15", pair)
        options[key.strip()] = value
    return options


def _reproduce(args: argparse.Namespace) -> int:
    from .report import build_report

    names = experiment_names(args.names)
    records = reproduce(names, args.out, quick=args.quick, seed=args.seed, progress=_progress,
                        options=_options(args.options), resume=args.resume)
    for record in records:
        line = f"{record['experiment']}: {record['status']} in {record['wall_time_s']:.1f} s"
        print(line if record["status"] == "ok" else f"{line}: {record['error']}")
    if is_main_process():  # under torchrun, rank 0 alone writes the report
        print(f"report: {build_report(args.out)}")
    failed = [record for record in records if record["status"] != "ok"]
    return 2 if any(record["user_error"] for record in failed) else 1 if failed else 0
