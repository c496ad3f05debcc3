"""Pure torch functions f(x, plan, bank) and their cached convenience twins."""
from .harmonic3d import build_bank_3d, harmonic_maps3d, harmonic_scattering3d, plan_3d
from .rototranslation import build_roto_bank, rototranslation_scattering2d, rototranslation_with_plan
from .scattering1d import build_bank_1d, scattering1d, scattering1d_with_plan
from .scattering2d import build_bank_2d, scattering2d, scattering2d_with_plan
from .timefrequency import build_bank_tf, timefrequency_scattering, timefrequency_scattering_with_plan

__all__ = [
    "build_bank_3d",
    "harmonic_maps3d",
    "harmonic_scattering3d",
    "plan_3d",
    "build_roto_bank",
    "rototranslation_scattering2d",
    "rototranslation_with_plan",
    "build_bank_1d",
    "build_bank_2d",
    "scattering1d",
    "scattering1d_with_plan",
    "scattering2d",
    "scattering2d_with_plan",
    "build_bank_tf",
    "timefrequency_scattering",
    "timefrequency_scattering_with_plan",
]
