r"""Held-out statistics: how a synthesis differs from the original in what it did not fit.

Five distances between a signal x and a reference y (1D or 2D numpy arrays of one shape):

- :func:`energy_distance`: :math:`|\log(\sigma^2(x) / \sigma^2(y))|`, the log of the energy
  (variance) ratio :func:`energy_ratio`: a synthesis that keeps 36 % of the energy is at
  :math:`|\log 0.36| = 1.02`;

- :func:`histogram_distance`: Wasserstein-1 distance between the value distributions, in units
  of the reference's standard deviation, :math:`W_1(P_x, P_y) / \sigma(y)`;
- :func:`spectrum_distance`: root mean square difference, in decibels, of the radially averaged
  power spectra (2D; frequency bands in 1D), the mean excluded;
- :func:`network_distance`: relative distance between the spatially averaged responses (channel
  means and second moments) of a fixed random multiscale network, three blocks of
  convolution (random filters), ReLU and average pooling: a statistic of all orders that no
  model here matches, in the spirit of the random-network texture models of Ustyuzhaninov et
  al. ("What does it take to generate natural textures?", ICLR 2017); its channel energies
  follow the power spectrum, which the Gaussian model copies exactly;
- :func:`kurtosis_distance`: relative distance between the kurtoses
  :math:`\kappa = \overline{z^4} / \overline{z^2}^2` of the responses z of random zero-mean
  filters at four scales. Every Gaussian process has :math:`\kappa = 3` whatever its spectrum,
  so this fourth-order statistic measures the non-Gaussianity (sparsity) of a texture alone.
"""
from __future__ import annotations

import numpy as np
import scipy.stats
import torch
import torch.nn.functional as F

from ..errors import DataError, ShapeError

__all__ = ["energy_ratio", "energy_distance", "histogram_distance", "spectrum_distance", "power_spectrum",
           "network_distance", "network_features",
           "kurtosis_distance", "kurtoses"]

NETWORK_CHANNELS = (16, 32, 64)  # output channels of the three blocks of the random network
NETWORK_KERNEL = {1: 9, 2: 5}  # filter size per signal dimension (9 taps in 1D, 5 x 5 in 2D)
NETWORK_POOL = {1: 4, 2: 2}  # average pooling factor per block
KURTOSIS_FILTERS = 16  # random zero-mean filters per scale
KURTOSIS_SCALES = 4  # the signal is average-pooled by 2 between scales
SPECTRUM_BANDS_1D = 128  # equal-width frequency bands of the 1D power spectrum
MIN_SIDE = {1: 256, 2: 64}  # shortest side the network and the kurtosis scales fit in


def energy_ratio(x: np.ndarray, reference: np.ndarray) -> float:
    r""":math:`\sigma^2(x) / \sigma^2(y)`: the fraction of the reference's energy (variance, mean removed) x keeps."""
    x, y = _pair(x, reference)
    return float(x.var() / y.var())


def energy_distance(x: np.ndarray, reference: np.ndarray) -> float:
    r""":math:`|\log(\sigma^2(x) / \sigma^2(y))|`: 0 when the energies agree, symmetric in the ratio and its inverse."""
    ratio = energy_ratio(x, reference)
    return float(abs(np.log(ratio))) if ratio > 0 else float("inf")


def histogram_distance(x: np.ndarray, reference: np.ndarray) -> float:
    r""":math:`W_1(P_x, P_y) / \sigma(y)` between the empirical distributions of the values."""
    x, y = _pair(x, reference)
    return float(scipy.stats.wasserstein_distance(x.ravel(), y.ravel()) / y.std())


def power_spectrum(x: np.ndarray) -> np.ndarray:
    r"""Power :math:`|\hat x|^2 / d` averaged on rings :math:`r \le |k| < r + 1`, r = 1 ... min(M, N)/2
    (2D, k in cycles per image side), or on ``SPECTRUM_BANDS_1D`` equal bands of (0, 1/2] (1D)."""
    x = np.asarray(x, dtype=np.float64)
    power = np.abs(np.fft.fftn(x)) ** 2 / x.size
    if x.ndim == 1:
        half = power[1 : x.size // 2 + 1]
        return np.array([band.mean() for band in np.array_split(half, min(SPECTRUM_BANDS_1D, half.size))])
    M, N = x.shape
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(M) * min(M, N), np.fft.fftfreq(N) * min(M, N), indexing="ij"))
    rings = np.floor(radius).astype(np.int64)
    top = min(M, N) // 2
    sums = np.bincount(rings.ravel(), weights=power.ravel(), minlength=top + 1)
    counts = np.bincount(rings.ravel(), minlength=top + 1)
    return sums[1 : top + 1] / counts[1 : top + 1]


def spectrum_distance(x: np.ndarray, reference: np.ndarray) -> float:
    r"""RMS of :math:`10 \log_{10}(P_x(r) / P_y(r))` over the rings or bands r of :func:`power_spectrum`."""
    x, y = _pair(x, reference)
    tiny = np.finfo(np.float64).tiny
    ratio = np.maximum(power_spectrum(x), tiny) / np.maximum(power_spectrum(y), tiny)
    return float(np.sqrt(np.mean((10 * np.log10(ratio)) ** 2)))


def network_features(x: np.ndarray, *, seed: int = 0) -> np.ndarray:
    r"""Channel means and second moments of the three blocks of the random network, concatenated.

    Block b: :math:`u_b = \mathrm{avgpool}(\mathrm{ReLU}(w_b \star u_{b-1}))`, :math:`u_0 = x`, with
    Gaussian filters :math:`w_b` of variance 1 / fan-in drawn from ``seed``, no bias, and valid
    convolutions (no padding, so the borders of a non-periodic original add nothing).
    """
    x = np.asarray(x, dtype=np.float64)
    ndim = x.ndim
    conv, pool = (F.conv1d, F.avg_pool1d) if ndim == 1 else (F.conv2d, F.avg_pool2d)
    generator = torch.Generator().manual_seed(seed)
    u = torch.from_numpy(x)[None, None]
    features, channels = [], 1
    for width in NETWORK_CHANNELS:
        shape = (width, channels) + (NETWORK_KERNEL[ndim],) * ndim
        fan_in = channels * NETWORK_KERNEL[ndim] ** ndim
        weight = torch.randn(shape, generator=generator, dtype=torch.float64) / fan_in**0.5
        u = pool(F.relu(conv(u, weight)), NETWORK_POOL[ndim])
        dims = tuple(range(2, 2 + ndim))
        features += [u.mean(dim=dims).ravel(), (u**2).mean(dim=dims).ravel()]
        channels = width
    return torch.cat(features).numpy()


def network_distance(x: np.ndarray, reference: np.ndarray, *, seed: int = 0) -> float:
    r""":math:`\|f(x) - f(y)\| / \|f(y)\|` for the features f of :func:`network_features`.

    Both signals are first standardized by the reference's mean and standard deviation.
    """
    x, y = _pair(x, reference)
    mean, std = y.mean(), y.std()
    fx, fy = network_features((x - mean) / std, seed=seed), network_features((y - mean) / std, seed=seed)
    return float(np.linalg.norm(fx - fy) / np.linalg.norm(fy))


def kurtoses(x: np.ndarray, *, seed: int = 0) -> np.ndarray:
    r"""Kurtosis :math:`\overline{z^4} / \overline{z^2}^2` of ``KURTOSIS_FILTERS`` random zero-mean
    filters (``NETWORK_KERNEL`` taps per axis, valid convolution) at each of ``KURTOSIS_SCALES``
    scales, the signal being average-pooled by 2 from one scale to the next."""
    x = np.asarray(x, dtype=np.float64)
    ndim = x.ndim
    conv, pool = (F.conv1d, F.avg_pool1d) if ndim == 1 else (F.conv2d, F.avg_pool2d)
    generator = torch.Generator().manual_seed(seed)
    u = torch.from_numpy(x)[None, None]
    dims = tuple(range(2, 2 + ndim))
    values = []
    for _ in range(KURTOSIS_SCALES):
        weight = torch.randn((KURTOSIS_FILTERS, 1) + (NETWORK_KERNEL[ndim],) * ndim, generator=generator,
                             dtype=torch.float64)
        z = conv(u, weight - weight.mean(dim=dims, keepdim=True))
        values.append(((z**4).mean(dim=dims) / (z**2).mean(dim=dims) ** 2).ravel())
        u = pool(u, 2)
    return torch.cat(values).numpy()


def kurtosis_distance(x: np.ndarray, reference: np.ndarray, *, seed: int = 0) -> float:
    r""":math:`\|\kappa(x) - \kappa(y)\| / \|\kappa(y)\|` for the kurtoses of :func:`kurtoses`."""
    x, y = _pair(x, reference)
    kx, ky = kurtoses(x, seed=seed), kurtoses(y, seed=seed)
    return float(np.linalg.norm(kx - ky) / np.linalg.norm(ky))


def _pair(x, reference) -> tuple[np.ndarray, np.ndarray]:
    x, y = (np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64) for a in (x, reference))
    if x.shape != y.shape or x.ndim not in (1, 2):
        raise ShapeError(f"The statistics compare two 1D signals or two 2D images of one shape; got {x.shape} and {y.shape}.")
    if min(x.shape) < MIN_SIDE[x.ndim]:
        raise ShapeError(f"The statistics need signals of at least {MIN_SIDE[x.ndim]} samples per axis; got {x.shape}.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or y.std() == 0:
        raise DataError("The statistics need finite signals and a reference that is not constant.")
    return x, y
