"""Pure torch engines ``*_with_plan(x, plan, bank)`` and their functional twins (keyword parameters,
banks cached per plan, dtype and device), one pair per transform."""
from .harmonic3d import harmonic_maps3d_with_plan, harmonic_scattering3d, harmonic_scattering3d_with_plan
from .rototranslation import rototranslation_scattering2d, rototranslation_scattering2d_with_plan
from .scattering1d import scattering1d, scattering1d_with_plan
from .scattering2d import scattering2d, scattering2d_with_plan
from .timefrequency import timefrequency_scattering, timefrequency_scattering_with_plan

__all__ = [
    "harmonic_maps3d_with_plan",
    "harmonic_scattering3d",
    "harmonic_scattering3d_with_plan",
    "rototranslation_scattering2d",
    "rototranslation_scattering2d_with_plan",
    "scattering1d",
    "scattering1d_with_plan",
    "scattering2d",
    "scattering2d_with_plan",
    "timefrequency_scattering",
    "timefrequency_scattering_with_plan",
]
