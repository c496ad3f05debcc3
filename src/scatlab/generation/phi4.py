r"""The 2D lattice :math:`\varphi^4` field and a Hamiltonian Monte Carlo sampler over many chains.

Energy on a periodic L x L lattice (each nearest-neighbour pair <u, v> counted once):

.. math:: E(x) = \frac{\beta}{2}\sum_{\langle u,v\rangle}(x_u - x_v)^2
          + \sum_u \Big(\frac{m^2}{2} x_u^2 + \lambda\,(x_u^2 - 1)^2\Big),
          \qquad p(x) \propto e^{-E(x)}.

:math:`\beta` is an inverse temperature (large: ordered). Guth, Lempereur, Bruna & Mallat
("Conditionally strongly log-concave generative models", ICML 2023) and Marchand, Ozawa, Biroli &
Mallat ("Wavelet conditional renormalization group", 2022) report :math:`\beta_c \approx 0.68`. With
:math:`m^2 = 0, \lambda = 1` the Binder cumulants of L = 16 and 32 cross near :math:`\beta = 0.94`
instead; the standard lattice form (:meth:`Phi4.from_hopping` with :math:`\lambda = 1`, i.e.
:math:`-\beta\sum_{\langle u,v\rangle}x_ux_v + \sum_u(x_u^4 - x_u^2)` with :math:`\beta = 2\kappa`) crosses at
:math:`\beta \approx 0.68`, so it is likely theirs (their energy formula could not be checked:
see ``archive/phi4-packets/phi4_packets.md``). With
:math:`\lambda = 0, m^2 > 0` it is the Gaussian free field, whose covariance is diagonal in Fourier,
:math:`\mathbb E|\hat x(k)|^2 / L^2 = 1 / (\beta\,\omega_k + m^2)` with
:math:`\omega_k = 4\sin^2(k_1/2) + 4\sin^2(k_2/2)` (:func:`free_field_spectrum`); with
:math:`\beta = 0` the sites are independent with density :math:`\propto e^{-V(x)}` (:func:`site_marginal`).

The sampler (:func:`hmc`) is Hamiltonian Monte Carlo (Duane, Kennedy, Pendleton & Roweth, Phys.
Lett. B 1987; Neal, "MCMC using Hamiltonian dynamics", 2011) with the leapfrog integrator, one step
size shared by the chains, adapted during warm-up only by dual averaging towards a target acceptance
(Hoffman & Gelman, JMLR 2014, section 3.2) and frozen afterwards, so the sampling phase is an exact
Metropolis chain. With one leapfrog step it is MALA. The gradient and Hessian are written out (the
lattice Laplacian by ``torch.roll``) rather than taken by autograd: the sampler calls them millions
of times and the test suite checks them against autograd. Integrated autocorrelation times use
Sokal's automatic windowing (:func:`integrated_autocorrelation_time`).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ..errors import InvalidParameterError, ShapeError
from ..runtime import Progress, no_progress

__all__ = ["Phi4", "HMCResult", "DivergenceError", "hmc", "integrated_autocorrelation_time", "free_field_spectrum",
           "site_marginal", "laplacian", "power_spectrum"]


class DivergenceError(ArithmeticError):
    """The sampler stopped: too many proposals had a non-finite energy. ``diagnostics`` holds the step
    size, the fraction of divergent proposals and where it happened; no sample is returned."""

    def __init__(self, message: str, diagnostics: dict):
        super().__init__(message)
        self.diagnostics = diagnostics


def laplacian(x: torch.Tensor) -> torch.Tensor:
    r"""The periodic lattice Laplacian form :math:`(\Delta x)_u = 4x_u - \sum_{v \sim u} x_v` on the last two axes
    (positive semi-definite: :math:`x^T\Delta x = \sum_{\langle u,v\rangle}(x_u - x_v)^2`)."""
    return 4 * x - x.roll(1, -1) - x.roll(-1, -1) - x.roll(1, -2) - x.roll(-1, -2)


@dataclasses.dataclass(frozen=True)
class Phi4:
    r"""The energy :math:`E(x) = \frac\beta2\sum_{\langle u,v\rangle}(x_u-x_v)^2 + \sum_u \frac{m^2}{2}x_u^2
    + \lambda(x_u^2-1)^2` on periodic lattices (module docstring); ``mass2`` is :math:`m^2`, ``lam`` is
    :math:`\lambda`. Methods act on fields (..., L, L) and return one value per field."""

    beta: float
    lam: float = 1.0
    mass2: float = 0.0

    def __post_init__(self):
        for name in ("beta", "lam", "mass2"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or (
                    value < 0 and name != "mass2"):
                raise InvalidParameterError(f"The '{name}' parameter of Phi4 must be a finite number >= 0. "
                                            f"Got {value!r} instead.")
        if self.lam == 0 and self.mass2 <= 0:
            raise InvalidParameterError(f"Phi4 with lam=0 needs mass2 > 0 for a normalizable density (the constant "
                                        f"field is a flat or unstable direction). Got mass2={self.mass2!r}; give "
                                        f"mass2 > 0 or lam > 0.")

    @classmethod
    def from_hopping(cls, kappa: float, lam: float) -> "Phi4":
        r"""The standard lattice action :math:`S = \sum_u\big[-2\kappa\sum_{\mu}x_ux_{u+\mu} + x_u^2
        + \lambda(x_u^2 - 1)^2\big]` (hopping parameter :math:`\kappa`; e.g. Albergo, Kanwar & Shanahan, PRD 2019)
        as a Phi4: :math:`\beta = 2\kappa`, :math:`m^2 = 2 - 8\kappa`, the same :math:`\lambda` (equal energies:
        :math:`\frac\beta2\sum_{\langle u,v\rangle}(x_u-x_v)^2
        = 2\beta\sum_u x_u^2 - \beta\sum_{\langle u,v\rangle}x_ux_v`)."""
        return cls(beta=2.0 * kappa, lam=lam, mass2=2.0 - 8.0 * kappa)

    @classmethod
    def from_product_coupling(cls, beta: float, lam: float = 1.0) -> "Phi4":
        r"""The energy :math:`-\beta\sum_{\langle u,v\rangle}x_ux_v + \lambda\sum_u(x_u^2 - 1)^2` (single-site double
        wells coupled by the product of neighbours, the Ising-like form) as a Phi4: the same :math:`\beta` and
        :math:`\lambda`, :math:`m^2 = -4\beta`."""
        return cls(beta=beta, lam=lam, mass2=-4.0 * beta)

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        r"""The site potential :math:`V(x) = \frac{m^2}{2}x^2 + \lambda(x^2-1)^2`, elementwise."""
        return 0.5 * self.mass2 * x * x + self.lam * (x * x - 1) ** 2

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) for fields (..., L, L): a tensor of shape (...)."""
        _check_field(x)
        bonds = (x - x.roll(1, -1)) ** 2 + (x - x.roll(1, -2)) ** 2
        return (0.5 * self.beta * bonds + self.potential(x)).sum(dim=(-2, -1))

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla E(x) = \beta\Delta x + m^2 x + 4\lambda x(x^2 - 1)`."""
        return self.beta * laplacian(x) + self.mass2 * x + 4 * self.lam * x * (x * x - 1)

    def hessian_diagonal(self, x: torch.Tensor) -> torch.Tensor:
        r"""The site part :math:`V''(x_u) = m^2 + \lambda(12x_u^2 - 4)` of the Hessian
        :math:`\nabla^2 E = \beta\Delta + \mathrm{diag}\,V''(x)`."""
        return self.mass2 + self.lam * (12 * x * x - 4)

    def hvp(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        r"""The Hessian-vector product :math:`\nabla^2E(x)\,v = \beta\Delta v + V''(x)\odot v`."""
        return self.beta * laplacian(v) + self.hessian_diagonal(x) * v


def free_field_spectrum(L: int, beta: float, mass2: float) -> np.ndarray:
    r"""The exact power spectrum :math:`\mathbb E|\hat x(k)|^2/L^2 = 1/(\beta\omega_k + m^2)` (L, L) of the
    Gaussian free field (:class:`Phi4` with lam = 0) at the DFT frequencies :math:`k = 2\pi(q, r)/L`."""
    k = 2 * np.pi * np.fft.fftfreq(L)
    omega = 4 * np.sin(k[:, None] / 2) ** 2 + 4 * np.sin(k[None, :] / 2) ** 2
    return 1.0 / (beta * omega + mass2)


def power_spectrum(x: torch.Tensor) -> torch.Tensor:
    r""":math:`|\hat x(k)|^2 / L^2` of fields (..., L, L) (unnormalized DFT), averaged by the caller."""
    return torch.fft.fft2(x).abs() ** 2 / (x.shape[-1] * x.shape[-2])


def site_marginal(energy: Phi4, grid: np.ndarray) -> np.ndarray:
    r"""At :math:`\beta = 0` the exact density of one site, :math:`e^{-V(t)}/\int e^{-V}`, on ``grid``
    (normalized by adaptive quadrature, :func:`scipy.integrate.quad`)."""
    from scipy.integrate import quad

    if energy.beta != 0:
        raise InvalidParameterError(f"site_marginal is the exact marginal only at beta = 0. Got beta={energy.beta!r}.")
    V = lambda t: 0.5 * energy.mass2 * t * t + energy.lam * (t * t - 1) ** 2  # noqa: E731
    Z = quad(lambda t: math.exp(-V(t)), -np.inf, np.inf)[0]
    return np.exp(-V(np.asarray(grid, dtype=float))) / Z


# ------------------------------------------------------------------------------------------ sampler


@dataclasses.dataclass
class HMCResult:
    """What :func:`hmc` returns (no field is ever NaN).

    ``samples`` (n_kept, chains, L, L): states every ``thin`` trajectories of the sampling phase;
    ``magnetization`` and ``energy`` (n_samples, chains): the mean field and E / L^2 after every
    trajectory of the sampling phase; ``acceptance`` (n_samples, chains): the Metropolis acceptance
    probability of every proposal; ``step_size``: the adapted (frozen) step; ``warmup_step_sizes``:
    its history (the step used at each warm-up trajectory); ``warmup_acceptance``: the chain-mean acceptance
    probability of each warm-up trajectory; ``divergent_fraction``: proposals of the sampling phase with non-finite
    energy;
    ``n_leapfrog``: leapfrog steps per trajectory; ``gradient_evaluations``: per chain, warm-up included.
    """

    samples: torch.Tensor
    magnetization: np.ndarray
    energy: np.ndarray
    acceptance: np.ndarray
    step_size: float
    warmup_step_sizes: np.ndarray
    warmup_acceptance: np.ndarray
    divergent_fraction: float
    n_leapfrog: int
    gradient_evaluations: int

    @property
    def acceptance_rate(self) -> float:
        """Mean Metropolis acceptance probability of the sampling phase."""
        return float(self.acceptance.mean())


def hmc(energy: Phi4, L: int, *, chains: int = 64, warmup: int = 500, samples: int = 1000,
        step_size: float = 0.1, n_leapfrog: int = 10, target_accept: float = 0.75, adapt: bool = True,
        thin: int = 10, init: torch.Tensor | None = None, seed: int = 0, dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None, max_divergent_fraction: float = 0.2,
        progress: Progress = no_progress, desc: str = "hmc") -> HMCResult:
    r"""Sample :math:`p \propto e^{-E}` on ``chains`` independent periodic L x L lattices by HMC.

    ``energy`` is a :class:`Phi4` or any object with the same ``energy(x)`` and ``grad(x)`` on (chains, L, L).

    Each trajectory draws momenta :math:`p \sim N(0, I)`, runs ``n_leapfrog`` leapfrog steps of size
    :math:`\epsilon` (jittered by a uniform factor in [0.9, 1.1] to avoid periodic orbits) and
    accepts with probability :math:`\min(1, e^{H_0 - H_1})`, :math:`H = E(x) + |p|^2/2`. During the
    ``warmup`` trajectories (discarded), :math:`\log\epsilon` follows dual averaging of the
    chain-mean acceptance towards ``target_accept`` (``adapt=True``); then :math:`\epsilon` is frozen.
    A proposal whose energy is not finite is rejected and counted as divergent; if more than
    ``max_divergent_fraction`` of the proposals diverge (after 20 trajectories of a phase), the
    sampler raises :class:`DivergenceError` with the diagnostics instead of returning samples.
    ``init`` (chains, L, L) defaults to i.i.d. N(0, 1) sites. ``seed`` fixes the run (own generator).
    """
    _check_sampler(L, chains, warmup, samples, step_size, n_leapfrog, target_accept, thin, max_divergent_fraction)
    device = torch.device(device) if device is not None else (init.device if init is not None else torch.device("cpu"))
    gen = torch.Generator(device=device).manual_seed(seed)
    if init is None:
        x = torch.randn(chains, L, L, generator=gen, dtype=dtype, device=device)
    else:
        if tuple(init.shape) != (chains, L, L):
            raise ShapeError(f"hmc: init must have shape (chains, L, L) = {(chains, L, L)}. Got {tuple(init.shape)}.")
        if not torch.isfinite(init).all():
            raise InvalidParameterError("The 'init' parameter of hmc must be finite. Got non-finite values.")
        x = init.to(device=device, dtype=dtype).clone()
    U, g = energy.energy(x), energy.grad(x)

    # dual averaging (Hoffman & Gelman 2014, eqs. 5-6): shrinkage target mu = log(10 eps0)
    log_eps, log_eps_bar, h_bar = math.log(step_size), 0.0, 0.0
    mu, gamma, t0, kappa = math.log(10 * step_size), 0.05, 10.0, 0.75
    history, warm_accept = np.zeros(warmup), np.zeros(warmup)
    eps = step_size

    def trajectory(eps: float):
        nonlocal x, U, g
        eps = eps * (0.9 + 0.2 * torch.rand((), generator=gen, device=device, dtype=dtype).item())
        p = torch.randn(x.shape, generator=gen, dtype=dtype, device=device)
        H0 = U + 0.5 * (p * p).sum(dim=(-2, -1))
        xn, pn = x, p - 0.5 * eps * g
        for step in range(n_leapfrog):
            xn = xn + eps * pn
            gn = energy.grad(xn)
            pn = pn - (eps if step < n_leapfrog - 1 else 0.5 * eps) * gn
        Un = energy.energy(xn)
        H1 = Un + 0.5 * (pn * pn).sum(dim=(-2, -1))
        finite = torch.isfinite(H1) & torch.isfinite(xn).flatten(1).all(dim=1) & torch.isfinite(gn).flatten(1).all(1)
        log_ratio = torch.where(finite, H0 - H1, torch.full_like(H0, -math.inf))
        accept_prob = torch.exp(torch.clamp(log_ratio, max=0.0))
        accept = torch.rand(accept_prob.shape, generator=gen, device=device, dtype=dtype) < accept_prob
        keep = accept[:, None, None]
        x = torch.where(keep, xn, x)  # non-finite proposals are never accepted (accept_prob = 0)
        g = torch.where(keep, gn, g)
        U = torch.where(accept, Un, U)
        return accept_prob, (~finite)

    divergent = 0
    for t in progress(range(1, warmup + 1), desc=f"{desc} warm-up", total=warmup):
        used = eps
        accept_prob, div = trajectory(eps)
        divergent += int(div.sum())
        if adapt:
            alpha = float(accept_prob.mean())
            h_bar = (1 - 1 / (t + t0)) * h_bar + (target_accept - alpha) / (t + t0)
            log_eps = mu - math.sqrt(t) / gamma * h_bar
            weight = t ** (-kappa)
            log_eps_bar = weight * log_eps + (1 - weight) * log_eps_bar
            eps = math.exp(log_eps)
        history[t - 1], warm_accept[t - 1] = used, float(accept_prob.mean())
    if adapt and warmup:
        eps = math.exp(log_eps_bar)
    kept = []
    mags, energies, accepts = (np.zeros((samples, chains)) for _ in range(3))
    divergent = 0
    for t in progress(range(samples), desc=f"{desc} sampling", total=samples):
        accept_prob, div = trajectory(eps)
        divergent += int(div.sum())
        if t >= 19 and divergent > max_divergent_fraction * (t + 1) * chains:
            raise DivergenceError(
                f"hmc diverged: {divergent} of {(t + 1) * chains} proposals of the sampling phase had a non-finite "
                f"energy (more than max_divergent_fraction={max_divergent_fraction}) with step size {eps:.4g} "
                f"(n_leapfrog={n_leapfrog}, energy={energy!r}, L={L}); lower step_size or set adapt=True.",
                {"step_size": eps, "divergent": divergent, "proposals": (t + 1) * chains, "trajectory": t,
                 "phase": "sampling"})
        mags[t] = x.mean(dim=(-2, -1)).cpu().numpy()
        energies[t] = (U / (L * L)).cpu().numpy()
        accepts[t] = accept_prob.cpu().numpy()
        if (t + 1) % thin == 0:
            kept.append(x.clone())
    stored = torch.stack(kept) if kept else x.new_zeros((0, chains, L, L))
    return HMCResult(samples=stored, magnetization=mags, energy=energies, acceptance=accepts, step_size=eps,
                     warmup_step_sizes=history, warmup_acceptance=warm_accept,
                     divergent_fraction=divergent / (samples * chains),
                     n_leapfrog=n_leapfrog, gradient_evaluations=(warmup + samples) * n_leapfrog)


# ----------------------------------------------------------------------------------- autocorrelation


def integrated_autocorrelation_time(series: np.ndarray, c: float = 5.0) -> tuple[float, int, float]:
    r"""Sokal's integrated autocorrelation time of a stationary series (T,) or (T, chains).

    :math:`\tau_{int} = 1 + 2\sum_{t=1}^{W}\rho(t)` (so the variance of the mean of T draws is
    :math:`\tau_{int}\,\sigma^2/T`), with :math:`\rho` the autocorrelation averaged over chains
    (computed by FFT, chain means removed) and W the smallest window with :math:`W \ge c\,\tau_{int}(W)`
    (Sokal, "Monte Carlo methods in statistical mechanics", 1997, section 3). Returns
    (tau, W, its standard error :math:`\tau\sqrt{2(2W+1)/T}`).
    """
    y = np.asarray(series, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] < 4 or not np.isfinite(y).all():
        raise InvalidParameterError(f"The 'series' parameter of integrated_autocorrelation_time must be a finite "
                                    f"(T,) or (T, chains) array with T >= 4. Got shape {y.shape}.")
    T = y.shape[0]
    y = y - y.mean(axis=0)
    f = np.fft.rfft(y, n=2 * T, axis=0)
    acov = np.fft.irfft(f * np.conj(f), axis=0)[:T].mean(axis=1) / T
    if acov[0] <= 0:
        return 1.0, 0, 0.0
    rho = acov / acov[0]
    taus = 1 + 2 * np.cumsum(rho[1:])
    W = next((w for w in range(1, T) if w >= c * taus[w - 1]), T - 1)
    tau = max(float(taus[W - 1]), 1e-12)
    return tau, W, tau * math.sqrt(2 * (2 * W + 1) / T)


# ----------------------------------------------------------------------------------------- checks


def _check_field(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[-1] < 3 or x.shape[-2] < 3:
        raise ShapeError(f"Phi4: fields must be tensors (..., L, L) with L >= 3. Got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}.")


def _check_sampler(L, chains, warmup, samples, step_size, n_leapfrog, target_accept, thin, max_div) -> None:
    ints = {"L": (L, 3), "chains": (chains, 1), "warmup": (warmup, 0), "samples": (samples, 1),
            "n_leapfrog": (n_leapfrog, 1), "thin": (thin, 1)}
    for name, (value, low) in ints.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise InvalidParameterError(f"The '{name}' parameter of hmc must be an int >= {low}. "
                                        f"Got {value!r} instead.")
    if not isinstance(step_size, (int, float)) or not math.isfinite(step_size) or step_size <= 0:
        raise InvalidParameterError(f"The 'step_size' parameter of hmc must be a finite number > 0. "
                                    f"Got {step_size!r} instead.")
    if not 0 < target_accept < 1:
        raise InvalidParameterError(f"The 'target_accept' parameter of hmc must be in (0, 1). Got {target_accept!r}.")
    if not 0 <= max_div < 1:
        raise InvalidParameterError(f"The 'max_divergent_fraction' parameter of hmc must be in [0, 1). "
                                    f"Got {max_div!r}.")
