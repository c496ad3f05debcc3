"""The theory lab: measurement tools for claims about deep networks (Lipschitz bounds, adversarial
perturbations, random networks, generalization, information, optimality, kernels, separation,
alignment), each tested on cases with known answers. Import the submodule of a tool; the
experiments that use them are in :mod:`scatlab.experiments`."""
