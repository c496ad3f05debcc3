r"""Experiment ``qm9``: atomization energies of QM9 from solid harmonic scattering + ridge regression.

Eickenberg et al. (NeurIPS 2017; J. Chem. Phys. 2018) regress molecular energies linearly on the
rotation- and translation-invariant scattering coefficients of the molecule's electronic density
(full, valence and core channels; orders 0, 1, 2; integral powers q in {0.5, 1, 2, 3}); the
regression weights act as an equivalent potential. Here: QM9 (qm9pack, 130,831 molecules), U0
atomization energy in kcal/mol, one fixed random permutation (``seed``): the LAST ``n_test``
molecules of the permutation are the test set, the training sets are nested prefixes from its start
(:func:`qm9_split`), so a pilot run on a prefix never sees a test molecule. Regressions, features
standardized, ridge penalty chosen by ``cv_folds``-fold cross-validation (MAE) on each training set:

- ``scattering``: ridge on the invariants :math:`\|U[p]\rho_c\|_q^q` (the paper's linear model);
- ``scattering + log``: ridge on the invariants, their logarithms and the atom counts, still linear
  in its inputs (products of powers of the invariants become sums);
- ``+ residual MLP`` (largest training size, ``mlp_epochs`` > 0): a small network fitted to the
  residual of the previous ridge (:func:`scatlab.learning.regression.fit_residual_mlp`);
- ``+ Gaussian kernel`` (training sizes from ``kernel_curve_from`` on and the largest,
  ``kernel_max_train`` > 0): Gaussian kernel ridge on that residual, length scale and penalty chosen
  on held-out training molecules (:func:`scatlab.learning.regression.fit_kernel_residual`; exact on
  at most ``kernel_max_train``; or exact on disjoint blocks of ``kernel_block`` molecules, averaged,
  in memory bounded by one block; or FALKON on ``kernel_centres`` Nystroem centres);
- ``atom counts``: ridge on the counts of H, C, N, O, F, the baseline that scattering must beat.

Anchors: about 0.5 kcal/mol MAE on QM9 with a large training set (Eickenberg et al. 2018, a
recollection, unverified); Kymatio's QM7 example reaches 2.75 kcal/mol (QM7, 5-fold).

Split history: until 2026-12-07 the test set was the first ``n_test`` molecules of the permutation,
and the grid of :class:`scatlab.chem.features.FeatureSpec` was chosen on pilots of this experiment
(2,000 training + 1,000 test molecules, RESULTS-earlier.md; at most 10,000 molecules) at the start
of the same seed-0 permutation of all 130,831 molecules, i.e. on what was then test data. Those
positions (below 10,000) are now training molecules; the test set of the full run (positions
120,831 ... 130,830) was never used for any choice. The kernel length scale and penalty grids were
narrowed on validation molecules held out of training sets (see ``kernel_lengthscales``). The
feature cache is unchanged: chunk i still holds permutation positions [i c, (i + 1) c), so caches
written before the move stay valid (their chunk ids are checked on load).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..chem.features import (FeatureSpec, Featurizer, chunk_positions, featurize_cached, load_cached,
                             wait_for_chunks)
from ..datasets.qm9 import ATOM_U0_HARTREE, load_qm9
from ..errors import InvalidParameterError
from ..io.atomic import atomic_write
from ..learning.regression import fit_kernel_residual, fit_residual_mlp, fit_ridge
from ..runtime import Progress, local_device, shard_of
from ._contract import Result

__all__ = ["Config", "run", "qm9_order", "qm9_split", "qm9_chunks", "log_design", "atom_counts", "measure_rate"]

PAPER_MAE = 0.5  # Eickenberg et al. 2018, large training set (unverified recollection, see ANCHORS.md)


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the QM9 regression; the defaults are the full run."""

    train_sizes: tuple[int, ...] = (1000, 2000, 5000, 10000, 20000, 50000, 110831)  # nested prefixes of the permutation
    n_test: int = 10000  # held-out molecules (the last of the permutation)
    # the grid and scattering of chem.features.FeatureSpec (its defaults and their reasons)
    shape: tuple[int, int, int] = FeatureSpec.shape  # grid points
    spacing: float = FeatureSpec.spacing  # Angstrom per grid point
    sigma: float = FeatureSpec.sigma  # width of the atomic Gaussians and of the finest wavelet (Angstrom)
    margin: float = FeatureSpec.margin  # Angstrom kept free around the molecule in the box
    J: int = FeatureSpec.J  # scales 0 ... J
    L: int = FeatureSpec.L  # degrees 0 ... L (L = 2 rather than Kymatio's 3: 2x the featurization rate)
    integral_powers: tuple[float, ...] = FeatureSpec.integral_powers
    alphas: tuple[float, ...] = tuple(10.0 ** k for k in range(-10, 3))  # ridge penalties tried by CV
    cv_folds: int = 5
    cache_dir: str = str(Path.home() / ".cache" / "scatlab" / "qm9")  # feature chunks (resumable)
    chunk_size: int = 256  # molecules per cached chunk
    data_dir: str | None = None  # directory of qm9_part{1,2,3}.csv; None: the installed qm9pack
    read_limit: int | None = None  # read only the first rows of the CSV files (tests)
    skip_bad: bool = False  # leave out malformed rows / molecules that do not fit, and count them
    device: str = "cpu"  # where the scattering runs ('cuda': this rank's GPU under torchrun, 'cuda:1', ...)
    shard_wait_s: float = 3600.0  # with several ranks (torchrun), rank 0 waits this long for the others' chunks
    mlp_epochs: int = 150  # epochs of the residual MLP at the largest training size (0: not fitted)
    mlp_width: int = 512  # hidden units per layer of the residual MLP
    # Gaussian kernel ridge on the residual: molecules it is fitted on (0: none); exact, float64,
    # 8 n^2 bytes and the test cross kernel (36,000: 13 GB)
    kernel_max_train: int = 36000
    # 0: the exact kernel above; M > 0: FALKON on M Nystroem centres (learning.falkon; 4 n M + 24 M^2 bytes,
    # e.g. kernel_max_train=110831 with 10,000 centres: 4.4 + 2.4 GB); it stalls at the tiny penalties these
    # features choose (learning.falkon, "Limit"): use kernel_block for all 110,831
    kernel_centres: int = 0
    # 0: one exact fit; b > 0 (with kernel_centres 0): divide and conquer, exact fits on disjoint blocks of at
    # most b molecules, averaged (learning.regression; 8 b^2 bytes: 37,000 -> 11 GB), for all 110,831
    kernel_block: int = 0
    # the kernel is also fitted at every smaller training size from this one on (its learning curve)
    kernel_curve_from: int = 20000
    # length scales (x sqrt(features)) and penalties tried: smooth kernels, tiny penalties (chosen
    # 8 and 1e-9 at 20,000 molecules, 8 and 1e-11 at 30,000 and 36,000; RESULTS.md)
    kernel_lengthscales: tuple[float, ...] = (4.0, 8.0, 16.0)
    kernel_penalties: tuple[float, ...] = (1e-12, 1e-11, 1e-10)
    seed: int = 0  # permutation of the molecules (fixes the split and the cache layout)

    @classmethod
    def quick(cls) -> Config:
        """250 test and up to 1,000 training molecules (1,295 featurized: chunks 0-3 and the last two
        chunks 510-511 of the permutation; 110 s with an empty cache and a busy core,
        benchmarks/reproduce_quick.json, and seconds once the cache holds them; shares the cache)."""
        return cls(train_sizes=(250, 500, 1000), n_test=250, mlp_epochs=40)

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec(tuple(self.shape), self.spacing, self.sigma, self.margin, self.J, self.L,
                           tuple(self.integral_powers))


def qm9_order(n: int, seed: int) -> np.ndarray:
    """The fixed permutation of the n molecules: nested training sets from its start, test set at its end."""
    return np.random.default_rng(seed).permutation(n)


def qm9_split(n: int, n_test: int, train_sizes) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(test positions, {size: training positions}) in the permutation of n molecules: the test set is
    the last ``n_test`` positions, each training set the first ``size`` positions; they never meet
    (raises when ``n_test + max(train_sizes) > n``)."""
    if n_test + max(train_sizes) > n:
        raise InvalidParameterError(f"Config asks for {n_test} test + {max(train_sizes)} training molecules"
                                    f" but {n} were read; lower train_sizes or n_test.")
    return np.arange(n - n_test, n), {size: np.arange(size) for size in train_sizes}


def qm9_chunks(n: int, n_test: int, train_sizes, chunk_size: int) -> list[int]:
    """The feature chunks (of ``chunk_size`` permutation positions) holding the largest training prefix
    and the test tail: all that a run featurizes."""
    head = range(-(-max(train_sizes) // chunk_size))
    tail = range((n - n_test) // chunk_size, -(-n // chunk_size))
    return sorted(set(head) | set(tail))


def log_design(features: np.ndarray, counts: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """[invariants, log(invariants + floor), atom counts]; ``floor`` (per column, > 0) keeps the
    logarithm finite where an invariant vanishes (the core density of a molecule without heavy atoms)."""
    return np.hstack([features, np.log(features + floor), counts])


def atom_counts(molecules) -> np.ndarray:
    """(n, 5): the counts of H, C, N, O, F atoms of each molecule."""
    symbols = list(ATOM_U0_HARTREE)
    return np.array([[m.symbols.count(s) for s in symbols] for m in molecules], dtype=np.float64)


def _check(cfg: Config) -> None:
    if cfg.n_test < 2 or not cfg.train_sizes or min(cfg.train_sizes) < cfg.cv_folds:
        raise InvalidParameterError(f"Config needs n_test >= 2 and every training size >= cv_folds"
                                    f" ({cfg.cv_folds}); got n_test={cfg.n_test}, train_sizes={cfg.train_sizes}.")
    if cfg.mlp_epochs < 0 or cfg.mlp_width < 1:
        raise InvalidParameterError(f"Config needs mlp_epochs >= 0 (0: no residual MLP) and mlp_width >= 1; got"
                                    f" mlp_epochs={cfg.mlp_epochs}, mlp_width={cfg.mlp_width}.")
    if cfg.kernel_centres < 0 or cfg.kernel_block < 0 or cfg.kernel_block == 1 or cfg.kernel_curve_from < 0:
        raise InvalidParameterError(f"Config.kernel_centres must be >= 0 (0: exact kernel ridge), kernel_block 0 (one"
                                    f" exact fit) or >= 2, kernel_curve_from >= 0; got {cfg.kernel_centres},"
                                    f" {cfg.kernel_block}, {cfg.kernel_curve_from}.")
    if cfg.kernel_max_train < 0 or not cfg.kernel_lengthscales or not cfg.kernel_penalties or min(
            cfg.kernel_lengthscales + cfg.kernel_penalties) <= 0:
        raise InvalidParameterError(f"Config needs kernel_max_train >= 0 (0: no kernel ridge) and non-empty, positive"
                                    f" kernel_lengthscales and kernel_penalties; got {cfg.kernel_max_train},"
                                    f" {cfg.kernel_lengthscales}, {cfg.kernel_penalties}.")


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Featurize (cached), fit the learning curve, write the figure; metrics at the largest size.

    Under torchrun, a rank other than 0 only writes its feature chunks to the cache: nothing in
    ``out_dir`` (rank 0 fits and writes the results)."""
    _check(cfg)
    data = load_qm9(cfg.data_dir, limit=cfg.read_limit, skip_bad=cfg.skip_bad)
    n_all = len(data)
    order = qm9_order(n_all, cfg.seed)
    test_positions, train_positions = qm9_split(n_all, cfg.n_test, cfg.train_sizes)
    # chunks of permutation positions (the layout of the whole permutation, shared by every Config):
    # only those of the largest training prefix and of the test tail are featurized
    chunks = qm9_chunks(n_all, cfg.n_test, cfg.train_sizes, cfg.chunk_size)
    positions = chunk_positions(chunks, n_all, cfg.chunk_size)  # the rows loaded below
    spec = cfg.spec
    cache = Path(cfg.cache_dir) / f"n{n_all}-seed{cfg.seed}-c{cfg.chunk_size}"  # one layout per directory
    all_mols = [data.molecules[i] for i in order]  # references, in permutation order
    all_ids = data.index[order]
    done = featurize_cached(all_mols, all_ids, cache, spec, chunk_size=cfg.chunk_size, skip_bad=cfg.skip_bad,
                            progress=progress, device=cfg.device, chunks=chunks)
    mols = [all_mols[p] for p in positions]
    rate = done["molecules"] / done["seconds"] if done["molecules"] else measure_rate(spec, mols[:16], cfg.device)
    rank, world = shard_of()
    if rank > 0:  # torchrun / several processes: rank 0 fits once every rank has written its chunks
        return Result(metrics=dict(molecules_per_s=float(rate), n_featurized=float(done["molecules"])),
                      notes=[f"rank {rank} of {world} featurized its shard; rank 0 fits the regression."])
    if world > 1:
        wait_for_chunks(n_all, cache, spec, chunk_size=cfg.chunk_size, timeout_s=cfg.shard_wait_s, chunks=chunks)
    features, ok = load_cached(all_ids, cache, spec, chunk_size=cfg.chunk_size, chunks=chunks)
    target = data.atomization_kcal_mol[order[positions]]
    counts = atom_counts(mols)
    row_of = {int(p): k for k, p in enumerate(positions)}  # permutation position -> row of features
    test = np.array([row_of[int(p)] for p in test_positions])
    used = set(test.tolist())
    test = test[ok[test]]
    rows, curves = [], {"scattering": [], "scattering + log": [], "atom counts": []}
    kernel_curve = []  # (training size, test MAE) of the kernel model
    sizes = sorted(cfg.train_sizes)
    for n in sizes:
        train = np.array([row_of[int(p)] for p in train_positions[n]])
        used.update(train.tolist())
        train = train[ok[train]]
        design = log_design(features, counts, 1e-6 * np.abs(features[train]).mean(0) + 1e-30)
        fits = {"scattering": fit_ridge(features[train], target[train], features[test], cfg.alphas, cfg.cv_folds, cfg.seed),
                "scattering + log": fit_ridge(design[train], target[train], design[test], cfg.alphas, cfg.cv_folds,
                                              cfg.seed),
                "atom counts": fit_ridge(counts[train], target[train], counts[test], cfg.alphas, cfg.cv_folds, cfg.seed)}
        errors = {name: pred - target[test] for name, (pred, _) in fits.items()}
        for name, err in errors.items():
            curves[name].append(float(np.abs(err).mean()))
        row = ([n, len(train)] + [round(curves[name][-1], 3) for name in curves]
               + [round(float(np.sqrt(np.mean(errors["scattering"] ** 2))), 3), fits["scattering"][1],
                  fits["scattering + log"][1]])
        if cfg.kernel_max_train > 0 and (n >= cfg.kernel_curve_from or n == sizes[-1]):
            pred, kernel = fit_kernel_residual(design[train], target[train], design[test],
                                               alpha=fits["scattering + log"][1], lengthscales=cfg.kernel_lengthscales,
                                               penalties=cfg.kernel_penalties, max_train=cfg.kernel_max_train,
                                               centres=cfg.kernel_centres or None, block=cfg.kernel_block or None,
                                               seed=cfg.seed, progress=progress)
            kernel_errors = pred - target[test]
            kernel_curve.append((n, float(np.abs(kernel_errors).mean())))
            row += [round(kernel_curve[-1][1], 3), f"{kernel['lengthscale']:g} / {kernel['penalty']:g}",
                    f"{kernel['n_train']} in {kernel['blocks']}" if kernel["blocks"] > 1 else kernel["n_train"]]
        elif cfg.kernel_max_train > 0:
            row += ["", "", ""]
        rows.append(row)
    largest = errors
    if cfg.mlp_epochs > 0:
        pred = fit_residual_mlp(design[train], target[train], design[test], alpha=fits["scattering + log"][1],
                                epochs=cfg.mlp_epochs, width=cfg.mlp_width, seed=cfg.seed, progress=progress)
        largest = {**largest, "scattering + log + residual MLP": pred - target[test]}
    if cfg.kernel_max_train > 0:
        largest = {**largest, "scattering + log + Gaussian kernel": kernel_errors}
    mae = {name: float(np.abs(err).mean()) for name, err in largest.items()}
    rmse = {name: float(np.sqrt(np.mean(err**2))) for name, err in largest.items()}
    best = min(mae, key=mae.get)
    n_skipped = int((~ok[sorted(used)]).sum())
    metrics = dict(test_mae_kcal_mol=mae["scattering"], test_rmse_kcal_mol=rmse["scattering"],
                   test_mae_kcal_mol_log=mae["scattering + log"], test_rmse_kcal_mol_log=rmse["scattering + log"],
                   best_test_mae_kcal_mol=mae[best], n_train=float(len(train)), n_test=float(len(test)),
                   molecules_per_s=float(rate), atom_counts_mae_kcal_mol=mae["atom counts"],
                   gap_to_paper_kcal_mol=mae[best] - PAPER_MAE, n_features=float(features.shape[1]),
                   n_skipped_rows=float(data.n_skipped), n_skipped_molecules=float(n_skipped))
    if "scattering + log + residual MLP" in mae:
        metrics["test_mae_kcal_mol_mlp"] = mae["scattering + log + residual MLP"]
        metrics["test_rmse_kcal_mol_mlp"] = rmse["scattering + log + residual MLP"]
    if "scattering + log + Gaussian kernel" in mae:
        metrics["test_mae_kcal_mol_kernel"] = mae["scattering + log + Gaussian kernel"]
        metrics["test_rmse_kcal_mol_kernel"] = rmse["scattering + log + Gaussian kernel"]
        metrics.update({f"kernel_{key}": float(value) for key, value in kernel.items()})
    curve = (f"Learning curve: test MAE (kcal/mol) of U0 atomization energy, {len(test)} test molecules,"
             f" grid {spec.shape} x {spec.spacing:.3g} Å, J={spec.J} L={spec.L}",
             ["training size", "used", "MAE scattering", "MAE scattering + log", "MAE atom counts",
              "RMSE scattering", "alpha scattering (CV)", "alpha scattering + log (CV)"]
             + (["MAE + Gaussian kernel", "kernel length scale / penalty (held out)", "kernel fitted on (blocks)"]
                if cfg.kernel_max_train > 0 else []), rows)
    final = (f"Regressions at {len(train)} training molecules (test MAE and RMSE, kcal/mol)",
             ["regression", "MAE", "RMSE"], [[name, round(mae[name], 3), round(rmse[name], 3)] for name in mae])
    figure = _plot(sizes, curves, kernel_curve, out_dir)
    notes = [f"At {len(train)} training molecules the paper's linear model (ridge on the invariants) reaches"
             f" {mae['scattering']:.3f} kcal/mol MAE, ridge on invariants + logs + atom counts"
             f" {mae['scattering + log']:.3f}" + (f", with the residual MLP {metrics['test_mae_kcal_mol_mlp']:.3f}"
                                                  if "test_mae_kcal_mol_mlp" in metrics else "")
             + (f", with Gaussian kernel ridge on the residual {metrics['test_mae_kcal_mol_kernel']:.3f} (length scale"
                f" {metrics['kernel_lengthscale']:g}, penalty {metrics['kernel_penalty']:g}, chosen on held-out"
                f" training molecules, fitted on {metrics['kernel_n_train']:.0f}"
                + (f" in {metrics['kernel_blocks']:.0f} blocks, averaged" if metrics.get("kernel_blocks", 1) > 1 else "")
                + ")"
                if "test_mae_kcal_mol_kernel" in metrics else "")
             + f" (atom counts alone: {mae['atom counts']:.3f}). The published figure is about {PAPER_MAE} kcal/mol"
             f" with a large training set (unverified): the best here ({best}) is {mae[best] - PAPER_MAE:.2f} kcal/mol"
             " away.",
             f"Featurization ran at {rate:.2f} molecules/s (3 densities per molecule) in this process.",
             f"{data.n_skipped} malformed rows and {n_skipped} molecules that do not fit the grid were skipped."]
    return Result(metrics=metrics, tables=[curve, final], figures=[figure], notes=notes)


def measure_rate(spec: FeatureSpec, molecules, device: str) -> float:
    """Molecules per second of a Featurizer of ``spec`` on ``molecules`` (when the cache held them all)."""
    featurizer = Featurizer(spec, local_device(device))
    start = time.perf_counter()
    featurizer(molecules)
    return len(molecules) / (time.perf_counter() - start)


def _plot(sizes, curves: dict, kernel_curve: list, out_dir: Path) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    ax = fig.subplots()
    for (label, mae), style in zip(curves.items(), ("o-", "d-", "s--")):
        ax.loglog(sizes, mae, style, label=label)
    if kernel_curve:
        ax.loglog(*zip(*kernel_curve), "^-", label="scattering + log + Gaussian kernel")
    ax.axhline(PAPER_MAE, color="gray", ls=":", label="Eickenberg et al. 2018 (about, unverified)")
    ax.set_xlabel("training molecules")
    ax.set_ylabel("test MAE (kcal/mol)")
    ax.set_title("QM9 U0 atomization energy")
    ax.legend(fontsize=8)
    name = "qm9_learning_curve.png"
    atomic_write(Path(out_dir) / name, lambda file: fig.savefig(file, format="png", dpi=110))
    return name
