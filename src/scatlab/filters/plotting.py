"""Plots of filter banks: the wavelets in Fourier and their Littlewood-Paley sum (matplotlib)."""
from __future__ import annotations

import numpy as np

from .littlewood_paley import frame_bounds, littlewood_paley_sum

__all__ = ["plot_filter_bank"]


def plot_filter_bank(module, ax=None):
    """Plot |psi_hat|^2, |phi_hat|^2 and LP(omega) of a Scattering1D, or LP of a Scattering2D.

    Returns the matplotlib Axes; the frame bounds (A, B) are given in the title.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    if "xi1" in module.meta:  # a 1D bank
        psi, phi = module.filters_fourier(order=1)
        lp = littlewood_paley_sum(psi, phi, ndim=1)
        bounds = frame_bounds(psi, phi, ndim=1)
        freqs = np.fft.fftfreq(lp.size)
        order = np.argsort(freqs)
        for row in psi:
            ax.plot(freqs[order], np.abs(row[order]) ** 2, lw=0.6, color="tab:blue", alpha=0.6)
        ax.plot(freqs[order], np.abs(phi[order]) ** 2, lw=1, color="tab:green", label="|phi|^2")
        ax.plot(freqs[order], lp[order], lw=1.5, color="black", label="LP sum")
        ax.set_xlabel("frequency (cycles per sample)")
        ax.legend(loc="upper right", fontsize=8)
    else:
        psi, phi = module.filters_fourier()
        lp = littlewood_paley_sum(psi, phi, ndim=2)
        bounds = frame_bounds(psi, phi, ndim=2)
        image = ax.imshow(np.fft.fftshift(lp), extent=(-0.5, 0.5, -0.5, 0.5), cmap="viridis")
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
        ax.set_xlabel("frequency (cycles per pixel)")
    ax.set_title(f"Littlewood-Paley sum: A = {bounds.A:.3g}, B = {bounds.B:.3g}")
    return ax
