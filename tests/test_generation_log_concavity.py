"""Hessians in Haar coordinates on quadratic energies whose eigenvalues are known exactly."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.generation.log_concavity import (hessian, hessian_eigenvalues, marginal_conditional_hessian,
                                              smallest_eigenvalue)
from scatlab.generation.packets import PacketBand
from scatlab.generation.phi4 import Phi4, free_field_spectrum
from scatlab.generation.wavelets import haar_decompose


def _block_projection(x: torch.Tensor, level: int) -> torch.Tensor:
    """Orthogonal projection onto fields constant on 2^level x 2^level blocks (built without the Haar code)."""
    s = 2 ** level
    return F.avg_pool2d(x[None, None], s)[0, 0].repeat_interleave(s, 0).repeat_interleave(s, 1)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_conditional_hessian_of_a_two_level_quadratic(level):
    N, a, b = 8, -3.0, 2.5  # E = a/2 |P x|^2 + b/2 |(I - P) x|^2, P: block-constant fields at `level`

    def energy(x):
        p = _block_projection(x, level)
        return 0.5 * a * (p * p).sum() + 0.5 * b * ((x - p) ** 2).sum()

    x = torch.randn(N, N, dtype=torch.float64)
    fine = hessian_eigenvalues(energy, x, level)  # the fine coefficients span exactly the range of I - P
    np.testing.assert_allclose(fine, b, atol=1e-12)
    assert len(fine) == N * N - (N // 2 ** level) ** 2
    full = hessian_eigenvalues(energy, x, 0)
    np.testing.assert_allclose(full, [a] * (N // 2 ** level) ** 2 + [b] * len(fine), atol=1e-12)
    assert smallest_eigenvalue(energy, x, 0) == pytest.approx(a, abs=1e-8)  # negative: not convex
    assert smallest_eigenvalue(energy, x, level) == pytest.approx(b, abs=1e-8)  # convex given the coarse field


def test_free_field_hessian_is_its_fourier_spectrum():
    N, beta, mass2 = 8, 0.7, 0.3
    energy = Phi4(beta=beta, lam=0.0, mass2=mass2)
    x = torch.randn(N, N, dtype=torch.float64)
    exact = np.sort(1 / free_field_spectrum(N, beta, mass2).ravel())
    np.testing.assert_allclose(hessian_eigenvalues(energy.energy, x), exact, atol=1e-12)
    np.testing.assert_allclose(hessian_eigenvalues(energy.energy, x, hvp=energy.hvp), exact, atol=1e-12)
    assert smallest_eigenvalue(energy.energy, x, hvp=energy.hvp) == pytest.approx(mass2, abs=1e-8)


def test_phi4_at_the_saddle_has_the_double_well_direction():
    N, beta = 16, 1.3
    energy = Phi4(beta=beta)
    zero = torch.zeros(N, N, dtype=torch.float64)
    assert smallest_eigenvalue(energy.energy, zero, hvp=energy.hvp) == pytest.approx(-4.0, abs=1e-8)  # constant mode
    x = torch.randn(N, N, dtype=torch.float64)
    for level in (0, 1, 2):  # the written-out product, autograd and Lanczos agree
        dense = hessian(energy.energy, x, level)
        torch.testing.assert_close(dense, hessian(energy.energy, x, level, hvp=energy.hvp), rtol=1e-10, atol=1e-10)
        lowest = torch.linalg.eigvalsh(dense)[0].item()
        assert smallest_eigenvalue(energy.energy, x, level) == pytest.approx(lowest, abs=1e-7)
        assert smallest_eigenvalue(energy.energy, x, level, hvp=energy.hvp) == pytest.approx(lowest, abs=1e-7)


def test_marginal_conditional_of_the_free_field_is_the_schur_complement():
    """For a Gaussian with precision A (Haar coordinates: finer details f, target details t), -grad^2 log p(t | coarse)
    = A_tt - A_tf A_ff^{-1} A_ft exactly; the Monte Carlo estimate must match it within its own spread."""
    N, level = 8, 2
    energy = Phi4(beta=1.0, lam=0.0, mass2=0.3)
    x = torch.randn(N, N, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    eye = torch.eye(N * N, dtype=torch.float64).reshape(-1, N, N)
    coarse, details = haar_decompose(eye, level)
    finer, target = details[0].reshape(N * N, -1), details[1].reshape(N * N, -1)
    A = hessian(energy.energy, x, 0)
    Aff, Aft, Att = finer.T @ A @ finer, finer.T @ A @ target, target.T @ A @ target
    exact = Att - Aft.T @ torch.linalg.solve(Aff, Aft)
    K, halves = marginal_conditional_hessian(energy, x, level, chains=16, warmup=100, samples=200, seed=1)
    spread = (halves[0] - halves[1]).abs().max()
    assert (K - exact).abs().max() < 3 * spread + 0.02
    low, exact_low = torch.linalg.eigvalsh(K)[0], torch.linalg.eigvalsh(exact)[0]
    assert abs(low - exact_low) < 0.1 * exact_low
    # the Schur complement differs from the block A_tt (what conditioning on the finer details would give)
    assert (Att - exact).abs().max() > 5 * (K - exact).abs().max()


def test_errors():
    energy = Phi4(beta=1.0)
    with pytest.raises(InvalidParameterError, match="level"):
        hessian(energy.energy, torch.zeros(12, 12), 3)
    with pytest.raises(ShapeError, match="one square field"):
        hessian(energy.energy, torch.zeros(2, 8, 8), 1)
    with pytest.raises(InvalidParameterError, match="level"):
        marginal_conditional_hessian(energy, torch.zeros(8, 8), 1)


def _shannon_packet_frequencies(N: int, depth: int, f: int) -> list[int]:
    """The DFT frequencies q of the Laplacian eigenvectors spanning the 1D Shannon packet f of ``depth``: those with
    |q| strictly inside its interval [f, f + 1] N / 2^(depth+1), plus one of each boundary pair +-q it shares with a
    neighbour (the two packets at a boundary each hold one combination of the pair)."""
    step, P = N // 2 ** (depth + 1), 2 ** depth
    qs = [q for q in range(-N // 2, N // 2) if f * step < abs(q) < (f + 1) * step]
    qs += [q for q in (0, -N // 2) if abs(q) == (f * step if f == 0 else (f + 1) * step) and (f == 0 or f == P - 1)]
    qs += [f * step] if f > 0 else []
    qs += [(f + 1) * step] if f < P - 1 else []
    return qs


@pytest.mark.parametrize("bandwidth, depth, top", [(1, 1, (1,)), (0.5, 2, (3,))])
def test_free_field_on_a_shannon_band_is_its_fourier_spectrum(bandwidth, depth, top):
    """beta * Laplacian + m^2 restricted to a Shannon packet band: its eigenvalues are beta (w(q1) + w(q2)) + m^2 over
    the frequencies of the band's packets (the Laplacian is separable and each 1D Shannon packet is spanned by its
    eigenvectors)."""
    N, beta, mass2 = 16, 0.7, 0.3
    energy = Phi4(beta=beta, lam=0.0, mass2=mass2)
    band = PacketBand(N, "shannon", bandwidth)
    omega = lambda q: 4 * np.sin(np.pi * q / N) ** 2  # noqa: E731
    P = 2 ** depth
    exact = sorted(beta * (omega(a) + omega(b)) + mass2
                   for f1 in range(P) for f2 in range(P) if max(f1, f2) in top
                   for a in _shannon_packet_frequencies(N, depth, f1)
                   for b in _shannon_packet_frequencies(N, depth, f2))
    x = torch.randn(N, N, dtype=torch.float64)
    assert len(exact) == band.d
    np.testing.assert_allclose(hessian_eigenvalues(energy.energy, x, band=band, hvp=energy.hvp), exact, atol=1e-12)
    np.testing.assert_allclose(hessian_eigenvalues(energy.energy, x, band=band), exact, atol=1e-12)
    assert smallest_eigenvalue(energy.energy, x, hvp=energy.hvp, band=band) == pytest.approx(exact[0], abs=1e-8)
    # the 1-octave band's lowest: w = 2 at (pi/2, 0); the 1/2-octave band's: w = 4 sin^2(3 pi / 8) at (3 pi/4, 0)
    assert exact[0] == pytest.approx(beta * (2.0 if bandwidth == 1 else 4 * np.sin(3 * np.pi / 8) ** 2) + mass2)


@pytest.mark.parametrize("wavelet", ["haar", "db4", "shannon"])
def test_packet_band_hessians_agree_across_paths(wavelet):
    N, beta = 16, 0.9
    energy = Phi4(beta=beta)
    x = torch.randn(N, N, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for bandwidth in (1, 0.5):
        band = PacketBand(N, wavelet, bandwidth)
        dense = hessian(energy.energy, x, band=band)
        torch.testing.assert_close(dense, hessian(energy.energy, x, band=band, hvp=energy.hvp), rtol=1e-10, atol=1e-10)
        lowest = torch.linalg.eigvalsh(dense)[0].item()
        assert smallest_eigenvalue(energy.energy, x, band=band) == pytest.approx(lowest, abs=1e-7)
        assert smallest_eigenvalue(energy.energy, x, band=band, hvp=energy.hvp) == pytest.approx(lowest, abs=1e-7)
    if wavelet == "haar":  # the same subspace as the Haar level-1 details: the same spectrum
        np.testing.assert_allclose(hessian_eigenvalues(energy.energy, x, band=PacketBand(N, "haar")),
                                   hessian_eigenvalues(energy.energy, x, 1), atol=1e-10)


def test_band_errors():
    energy = Phi4(beta=1.0)
    with pytest.raises(InvalidParameterError, match="either 'level'.*or 'band'"):
        hessian(energy.energy, torch.zeros(16, 16), 1, band=PacketBand(16))
    with pytest.raises(InvalidParameterError, match="'band'.*16 x 16"):
        smallest_eigenvalue(energy.energy, torch.zeros(8, 8), band=PacketBand(16), hvp=energy.hvp)
    with pytest.raises(InvalidParameterError, match="'band'.*PacketBand"):
        hessian(energy.energy, torch.zeros(8, 8), band="db4", hvp=energy.hvp)
