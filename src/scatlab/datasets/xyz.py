"""Reader of .xyz files (one or several frames: atom count, comment, one 'Symbol x y z' line per atom).

Coordinates in Angstrom; Mathematica exponents ('1.5*^-6', as in the original QM9 files) are read.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..chem.molecules import Molecule

__all__ = ["read_xyz", "parse_xyz"]


def read_xyz(path: str | os.PathLike) -> list[Molecule]:
    """All molecules of an .xyz file; a malformed file raises DataError naming the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"the .xyz file {str(path)!r} does not exist.")
    return parse_xyz(path.read_text(encoding="utf-8", errors="replace"), source=str(path))


def _float(token: str) -> float:
    return float(token.replace("*^", "e"))


def parse_xyz(text: str, source: str = "<string>") -> list[Molecule]:
    lines = text.splitlines()
    molecules, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        try:
            n = int(lines[i].split()[0])
        except ValueError:
            raise DataError(f"{source}, line {i + 1}: expected the atom count, got {lines[i]!r}.") from None
        if n < 1:
            raise DataError(f"{source}, line {i + 1}: the atom count must be at least 1; got {n} (empty molecule).")
        if i + 2 + n > len(lines):
            raise DataError(f"{source}, line {i + 1}: announces {n} atoms but the file ends after"
                            f" {max(len(lines) - i - 2, 0)} atom lines.")
        name = lines[i + 1].strip()
        symbols, coords = [], []
        for k in range(i + 2, i + 2 + n):
            fields = lines[k].split()
            try:
                if len(fields) < 4:
                    raise ValueError
                coords.append([_float(f) for f in fields[1:4]])
            except ValueError:
                raise DataError(f"{source}, line {k + 1}: expected 'Symbol x y z', got {lines[k]!r}.") from None
            symbols.append(fields[0])
        try:
            molecules.append(Molecule(tuple(symbols), np.array(coords), name=name or f"{source}#{len(molecules)}"))
        except DataError as error:
            raise DataError(f"{source}, line {i + 1}: {error}") from None
        i += 2 + n
    if not molecules:
        raise DataError(f"{source} holds no molecule (empty file).")
    return molecules
