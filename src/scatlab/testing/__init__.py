"""Testing helpers for scatlab users: a slow reference oracle and property assertions.

- :func:`oracle_scattering1d`, :func:`oracle_scattering2d`: direct (time/space-domain) reference
  implementations, see :mod:`scatlab.testing.oracle`.
- :func:`assert_translation_covariant`: periodic-mode covariance to shifts by the output step.
- :func:`assert_gradcheck`: :func:`torch.autograd.gradcheck` of a module in float64.
- :func:`assert_matches_oracle`: compare a module with the oracle on an input.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from ..plan import Plan2D
from .oracle import circulant, circular_convolve, crop_spectrum, oracle_scattering1d, oracle_scattering2d

__all__ = [
    "assert_gradcheck",
    "assert_matches_oracle",
    "assert_translation_covariant",
    "circulant",
    "circular_convolve",
    "crop_spectrum",
    "oracle_scattering1d",
    "oracle_scattering2d",
    "output_step",
]


def _ndim(module) -> int:
    """2 for a Scattering2D (or anything holding its plan), else 1."""
    return 2 if isinstance(module.plan, Plan2D) else 1


def output_step(module) -> int:
    """Subsampling factor between the input grid and the output grid of a scattering module."""
    plan = module.plan
    if _ndim(module) == 2:
        return 2**plan.J
    return 2**plan.log2_T


def assert_translation_covariant(module, x: torch.Tensor, shift, *, rtol: float | None = None,
                                 atol: float | None = None) -> None:
    """Assert that shifting ``x`` by ``shift`` samples shifts the output by ``shift / step``.

    Holds exactly (to rounding) for a module built with ``padding='periodic'`` and a shift that is
    a multiple of the output step (2**J in 2D, 2**floor(log2 T) in 1D), along every signal axis.
    ``shift`` is an int (1D) or a pair of ints (2D).
    """
    d = _ndim(module)
    if module.plan.padding != "periodic":
        raise ValueError("translation covariance is exact only with padding='periodic'")
    shifts = (shift,) * d if np.isscalar(shift) else tuple(shift)
    if len(shifts) != d:
        raise ValueError(f"shift must have {d} component(s); got {shift!r}")
    step = output_step(module)
    if any(s % step for s in shifts):
        raise ValueError(f"the shift {shifts} must be a multiple of the output step {step}")
    dims = tuple(range(-d, 0))
    with torch.no_grad():
        moved = module(torch.roll(x, shifts=shifts, dims=dims))
        expected = torch.roll(module(x), shifts=tuple(s // step for s in shifts), dims=dims)
    if rtol is None:
        rtol = 1e-4 if x.dtype == torch.float32 else 1e-10
    if atol is None:
        atol = rtol * float(expected.abs().max())
    torch.testing.assert_close(moved, expected, rtol=rtol, atol=atol)


def assert_gradcheck(module, x: torch.Tensor, **kwargs) -> None:
    """Run :func:`torch.autograd.gradcheck` on a float64 copy of ``module`` at ``x`` (raises on
    failure; ``kwargs`` go to gradcheck, e.g. ``fast_mode=True``). ``module`` is left unchanged.

    Pick a textured ``x``: where a wavelet coefficient vanishes the modulus has a kink and finite
    differences are meaningless (flat image regions, digital silence).
    """
    module = copy.deepcopy(module).to(torch.float64)
    x = x.detach().to(torch.float64).requires_grad_(True)
    ok = torch.autograd.gradcheck(module, (x,), **kwargs)
    if not ok:  # gradcheck raises by default; with raise_exception=False it returns False
        raise AssertionError("gradcheck failed")


def assert_matches_oracle(module, x, *, rtol: float = 1e-6) -> None:
    """Assert ``module(x)`` equals the direct oracle (relative error in norm below ``rtol``)."""
    x = torch.as_tensor(x)
    with torch.no_grad():
        fast = module(x).double().cpu().numpy()
    oracle = oracle_scattering2d if _ndim(module) == 2 else oracle_scattering1d
    slow = oracle(module, x.double().cpu().numpy())
    if fast.shape != slow.shape:
        raise AssertionError(f"shape {fast.shape} differs from the oracle's {slow.shape}")
    err = np.linalg.norm(fast - slow) / max(np.linalg.norm(slow), np.finfo(float).tiny)
    if err > rtol:
        raise AssertionError(f"relative error {err:.3g} to the oracle exceeds {rtol:g}")
