"""Orthogonal 2D wavelet packets: exact inverse, orthogonality, known filters, frequency localization, errors."""
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.generation.packets import PacketBand, WaveletPackets2D, _filters, band_ranges, daubechies
from scatlab.generation.wavelets import haar_decompose, haar_reconstruct

WAVELETS = ["haar", "db2", "db4", "shannon"]


def _matrix(W: WaveletPackets2D) -> torch.Tensor:
    """The transform as an (N^2, N^2) matrix: row i holds coefficient i of every basis field."""
    N = W.N
    eye = torch.eye(N * N, dtype=torch.float64).reshape(N * N, N, N)
    return W.decompose(eye).reshape(N * N, -1).T


def _band_matrix(band: PacketBand) -> torch.Tensor:
    """The synthesis of the band as an (N^2, d) matrix (orthonormal columns)."""
    return band.synthesis(torch.eye(band.d, dtype=torch.float64)).reshape(band.d, -1).T


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("N, depth", [(8, 1), (8, 3), (16, 2)])
def test_packets_are_orthogonal(wavelet, N, depth):
    W = _matrix(WaveletPackets2D(N, depth, wavelet))
    torch.testing.assert_close(W @ W.T, torch.eye(N * N, dtype=torch.float64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_exact_inverse_energy_and_batch_shapes(wavelet, dtype, tol):
    W = WaveletPackets2D(32, 3, wavelet)
    x = torch.randn(2, 3, 32, 32, dtype=dtype)
    c = W.decompose(x)
    assert c.shape == (2, 3, 8, 8, 4, 4) and c.dtype == dtype
    back = W.reconstruct(c)
    assert back.shape == x.shape and back.dtype == dtype
    assert (back - x).abs().max() < tol * x.abs().max()
    assert abs(c.double().pow(2).sum() / x.double().pow(2).sum() - 1) < tol
    single = W.decompose(x[0, 0])  # no batch axis
    torch.testing.assert_close(single, c[0, 0])


def test_daubechies_filters_match_the_published_tables():
    # Daubechies, "Ten lectures on wavelets" (1992), table 6.1 (normalized to sum sqrt 2)
    db2 = [0.4829629131445341, 0.8365163037378079, 0.2241438680420134, -0.1294095225512604]
    db4 = [0.2303778133088964, 0.7148465705529154, 0.6308807679298587, -0.0279837694168599,
           -0.1870348117190931, 0.0308413818355607, 0.0328830116668852, -0.0105974017850690]
    np.testing.assert_allclose(daubechies(2), db2, atol=1e-12)
    np.testing.assert_allclose(daubechies(4), db4, atol=1e-12)
    np.testing.assert_allclose(daubechies(1), [2 ** -0.5] * 2, atol=1e-15)
    for p in range(1, 11):  # orthonormal to its even shifts, p vanishing moments of the high-pass
        h = daubechies(p)
        gram = [np.dot(h[2 * k:], h[: len(h) - 2 * k]) for k in range(p)]
        np.testing.assert_allclose(gram, [1] + [0] * (p - 1), atol=1e-11)
        g = h[::-1] * (-1) ** np.arange(2 * p)
        moments = [np.sum(g * np.arange(2 * p) ** m) for m in range(p)]
        np.testing.assert_allclose(moments, 0, atol=1e-7 * 2 * p ** p)


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_quadrature_mirror_condition(wavelet):
    H, G = _filters(wavelet, 16)
    np.testing.assert_allclose(np.abs(H) ** 2 + np.abs(np.roll(H, 8)) ** 2, 2, atol=1e-12)
    np.testing.assert_allclose(H * np.conj(G) + np.roll(H, 8) * np.conj(np.roll(G, 8)), 0, atol=1e-12)


def test_haar_packets_span_the_haar_details():
    N = 16
    for level in (1, 2):
        band = PacketBand(N, "haar", 1, band=level)
        eye = torch.eye(N * N, dtype=torch.float64).reshape(-1, N, N)
        _, details = haar_decompose(eye, level)
        D = details[-1].reshape(N * N, -1)  # (N^2, d): the Haar detail atoms of `level`
        S = _band_matrix(band)
        assert S.shape == D.shape
        torch.testing.assert_close(S @ S.T, D @ D.T, rtol=0, atol=1e-12)  # the same orthogonal projector
    coarse, details = haar_decompose(torch.randn(N, N, dtype=torch.float64), 1)
    assert haar_reconstruct(coarse, details).shape == (N, N)


def _fourier_energy(S: torch.Tensor, N: int) -> np.ndarray:
    """|FFT|^2 (N, N) of the columns of S (N^2, d), summed over columns (orthonormal FFT: total = d)."""
    atoms = S.T.reshape(-1, N, N)
    return (torch.fft.fft2(atoms, norm="ortho").abs() ** 2).sum(0).numpy()


def _max_frequency(N: int) -> np.ndarray:
    """max(|k1|, |k2|) / (N/2) (N, N): the frequency in units of pi of each DFT bin, max norm."""
    k = np.abs(np.fft.fftfreq(N) * N) / (N / 2)
    return np.maximum(k[:, None], k[None, :])


@pytest.mark.parametrize("wavelet", ["db4", "shannon"])
def test_packets_are_in_frequency_order(wavelet):
    N, depth = 32, 3
    W = WaveletPackets2D(N, depth, wavelet)
    P, n = W.P, N // W.P
    k = np.abs(np.fft.fftfreq(N) * N)
    centroids = []
    for f in range(P):
        c = torch.zeros(n * n, P, P, n, n, dtype=torch.float64)
        c[:, f, 0] = torch.eye(n * n, dtype=torch.float64).reshape(-1, n, n)
        energy = (torch.fft.fft2(W.reconstruct(c), norm="ortho").abs() ** 2).sum(0).numpy().sum(1)  # over k2
        centroids.append(float((energy * k).sum() / energy.sum()))
        if wavelet == "shannon":  # all its energy inside its nominal interval [f, f+1] * N / (2P)
            inside = (k >= f * N / (2 * P)) & (k <= (f + 1) * N / (2 * P))
            assert energy[inside].sum() / energy.sum() == pytest.approx(1, abs=1e-12)
    assert np.all(np.diff(centroids) > 0)


def test_haar_band_localization_matches_its_filter_response():
    """The finest 1-octave Haar band is the complement of low (x) low: its energy at DFT bin (q1, q2) is
    1 - |H(q1)|^2 |H(q2)|^2 / 4, so the fraction inside max(|w1|, |w2|) >= pi/2 is known from H alone."""
    N = 16
    band = PacketBand(N, "haar", 1)
    energy = _fourier_energy(_band_matrix(band), N)
    H = np.abs(np.fft.fft(np.r_[1, 1, np.zeros(N - 2)] / np.sqrt(2))) ** 2
    density = 1 - H[:, None] * H[None, :] / 4
    np.testing.assert_allclose(energy, density, atol=1e-12)
    region = _max_frequency(N) >= 0.5
    fraction = energy[region].sum() / energy.sum()
    assert fraction == pytest.approx(density[region].sum() / density.sum(), abs=1e-12)
    assert 0.9 < fraction < 0.95


@pytest.mark.parametrize("bandwidth, lo, expected", [(1, 0.5, {"haar": (0.90, 0.93), "db4": (0.95, 0.975)}),
                                                     (0.5, 0.75, {"haar": (0.85, 0.88), "db4": (0.96, 0.98)})])
def test_band_localization(bandwidth, lo, expected):
    """Fraction of the finest band's energy in its nominal region max(|w1|, |w2|) >= lo * pi: exactly 1 for
    Shannon, higher for the 8-tap Daubechies filter than for Haar."""
    N = 32
    region = _max_frequency(N) >= lo - 1e-12
    fractions = {}
    for wavelet in ("haar", "db4", "shannon"):
        band = PacketBand(N, wavelet, bandwidth)
        energy = _fourier_energy(_band_matrix(band), N)
        assert energy.sum() == pytest.approx(band.d, rel=1e-12)
        fractions[wavelet] = energy[region].sum() / band.d
    assert fractions["shannon"] == pytest.approx(1, abs=1e-12)
    for wavelet, (low, high) in expected.items():
        assert low < fractions[wavelet] < high, (wavelet, fractions)


@pytest.mark.parametrize("bandwidth", [1, 0.5])
def test_bands_tile_the_packets(bandwidth):
    depth = 3
    P = 2 ** depth
    f = np.arange(P)
    top = np.maximum(f[:, None], f[None, :])
    count = np.zeros((P, P), int)
    for lo, hi in band_ranges(depth, bandwidth):
        count += (top >= lo) & (top < hi)
    assert (count == 1).all()
    N = 16
    dims = [PacketBand(N, "db4", bandwidth, band=b).d for b in (1, 2)]
    assert dims == ([192, 48] if bandwidth == 1 else [112, 80])  # N^2 (1 - 1/4); 7/16 and 5/16 of the octave


def test_band_analysis_is_the_transpose_of_synthesis():
    band = PacketBand(16, "db4", 0.5)
    z = torch.randn(3, band.d, dtype=torch.float64)
    fields = torch.randn(3, 16, 16, dtype=torch.float64)
    lhs = (band.synthesis(z) * fields).sum()
    rhs = (z * band.analysis(fields)).sum()
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12)
    torch.testing.assert_close(band.analysis(band.synthesis(z)), z, rtol=0, atol=1e-12)


def test_errors_name_the_parameter():
    with pytest.raises(InvalidParameterError, match="'depth'"):
        WaveletPackets2D(16, 0)
    with pytest.raises(InvalidParameterError, match="'N'"):
        WaveletPackets2D(12, 3)
    with pytest.raises(InvalidParameterError, match="'wavelet'"):
        WaveletPackets2D(16, 2, "db11")
    with pytest.raises(InvalidParameterError, match="'wavelet'"):
        WaveletPackets2D(16, 2, "sym4")
    with pytest.raises(InvalidParameterError, match="'p'"):
        daubechies(0)
    with pytest.raises(InvalidParameterError, match="'bandwidth'"):
        PacketBand(16, "db4", 0.25)
    with pytest.raises(InvalidParameterError, match="'band'"):
        PacketBand(16, "db4", 1, band=0)
    with pytest.raises(InvalidParameterError, match="'N'"):
        PacketBand(8, "db4", 1, band=4)
    W = WaveletPackets2D(16, 2)
    with pytest.raises(ShapeError, match=r"\(\.\.\., 16, 16\)"):
        W.decompose(torch.zeros(2, 8, 8))
    with pytest.raises(TypeError, match="float32 or float64"):
        W.decompose(torch.zeros(16, 16, dtype=torch.int64))
    with pytest.raises(ShapeError, match="packets must have shape"):
        W.reconstruct(torch.zeros(2, 4, 4, 3, 3))


wavelets = st.sampled_from(["haar", "shannon"] + [f"db{p}" for p in range(1, 11)])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2), wavelets, st.sampled_from([1, 0.5]), st.integers(1, 4), st.integers(1, 3))
def test_fuzz_valid_bands_are_orthogonal_projections(depth, extra, wavelet, bandwidth, band, batch):
    """Any valid band: analysis then synthesis is a projection (idempotent, norm-reducing), and
    the coefficients keep the norm of what they synthesize (orthonormal rows)."""
    N = 2 ** (depth + extra)
    try:
        B = PacketBand(N, wavelet, bandwidth, band)
    except InvalidParameterError as error:
        assert "'N'" in str(error) or "band" in str(error)  # a band too deep for N: named
        return
    x = torch.randn(batch, N, N, dtype=torch.float64, generator=torch.Generator().manual_seed(depth + 7 * band))
    z = B.analysis(x)
    assert z.shape == (batch, B.d)
    projected = B.synthesis(z)
    torch.testing.assert_close(B.analysis(projected), z, rtol=0, atol=1e-10)
    torch.testing.assert_close(projected.flatten(1).norm(dim=1), z.norm(dim=1), rtol=1e-10, atol=1e-10)
    assert bool((projected.flatten(1).norm(dim=1) <= x.flatten(1).norm(dim=1) + 1e-10).all())


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(-3, 40), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3)),
       st.one_of(st.integers(-2, 6), st.booleans(), st.none()),
       st.one_of(wavelets, st.text(max_size=5), st.integers()))
def test_fuzz_bad_packet_parameters_are_named(N, depth, wavelet):
    try:
        W = WaveletPackets2D(N, depth, wavelet)
    except InvalidParameterError as error:
        assert re.search(r"'(N|depth|wavelet)'", str(error))
        return
    c = W.decompose(torch.zeros(2, N, N))  # what was accepted works
    assert tuple(c.shape) == (2, W.P, W.P, N // W.P, N // W.P)


def test_band_coefficients_of_the_wrong_shape_are_refused():
    B = PacketBand(16, "db2", 1, 1)
    with pytest.raises(ShapeError, match=r"\(B, 16, 16\)"):
        B.analysis(torch.zeros(16, 16))
    with pytest.raises(ShapeError, match=rf"\(B, {B.d}\)"):
        B.synthesis(torch.zeros(2, B.d + 1))
