"""Filter banks: the filters of a plan laid out as its engine applies them (float64 masters,
cast once per input precision by ``Bank.prepare``), one module per transform."""
from ._base import Bank
from .harmonic3d import Bank3D, build_bank_3d
from .rototranslation import BankRoto, build_bank_roto
from .scattering1d import Bank1D, build_bank_1d
from .scattering2d import Bank2D, build_bank_2d
from .timefrequency import BankTF, build_bank_tf

__all__ = ["Bank", "Bank1D", "Bank2D", "Bank3D", "BankRoto", "BankTF", "build_bank_1d", "build_bank_2d",
           "build_bank_3d", "build_bank_roto", "build_bank_tf"]
