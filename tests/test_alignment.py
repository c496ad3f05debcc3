"""Alignment of representations and rainbow resampling (scatlab.theory.alignment), on known answers:
a rotated copy of a representation or of a network (A recovers the rotation), Gaussian weights of a
known covariance (estimate, spectrum, effective rank), and resampling a trained network on an easy
task (above-chance accuracy after refitting its last layer)."""
import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from torch import nn

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.theory import alignment as al


def _orthogonal(d: int, seed: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def _randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ------------------------------------------------------------------------------------ alignment


def test_alignment_recovers_a_rotation_exactly():
    phi, Q = _randn(300, 6), _orthogonal(6, 1)
    fit = al.alignment(phi, phi @ Q.T)
    assert torch.allclose(fit.A, Q, atol=1e-10)
    assert fit.error < 1e-24
    assert torch.allclose(fit.A @ fit.A.T, torch.eye(6, dtype=torch.float64), atol=1e-12)


def test_alignment_agrees_with_scipy_and_is_optimal():
    phi, phi_prime = _randn(200, 5, seed=2), _randn(200, 5, seed=3)
    fit = al.alignment(phi, phi_prime)
    R, _ = orthogonal_procrustes(phi.numpy(), phi_prime.numpy())  # min ||phi R - phi'||, so A = R^T
    assert np.allclose(fit.A.numpy(), R.T, atol=1e-10)
    for seed in range(5):  # no other orthogonal matrix does better
        assert al.alignment_error(phi, phi_prime, _orthogonal(5, 10 + seed)) >= fit.error
    assert al.alignment_error(phi, phi_prime, fit.A) == pytest.approx(fit.error, rel=1e-12)


def test_alignment_error_with_noise_is_the_noise_fraction():
    phi, Q = _randn(20000, 4, seed=4), _orthogonal(4, 5)
    noise = 0.1 * _randn(20000, 4, seed=6)
    fit = al.alignment(phi, phi @ Q.T + noise)
    assert torch.allclose(fit.A, Q, atol=0.01)
    assert fit.error == pytest.approx(0.01 / 1.01, rel=0.05)  # ||noise||^2 / ||phi'||^2


def test_normalized_error_ignores_a_global_scale():
    phi, Q = _randn(300, 4, seed=9), _orthogonal(4, 10)
    fit = al.alignment(phi, 3.0 * phi @ Q.T)
    assert torch.allclose(fit.A, Q, atol=1e-10)
    assert fit.error == pytest.approx(4 / 9)  # ||A phi - 3 A phi||^2 / ||3 phi||^2
    assert al.alignment(phi, 3.0 * phi @ Q.T, normalize=True).error < 1e-24
    assert al.alignment_error(phi, _randn(300, 4, seed=11), Q, normalize=True) == pytest.approx(2.0, abs=0.3)


def test_rectangular_alignment_has_orthonormal_columns():
    phi = _randn(500, 3, seed=7)
    embed = _orthogonal(5, 8)[:, :3]  # (5, 3): phi' lives in a 3-dim subspace of R^5
    fit = al.alignment(phi, phi @ embed.T)
    assert fit.A.shape == (5, 3) and torch.allclose(fit.A, embed, atol=1e-10)


def test_channel_samples_layout():
    a = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    s = al.channel_samples(a)
    assert s.shape == (8, 3) and torch.equal(s[5], a[1, :, 0, 1])
    assert al.channel_samples(a[:, :, 0, 0]) is not None and al.channel_samples(a[:, :, 0, 0]).shape == (2, 3)


def _two_layer(channels: int, relu: bool, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, channels, 3, padding=1, bias=False), nn.ReLU() if relu else nn.Identity(),
              nn.Conv2d(channels, 4, 3, padding=1, bias=False)]
    return nn.Sequential(*layers).double()


@pytest.mark.parametrize("relu", [False, True])
def test_network_and_its_rotated_copy(relu):
    """Hidden channels rotated by Q (next layer's inputs by Q^T): same function, A = Q, aligned weights equal.
    Through a ReLU only permutations commute with the nonlinearity, so Q is a permutation there."""
    net = _two_layer(8, relu, seed=0)
    Q = torch.eye(8, dtype=torch.float64)[torch.randperm(8, generator=torch.Generator().manual_seed(1))] if relu \
        else _orthogonal(8, 2)
    copy = _two_layer(8, relu, seed=0)
    with torch.no_grad():
        copy[0].weight.copy_(al.align_weights(net[0].weight, A_out=Q))
        copy[2].weight.copy_(al.align_weights(net[2].weight, A_in=Q))  # W2 Q^T
    x = _randn(20, 1, 6, 6, seed=3)
    with torch.no_grad():
        assert torch.allclose(copy(x), net(x), atol=1e-12)
    phi = al.record_activations(net, net[1], x).double()
    phi_prime = al.record_activations(copy, copy[1], x).double()
    fit = al.alignment(phi, phi_prime)
    assert torch.allclose(fit.A, Q, atol=1e-8) and fit.error < 1e-12
    # the copy's second layer expressed in the reference basis: W2' A^T with A the copy -> reference map Q^T
    back = al.align_weights(copy[2].weight, A_in=fit.A.T)
    assert torch.allclose(back, net[2].weight, atol=1e-10)
    assert al.covariance_similarity(al.weight_covariance(back), al.weight_covariance(net[2].weight)) == \
        pytest.approx(1.0, abs=1e-10)


def test_record_activations_restores_mode_and_stops():
    net = _two_layer(3, True, seed=0).train()
    out = al.record_activations(net, net[0], _randn(5, 1, 4, 4), batch_size=2)
    assert out.shape == (5 * 16, 3) and out.dtype == torch.float32 and net.training


# ----------------------------------------------------------------------------------- covariance


def test_gaussian_weights_of_known_covariance():
    d, rows = 12, 40000
    V = _orthogonal(d, 9)
    eig = 2.0 ** -torch.arange(d, dtype=torch.float64)  # geometric spectrum
    C = (V * eig) @ V.T
    W = al.sample_weights(C, rows, (2, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert W.shape == (rows, 3, 2, 2)
    estimate = al.weight_covariance(W)
    assert float((estimate - C).norm() / C.norm()) < 4 * (d / rows) ** 0.5
    spectrum = al.covariance_spectrum(estimate)
    assert torch.all(spectrum[:-1] >= spectrum[1:])
    assert torch.allclose(spectrum[:4], eig[:4], rtol=0.05)
    assert al.covariance_similarity(estimate, C) > 0.999
    exact = float(torch.exp(-(eig / eig.sum() * (eig / eig.sum()).log()).sum()))
    assert al.effective_rank(estimate) == pytest.approx(exact, rel=0.02)


def test_effective_rank_of_a_projector_and_of_its_spectrum():
    P = _orthogonal(10, 3)[:, :4]
    C = 3.0 * P @ P.T
    for kind in ("entropy", "participation"):
        assert al.effective_rank(C, kind) == pytest.approx(4.0, rel=1e-9)
    assert al.effective_rank(torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert al.effective_rank(torch.tensor([4.0, 1.0]), "participation") == pytest.approx(25 / 17)


def test_covariance_similarity_properties():
    A = _randn(6, 6, seed=5)
    C = A @ A.T
    assert al.covariance_similarity(C, 7.0 * C) == pytest.approx(1.0)
    Q = _orthogonal(6, 6)
    rotated = al.covariance_similarity(C, Q @ C @ Q.T)
    assert 0 < rotated < 0.99
    assert rotated == pytest.approx(al.covariance_similarity(Q @ C @ Q.T, C))
    eye = torch.eye(6, dtype=torch.float64)
    assert al.covariance_similarity(eye, Q @ eye @ Q.T) == pytest.approx(1.0)  # isotropic: rotation-blind


def test_aligned_covariance_is_invariant_to_output_rotations():
    W = _randn(16, 5, 3, 3, seed=7)
    rotated = al.align_weights(W, A_out=_orthogonal(16, 8))
    assert torch.allclose(al.weight_covariance(rotated), al.weight_covariance(W), atol=1e-10)


# ------------------------------------------------------------------------------------ resampling


def _bars(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 images of a horizontal (label 0) or vertical (label 1) bar at a random place, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    where = torch.randint(1, 7, (n,), generator=g)
    x = 0.3 * torch.randn(n, 1, 8, 8, generator=g)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, where[i], :] += 1.0
        else:
            x[i, 0, :, where[i]] += 1.0
    return x, y


def _trained_bar_net() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(16, 2))
    x, y = _bars(512, seed=0)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(150):
        index = torch.arange(step * 64, (step + 1) * 64) % 512
        loss = nn.functional.cross_entropy(net(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def test_resampled_network_classifies_above_chance():
    net = _trained_bar_net()
    x, y = _bars(400, seed=1)
    xv, yv = _bars(200, seed=2)
    xt, yt = _bars(400, seed=3)
    with torch.no_grad():
        assert float((net(xt).argmax(1) == yt).float().mean()) > 0.95
    covariances = [al.weight_covariance(net[0].weight), al.weight_covariance(net[3].weight)]
    drawn = al.resample_network(net, [net[0], net[3]], [net[2], net[4]], covariances, x,
                                generator=torch.Generator().manual_seed(0))
    assert len(drawn.alignments) == 2 and all(0 <= e < 2 for e in drawn.errors)
    assert not torch.equal(drawn.model[0].weight, net[0].weight)
    assert torch.equal(drawn.model[7].weight, net[7].weight)  # the classifier is not sampled

    def features(model, images):
        return al.record_activations(model, model[6], images).numpy()

    refit = al.refit_last_layer(features(drawn.model, x), y, features(drawn.model, xv), yv, (0.1, 1.0, 10.0))
    assert len(refit.scores) == 3 and refit.scores[refit.best] == max(refit.scores)
    accuracy = (refit.classifiers[refit.best].predict(features(drawn.model, xt)) == yt.numpy()).mean()
    assert accuracy > 0.8  # chance is 0.5


def test_ridge_readout_is_the_closed_form_and_separates_blobs():
    g = np.random.default_rng(0)
    centres = 4.0 * g.standard_normal((3, 5))
    y = np.repeat(np.arange(3), 100)
    x = centres[y] + g.standard_normal((300, 5))
    refit = al.refit_last_layer(x, y, x[::3], y[::3], (1e-3, 0.5))
    assert min(refit.scores) == 100.0
    readout = refit.classifiers[1]
    z = (x - x.mean(0)) / x.std(0)
    onehot = np.eye(3)[y]
    W = np.linalg.solve(z.T @ z / 300 + 0.5 * np.eye(5), z.T @ (onehot - onehot.mean(0)) / 300)
    assert np.allclose(readout.W, W, atol=1e-10) and np.allclose(readout.b, 1 / 3)


def test_resample_checks_its_layers():
    net = _trained_bar_net()
    x = _bars(8, seed=0)[0]
    C0 = al.weight_covariance(net[0].weight)
    stranger = nn.Conv2d(1, 16, 3, bias=False)
    with pytest.raises(InvalidParameterError, match="does not exist"):
        al.resample_network(net, [stranger], [net[2]], [C0], x)
    with pytest.raises(InvalidParameterError, match="bias"):
        al.resample_network(net, [net[7]], [net[7]], [torch.eye(16)], x)
    with pytest.raises(ShapeError, match="covariances"):
        al.resample_network(net, [net[0]], [net[2]], [torch.eye(5)], x)
    with pytest.raises(InvalidParameterError, match="one 'outputs'"):
        al.resample_network(net, [net[0]], [], [C0], x)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ShapeError, match="same samples"):
        al.alignment(_randn(10, 3), _randn(11, 3))
    with pytest.raises(ShapeError, match="'phi'"):
        al.alignment(_randn(10), _randn(10, 3))
    with pytest.raises(ShapeError, match="'A'"):
        al.alignment_error(_randn(10, 3), _randn(10, 3), torch.eye(4))
    with pytest.raises(InvalidParameterError, match="NaN"):
        al.alignment(torch.full((4, 2), float("nan")), _randn(4, 2))
    with pytest.raises(InvalidParameterError, match="'kind'"):
        al.effective_rank(torch.eye(3), kind="trace")
    with pytest.raises(ShapeError, match="'A_in'"):
        al.align_weights(_randn(4, 3, 3, 3), A_in=torch.eye(4))
    with pytest.raises(InvalidParameterError, match="'n_out'"):
        al.sample_weights(torch.eye(4), 0)
    with pytest.raises(InvalidParameterError, match="'kernel'"):
        al.sample_weights(torch.eye(4), 2, (3, 3))
    with pytest.raises(InvalidParameterError, match="'penalties'"):
        al.refit_last_layer(np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((2, 2)), [0, 1], ())
