r"""Hessians of an energy and of its conditional energies in Haar wavelet coordinates.

For :math:`p(x) \propto e^{-E(x)}` on an N x N lattice and the orthogonal Haar factorization
:math:`x \leftrightarrow (x_j, \bar x_1, \dots, \bar x_j)` (:mod:`scatlab.generation.wavelets`), the
conditional density of the fine coefficients given the coarse field is

.. math:: p(\bar x_1, \dots, \bar x_j \mid x_j) \propto e^{-E(W_j^T(x_j, \bar x_1, \dots, \bar x_j))},

whose Hessian in the fine coordinates is :math:`D_j^T\,\nabla^2E(x)\,D_j`, :math:`D_j` the (orthonormal)
synthesis of the details of levels 1..j. It is log-concave where this is positive semi-definite. For
j = 1 this is :math:`p(\bar x_1 \mid x_1)` itself; for j > 1 it is the joint law of all finer details,
and if it is (strongly) log-concave then so is its marginal :math:`p(\bar x_j \mid x_j)` (Prékopa's
theorem; marginals of :math:`\kappa`-strongly log-concave laws are :math:`\kappa`-strongly log-concave),
the property Guth, Lempereur, Bruna & Mallat ("Conditionally strongly log-concave generative
models", ICML 2023) claim for :math:`\varphi^4` fields near criticality, whereas :math:`E` itself is
not convex (the double well).

Dense Hessians come from :func:`torch.func.jacrev` applied twice; the smallest eigenvalue on large
lattices from Lanczos (:func:`scipy.sparse.linalg.eigsh` on a :class:`~scipy.sparse.linalg.LinearOperator`
whose products are Hessian-vector products :math:`\nabla(\nabla f\cdot v)` by reverse-over-reverse
differentiation, :func:`torch.func.vjp` of :func:`torch.func.grad`), so no N^2 x N^2 matrix is formed.
(Reverse over reverse rather than :func:`torch.func.hessian`'s forward over reverse: the same numbers,
without the deprecated TorchScript decompositions forward mode loads in this torch.) An energy with a
written-out product (``hvp``, e.g. :meth:`Phi4.hvp`) skips autograd altogether.

Other projectors. Every function taking ``level`` also takes ``band``, a
:class:`~scatlab.generation.packets.PacketBand` (orthogonal wavelet packets of 1 or 1/2 octave, Haar,
Daubechies or Shannon filters): the fine coordinates are then that band's coefficients z and the
conditional energy :math:`f(z) = E(x - SS^Tx + Sz)`, S the band's synthesis, whose Hessian
:math:`S^T\nabla^2E(x)S` is, for the finest band, exactly the Hessian of :math:`-\log p(\bar x_1\mid x_1)`
(everything coarser is held fixed). This is the factorization of Guth et al. with their wavelet packet
projectors rather than Haar.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..errors import InvalidParameterError, ShapeError
from .packets import PacketBand
from .phi4 import Phi4, hmc, laplacian
from .wavelets import haar_decompose, haar_reconstruct

__all__ = ["conditional_energy", "hessian", "hessian_eigenvalues", "smallest_eigenvalue", "FiberEnergy",
           "marginal_conditional_hessian"]

Energy = Callable[[torch.Tensor], torch.Tensor]
"""An energy: a field (N, N) -> a scalar tensor, differentiable by torch.func."""
HVP = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""A Hessian-vector product (x (N, N), v (B, N, N)) -> the Hessian of the energy at x applied to each v."""


def conditional_energy(energy: Energy, x: torch.Tensor, level: int = 0, *, band: PacketBand | None = None
                       ) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    r"""The energy of the fine coefficients given the coarse field of x at ``level``, and its argument at x.

    Returns (f, z): :math:`f(z) = E(W_j^T(x_j, z))` with z the flattened details of levels 1..j of x
    (finest first); ``level = 0`` returns E on the flattened field (the full energy). With ``band`` (a
    :class:`PacketBand`, ``level`` left at 0): :math:`f(z) = E(x - SS^Tx + Sz)`, z the band's coefficients of x.
    """
    _check_field(x)
    N = x.shape[-1]
    if band is not None:
        synthesis, analysis, _ = _band_maps(x, level, band)
        z0 = analysis(x[None])[0]
        rest = x - synthesis(z0[None])[0]
        return (lambda z: energy(rest + synthesis(z[None])[0])), z0
    if not isinstance(level, int) or isinstance(level, bool) or level < 0 or (level and N % (2 ** level)):
        raise InvalidParameterError(f"The 'level' parameter must be an int in [0, log2 L] with L={N} divisible by "
                                    f"2**level. Got {level!r} instead.")
    if level == 0:
        return (lambda z: energy(z.reshape(N, N))), x.reshape(-1)
    coarse, details = haar_decompose(x, level)
    shapes = [d.shape for d in details]
    sizes = [d.numel() for d in details]

    def f(z: torch.Tensor) -> torch.Tensor:
        parts = [p.reshape(s) for p, s in zip(z.split(sizes), shapes)]
        return energy(haar_reconstruct(coarse, parts))

    return f, torch.cat([d.reshape(-1) for d in details])


def hessian(energy: Energy, x: torch.Tensor, level: int = 0, *, hvp: HVP | None = None,
            band: PacketBand | None = None) -> torch.Tensor:
    r"""The dense Hessian (d, d) at x of the conditional energy of the fine coefficients of levels 1..``level``
    given the coarse field (``level = 0``: of E itself, d = N^2).

    By :func:`torch.func.jacrev` twice (the Hessian) of the conditional energy, or, given ``hvp``
    (x, v) -> :math:`\nabla^2E(x)v`
    broadcasting over a batch of v (e.g. :meth:`Phi4.hvp`), as :math:`D_j^T\nabla^2E(x)D_j` applied to the
    d basis vectors at once (much faster for an energy whose Hessian-vector product is written out).
    With ``band`` (a :class:`PacketBand`, ``level`` left at 0): :math:`S^T\nabla^2E(x)S` on the band's coefficients.
    """
    if hvp is None:
        f, z = conditional_energy(energy, x, level, band=band)
        return torch.func.jacrev(torch.func.jacrev(f))(z)  # reverse over reverse: no forward-mode decompositions
    synthesis, analysis, d = _fine_maps(x, level, band)
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    return analysis(hvp(x, synthesis(eye)))


def hessian_eigenvalues(energy: Energy, x: torch.Tensor, level: int = 0, *, hvp: HVP | None = None,
                        band: PacketBand | None = None) -> np.ndarray:
    """All eigenvalues (ascending) of :func:`hessian` (dense: for lattices up to about 32 x 32)."""
    H = hessian(energy, x, level, hvp=hvp, band=band)
    return torch.linalg.eigvalsh(0.5 * (H + H.T)).detach().cpu().double().numpy()


def smallest_eigenvalue(energy: Energy, x: torch.Tensor, level: int = 0, *, hvp: HVP | None = None,
                        tol: float = 1e-6, seed: int = 0, dense_up_to: int = 0,
                        band: PacketBand | None = None) -> float:
    r"""The smallest eigenvalue of the conditional Hessian of :func:`hessian` by Lanczos on Hessian-vector products.

    :func:`scipy.sparse.linalg.eigsh` (``which='SA'``) on a LinearOperator computing
    :math:`v \mapsto \nabla^2 f(z)\,v`, with :func:`torch.func.vjp` of :func:`torch.func.grad` (float64),
    or with :math:`D_j^T\,\mathrm{hvp}(x, D_j v)` if ``hvp`` is given; the starting vector is drawn from ``seed``.
    Up to ``dense_up_to`` fine coefficients the dense spectrum is used instead (faster on small lattices).
    ``band`` (a :class:`PacketBand`, ``level`` left at 0) takes the band's coefficients as the fine ones.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    x = x.double()
    if hvp is None:
        f, z = conditional_energy(energy, x, level, band=band)
        _, pullback = torch.func.vjp(torch.func.grad(f), z)  # H v = v^T H (symmetric), one graph for all v
        d = z.numel()

        def product(t: torch.Tensor) -> torch.Tensor:
            return pullback(t)[0]
    else:
        synthesis, analysis, d = _fine_maps(x, level, band)

        def product(t: torch.Tensor) -> torch.Tensor:
            return analysis(hvp(x, synthesis(t[None])))[0]

    def matvec(v: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(-1), device=x.device)
        return product(t).detach().cpu().numpy()

    if d < 3 or d <= dense_up_to:
        return float(hessian_eigenvalues(energy, x, level, hvp=hvp, band=band)[0])
    v0 = np.random.default_rng(seed).standard_normal(d)
    op = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
    return float(eigsh(op, k=1, which="SA", tol=tol, v0=v0, return_eigenvectors=False)[0])


class FiberEnergy:
    r"""The energy of a :class:`Phi4` on the fiber of fields whose Haar coarse field at ``level`` is that of ``x``.

    Acts on fields y (chains, N, N): :math:`E_F(y) = E(c + (I - P)y)`, with P the orthogonal projection onto
    fields constant on :math:`2^{level}` blocks (the span of the coarse coefficients) and c = Px, so HMC
    with it samples the fine coefficients of levels 1..level given :math:`x_{level}` (:meth:`field` maps a
    sample back; the components of y along P carry no energy and are discarded).
    """

    def __init__(self, energy: Phi4, x: torch.Tensor, level: int):
        self.base, self.level = energy, level
        self.coarse = self.project(x)

    def project(self, y: torch.Tensor) -> torch.Tensor:
        """P y: the block means of size 2^level, broadcast back."""
        s, (n, m) = 2 ** self.level, y.shape[-2:]
        blocks = y.reshape(-1, n // s, s, m // s, s)
        return blocks.mean(dim=(2, 4), keepdim=True).expand_as(blocks).reshape(y.shape)

    def field(self, y: torch.Tensor) -> torch.Tensor:
        """The field c + (I - P) y of the fiber."""
        return self.coarse + y - self.project(y)

    def energy(self, y: torch.Tensor) -> torch.Tensor:
        return self.base.energy(self.field(y))

    def grad(self, y: torch.Tensor) -> torch.Tensor:
        g = self.base.grad(self.field(y))
        return g - self.project(g)

    def __repr__(self) -> str:
        return f"FiberEnergy({self.base!r}, level={self.level})"


def marginal_conditional_hessian(energy: Phi4, x: torch.Tensor, level: int, *, chains: int = 16, warmup: int = 150,
                                 samples: int = 200, n_leapfrog: int = 10, seed: int = 0,
                                 dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, list[torch.Tensor]]:
    r"""Monte Carlo estimate of the Hessian of :math:`-\log p(\bar x_j \mid x_j)` at x, j = ``level`` >= 2.

    :math:`p(x_{j-1}) = \int e^{-E(x)}\,d\bar x_1\cdots d\bar x_{j-1}`, so in the coordinates
    :math:`\bar x_j` (at fixed :math:`x_j`), by differentiating under the integral,

    .. math:: -\nabla^2\log p(\bar x_j\mid x_j) = \mathbb E\big[\nabla^2_{\bar x_j}E\big]
              - \mathrm{Cov}\big[\nabla_{\bar x_j}E\big],

    expectations over the finer details given :math:`x_{j-1}`, sampled by :func:`hmc` on the fiber
    (:class:`FiberEnergy` at level j - 1). For :class:`Phi4`, :math:`\nabla^2E = \beta\Delta + \mathrm{diag}
    V''(x)` is linear in :math:`V''`, so the first term only needs the mean of :math:`V''`. Returns the
    estimate (d, d), :math:`d = 3(N/2^j)^2`, and the two estimates from either half of the chains (their
    spread measures the Monte Carlo error; the covariance term is estimated without bias but its noise
    lowers the smallest eigenvalue). Fields x (S, N, N) are processed in one batch of S x ``chains``
    chains and give (S, d, d) estimates.
    """
    single = isinstance(x, torch.Tensor) and x.ndim == 2
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 3) or x.shape[-1] != x.shape[-2]:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(f"marginal_conditional_hessian: x must be a field (N, N) or fields (S, N, N). Got {shape}.")
    N = x.shape[-1]
    if not isinstance(level, int) or level < 2 or N % (2 ** level):
        raise InvalidParameterError(f"The 'level' parameter of marginal_conditional_hessian must be an int >= 2 with "
                                    f"L={N} divisible by 2**level (level 1 has no finer details: use hessian). "
                                    f"Got {level!r}.")
    if chains < 4 or chains % 2:
        raise InvalidParameterError(f"The 'chains' parameter of marginal_conditional_hessian must be even and >= 4. "
                                    f"Got {chains!r}.")
    fields0 = x.to(dtype).reshape(-1, N, N)
    S = len(fields0)
    init = fields0.repeat_interleave(chains, dim=0)  # (S * chains, N, N): every field's chains side by side
    fiber = FiberEnergy(energy, init, level - 1)
    run = hmc(fiber, N, chains=S * chains, warmup=warmup, samples=samples, n_leapfrog=n_leapfrog, thin=1, init=init,
              seed=seed, dtype=dtype, device=x.device)
    fields = fiber.field(run.samples).double()  # (samples, S * chains, N, N)
    _, details = haar_decompose(energy.grad(fields), level)
    g = details[-1].reshape(samples, S, chains, -1)  # the gradient in the coordinates xbar_j
    curvature = energy.hessian_diagonal(fields).reshape(samples, S, chains, N, N)  # V''(x), per sample
    synthesis, analysis, d = _detail_maps(fields0[0].double(), level)
    basis = synthesis(torch.eye(d, dtype=torch.float64, device=x.device))
    stiffness = energy.beta * laplacian(basis)

    def estimate(i: int, part: slice) -> torch.Tensor:
        mean_curvature = curvature[:, i, part].mean(dim=(0, 1))
        block = analysis(stiffness + mean_curvature * basis)
        flat = g[:, i, part].reshape(-1, d)
        centred = flat - flat.mean(dim=0)
        K = block - centred.T @ centred / (len(flat) - 1)
        return 0.5 * (K + K.T)

    half = chains // 2
    K = torch.stack([estimate(i, slice(None)) for i in range(S)])
    halves = [torch.stack([estimate(i, part) for i in range(S)]) for part in (slice(0, half), slice(half, None))]
    return (K[0], [h[0] for h in halves]) if single else (K, halves)


def _detail_maps(x: torch.Tensor, level: int):
    """The synthesis (B, d) -> (B, N, N) of the details of ``level`` alone (everything else 0), its transpose, d."""
    coarse, details = haar_decompose(x, level)
    shape, d = details[-1].shape, details[-1].numel()

    def synthesis(z: torch.Tensor) -> torch.Tensor:
        B = z.shape[0]
        parts = [t.new_zeros((B,) + tuple(t.shape)) for t in details[:-1]] + [z.reshape((B,) + tuple(shape))]
        return haar_reconstruct(coarse.new_zeros((B,) + tuple(coarse.shape)), parts)

    def analysis(f: torch.Tensor) -> torch.Tensor:
        return haar_decompose(f, level)[1][-1].reshape(f.shape[0], -1)

    return synthesis, analysis, d


def _band_maps(x: torch.Tensor, level: int, band: PacketBand):
    """The synthesis (B, d) -> (B, N, N) of a PacketBand's coefficients, its transpose, and d (validated against x)."""
    if not isinstance(band, PacketBand):
        raise InvalidParameterError(f"The 'band' parameter must be a PacketBand or None. Got {type(band).__name__}.")
    if level != 0:
        raise InvalidParameterError(f"Give either 'level' (Haar) or 'band' (wavelet packets), not both. Got "
                                    f"level={level!r} and band={band!r}.")
    if band.N != x.shape[-1]:
        raise InvalidParameterError(f"The 'band' parameter is for {band.N} x {band.N} fields. Got a field of side "
                                    f"{x.shape[-1]}.")
    return band.synthesis, band.analysis, band.d


def _fine_maps(x: torch.Tensor, level: int, band: PacketBand | None = None):
    """The synthesis D_j (B, d) -> (B, N, N) of the fine coefficients (coarse set to 0), its transpose, and d."""
    if band is not None:
        _check_field(x)
        return _band_maps(x, level, band)
    _, z = conditional_energy(lambda field: field.sum(), x, level)  # validates x and level
    N, d = x.shape[-1], z.numel()
    if level == 0:
        return (lambda z: z.reshape(-1, N, N)), (lambda f: f.reshape(f.shape[0], -1)), d
    coarse, details = haar_decompose(x, level)
    shapes = [d_.shape for d_ in details]
    sizes = [d_.numel() for d_ in details]

    def synthesis(z: torch.Tensor) -> torch.Tensor:
        parts = [p.reshape((-1,) + tuple(s)) for p, s in zip(z.split(sizes, dim=1), shapes)]
        return haar_reconstruct(coarse.new_zeros((z.shape[0],) + tuple(coarse.shape)), parts)

    def analysis(f: torch.Tensor) -> torch.Tensor:
        _, parts = haar_decompose(f, level)
        return torch.cat([p.reshape(f.shape[0], -1) for p in parts], dim=1)

    return synthesis, analysis, d


def _check_field(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[0] != x.shape[1] or x.shape[0] < 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(f"log_concavity: x must be one square field (N, N). Got {shape}; pass fields one at a time.")
