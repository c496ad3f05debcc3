"""scatlab: wavelet scattering transforms and the experiments built on them, on PyTorch.

Public names only; optional dependencies (scikit-learn, matplotlib, kymatio) load on demand:
``scatlab.sklearn.ScatteringTransformer`` needs scikit-learn.
"""
from ._openmp import passive_waiting

passive_waiting()  # before torch loads: OpenMP threads sleep, not spin, when the cores are shared

from .errors import DataError, InvalidParameterError, MissingData, ShapeError
from .nn import HarmonicScattering3D, RotoTranslationScattering2D, Scattering1D, Scattering2D, TimeFrequencyScattering
from .numpy_api import scattering1d_numpy, scattering2d_numpy
from .plan import ChannelTable

__version__ = "0.1.0"

__all__ = [
    "ChannelTable",
    "DataError",
    "HarmonicScattering3D",
    "InvalidParameterError",
    "MissingData",
    "RotoTranslationScattering2D",
    "Scattering1D",
    "Scattering2D",
    "ShapeError",
    "TimeFrequencyScattering",
    "scattering1d_numpy",
    "scattering2d_numpy",
    "__version__",
]
