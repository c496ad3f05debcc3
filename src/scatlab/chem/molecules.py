r"""Molecules and their electronic densities on a periodic grid (Eickenberg et al. 2017, 2018).

Each atom a at position :math:`r_a` (Angstrom) with nuclear charge :math:`Z_a` contributes a
Gaussian of width sigma; the three channels weight it by the full charge :math:`Z_a`, the valence
charge :math:`v_a` (electrons outside the closed inner shells) and the core charge
:math:`Z_a - v_a`:

.. math:: \rho_c(u) = \sum_a w_{c,a}\, g_\sigma(u - r_a),\quad
          g_\sigma(u) = \frac{e^{-|u|^2/2\sigma^2}}{(2\pi)^{3/2}\sigma^3}

with sigma and distances in grid points (the Gaussians are periodized on the grid, nearest image).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import DataError, ShapeError

__all__ = ["ELEMENTS", "CHANNELS", "Molecule", "valence_charge", "GridSpec", "densities"]

ELEMENTS = {s: z for z, s in enumerate("H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar".split(), start=1)}
CHANNELS = ("full", "valence", "core")


def valence_charge(z: np.ndarray) -> np.ndarray:
    """Electrons outside the closed shells: Z for Z <= 2, Z - 2 for Z <= 10, Z - 10 for Z <= 18."""
    z = np.asarray(z)
    return np.where(z <= 2, z, np.where(z <= 10, z - 2, z - 10))


@dataclasses.dataclass(frozen=True)
class Molecule:
    """Atoms: element symbols and positions (n, 3) in Angstrom, validated at construction."""

    symbols: tuple[str, ...]
    positions: np.ndarray
    name: str = ""

    def __post_init__(self):
        where = f"molecule {self.name!r}" if self.name else "molecule"
        symbols = tuple(str(s).strip() for s in self.symbols)
        try:
            positions = np.asarray(self.positions, dtype=np.float64)
        except (ValueError, TypeError) as error:
            raise DataError(f"{where}: the coordinates {self.positions!r} are not numbers ({error}); give one row"
                            " of three numbers (x, y, z in Angstrom) per atom.") from None
        if not symbols:
            raise DataError(f"{where} is empty: it has no atoms; a molecule needs at least one atom.")
        unknown = sorted({s for s in symbols if s.capitalize() not in ELEMENTS})
        if unknown:
            raise DataError(f"{where} holds unknown element symbol(s) {unknown}; known: {', '.join(ELEMENTS)}.")
        if positions.shape != (len(symbols), 3):
            raise ShapeError(f"{where}: positions must have shape ({len(symbols)}, 3), one row per atom;"
                             f" got {positions.shape}.")
        if not np.isfinite(positions).all():
            bad = int(np.nonzero(~np.isfinite(positions).all(1))[0][0])
            raise DataError(f"{where}: atom {bad} ({symbols[bad]}) has NaN or Inf coordinates {positions[bad]}.")
        object.__setattr__(self, "symbols", tuple(s.capitalize() for s in symbols))
        object.__setattr__(self, "positions", positions)

    @property
    def charges(self) -> np.ndarray:
        return np.array([ELEMENTS[s] for s in self.symbols])

    def __len__(self) -> int:
        return len(self.symbols)


@dataclasses.dataclass(frozen=True)
class GridSpec:
    """A periodic grid of ``shape`` points spaced ``spacing`` Angstrom, Gaussians of width ``sigma``
    Angstrom; a molecule fits when every atom lies at least ``margin`` Angstrom inside the box
    [0, shape x spacing), after centering (its bounding box at the grid center) unless told otherwise."""

    shape: tuple[int, int, int]
    spacing: float
    sigma: float
    margin: float

    def fit_error(self, molecule: Molecule, center: bool = True) -> str | None:
        """Why the molecule does not fit the grid, or None; ``center=False``: at its given positions."""
        size = np.asarray(self.shape) * self.spacing
        grid = f"the grid {self.shape} x {self.spacing} Angstrom with a margin of {self.margin} Angstrom"
        if not center:
            outside = ((molecule.positions < self.margin) | (molecule.positions > size - self.margin)).any(1)
            if not outside.any():
                return None
            k = int(np.nonzero(outside)[0][0])
            return (f"molecule {molecule.name!r} does not fit the grid: atom {k} ({molecule.symbols[k]}) at"
                    f" {np.round(molecule.positions[k], 2).tolist()} Angstrom lies outside the room that {grid}"
                    f" leaves, from {self.margin} to {np.round(size - self.margin, 2).tolist()} Angstrom per axis;"
                    " move the molecule into the box, center it (center=True) or enlarge the grid shape or the spacing")
        extent = np.ptp(molecule.positions, axis=0)
        room = size - 2 * self.margin
        if (extent <= room).all():
            return None
        return (f"molecule {molecule.name!r} does not fit the grid: it spans {np.round(extent, 2).tolist()}"
                f" Angstrom but {grid} leaves {np.round(room, 2).tolist()}; enlarge the grid shape or the spacing")

    def check_fits(self, molecule: Molecule, center: bool = True) -> None:
        error = self.fit_error(molecule, center)
        if error:
            raise ShapeError(error + ".")


def densities(molecules, grid: GridSpec, center: bool = True) -> np.ndarray:
    """Full, valence and core densities (B, 3, M, N, O) float64, separable sums of Gaussians.

    ``center`` moves each molecule's bounding-box center to the grid center; otherwise positions
    are taken as given (Angstrom from the grid's corner point 0). A molecule that does not fit the
    grid (:meth:`GridSpec.fit_error`) raises ShapeError."""
    out = np.zeros((len(molecules), 3) + tuple(grid.shape))
    s = grid.sigma / grid.spacing  # width in grid points
    norm = 1.0 / ((2 * np.pi) ** 1.5 * s**3)
    axes = [np.arange(n, dtype=np.float64) for n in grid.shape]
    for b, mol in enumerate(molecules):
        grid.check_fits(mol, center)
        pos = mol.positions / grid.spacing
        if center:
            pos = pos - 0.5 * (pos.max(0) + pos.min(0)) + np.asarray(grid.shape) / 2
        z = mol.charges.astype(np.float64)
        v = valence_charge(z).astype(np.float64)
        weights = np.stack([z, v, z - v]) * norm  # (3, atoms)
        g = []
        for axis, n in enumerate(grid.shape):
            d = axes[axis][None, :] - pos[:, axis, None]
            d = (d + n / 2) % n - n / 2  # nearest periodic image
            g.append(np.exp(-0.5 * (d / s) ** 2))
        out[b] = np.einsum("ca,ai,aj,ak->cijk", weights, *g, optimize=True)
    return out
