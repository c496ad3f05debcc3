"""Score matching and DDIM sampling on a Gaussian (the Gaussian free field), whose optimal denoiser is known."""
import numpy as np
import pytest
import torch

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.generation.phi4 import free_field_spectrum
from scatlab.generation.score import (ScoreNet, ScoreSettings, WaveletScoreModel, ddim_sample, denoising_loss,
                                      gaussian_optimal_noise, train_score)

N, BETA, MASS2 = 8, 1.0, 0.5


def _free_field_covariance() -> torch.Tensor:
    """The exact covariance (N^2, N^2) of the periodic Gaussian free field: circulant, from its spectrum."""
    spectrum = free_field_spectrum(N, BETA, MASS2)
    kernel = np.fft.ifft2(spectrum).real  # C(u - v)
    idx = np.arange(N)
    du = (idx[:, None, None, None] - idx[None, None, :, None]) % N
    dv = (idx[None, :, None, None] - idx[None, None, None, :]) % N
    return torch.as_tensor(kernel[du, dv].reshape(N * N, N * N))


def _free_field_samples(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    white = torch.fft.fft2(torch.randn(n, N, N, generator=gen, dtype=torch.float64))
    return torch.fft.ifft2(white * torch.as_tensor(free_field_spectrum(N, BETA, MASS2)).sqrt()).real


def test_free_field_sampler_has_the_exact_covariance():
    x = _free_field_samples(20000, 0).reshape(-1, N * N)
    assert (x.T @ x / len(x) - _free_field_covariance()).abs().max() < 0.03


def test_ddim_with_the_exact_denoiser_samples_the_gaussian():
    cov, mean = _free_field_covariance(), torch.zeros(N * N, dtype=torch.float64)

    def exact(x, t, cond):
        return gaussian_optimal_noise(x.reshape(len(x), -1), float(t[0]), mean, cov).reshape(x.shape)

    x = ddim_sample(exact, (4000, 1, N, N), 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = x.reshape(len(x), -1)
    assert (x.T @ x / len(x) - cov).abs().max() < 0.06  # MC error of 4000 samples: about 0.02
    assert (x.mean(0)).abs().max() < 0.06
    few = ddim_sample(exact, (4000, 1, N, N), 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    few = few.reshape(len(few), -1)
    assert (few.T @ few / len(few) - cov).abs().max() > 0.1  # one step is not enough: the test can fail


def test_score_matching_learns_the_optimal_gaussian_denoiser():
    torch.manual_seed(0)
    data = _free_field_samples(4096, 2).float()[:, None]
    model = ScoreNet(1, width=12, depth=3)
    losses = train_score(model, data, ScoreSettings(steps=250, batch_size=64, lr=3e-3, seed=0))
    assert np.mean(losses[-50:]) < np.mean(losses[:50])
    cov, mean = _free_field_covariance(), torch.zeros(N * N, dtype=torch.float64)
    x0 = _free_field_samples(512, 3)
    for t in (0.2, 0.5, 0.8):
        a, s = np.cos(np.pi * t / 2), np.sin(np.pi * t / 2)
        xt = a * x0 + s * torch.randn(x0.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
        exact = gaussian_optimal_noise(xt.reshape(512, -1), t, mean, cov).reshape(512, 1, N, N)
        with torch.no_grad():
            learned = model(xt.float()[:, None], torch.full((512,), t)).double()
        error = ((learned - exact).norm() / exact.norm()).item()
        assert error < 0.15, (t, error)  # measured 0.10, 0.07, 0.08; the zero predictor has 1


def test_training_resumes_to_the_same_weights(tmp_path):
    data = _free_field_samples(256, 5).float()[:, None]
    settings = ScoreSettings(steps=30, batch_size=16, seed=1)
    torch.manual_seed(0)
    straight = ScoreNet(1, width=8, depth=2)
    train_score(straight, data, settings)
    torch.manual_seed(0)
    resumed = ScoreNet(1, width=8, depth=2)
    train_score(resumed, data, ScoreSettings(steps=30, batch_size=16, seed=1), checkpoint=tmp_path / "c.pt")
    torch.manual_seed(0)
    again = ScoreNet(1, width=8, depth=2)
    losses = train_score(again, data, settings, checkpoint=tmp_path / "c.pt")  # finds the finished checkpoint
    assert len(losses) == 30
    for p, q, r in zip(straight.parameters(), resumed.parameters(), again.parameters()):
        assert torch.equal(p, q) and torch.equal(p, r)


def test_a_checkpoint_of_another_architecture_or_data_is_not_resumed(tmp_path):
    data = _free_field_samples(64, 5).float()[:, None]
    settings = ScoreSettings(steps=10, batch_size=8, seed=1)
    first = train_score(ScoreNet(1, width=8, depth=2), data, settings, checkpoint=tmp_path / "c.pt")
    for model, fields in ((ScoreNet(1, width=8, depth=2, dilations=(1, 2)), data),  # same weight shapes
                          (ScoreNet(1, width=8, depth=2, padding_mode="zeros"), data),
                          (ScoreNet(1, width=8, depth=2), data[:32])):
        before = [p.detach().clone() for p in model.parameters()]
        torch.manual_seed(0)
        losses = train_score(model, fields, settings, checkpoint=tmp_path / "c.pt")
        assert len(losses) == 10 and losses != first  # trained from its own start, not resumed from the checkpoint
        assert not all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
        state = torch.load(tmp_path / "c.pt", weights_only=True)
        assert state["architecture"] == model.architecture and state["data_shape"] == list(fields.shape)


def test_wavelet_model_samples_fields_of_the_right_size():
    coarse = ScoreNet(1, width=4, depth=2)
    conditionals = [ScoreNet(3, 1, width=4, depth=2) for _ in range(2)]
    model = WaveletScoreModel(coarse, conditionals, 4, 1.0, [0.5, 0.7], [1.0, 1.2])
    x = model.sample(3, 2, generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 1, 16, 16) and torch.isfinite(x).all()
    x0, pairs = WaveletScoreModel.decompose(x, 2)
    assert x0.shape == (3, 1, 4, 4) and pairs[0][1].shape == (3, 3, 8, 8)


def test_wavelet_model_detail_scales_per_channel():
    """A tuple of three detail scales multiplies each generated channel by its own: (s, s, s) gives the samples of
    the float s, and (2, 3, 4) the details of (1, 1, 1) times 2, 3, 4 (same noises)."""
    torch.manual_seed(0)
    coarse, conditional = ScoreNet(1, width=4, depth=2), ScoreNet(3, 1, width=4, depth=2)

    def details(scale):
        model = WaveletScoreModel(coarse, [conditional], 4, 1.0, [scale], [1.0])
        x = model.sample(3, 2, generator=torch.Generator().manual_seed(1))
        return WaveletScoreModel.decompose(x, 1)[1][0][1]

    assert torch.equal(details((0.5, 0.5, 0.5)), details(0.5))
    ratio = details((2.0, 3.0, 4.0)) / details((1.0, 1.0, 1.0))
    assert torch.allclose(ratio, torch.tensor([2.0, 3.0, 4.0]).view(3, 1, 1).expand_as(ratio))
    with pytest.raises(InvalidParameterError, match="detail_scales"):
        WaveletScoreModel(coarse, [conditional], 4, 1.0, [(1.0, 2.0)], [1.0])


def test_circular_net_commutes_with_cyclic_shifts_and_zero_padded_one_does_not():
    torch.manual_seed(0)
    x, t = torch.randn(2, 1, 8, 8), torch.full((2,), 0.5)
    for padding, equivariant in (("circular", True), ("zeros", False)):
        net = ScoreNet(1, width=4, depth=3, dilations=(1, 2, 4), padding_mode=padding)
        with torch.no_grad():
            shifted = net(torch.roll(x, (3, 5), (-2, -1)), t)
            same = torch.allclose(shifted, torch.roll(net(x, t), (3, 5), (-2, -1)), atol=1e-6)
        assert same == equivariant, padding


def test_errors():
    with pytest.raises(InvalidParameterError, match="width"):
        ScoreNet(1, width=0)
    with pytest.raises(InvalidParameterError, match="steps"):
        ddim_sample(ScoreNet(1), (1, 1, 4, 4), 0)
    with pytest.raises(ShapeError, match="cond"):
        train_score(ScoreNet(3, 1), torch.zeros(4, 3, 4, 4), ScoreSettings(steps=1))
    with pytest.raises(InvalidParameterError, match="steps"):
        ScoreSettings(steps=0)
    with pytest.raises(InvalidParameterError, match="ema"):
        ScoreSettings(ema=1.0)
    with pytest.raises(InvalidParameterError, match="dilations"):
        ScoreNet(1, depth=3, dilations=(1, 2))
    with pytest.raises(InvalidParameterError, match="padding_mode"):
        ScoreNet(1, padding_mode="reflect")


def test_training_ends_with_the_moving_average_of_the_weights():
    data = _free_field_samples(64, 6).float()[:, None]
    torch.manual_seed(0)
    model = ScoreNet(1, width=4, depth=2)
    trajectory = [[p.detach().clone() for p in model.parameters()]]

    def record(optimizer, args, kwargs):
        trajectory.append([p.detach().clone() for p in model.parameters()])

    from torch.optim.optimizer import register_optimizer_step_post_hook

    handle = register_optimizer_step_post_hook(record)
    try:
        train_score(model, data, ScoreSettings(steps=20, batch_size=8, ema=0.9))
    finally:
        handle.remove()
    assert len(trajectory) == 21
    ema = trajectory[0]
    for k, weights in enumerate(trajectory[1:]):
        decay = min(0.9, (1 + k) / (10 + k))
        ema = [decay * e + (1 - decay) * w for e, w in zip(ema, weights)]
    for p, e, last in zip(model.parameters(), ema, trajectory[-1]):
        assert torch.allclose(p, e, atol=1e-6) and not torch.allclose(p, last, atol=1e-4)


def test_dilations_set_the_receptive_field():
    for dilations, radius in ((None, 3), ((1, 2, 4), 7)):
        torch.manual_seed(0)
        model = ScoreNet(1, width=4, depth=3, dilations=dilations)
        x = torch.randn(1, 1, 32, 32, requires_grad=True)
        model(x, torch.tensor([0.5]))[0, 0, 0, 0].backward()
        offsets = torch.arange(32)
        offsets = torch.minimum(offsets, 32 - offsets)  # periodic distance to site 0
        distance = torch.maximum(offsets[:, None], offsets[None, :])
        seen = x.grad[0, 0] != 0
        assert seen[distance <= radius].all() and not seen[distance > radius].any()


def test_denoising_loss_of_the_zero_velocity_is_known():
    model = ScoreNet(1, width=4, depth=2)
    with torch.no_grad():
        model.body[-1].weight.zero_()
        model.body[-1].bias.zero_()
    # v = 0: the loss is E(a_t eps - s_t x_0)^2 = a_t^2 + s_t^2 = 1 for x_0 = 1
    loss = denoising_loss(model, torch.ones(64, 1, 8, 8), times=5, seed=3)
    assert abs(loss - 1) < 0.05
    assert denoising_loss(model, torch.zeros(64, 1, 8, 8), times=5, seed=3) < 0.8  # mean of a_t^2 alone
