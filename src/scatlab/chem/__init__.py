"""Molecules for solid harmonic scattering: densities on a grid and cached, sharded features (QM9 and
.xyz files are read by :mod:`scatlab.datasets`)."""
from .features import FeatureSpec, Featurizer, featurize_cached, load_cached
from .molecules import CHANNELS, ELEMENTS, GridSpec, Molecule, densities

__all__ = ["CHANNELS", "ELEMENTS", "FeatureSpec", "Featurizer", "GridSpec", "Molecule", "densities",
           "featurize_cached", "load_cached"]
