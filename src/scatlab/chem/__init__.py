"""Molecules for solid harmonic scattering: densities, .xyz and QM9 readers, cached features."""
from .features import FeatureSpec, Featurizer, featurize_cached, load_cached
from .molecules import CHANNELS, ELEMENTS, GridSpec, Molecule, densities
from .qm9 import QM9, load_qm9
from .xyz import parse_xyz, read_xyz

__all__ = ["CHANNELS", "ELEMENTS", "FeatureSpec", "Featurizer", "GridSpec", "Molecule", "QM9", "densities",
           "featurize_cached", "load_cached", "load_qm9", "parse_xyz", "read_xyz"]
