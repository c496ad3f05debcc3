"""Generation: samplers of physical fields (lattice phi^4) and multiscale (wavelet) score-based
models; each tested on distributions whose answer is known. The experiments that use them are in
:mod:`scatlab.experiments`."""
