"""torch.nn.Module wrappers holding the filters as buffers; forward calls the functional engines."""
from .scattering1d import Scattering1D
from .harmonic3d import HarmonicScattering3D
from .rototranslation import RotoTranslationScattering2D
from .scattering2d import Scattering2D
from .timefrequency import TimeFrequencyScattering

__all__ = ["HarmonicScattering3D", "RotoTranslationScattering2D", "Scattering1D", "Scattering2D", "TimeFrequencyScattering"]
