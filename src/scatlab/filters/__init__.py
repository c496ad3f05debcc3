"""Filters (torch-free): 1D, 2D and angular Morlet wavelets, frequential and solid harmonic filters in
Fourier, Littlewood-Paley sums, frame bounds and plots."""
from .frequential import frequential_bank
from .littlewood_paley import FrameBounds, frame_bounds, littlewood_paley_sum
from .morlet1d import gaussian_fourier_1d, morlet_fourier_1d, morlet_params_1d
from .solid_harmonic import real_spherical_harmonics, solid_harmonic_fourier
from .morlet2d import crop_fourier, morlet_bank_2d, orientation_angles
from .plotting import plot_filter_bank
from .rototranslation import angular_filters, spatial_filters

__all__ = [
    "FrameBounds",
    "frequential_bank",
    "frame_bounds",
    "littlewood_paley_sum",
    "gaussian_fourier_1d",
    "morlet_fourier_1d",
    "morlet_params_1d",
    "crop_fourier",
    "morlet_bank_2d",
    "orientation_angles",
    "plot_filter_bank",
    "real_spherical_harmonics",
    "angular_filters",
    "spatial_filters",
    "solid_harmonic_fourier",
]
