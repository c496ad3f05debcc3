"""QM9 (Ramakrishnan et al., Sci. Data 2014) from the CSV files of the PyPI package ``qm9pack``.

The files are read with the csv module, without importing the package (its import needs
``pkg_resources``). The target is the atomization energy at 0 K,
U0(molecule) - sum of the atoms' U0 (QM9's atom reference table, B3LYP/6-31G(2df,p)), in kcal/mol.
"""
from __future__ import annotations

import csv
import dataclasses
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import DataError, MissingData
from ..chem.molecules import Molecule

__all__ = ["HARTREE_KCAL_MOL", "ATOM_U0_HARTREE", "QM9", "qm9_dir", "load_qm9", "parse_row"]

HARTREE_KCAL_MOL = 627.5095
ATOM_U0_HARTREE = {"H": -0.500273, "C": -37.846772, "N": -54.583861, "O": -75.064579, "F": -99.718730}
FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
COLUMNS = ("Index", "N_atoms", "Elements", "XYZ_Ang", "InternalEnergy_0K_au")


def qm9_dir() -> Path:
    """The data directory of the installed ``qm9pack`` (found without importing it)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise MissingData("QM9", "Install the PyPI package qm9pack (`pip install qm9pack`, 104 MB), or pass the"
                          " directory holding qm9_part{1,2,3}.csv.", "the package qm9pack is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@dataclasses.dataclass(frozen=True)
class QM9:
    """Molecules with their QM9 index, U0 (Hartree) and atomization energy (kcal/mol); ``n_skipped``
    malformed rows were left out (only when asked)."""

    index: np.ndarray
    molecules: tuple[Molecule, ...]
    u0_hartree: np.ndarray
    n_skipped: int = 0
    skipped: tuple[str, ...] = ()

    @property
    def atomization_kcal_mol(self) -> np.ndarray:
        ref = np.array([sum(ATOM_U0_HARTREE[s] for s in m.symbols) for m in self.molecules])
        return (self.u0_hartree - ref) * HARTREE_KCAL_MOL

    def __len__(self) -> int:
        return len(self.molecules)


def _numbers(text: str) -> list[float]:
    body = text.replace("[", " ").replace("]", " ")
    return [float(t) for t in body.split(",") if t.strip()]


def parse_row(row: dict, where: str) -> tuple[int, Molecule, float]:
    """(index, molecule, U0) of one CSV row; a malformed row raises DataError naming the field."""
    field = None
    try:
        field = "Index"
        index = int(row["Index"])
        field = "Elements"
        symbols = [s.strip().strip("'\"") for s in row["Elements"].strip().strip("[]").split(",")]
        symbols = [s for s in symbols if s]
        field = "XYZ_Ang"
        xyz = np.array(_numbers(row["XYZ_Ang"]))
        if xyz.size != 3 * len(symbols):
            raise ValueError(f"{xyz.size} coordinates for {len(symbols)} atoms")
        field = "N_atoms"
        if int(row["N_atoms"]) != len(symbols):
            raise ValueError(f"N_atoms = {row['N_atoms']} but {len(symbols)} elements")
        field = "InternalEnergy_0K_au"
        u0 = float(row["InternalEnergy_0K_au"])
        if not np.isfinite(u0):
            raise ValueError("not finite")
        field = "Elements"
        unknown = sorted(set(symbols) - set(ATOM_U0_HARTREE))
        if unknown:
            raise ValueError(f"element(s) {unknown} outside QM9's H, C, N, O, F")
        field = "molecule"
        return index, Molecule(tuple(symbols), xyz.reshape(-1, 3), name=f"qm9-{index}"), u0
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise DataError(f"{where}: malformed QM9 row, field {field!r}: {str(error).rstrip('.')}; correct the row,"
                        " or pass skip_bad=True to leave it out.") from None


def load_qm9(directory: str | os.PathLike | None = None, limit: int | None = None,
             skip_bad: bool = False) -> QM9:
    """Read the QM9 CSV files (all 130,831 molecules, about 10 s, or the first ``limit``).

    A malformed row raises DataError naming the file, line and field, unless ``skip_bad``: then it
    is left out and counted in ``n_skipped``.
    """
    directory = Path(directory) if directory is not None else qm9_dir()
    paths = [directory / name for name in FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise MissingData("QM9", "Install the PyPI package qm9pack (`pip install qm9pack`, 104 MB).",
                          f"the CSV file(s) {missing} do not exist")
    csv.field_size_limit(sys.maxsize)
    index, molecules, u0, skipped = [], [], [], []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            absent = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if absent:
                raise DataError(f"{path}: not a qm9pack CSV file, column(s) {absent} missing.")
            for row in reader:
                if limit is not None and len(molecules) >= limit:
                    break
                try:
                    i, mol, e = parse_row(row, f"{path.name}, line {reader.line_num}")
                except DataError as error:
                    if not skip_bad:
                        raise
                    skipped.append(str(error))
                    continue
                index.append(i)
                molecules.append(mol)
                u0.append(e)
        if limit is not None and len(molecules) >= limit:
            break
    return QM9(np.array(index), tuple(molecules), np.array(u0), len(skipped), tuple(skipped))
