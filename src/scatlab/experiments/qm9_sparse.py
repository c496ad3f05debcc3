r"""Experiment ``qm9-sparse``: sparse regression of QM9 energies on Fourier-modulus vs scattering dictionaries.

Hirn, Mallat & Poilvert (Multiscale Model. Simul. 15, 2017; Mallat's talks, and for 3D densities
Eickenberg et al., NeurIPS 2017) fit :math:`f_M(x) = b + \sum_{k \le M} w_k \phi_{n_k}(\rho_x)` with
M terms selected greedily from an invariant dictionary and plot the test error
:math:`\tfrac12 \log_2 E[(f_M(x) - y(x))^2]` (= log2 of the RMSE, kcal/mol) against M: scattering
invariants need far fewer terms than Fourier-modulus invariants, and second-order coefficients
(interactions across scales) lower the error further. Here, three dictionaries computed on the same
full, valence and core densities (:class:`scatlab.chem.features.FeatureSpec`: 1/3 Angstrom grid,
Gaussians of 0.5 Angstrom, molecules aligned to their principal axes), each with the squares of its
coefficients (:func:`scatlab.learning.sparse.with_squares`):

- ``Fourier modulus``: :math:`|\hat\rho_c|` averaged over the spherical frequency shells
  :math:`[(k - 1/2)\Delta, (k + 1/2)\Delta)`, k = 0, 1, ..., every shell below the Nyquist frequency
  :math:`\pi/h` = 9.42 rad/Angstrom (:mod:`scatlab.chem.fourier`), the densities in a box
  ``fourier_oversampling`` = 2 times larger per axis (frequency lattice steps 0.20, 0.26, 0.31
  rad/Angstrom); the width :math:`\Delta` in ``shell_widths`` (0.05, 0.1, 0.2, 0.4, 0.8 rad/Angstrom:
  185, 93, 47, 24 and 12 non-empty shells per density) chosen on validation;
- ``scattering order 1``: the order-0 and order-1 solid harmonic scattering invariants
  :math:`\|\rho_c\|_q^q, \|U[j, l]\rho_c\|_q^q` (j <= J = 3, l <= 2, q in {0.5, 1, 2, 3}): 52 per density;
- ``scattering orders 1+2``: and the order-2 invariants :math:`\|U[j_1, j_2, l]\rho_c\|_q^q`
  (j_1 < j_2): 124 per density;
- ``Fourier modulus + order 0`` (a control): the Fourier shells and the order-0 norms
  :math:`\|\rho_c\|_q^q`, which are not Fourier-modulus quantities for q != 1, 2 and count atoms
  with other weights than their charges: how much of the scattering's lead they alone explain.

Target: U0 atomization energy (kcal/mol). Regression: orthogonal matching pursuit on standardized
columns (:func:`scatlab.learning.sparse.omp_path`), the whole path M = 1 ... ``m_max`` at once.
Two sets of molecules, each split at random (``seed``) into test (``test_fraction``) and training;
a ``validation_fraction`` of the training molecules is held out to choose M and the shell width, then
the path is refitted on all training molecules and scored on the test set (curves for every M; the
test error at the chosen M is the headline; the verdict reads the test curves, see :func:`_verdict`):

- ``heavy<=7``: the QM9 molecules with at most ``max_heavy`` = 7 non-hydrogen atoms (3,921 of
  130,831; the nearest set to the seed's ~7,000 small molecules: at most 8 gives 21,800), in the
  order of the ``qm9`` experiment's permutation; their scattering features are cached in their own
  chunk layout beside that experiment's;
- ``random``: as many molecules drawn at random from the whole QM9: the first ones of the ``qm9``
  experiment's permutation (:func:`scatlab.experiments.qm9.qm9_order`), its training part, never its
  test tail (``qm9_n_test``); their features are the chunks that ``reproduce qm9`` computes first (same cache).

Cost (full run, one thread, archive/qm9-sparse): scattering features at 13.4 molecules/s (6,737
computed in 502 s, the others cached by the quick runs), Fourier features at 0.037 s per molecule
(288 s for 7,842); 822 s in all with the fits.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..chem.features import FeatureSpec, Featurizer, featurize_cached, load_cached
from ..chem.fourier import fourier_features
from ..datasets.qm9 import load_qm9
from ..errors import InvalidParameterError
from ..io.atomic import atomic_write_json
from ..learning.sparse import first_reaching, omp_path, with_squares
from ..runtime import Progress
from ._contract import Result, Selection, Verdict
from ._figures import figure_row, save_png
from .qm9 import qm9_order

__all__ = ["Config", "run", "heavy_atoms", "split_rows", "terms_grid"]

FOURIER, FOURIER0 = "Fourier modulus", "Fourier modulus + order 0"
ORDER1, ORDER2 = "scattering order 1", "scattering orders 1+2"
DICTIONARIES = (FOURIER, FOURIER0, ORDER1, ORDER2)
SHORT = {FOURIER: "fourier", FOURIER0: "fourier_order0", ORDER1: "order1", ORDER2: "order2"}
CLAIM = ("For molecular energies, sparse regressions on scattering invariants (and their squares) reach a given"
         " error with far fewer terms than on Fourier-modulus invariants, and second-order scattering terms"
         " (interactions across scales) lower the error further (Hirn, Mallat & Poilvert 2017, the sparse"
         " regression error against the number of terms; Mallat's talks)")


@dataclasses.dataclass(frozen=True)
class Config:
    """Parameters of the sparse regressions; the defaults are the full run."""

    max_heavy: int = 7  # heavy (non-H) atoms at most: 3,921 QM9 molecules
    n_molecules: int = 0  # molecules per set (0: the whole max_heavy set; the random set has as many)
    test_fraction: float = 0.2  # of each set, scored once
    validation_fraction: float = 0.2  # of the training molecules, held out to choose M and the shell width
    # terms at most (fewer when the dictionary is smaller): every column of the scattering dictionaries
    # (744) and of the Fourier one at the finest width (1,110); earlier full runs chose M at the end of the
    # grid (400, then 800), so the grid now covers every column
    m_max: int = 1200
    # Fourier shell widths tried (rad/Angstrom); earlier full runs chose the finest width offered
    # (0.2 of 0.2-0.8, then 0.1 of 0.1-0.8), so 0.05 was added: the choice is interior or at the lattice limit
    shell_widths: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8)
    fourier_oversampling: int = 2  # Fourier box / scattering box per axis (a finer frequency lattice)
    levels: tuple[float, ...] = (16.0, 8.0, 4.0, 2.0, 1.0)  # test RMSE levels (kcal/mol): terms to reach them
    qm9_n_test: int = 10000  # the qm9 experiment's test tail, never in the random set
    # the grid and scattering of chem.features.FeatureSpec (as the qm9 experiment)
    shape: tuple[int, int, int] = FeatureSpec.shape
    spacing: float = FeatureSpec.spacing
    sigma: float = FeatureSpec.sigma
    margin: float = FeatureSpec.margin
    J: int = FeatureSpec.J
    L: int = FeatureSpec.L
    integral_powers: tuple[float, ...] = FeatureSpec.integral_powers
    cache_dir: str = str(Path.home() / ".cache" / "scatlab" / "qm9")  # shared with the qm9 experiment
    chunk_size: int = 256
    data_dir: str | None = None  # directory of qm9_part{1,2,3}.csv; None: the installed qm9pack
    read_limit: int | None = None  # read only the first rows of the CSV files (tests)
    skip_bad: bool = False  # leave out molecules that do not fit the grid, and count them
    device: str = "cpu"
    seed: int = 0  # the qm9 permutation (shared cache) and the train/validation/test splits

    @classmethod
    def quick(cls) -> Config:
        """256 molecules per set (one cached chunk each, about 1 minute of features), up to 100 terms."""
        return cls(n_molecules=256, m_max=100)

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec(tuple(self.shape), self.spacing, self.sigma, self.margin, self.J, self.L,
                           tuple(self.integral_powers))


def heavy_atoms(molecules) -> np.ndarray:
    """The number of non-hydrogen atoms of each molecule."""
    return np.array([sum(s != "H" for s in m.symbols) for m in molecules], dtype=np.int64)


def split_rows(n: int, test_fraction: float, validation_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Disjoint random rows of n: 'test', and the training rows cut into 'fit' and 'validation'
    (``training`` = fit + validation), each sorted."""
    rows = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    n_val = int(round(validation_fraction * (n - n_test)))
    test, validation, fit = rows[:n_test], rows[n_test:n_test + n_val], rows[n_test + n_val:]
    if min(len(test), len(validation)) < 2 or len(fit) < 3:
        raise InvalidParameterError(f"Config splits {n} molecules into {len(fit)} fit, {len(validation)} validation and"
                                    f" {len(test)} test molecules; it needs at least 3, 2 and 2: raise n_molecules or"
                                    " the fractions.")
    return dict(test=np.sort(test), validation=np.sort(validation), fit=np.sort(fit),
                training=np.sort(np.concatenate([fit, validation])))


def terms_grid(m_max: int, points: int = 19) -> list[int]:
    """Log-spaced term counts 1 ... m_max, rounded, without repeats (the tables and the choice of M)."""
    return sorted({int(round(m)) for m in np.geomspace(1, m_max, points)})


def _check(cfg: Config) -> None:
    if cfg.max_heavy < 1 or cfg.n_molecules < 0 or cfg.m_max < 1 or cfg.qm9_n_test < 0:
        raise InvalidParameterError(f"Config needs max_heavy >= 1, n_molecules >= 0 (0: all), m_max >= 1 and"
                                    f" qm9_n_test >= 0; got {cfg.max_heavy}, {cfg.n_molecules}, {cfg.m_max},"
                                    f" {cfg.qm9_n_test}.")
    if not (0 < cfg.test_fraction < 1 and 0 < cfg.validation_fraction < 1):
        raise InvalidParameterError(f"Config.test_fraction and validation_fraction must lie in (0, 1); got"
                                    f" {cfg.test_fraction} and {cfg.validation_fraction}.")
    if not cfg.shell_widths or min(cfg.shell_widths) <= 0 or not cfg.levels or min(cfg.levels) <= 0:
        raise InvalidParameterError(f"Config.shell_widths (rad/Angstrom) and levels (kcal/mol) must be non-empty and"
                                    f" positive; got {cfg.shell_widths} and {cfg.levels}.")


def _scattering(cfg: Config, molecules, ids, cache: Path, n: int, progress: Progress) -> tuple[np.ndarray, dict]:
    """Cached scattering features (n, 3 C) of the first n of ``molecules`` (whole chunks are computed)."""
    chunks = range(-(-n // cfg.chunk_size))
    done = featurize_cached(molecules, ids, cache, cfg.spec, chunk_size=cfg.chunk_size, skip_bad=cfg.skip_bad,
                            progress=progress, device=cfg.device, chunks=chunks)
    features, _ = load_cached(ids, cache, cfg.spec, chunk_size=cfg.chunk_size, chunks=chunks)
    return features[:n], done  # the chunks hold positions 0, 1, ... in order


def run(cfg: Config, out_dir: Path, progress: Progress) -> Result:
    """Featurize both sets, fit the OMP paths, choose on validation, score the test sets, plot."""
    _check(cfg)
    data = load_qm9(cfg.data_dir, limit=cfg.read_limit, skip_bad=cfg.skip_bad)
    n_all = len(data)
    order = qm9_order(n_all, cfg.seed)
    energy = data.atomization_kcal_mol
    heavy = heavy_atoms(data.molecules)[order]
    small = order[heavy <= cfg.max_heavy]  # the max_heavy set, in permutation order
    n_small = len(small)
    n = min(cfg.n_molecules or n_small, n_small)
    if n > n_all - cfg.qm9_n_test:
        raise InvalidParameterError(f"Config asks for {n} random molecules outside the qm9 test tail of {cfg.qm9_n_test},"
                                    f" but {n_all} were read; lower n_molecules or qm9_n_test.")
    cache = Path(cfg.cache_dir)
    layout = f"n{n_all}-seed{cfg.seed}-c{cfg.chunk_size}"  # the qm9 experiment's layout
    sets = {f"heavy<={cfg.max_heavy}": (small, cache / f"{layout}-heavy{cfg.max_heavy}"), "random": (order, cache / layout)}
    featurizer = Featurizer(cfg.spec)
    orders = np.tile(np.asarray(featurizer.scattering.meta["order"]), 3)
    results, stats, splits = {}, {"scattering_s": 0.0, "scattering_molecules": 0, "fourier_s": 0.0}, {}
    for name, (rows, directory) in sets.items():
        mols, ids = [data.molecules[i] for i in rows], data.index[rows]
        scattering, done = _scattering(cfg, mols, ids, directory, n, progress)
        stats["scattering_s"] += done["seconds"]
        stats["scattering_molecules"] += done["molecules"]
        start = time.perf_counter()
        fourier = fourier_features(mols[:n], cfg.spec, cfg.shell_widths, cfg.fourier_oversampling)
        stats["fourier_s"] += time.perf_counter() - start
        ok = np.isfinite(scattering).all(1)
        keep = np.flatnonzero(ok)
        split = split_rows(len(keep), cfg.test_fraction, cfg.validation_fraction, cfg.seed)
        split = {part: keep[r] for part, r in split.items()}
        splits[name] = {part: [int(i) for i in ids[r]] for part, r in split.items() if part != "training"}
        results[name] = _fit_set(cfg, {w: x for w, (x, _) in fourier.items()}, scattering, orders,
                                 energy[rows[:n]], split)
        results[name]["n_skipped"] = int((~ok).sum())
    atomic_write_json(Path(out_dir) / "splits.json", dict(seed=cfg.seed, qm9_index=splits))
    return _report(cfg, results, stats, n_small, n, out_dir)


def _fit_set(cfg: Config, fourier: dict, scattering: np.ndarray, orders: np.ndarray, y: np.ndarray,
             split: dict) -> dict:
    """For one set: the shell width and each dictionary's M chosen on validation, then the paths
    refitted on all training molecules, their training and test curves."""
    fit, val, train, test = split["fit"], split["validation"], split["training"], split["test"]
    held_out = f"OMP on {len(fit)} molecules, validated on {len(val)}"

    def validation_curve(x):
        return omp_path(x[fit], y[fit], cfg.m_max).rmse(x[val], y[val])

    widths = sorted(fourier)
    by_width = {w: validation_curve(with_squares(fourier[w])) for w in widths}
    scores = [float(by_width[w].min()) for w in widths]
    width = widths[int(np.argmin(scores))]
    selections = [("Fourier shell width (rad/Angstrom)", widths, scores, width,
                   f"least validation RMSE (kcal/mol) over M <= {cfg.m_max}, {held_out}")]
    dictionaries = {FOURIER: with_squares(fourier[width]),
                    FOURIER0: with_squares(np.hstack([fourier[width], scattering[:, orders == 0]])),
                    ORDER1: with_squares(scattering[:, orders <= 1]), ORDER2: with_squares(scattering)}
    out = {"width": width, "curves": {}, "n_fit": len(fit), "n_val": len(val), "n_train": len(train),
           "n_test": len(test)}
    for name, x in dictionaries.items():
        curve = by_width[width] if name == FOURIER else validation_curve(x)
        grid = [m for m in terms_grid(cfg.m_max) if m <= len(curve)]
        val_scores = [float(curve[m - 1]) for m in grid]
        m_star = grid[int(np.argmin(val_scores))]
        selections.append((f"terms M ({name})", grid, val_scores, m_star, f"least validation RMSE (kcal/mol), {held_out}"))
        path = omp_path(x[train], y[train], cfg.m_max)
        out["curves"][name] = dict(test=path.rmse(x[test], y[test]), train=path.rmse(x[train], y[train]),
                                   m_star=m_star, size=x.shape[1], stopped=path.stopped)
    out["selections"] = selections
    return out


def _report(cfg: Config, results: dict, stats: dict, n_small: int, n: int, out_dir: Path) -> Result:
    metrics = dict(n_heavy_set=float(n_small), n_per_set=float(n))
    tables, notes, verdicts, selections = [], [], [], []
    grid_all = terms_grid(cfg.m_max)
    for name, res in results.items():
        tag = "heavy" if name.startswith("heavy") else "random"
        curves = res["curves"]
        for what, grid, scores, chosen, criterion in res["selections"]:
            selections.append(Selection(f"{what}, {name} set", grid, scores, chosen, criterion))
        for d, c in curves.items():
            short = SHORT[d]
            metrics[f"{tag}_test_rmse_{short}"] = float(c["test"][min(c["m_star"], len(c["test"])) - 1])  # path may end early
            metrics[f"{tag}_m_{short}"] = float(c["m_star"])
            metrics[f"{tag}_best_test_rmse_{short}"] = float(c["test"].min())
            metrics[f"{tag}_dictionary_size_{short}"] = float(c["size"])
        metrics[f"{tag}_fourier_shell_width"] = float(res["width"])
        metrics[f"{tag}_n_train"], metrics[f"{tag}_n_test"] = float(res["n_train"]), float(res["n_test"])
        rows = []
        for m in grid_all:
            row = [m]
            for d in DICTIONARIES:
                c = curves[d]
                row += [_log2(c["test"], m), _log2(c["train"], m)]
            rows.append(row)
        tables.append((f"{name} set: log2 RMSE (kcal/mol) = 1/2 log2 E[(f_M - y)^2] vs terms M; test"
                       f" ({res['n_test']} molecules) and training ({res['n_train']})",
                       ["M"] + [f"{d} {part}" for d in DICTIONARIES for part in ("test", "train")], rows))
        best_fourier = float(curves[FOURIER]["test"].min())
        levels = [best_fourier] + list(cfg.levels)
        reach = {d: [first_reaching(curves[d]["test"], lv) for lv in levels] for d in DICTIONARIES}
        tables.append((f"{name} set: terms M needed to reach a test RMSE (kcal/mol); first row: the best"
                       " Fourier-modulus error", ["test RMSE level"] + list(DICTIONARIES),
                       [[f"{lv:.3g}" + (" (best Fourier)" if k == 0 else "")]
                        + [reach[d][k] if reach[d][k] is not None else "not reached" for d in DICTIONARIES]
                        for k, lv in enumerate(levels)]))
        verdicts.append(_verdict(name, curves, reach, levels))
        notes.append(f"{name} set ({res['n_train']} training, {res['n_test']} test molecules): test RMSE at the M"
                     " chosen on validation: " + ", ".join(
                         f"{d} {metrics[f'{tag}_test_rmse_' + s]:.2f} kcal/mol (M = {curves[d]['m_star']}, of"
                         f" {curves[d]['size']} columns)" for d, s in SHORT.items())
                     + f"; Fourier shell width {res['width']:g} rad/Angstrom (chosen on validation).")
        stopped = [d for d in DICTIONARIES if curves[d]["stopped"]]
        if stopped:
            notes.append(f"{name} set: the OMP path of {', '.join(stopped)} stopped early (exact fit or linear dependence).")
    rate = stats["scattering_molecules"] / stats["scattering_s"] if stats["scattering_s"] else float("nan")
    if np.isfinite(rate):
        metrics["scattering_molecules_per_s"] = float(rate)
    metrics["fourier_s_per_molecule"] = float(stats["fourier_s"] / (2 * n))
    computed = (f"{stats['scattering_molecules']} molecules computed in {stats['scattering_s']:.0f} s ({rate:.2f}"
                " molecules/s), the others read from the cache" if stats["scattering_molecules"] else "all read from the cache")
    notes.append(f"Scattering features: {computed}; Fourier features: {stats['fourier_s']:.0f} s for {2 * n} molecules.")
    figure = _plot(results, out_dir)
    return Result(metrics=metrics, tables=tables, figures=[figure], notes=notes, verdicts=verdicts,
                  selections=selections)


def _log2(curve: np.ndarray, m: int):
    return round(float(np.log2(curve[m - 1])), 3) if m <= len(curve) else "-"


def _verdict(name: str, curves: dict, reach: dict, levels: list[float]) -> Verdict:
    """Read on the test curves, at the levels: the best Fourier-modulus error, then ``Config.levels``.

    holds: (a) both scattering dictionaries reach the best Fourier error with at most half its
    terms, (b) orders 1+2 reach a lower error than order 1, and (c) at every level order 1 reaches,
    orders 1+2 need no more terms; does not hold: neither scattering dictionary reaches the best
    Fourier error with fewer terms than Fourier; partially otherwise. The control (Fourier + order-0
    norms) is reported, not judged."""
    m_f, m_0, m_1, m_2 = (reach[d][0] for d in DICTIONARIES)
    best = {d: float(curves[d]["test"].min()) for d in DICTIONARIES}
    fewer = [m is not None and m < m_f for m in (m_1, m_2)]
    far = all(m is not None and 2 * m <= m_f for m in (m_1, m_2))
    lower = best[ORDER2] < best[ORDER1]
    pairs = [(lv, a, b) for lv, a, b in zip(levels, reach[ORDER1], reach[ORDER2]) if a is not None]
    second_fewer = all(b is not None and b <= a for _, a, b in pairs)
    verdict = "holds" if far and lower and second_fewer else "does not hold" if not any(fewer) else "partially"

    def terms(m):
        return f"{m} terms" if m is not None else "never (within the path)"

    evidence = (f"{name} set, test curves: the best Fourier-modulus RMSE {levels[0]:.2f} kcal/mol is reached with"
                f" {terms(m_f)} of Fourier modulus, {terms(m_1)} of scattering order 1, {terms(m_2)} of orders 1+2"
                f" (a: {'yes' if far else 'no'}); best RMSE order 1 {best[ORDER1]:.2f}, orders 1+2"
                f" {best[ORDER2]:.2f} kcal/mol (b: {'yes' if lower else 'no'}); terms order 1 / orders 1+2 at "
                + ", ".join(f"{lv:.3g} kcal/mol: {a} / {b if b is not None else 'never'}" for lv, a, b in pairs)
                + f" (c: {'yes' if second_fewer else 'no'}). Control: Fourier modulus + the order-0 norms"
                f" ||rho||_q^q reaches the best Fourier error with {terms(m_0)}, best {best[FOURIER0]:.2f} kcal/mol."
                " Criterion: holds when (a) both scattering dictionaries need at most half the Fourier terms, (b)"
                " orders 1+2 reach a lower error than order 1 and (c) need no more terms at any level order 1"
                " reaches; does not hold when neither needs fewer terms than Fourier; partially otherwise.")
    return Verdict(CLAIM + f" [{name} set]", verdict, evidence,
                   "Hirn, Mallat & Poilvert 2017 (planar molecules, 2D densities): qualitative, no number compared")


def _plot(results: dict, out_dir: Path) -> str:
    fig, axes = figure_row(len(results), width=5.2, height=4.2)
    colours = dict(zip(DICTIONARIES, ("tab:red", "tab:orange", "tab:blue", "tab:green")))
    for ax, (name, res) in zip(axes, results.items()):
        for d in DICTIONARIES:
            c = res["curves"][d]
            m = np.arange(1, len(c["test"]) + 1)
            ax.plot(m, np.log2(c["test"]), color=colours[d], label=d)
            ax.plot(m, np.log2(c["train"]), color=colours[d], ls="--", lw=0.8)
            m_star = min(c["m_star"], len(m))
            ax.plot([m_star], [np.log2(c["test"][m_star - 1])], "o", color=colours[d], ms=4)
        ax.plot([], [], color="gray", label="test (dot: M chosen on validation)")
        ax.plot([], [], color="gray", ls="--", lw=0.8, label="training")
        ax.axhline(0.0, color="gray", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("terms M")
        ax.set_ylabel("1/2 log2 E[(f_M - y)^2]  (log2 RMSE, kcal/mol)")
        ax.set_title(f"QM9 {name}: {res['n_train']} training, {res['n_test']} test molecules", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return save_png(fig, out_dir, "qm9_sparse_regression.png")
