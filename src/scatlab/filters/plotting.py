"""Plots of filter banks: the wavelets in Fourier and their Littlewood-Paley sum (matplotlib)."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError

__all__ = ["plot_filter_bank"]


def plot_filter_bank(module, ax=None):
    """Plot |psi_hat|^2, |phi_hat|^2 and LP(omega) of a Scattering1D, or LP of a Scattering2D.

    LP(omega) = |phi_hat(omega)|^2 + 1/2 sum_psi |psi_hat(omega)|^2 + |psi_hat(-omega)|^2, as
    ``module.littlewood_paley()``. Returns the matplotlib Axes (a new figure unless ``ax`` is given);
    the frame bounds A = min LP and B = max LP are in the title.
    """
    import matplotlib.pyplot as plt

    if not hasattr(module, "littlewood_paley"):
        raise InvalidParameterError(
            f"The 'module' parameter of plot_filter_bank must be a Scattering1D or Scattering2D. Got"
            f" {type(module).__name__} instead; plot its filters_fourier() directly."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    lp = module.littlewood_paley()
    bounds = module.frame_bounds()
    if lp.ndim == 1:
        psi, phi = module.filters_fourier()
        freqs = np.fft.fftshift(np.fft.fftfreq(lp.size))
        for row in psi:
            ax.plot(freqs, np.fft.fftshift(np.abs(row) ** 2), lw=0.6, color="tab:blue", alpha=0.6)
        ax.plot(freqs, np.fft.fftshift(np.abs(phi) ** 2), lw=1, color="tab:green", label="|phi|^2")
        ax.plot(freqs, np.fft.fftshift(lp), lw=1.5, color="black", label="LP sum")
        ax.set_xlabel("frequency (cycles per sample)")
        ax.legend(loc="upper right", fontsize=8)
    else:
        extent = (-0.5, 0.5, -0.5, 0.5)
        image = ax.imshow(np.fft.fftshift(lp), extent=extent, origin="lower", cmap="viridis")
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
        ax.set_xlabel("frequency (cycles per pixel)")
    ax.set_title(f"Littlewood-Paley sum: A = {bounds.A:.3g}, B = {bounds.B:.3g}")
    return ax
