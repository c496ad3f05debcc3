r"""Texture synthesis and signal inversion from scattering coefficients.

- :func:`scattering_moments`: spatial averages of the scattering channels, the statistics of a
  stationary process in Bruna & Mallat, "Multiscale sparse microcanonical models" (2019), with
  optionally the second-order moments :func:`second_order_moments` (band RMS, standard deviation);
- :func:`synthesize`: samples of the microcanonical model by gradient descent from white noise;
- :func:`invert`: a signal from its (little averaged) scattering coefficients, same descent;
- :func:`gaussian_model`, :func:`first_order_transform`: the baselines;
- :mod:`scatlab.synthesis.statistics`: held-out statistics comparing a synthesis with the original.
"""
from .baselines import first_order_transform, gaussian_model
from .inversion import InversionResult, invert, signal_error
from .moments import n_moments, order_errors, relative_error, scattering_moments, second_order_moments
from .synthesis import SECOND_MOMENTS, SynthesisResult, synthesize

__all__ = [
    "InversionResult",
    "SECOND_MOMENTS",
    "SynthesisResult",
    "first_order_transform",
    "gaussian_model",
    "invert",
    "n_moments",
    "order_errors",
    "relative_error",
    "scattering_moments",
    "second_order_moments",
    "signal_error",
    "synthesize",
]
