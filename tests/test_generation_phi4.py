"""The phi^4 energy and the HMC sampler on distributions with known answers: the Gaussian free field
(exact power spectrum), independent sites at beta = 0 (exact marginal by quadrature), an AR(1) series
(exact autocorrelation time); and the errors: bad parameters, a diverging sampler."""
import math

import numpy as np
import pytest
import torch

from scatlab.errors import InvalidParameterError
from scatlab.generation.phi4 import (DivergenceError, Phi4, free_field_spectrum, hmc, integrated_autocorrelation_time,
                                     laplacian, power_spectrum, site_marginal)


def test_gradient_and_hessian_vector_product_match_autograd():
    torch.manual_seed(0)
    energy = Phi4(beta=0.7, lam=1.3, mass2=0.2)
    x = torch.randn(2, 6, 6, dtype=torch.float64, requires_grad=True)
    g = torch.autograd.grad(energy.energy(x).sum(), x, create_graph=True)[0]
    torch.testing.assert_close(g, energy.grad(x), rtol=1e-12, atol=1e-12)
    v = torch.randn(2, 6, 6, dtype=torch.float64)
    hv = torch.autograd.grad((g * v).sum(), x)[0]
    torch.testing.assert_close(hv, energy.hvp(x.detach(), v), rtol=1e-12, atol=1e-12)


def test_laplacian_quadratic_form_is_the_sum_over_bonds():
    x = torch.randn(7, 7, dtype=torch.float64)
    bonds = sum(((x - x.roll(1, d)) ** 2).sum() for d in (0, 1))
    assert torch.isclose((x * laplacian(x)).sum(), bonds)


def _mc_close(estimates: np.ndarray, exact: np.ndarray, k: float = 5.0):
    """Each column of ``estimates`` (T, chains, m) has mean within k standard errors (tau-corrected) of exact."""
    T, chains, m = estimates.shape
    for i in range(m):
        series = estimates[:, :, i]
        tau = integrated_autocorrelation_time(series)[0]
        se = math.sqrt(series.var() * tau / series.size)
        assert abs(series.mean() - exact[i]) < k * se, (i, series.mean(), exact[i], se, tau)


def test_hmc_matches_the_gaussian_free_field_spectrum():
    L, beta, mass2 = 8, 1.0, 0.5
    energy = Phi4(beta=beta, lam=0.0, mass2=mass2)
    result = hmc(energy, L, chains=32, warmup=150, samples=300, n_leapfrog=5, thin=1, seed=1)
    assert 0.6 < result.acceptance_rate < 0.9 and result.divergent_fraction == 0
    exact = free_field_spectrum(L, beta, mass2)
    spectra = power_spectrum(result.samples).numpy()  # (T, chains, L, L)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(L), np.fft.fftfreq(L), indexing="ij"))
    bins = np.digitize(k, [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65])  # radial bins of |k| (cycles per site)
    present = np.unique(bins)
    binned = np.stack([spectra[..., bins == b].mean(-1) for b in present], axis=-1)
    _mc_close(binned, np.array([exact[bins == b].mean() for b in present]))
    # the site variance: the mean of the spectrum
    _mc_close((result.samples.numpy() ** 2).mean(axis=(-2, -1))[..., None], np.array([exact.mean()]))
    # and the sampler is not trivially right: a wrong mass gives a spectrum off by many standard errors
    with pytest.raises(AssertionError):
        _mc_close(binned[..., :1], np.array([free_field_spectrum(L, beta, 0.4)[bins == present[0]].mean()]))


def test_hmc_at_beta_zero_gives_the_exact_site_marginal():
    from scipy.integrate import quad

    energy = Phi4(beta=0.0, lam=1.0, mass2=0.0)
    result = hmc(energy, 6, chains=32, warmup=150, samples=300, n_leapfrog=5, thin=1, seed=2)
    x = result.samples.numpy()
    grid = np.linspace(-3, 3, 2001)
    density = site_marginal(energy, grid)
    assert abs(np.trapezoid(density, grid) - 1) < 1e-6 and density[1000] < density[1333]  # a double well
    moment = lambda f: quad(lambda t: f(t) * site_marginal(energy, np.array([t]))[0], -np.inf, np.inf)[0]  # noqa
    observables = np.stack([(x ** 2).mean(axis=(-2, -1)), (x ** 4).mean(axis=(-2, -1)),
                            (np.abs(x) < 0.5).mean(axis=(-2, -1))], axis=-1)
    exact = np.array([moment(lambda t: t ** 2), moment(lambda t: t ** 4),
                      quad(lambda t: site_marginal(energy, np.array([t]))[0], -0.5, 0.5)[0]])
    _mc_close(observables, exact)


def test_autocorrelation_time_of_an_ar1_series():
    phi, T, chains = 0.8, 20000, 4
    rng = np.random.default_rng(0)
    y = np.zeros((T, chains))
    noise = rng.standard_normal((T, chains))
    for t in range(1, T):
        y[t] = phi * y[t - 1] + noise[t]
    tau, window, err = integrated_autocorrelation_time(y)
    assert abs(tau - (1 + phi) / (1 - phi)) < 3 * err and window >= 5 * tau - 1
    assert integrated_autocorrelation_time(rng.standard_normal((5000, 2)))[0] == pytest.approx(1, abs=0.15)


def test_step_size_adapts_to_the_target_acceptance_and_samples_are_finite():
    result = hmc(Phi4(beta=1.0), 12, chains=16, warmup=200, samples=60, step_size=1.0, target_accept=0.6, seed=3)
    assert abs(result.acceptance_rate - 0.6) < 0.12
    assert result.step_size < 1.0 and torch.isfinite(result.samples).all()
    assert result.samples.shape == (6, 16, 12, 12) and result.magnetization.shape == (60, 16)


def test_a_diverging_sampler_stops_with_the_diagnostic():
    with pytest.raises(DivergenceError, match="step size") as info:
        hmc(Phi4(beta=1.0), 8, chains=4, warmup=0, samples=50, step_size=50.0, adapt=False)
    assert info.value.diagnostics["divergent"] > 0 and info.value.diagnostics["step_size"] >= 45


@pytest.mark.parametrize("kwargs, name", [({"step_size": 0.0}, "step_size"), ({"step_size": -1.0}, "step_size"),
                                          ({"chains": 0}, "chains"), ({"n_leapfrog": 0}, "n_leapfrog"),
                                          ({"target_accept": 1.0}, "target_accept"), ({"samples": 0}, "samples")])
def test_bad_sampler_parameters_are_named(kwargs, name):
    with pytest.raises(InvalidParameterError, match=name):
        hmc(Phi4(beta=1.0), 8, **kwargs)


def test_bad_energy_parameters_are_named():
    with pytest.raises(InvalidParameterError, match="beta"):
        Phi4(beta=-1.0)
    with pytest.raises(InvalidParameterError, match="mass2"):
        Phi4(beta=1.0, lam=0.0, mass2=0.0)
    with pytest.raises(InvalidParameterError, match="beta = 0"):
        site_marginal(Phi4(beta=1.0), np.zeros(3))


def test_other_parameterizations_are_the_same_energy():
    x = torch.randn(3, 8, 8, dtype=torch.float64)
    bonds = lambda y: (y * y.roll(1, -1) + y * y.roll(1, -2)).sum(dim=(-2, -1))  # noqa: E731  each bond once
    kappa, lam = 0.27, 0.8
    hopping = -2 * kappa * bonds(x) + (x * x + lam * (x * x - 1) ** 2).sum(dim=(-2, -1))
    torch.testing.assert_close(Phi4.from_hopping(kappa, lam).energy(x), hopping, rtol=1e-12, atol=1e-12)
    beta = 0.68
    product = -beta * bonds(x) + ((x * x - 1) ** 2).sum(dim=(-2, -1))
    torch.testing.assert_close(Phi4.from_product_coupling(beta).energy(x), product, rtol=1e-12, atol=1e-12)
    assert Phi4.from_product_coupling(beta).mass2 == pytest.approx(-4 * beta)


def test_negative_mass_needs_the_quartic_term():
    assert Phi4(beta=1.0, lam=1.0, mass2=-2.0).mass2 == -2.0
    with pytest.raises(InvalidParameterError, match="mass2 > 0"):
        Phi4(beta=1.0, lam=0.0, mass2=-1.0)
