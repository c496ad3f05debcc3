r"""What random Gaussian layers preserve: angles, distances, Gaussian mean width, invertibility.

Giryes, Sapiro & Bronstein ("Deep neural networks with random Gaussian weights: a universal
classification strategy?", IEEE Trans. Signal Process. 2016) show that a ReLU layer
:math:`f(x) = \max(Wx, 0)` with i.i.d. Gaussian weights embeds data of low Gaussian mean width
stably: distances are kept up to a known shrinkage that grows with the angle, and angles follow
the map of the arc-cosine kernel of degree 1 (Cho & Saul, "Kernel methods for deep learning",
NIPS 2009). The tools here:

- :class:`RandomGaussianNetwork`: fully connected layers :math:`h_l = \sigma(W_l h_{l-1})`, no bias,
  :math:`(W_l)_{ij} \sim N(0, g/m_l)` with :math:`m_l` the output width and gain g = 2 for the
  ReLU, 1 for the identity, so that :math:`E\|h_l\|^2 = \|h_{l-1}\|^2` (norms kept on average);
- :func:`relu_angle_map`, :func:`iterated_angle_map`, :func:`relu_expected_sq_distance`: the
  infinite-width (expected) maps of such a layer;
- :func:`pair_angles`, :func:`distance_ratios`: what a finite network does on pairs;
- :func:`gaussian_mean_width` (Monte Carlo, with its standard error), :func:`l2_ball_mean_width`,
  :func:`l1_ball_mean_width`, :func:`gordon_distortion_bound`;
- :func:`pca_dimension`, :func:`mle_intrinsic_dimension`: intrinsic dimension estimates;
- :func:`invert_layerwise`, :func:`invert_gradient`: recovery of the input from the output.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from scipy import integrate, special

from ..errors import InvalidParameterError, ShapeError

__all__ = [
    "RandomGaussianNetwork", "relu_angle_map", "iterated_angle_map", "relu_expected_sq_distance", "pair_angles",
    "distance_ratios", "pairwise_distance_ratios", "MeanWidth", "gaussian_mean_width", "secant_half_width",
    "l2_ball_mean_width", "l1_ball_mean_width",
    "gordon_distortion_bound", "pca_dimension", "mle_intrinsic_dimension", "invert_layerwise", "invert_gradient",
]

ACTIVATIONS = ("relu", "linear")


def _positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidParameterError(f"The '{name}' parameter of {owner} must be an integer >= 1."
                                    f" Got {value!r} instead.")
    return int(value)


def _matrix(x, name: str, owner: str) -> torch.Tensor:
    """A (N, ...) tensor flattened to (N, n), at least one row and one column."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim < 2 or x.shape[0] < 1 or x[0].numel() < 1:
        raise ShapeError(f"The '{name}' argument of {owner} must be a (N, ...) array of N >= 1 non-empty items."
                         f" Got shape {tuple(x.shape)} instead; add a batch axis with x[None].")
    return x.reshape(x.shape[0], -1)


# ------------------------------------------------------------------------------------ networks


class RandomGaussianNetwork:
    r"""A fully connected network of i.i.d. Gaussian weights: :math:`h_l = \sigma(W_l h_{l-1})`, no bias.

    Parameters
    ----------
    in_features : int
        Dimension n of the (flattened) input.
    widths : sequence of int
        Output widths :math:`m_1, ..., m_L` of the layers.
    activation : {'relu', 'linear'}
        :math:`\sigma`; 'linear' gives the Johnson-Lindenstrauss map :math:`h = Wx` (one layer).
    seed : int
        Seed of the weights; layer l draws from its own generator seeded with (seed, l), so the
        first layers do not depend on the later widths.
    materialize : bool
        Keep the weights in memory (default). ``False`` regenerates each weight when used: slower,
        but a 4,096-wide depth-8 network then needs one 64 MB matrix at a time instead of 480 MB.
    dtype, device
        Of the weights.

    Notes
    -----
    :math:`(W_l)_{ij} \sim N(0, g / m_l)` with g = 2 (ReLU) or 1 (linear), so that
    :math:`E\|h_l\|^2 = \|h_{l-1}\|^2`: with this scaling the expected Gram matrix of a ReLU
    layer is the arc-cosine kernel of degree 1 (:func:`relu_angle_map`) with norms kept.
    Giryes et al. (2016) use the variance 1/m, which only halves the squared norms.
    """

    def __init__(self, in_features: int, widths, *, activation: str = "relu", seed: int = 0,
                 materialize: bool = True, dtype: torch.dtype = torch.float32, device=None):
        owner = "RandomGaussianNetwork"
        self.in_features = _positive_int(in_features, "in_features", owner)
        if isinstance(widths, (int, np.integer)):
            widths = (widths,)
        if len(widths) < 1:
            raise InvalidParameterError(f"The 'widths' parameter of {owner} must hold at least one layer width."
                                        " Got () instead.")
        self.widths = tuple(_positive_int(m, "widths", owner) for m in widths)
        if activation not in ACTIVATIONS:
            raise InvalidParameterError(f"The 'activation' parameter of {owner} must be one of {ACTIVATIONS}."
                                        f" Got {activation!r} instead.")
        self.activation, self.seed, self.dtype = activation, int(seed), dtype
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.gain = 2.0 if activation == "relu" else 1.0
        self._weights = [self._draw(l) for l in range(self.depth)] if materialize else None

    @property
    def depth(self) -> int:
        """The number of layers L."""
        return len(self.widths)

    def _draw(self, layer: int) -> torch.Tensor:
        fan_in = self.in_features if layer == 0 else self.widths[layer - 1]
        m = self.widths[layer]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + layer)
        w = torch.randn(m, fan_in, generator=generator, dtype=torch.float64) * math.sqrt(self.gain / m)
        return w.to(device=self.device, dtype=self.dtype)

    def weight(self, layer: int) -> torch.Tensor:
        """The (m_l, m_{l-1}) matrix :math:`W_l` of layer ``layer`` (0-based)."""
        if not 0 <= layer < self.depth:
            raise InvalidParameterError(f"The 'layer' of weight() must be in [0, {self.depth - 1}]. Got {layer!r}.")
        return self._weights[layer] if self._weights is not None else self._draw(layer)

    def _sigma(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z) if self.activation == "relu" else z

    def _input(self, x) -> torch.Tensor:
        x = _matrix(x, "x", "RandomGaussianNetwork")
        if x.shape[1] != self.in_features:
            raise ShapeError(f"The input of RandomGaussianNetwork has {x.shape[1]} features per item; the network"
                             f" was built for in_features={self.in_features}.")
        return x.to(device=self.device, dtype=self.dtype)

    def layers(self, x, depth: int | None = None) -> list[torch.Tensor]:
        """The outputs :math:`h_1, ..., h_D` (each (N, m_l)) of the first ``depth`` layers (all by default)."""
        h = self._input(x)
        depth = self.depth if depth is None else depth
        out = []
        for layer in range(depth):
            h = self._sigma(h @ self.weight(layer).T)
            out.append(h)
        return out

    def __call__(self, x) -> torch.Tensor:
        """The output :math:`h_L` (N, m_L) of the whole network on x (N, ...)."""
        return self.layers(x)[-1]


# ---------------------------------------------------------------------------- expected maps


def relu_angle_map(theta):
    r"""The angle between the outputs of a wide random ReLU layer, given the angle between the inputs.

    :math:`\cos\theta' = (\sin\theta + (\pi - \theta)\cos\theta) / \pi`: the normalized
    arc-cosine kernel of degree 1 (Cho & Saul 2009), the limit of
    :math:`\langle f(x), f(y)\rangle / (\|f(x)\|\|f(y)\|)` as the width grows. Angles in radians,
    in [0, pi]; works on floats, NumPy arrays and tensors. The map sends [0, pi] onto [0, pi/2]
    and shrinks every positive angle.
    """
    t = torch.as_tensor(theta, dtype=torch.float64) if not isinstance(theta, torch.Tensor) else theta
    if bool(((t < 0) | (t > math.pi + 1e-12)).any()):
        raise InvalidParameterError("The angles given to relu_angle_map must lie in [0, pi] radians.")
    c = (torch.sin(t) + (math.pi - t) * torch.cos(t)) / math.pi
    out = torch.arccos(c.clamp(-1.0, 1.0))
    return out if isinstance(theta, torch.Tensor) else out.numpy() if np.ndim(theta) else float(out)


def iterated_angle_map(theta, depth: int) -> np.ndarray:
    """:func:`relu_angle_map` applied 0, 1, ..., ``depth`` times: array (depth + 1, *theta.shape)."""
    depth = _positive_int(depth, "depth", "iterated_angle_map") if depth != 0 else 0
    t = np.asarray(theta, dtype=np.float64)
    out = [t]
    for _ in range(depth):
        out.append(np.asarray(relu_angle_map(out[-1]), dtype=np.float64))
    return np.stack(out)


def relu_expected_sq_distance(norm_x, norm_y, theta):
    r""":math:`E\|f(x) - f(y)\|^2` for one ReLU layer of :class:`RandomGaussianNetwork` (variance 2/m).

    :math:`\|x\|^2 + \|y\|^2 - 2\|x\|\|y\|\,k(\theta)`, with
    :math:`k(\theta) = (\sin\theta + (\pi-\theta)\cos\theta)/\pi`; equivalently
    :math:`\|x - y\|^2 - \tfrac{2}{\pi}\|x\|\|y\|(\sin\theta - \theta\cos\theta)`: distances shrink,
    the more so the larger the angle (Giryes et al. 2016, with their variance 1/m halving it).
    Exact at every width (an expectation over the weights).
    """
    a, b, t = (np.asarray(v, dtype=np.float64) for v in (norm_x, norm_y, theta))
    k = (np.sin(t) + (np.pi - t) * np.cos(t)) / np.pi
    return a**2 + b**2 - 2 * a * b * k


def pair_angles(a, b) -> torch.Tensor:
    """Angles (radians, in [0, pi]) between the rows of a (N, ...) and b (N, ...); a zero row gives pi/2."""
    a, b = _matrix(a, "a", "pair_angles"), _matrix(b, "b", "pair_angles")
    if a.shape != b.shape:
        raise ShapeError(f"pair_angles needs a and b of the same shape; got {tuple(a.shape)} and {tuple(b.shape)}.")
    a, b = a.double(), b.double()
    norms = a.norm(dim=1) * b.norm(dim=1)
    cos = torch.where(norms > 0, (a * b).sum(dim=1) / norms.clamp_min(1e-300), torch.zeros_like(norms))
    return torch.arccos(cos.clamp(-1.0, 1.0))


def distance_ratios(x, y, fx, fy, activation: str = "relu") -> torch.Tensor:
    r"""Measured over expected output distance, per pair: :math:`\|f(x) - f(y)\| / E^{1/2}\|f(x) - f(y)\|^2`.

    The expectation is :func:`relu_expected_sq_distance` for 'relu' and :math:`\|x - y\|^2` for
    'linear' (a Johnson-Lindenstrauss map), so a ratio of 1 is a pair kept exactly as the theory
    predicts and ``|ratio - 1|`` is the distortion. Pairs with zero expected distance are refused.
    """
    if activation not in ACTIVATIONS:
        raise InvalidParameterError(f"The 'activation' parameter of distance_ratios must be one of {ACTIVATIONS}."
                                    f" Got {activation!r} instead.")
    x, y = _matrix(x, "x", "distance_ratios").double(), _matrix(y, "y", "distance_ratios").double()
    fx, fy = _matrix(fx, "fx", "distance_ratios").double(), _matrix(fy, "fy", "distance_ratios").double()
    if x.shape != y.shape or fx.shape != fy.shape or len(fx) != len(x):
        raise ShapeError("distance_ratios needs x, y of one shape and fx, fy of one shape, with as many rows.")
    if activation == "linear":
        expected = ((x - y) ** 2).sum(dim=1)
    else:
        theta = pair_angles(x, y)
        expected = torch.as_tensor(relu_expected_sq_distance(x.norm(dim=1).cpu().numpy(), y.norm(dim=1).cpu().numpy(),
                                                             theta.cpu().numpy()), device=x.device)
    if bool((expected <= 1e-12 * ((x**2).sum(dim=1) + (y**2).sum(dim=1))).any()):
        raise InvalidParameterError("distance_ratios got a pair with zero expected distance (x == y); drop it.")
    return (fx - fy).norm(dim=1) / expected.sqrt()


def pairwise_distance_ratios(x, fx, activation: str = "relu") -> torch.Tensor:
    """:func:`distance_ratios` over all pairs i < j of the rows of x (N, ...) and their images fx (N, ...).

    Computed from the Gram matrices (no (N^2, n) pair arrays); returns the N(N-1)/2 ratios in the
    order of ``torch.triu_indices(N, N, 1)``.
    """
    if activation not in ACTIVATIONS:
        raise InvalidParameterError(f"The 'activation' parameter of pairwise_distance_ratios must be one of"
                                    f" {ACTIVATIONS}. Got {activation!r} instead.")
    x = _matrix(x, "x", "pairwise_distance_ratios").double()
    fx = _matrix(fx, "fx", "pairwise_distance_ratios").double()
    if len(x) != len(fx) or len(x) < 2:
        raise ShapeError("pairwise_distance_ratios needs x and fx with the same number N >= 2 of rows.")
    i, j = torch.triu_indices(len(x), len(x), 1, device=x.device)
    measured = torch.cdist(fx, fx)[i, j]
    gram = x @ x.T
    sq = gram.diagonal()
    if activation == "linear":
        expected = (sq[i] + sq[j] - 2 * gram[i, j]).clamp_min(0)
    else:
        norms = sq.clamp_min(0).sqrt()
        cos = (gram[i, j] / (norms[i] * norms[j]).clamp_min(1e-300)).clamp(-1, 1)
        theta = torch.arccos(cos)
        k = (torch.sin(theta) + (math.pi - theta) * cos) / math.pi
        expected = (sq[i] + sq[j] - 2 * norms[i] * norms[j] * k).clamp_min(0)
    if bool((expected <= 1e-12 * (sq[i] + sq[j])).any()):
        raise InvalidParameterError("pairwise_distance_ratios got two equal rows (zero expected distance); drop"
                                    " duplicates.")
    return measured / expected.sqrt()


# --------------------------------------------------------------------------- mean width


@dataclasses.dataclass(frozen=True)
class MeanWidth:
    """A Monte Carlo estimate of the Gaussian mean width: ``width`` ± ``stderr`` from ``draws`` vectors g."""

    width: float
    stderr: float
    draws: int


def gaussian_mean_width(points, *, draws: int = 1000, seed: int = 0, normalize: bool = False,
                        chunk: int = 256) -> MeanWidth:
    r"""Gaussian mean width :math:`w(K) = E \sup_{x, y \in K}\langle g, x - y\rangle` of a finite set K.

    :math:`\sup_{x,y}\langle g, x - y\rangle = \max_x \langle g, x\rangle - \min_x \langle g, x\rangle`
    is averaged over ``draws`` standard Gaussian vectors g (seeded); the standard error is the
    sample standard deviation over the draws divided by :math:`\sqrt{\text{draws}}`. Giryes et al.
    (2016) use this full width of sets in the unit ball; ``normalize=True`` first scales every point
    to unit norm (their setting). For a symmetric set T = S ∪ -S, Gordon's width
    :math:`E\sup_{u \in S}|\langle g, u\rangle|` is w(T) / 2. Points: (N, ...) flattened, N >= 2.
    """
    x = _matrix(points, "points", "gaussian_mean_width").double()
    draws = _positive_int(draws, "draws", "gaussian_mean_width")
    if len(x) < 2:
        raise InvalidParameterError("gaussian_mean_width needs at least 2 points ('points' has 1); the width of a"
                                    " single point is 0.")
    if draws < 2:
        raise InvalidParameterError("The 'draws' parameter of gaussian_mean_width must be >= 2 for a standard error.")
    if normalize:
        norms = x.norm(dim=1, keepdim=True)
        if bool((norms == 0).any()):
            raise InvalidParameterError("gaussian_mean_width(normalize=True) got a zero point; drop it.")
        x = x / norms
    generator = torch.Generator().manual_seed(seed)
    spans = []  # g drawn row by row: the same vectors whatever the chunk
    for start in range(0, draws, chunk):
        g = torch.randn(min(chunk, draws - start), x.shape[1], generator=generator, dtype=torch.float64).T
        projections = x @ g.to(x.device)
        spans.append((projections.max(dim=0).values - projections.min(dim=0).values).cpu())
    spans = torch.cat(spans)
    return MeanWidth(float(spans.mean()), float(spans.std() / math.sqrt(draws)), draws)


def secant_half_width(points, *, draws: int = 1000, seed: int = 0, chunk: int = 32) -> MeanWidth:
    r"""Gordon's width :math:`w(S) = E\sup_{u \in S}\langle g, u\rangle` of the normalized secants of a finite set.

    :math:`S = \{\pm (x_i - x_j)/\|x_i - x_j\| : i \ne j\}` (symmetric, on the unit sphere): the set
    whose width controls how uniformly a Gaussian map keeps the distances between the points
    (:func:`gordon_distortion_bound`). Computed without forming S: for each g,
    :math:`\max_{i \ne j}|p_i - p_j| / \|x_i - x_j\|` with :math:`p = Xg`. A d-dimensional subspace
    sampled densely gives :math:`E\|g_d\| \approx \sqrt d`; N generic points give at most about
    :math:`\sqrt{2\log N^2}`. Monte Carlo standard error as in :func:`gaussian_mean_width`.
    """
    x = _matrix(points, "points", "secant_half_width").double()
    draws = _positive_int(draws, "draws", "secant_half_width")
    if len(x) < 2 or draws < 2:
        raise InvalidParameterError("secant_half_width needs at least 2 points and 'draws' >= 2.")
    distances = torch.cdist(x, x)
    off = ~torch.eye(len(x), dtype=torch.bool, device=x.device)
    if bool((distances[off] <= 0).any()):
        raise InvalidParameterError("secant_half_width got duplicated points; drop them.")
    inverse = torch.where(off, 1.0 / distances.clamp_min(1e-300), torch.zeros_like(distances))
    generator = torch.Generator().manual_seed(seed)
    sups = []
    for start in range(0, draws, chunk):
        g = torch.randn(min(chunk, draws - start), x.shape[1], generator=generator, dtype=torch.float64).T
        p = x @ g.to(x.device)  # (N, c)
        ratio = (p[:, None, :] - p[None, :, :]).abs() * inverse[:, :, None]
        sups.append(ratio.amax(dim=(0, 1)).cpu())
    sups = torch.cat(sups)
    return MeanWidth(float(sups.mean()), float(sups.std() / math.sqrt(draws)), draws)


def l2_ball_mean_width(d: int) -> float:
    r"""Mean width of the unit Euclidean ball of :math:`R^d`: :math:`2E\|g\| = 2\sqrt2\,\Gamma((d+1)/2)/\Gamma(d/2)`."""
    d = _positive_int(d, "d", "l2_ball_mean_width")
    return float(2 * math.sqrt(2) * math.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2)))


def l1_ball_mean_width(d: int) -> float:
    r"""Mean width of the unit l1 ball of :math:`R^d` (hull of :math:`\pm e_i`): :math:`2E\max_i|g_i|`.

    :math:`E\max_i|g_i| = \int_0^\infty 1 - \operatorname{erf}(t/\sqrt2)^d\,dt` (numerical quadrature).
    """
    d = _positive_int(d, "d", "l1_ball_mean_width")
    value, _ = integrate.quad(lambda t: -math.expm1(d * math.log(max(special.erf(t / math.sqrt(2)), 1e-300))),
                              0, np.inf, limit=200)
    return float(2 * value)


def gordon_distortion_bound(half_width: float, m: int, t: float = 3.0) -> float:
    r"""Gordon's bound on :math:`\sup_{u \in S}|\|Au\| - 1|` for :math:`A_{ij} \sim N(0, 1/m)`, S on the sphere.

    With :math:`a_m = E\|g\| = \sqrt2\,\Gamma((m+1)/2)/\Gamma(m/2)` and :math:`w(S) = E\sup_{u\in S}
    \langle g, u\rangle` (``half_width``), Gordon's inequalities and Gaussian concentration give,
    with probability at least :math:`1 - 2e^{-t^2/2}`, :math:`a_m - w - t \le \sqrt m\|Au\| \le
    a_m + w + t` for all u in S (Gordon, "On Milman's inequality and random subspaces which escape
    through a mesh", 1988; Vershynin, High-Dimensional Probability, Thm. 9.1.1 up to constants).
    Returns :math:`(w + t)/\sqrt m + |1 - a_m/\sqrt m|`. t = 3: probability >= 0.978.
    """
    m = _positive_int(m, "m", "gordon_distortion_bound")
    if half_width < 0 or t < 0:
        raise InvalidParameterError("gordon_distortion_bound needs half_width >= 0 and t >= 0.")
    a_m = math.sqrt(2) * math.exp(special.gammaln((m + 1) / 2) - special.gammaln(m / 2))
    return (half_width + t) / math.sqrt(m) + abs(1 - a_m / math.sqrt(m))


# -------------------------------------------------------------------- intrinsic dimension


def pca_dimension(points, energy: float = 0.95) -> int:
    """The number of principal components holding a fraction ``energy`` of the variance of the centred points."""
    if not 0 < energy <= 1:
        raise InvalidParameterError(f"The 'energy' parameter of pca_dimension must be in (0, 1]. Got {energy!r}.")
    x = _matrix(points, "points", "pca_dimension").double()
    if len(x) < 2:
        raise InvalidParameterError("pca_dimension needs at least 2 points.")
    x = x - x.mean(dim=0)
    s2 = torch.linalg.svdvals(x) ** 2
    total = float(s2.sum())
    if total == 0:
        return 0
    cumulative = (torch.cumsum(s2, 0) / total).cpu().numpy()
    return int(min(np.searchsorted(cumulative, energy - 1e-12) + 1, len(s2)))


def mle_intrinsic_dimension(points, k: int = 10) -> float:
    r"""Levina & Bickel's maximum-likelihood intrinsic dimension (NIPS 2004), MacKay-Ghahramani average.

    For each point, with :math:`T_j` its distance to the j-th nearest neighbour,
    :math:`\hat m_k(x)^{-1} = \frac{1}{k-1}\sum_{j<k}\log(T_k/T_j)`; the estimate is the inverse of
    the mean of these inverses over the points. Biased low when k points do not sample the
    manifold densely (high dimension, few points). Duplicated points are refused.
    """
    from sklearn.neighbors import NearestNeighbors

    x = _matrix(points, "points", "mle_intrinsic_dimension").double().cpu().numpy()
    k = _positive_int(k, "k", "mle_intrinsic_dimension")
    if k < 2 or len(x) <= k:
        raise InvalidParameterError(f"mle_intrinsic_dimension needs 2 <= k < the number of points; got k={k} and"
                                    f" {len(x)} points.")
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    distances = distances[:, 1:]
    if (distances <= 0).any():
        raise InvalidParameterError("mle_intrinsic_dimension got duplicated points (zero neighbour distance).")
    inverse = np.log(distances[:, -1:] / distances[:, :-1]).sum(axis=1) / (k - 1)
    return float(1.0 / inverse.mean())


# --------------------------------------------------------------------------------- inversion


def invert_layerwise(network: RandomGaussianNetwork, y, *, tol: float | None = None) -> torch.Tensor:
    r"""Recover the input of a ReLU :class:`RandomGaussianNetwork` from its output, one layer at a time.

    For a layer :math:`h = \max(Wz, 0)`, the rows where h > 0 (the active set A) give the linear
    system :math:`W_A z = h_A`, solved in least squares with the pseudo-inverse (minimum norm if
    rank deficient); hidden estimates are clamped at 0 (they are ReLU outputs). A unit counts as active
    when it exceeds ``tol`` times the largest unit of its item (default: the square root of the
    dtype's machine epsilon), so that round-off in a recovered hidden layer does not turn an inactive
    unit (an inequality) into a wrong equation. Exact without noise
    when every :math:`W_A` has full column rank, which needs :math:`|A| \ge` the input dimension of
    the layer: about :math:`m_l \ge 2 m_{l-1}` (half the rows are active), and a ReLU layer with
    :math:`m < 2n` cannot be injective (x and -x have complementary active sets).
    """
    if network.activation != "relu":
        raise InvalidParameterError("invert_layerwise needs a 'relu' network; invert a 'linear' one with"
                                    " torch.linalg.lstsq.")
    h = _matrix(y, "y", "invert_layerwise").to(device=network.device, dtype=network.dtype)
    if h.shape[1] != network.widths[-1]:
        raise ShapeError(f"invert_layerwise got outputs of {h.shape[1]} features; the network ends with"
                         f" {network.widths[-1]}.")
    tol = math.sqrt(torch.finfo(h.dtype).eps) if tol is None else tol
    if not 0 <= tol < 1:
        raise InvalidParameterError(f"The 'tol' parameter of invert_layerwise must be in [0, 1). Got {tol!r} instead.")
    for layer in reversed(range(network.depth)):
        w = network.weight(layer)
        active = (h > tol * h.abs().amax(dim=1, keepdim=True)).to(w.dtype)  # (N, m)
        systems = active[:, :, None] * w[None]  # rows outside the active set are zeroed
        z = (torch.linalg.pinv(systems) @ (active * h)[:, :, None])[:, :, 0]
        h = z.clamp_min(0) if layer > 0 else z
    return h


def invert_gradient(network: RandomGaussianNetwork, y, *, steps: int, lr: float, z0=None, seed: int = 0,
                    record_at=()) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    r"""Recover inputs by gradient descent on :math:`\tfrac12\|f(z) - y\|^2` (each item independently).

    Plain gradient descent with step ``lr`` for ``steps`` steps from ``z0`` (default: a seeded
    random direction scaled to :math:`\|y\|`, since these networks keep norms on average; z = 0 is
    a critical point of the ReLU network). Hand & Voroninski ("Global guarantees for enforcing deep
    generative priors by empirical risk", COLT 2018) show this landscape has no spurious minimum
    for expansive Gaussian networks apart from a neighbourhood of a negative multiple of the
    solution. Returns the final estimate and the estimates after the step counts in ``record_at``.
    """
    steps = _positive_int(steps, "steps", "invert_gradient")
    if not lr > 0:
        raise InvalidParameterError(f"The 'lr' parameter of invert_gradient must be > 0. Got {lr!r} instead.")
    target = _matrix(y, "y", "invert_gradient").to(device=network.device, dtype=network.dtype)
    if target.shape[1] != network.widths[-1]:
        raise ShapeError(f"invert_gradient got outputs of {target.shape[1]} features; the network ends with"
                         f" {network.widths[-1]}.")
    if z0 is None:
        generator = torch.Generator().manual_seed(seed)
        z0 = torch.randn(len(target), network.in_features, generator=generator, dtype=torch.float64)
        z0 = z0 / z0.norm(dim=1, keepdim=True) * target.double().cpu().norm(dim=1, keepdim=True)
    z = network._input(z0).clone().requires_grad_(True)
    recorded = {}
    for step in range(1, steps + 1):
        loss = 0.5 * ((network(z) - target) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, z)
        with torch.no_grad():
            z -= lr * grad
        if step in record_at:
            recorded[step] = z.detach().clone()
    return z.detach(), recorded
