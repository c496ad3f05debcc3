"""The variational information bottleneck (scatlab.theory.bottleneck): closed forms and training."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.learning.training import TrainSettings, train
from scatlab.theory.bottleneck import VariationalBottleneck, gaussian_kl_to_standard, vib_loss, with_extra_loss


def test_kl_against_torch_distributions_and_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mean, log_variance = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g,
                                                                                           dtype=torch.float64)
    ours = gaussian_kl_to_standard(mean, log_variance)
    normal = torch.distributions.Normal
    theirs = torch.distributions.kl_divergence(normal(mean, (0.5 * log_variance).exp()), normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(ours, theirs)
    assert float(gaussian_kl_to_standard(torch.zeros(1, 4), torch.zeros(1, 4))) == 0.0
    # Monte Carlo E_q[log q(z) - log p(z)] with 200,000 draws; tolerance 5 standard errors
    q = normal(mean[0], (0.5 * log_variance[0]).exp())
    z = q.sample((200_000,))
    terms = (q.log_prob(z) - normal(0.0, 1.0).log_prob(z)).sum(1)
    assert abs(float(terms.mean()) - float(ours[0])) < 5 * float(terms.std()) / math.sqrt(len(terms))


def test_extra_loss_gradient_equals_the_vib_loss_gradient():
    torch.manual_seed(1)
    model = VariationalBottleneck(nn.Sequential(nn.Linear(6, 8), nn.ReLU()), 8, 3, 4, beta=0.3)
    x, y = torch.randn(16, 6), torch.randint(0, 4, (16,))
    torch.manual_seed(2)
    F.cross_entropy(model(x), y).backward()  # the output carries beta * KL
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch.manual_seed(2)  # same noise draw
    mean, log_variance = model.encode(x)
    z = mean + (0.5 * log_variance).exp() * torch.randn_like(mean)
    vib_loss(model.decoder(z), y, mean, log_variance, 0.3).backward()
    for a, p in zip(ours, model.parameters()):
        torch.testing.assert_close(a, p.grad)
    assert model.last_kl > 0
    out = with_extra_loss(torch.ones(3, requires_grad=True), torch.tensor(2.0, requires_grad=True))
    torch.testing.assert_close(out, torch.ones(3))


def test_modes_and_the_information_bound():
    torch.manual_seed(3)
    vib = VariationalBottleneck(nn.Identity(), 5, 2, 3, beta=0.1)
    x = torch.randn(7, 5)
    vib.eval()
    with torch.no_grad():
        mean, log_variance = vib.encode(x)
    torch.testing.assert_close(vib(x), vib.decoder(mean))  # evaluation reads the mean
    expected = float(gaussian_kl_to_standard(mean, log_variance).mean()) / math.log(2)
    assert vib.information_bound(x, batch_size=3) == pytest.approx(expected)
    vib.train()
    assert not torch.equal(vib(x), vib(x))  # z is sampled in training
    plain = VariationalBottleneck(nn.Identity(), 5, 2, 3, stochastic=False)
    assert plain.head.out_features == 2 and plain.encode(x)[1] is None
    plain.train()
    assert torch.equal(plain(x), plain(x))


def test_beta_trades_information_for_fit(tmp_path):
    # two well-separated Gaussian classes in 10-D: a larger beta must give a smaller I(Z;X) bound
    g = torch.Generator().manual_seed(4)
    y = torch.arange(200) % 2
    x = (torch.randn(200, 10, generator=g) + 2.0 * y[:, None].float()).reshape(200, 1, 1, 10)  # train() takes images
    bounds = []
    for beta in (1e-3, 1.0):
        torch.manual_seed(5)
        vib = VariationalBottleneck(nn.Sequential(nn.Flatten(), nn.Linear(10, 16), nn.Tanh()), 16, 4, 2, beta=beta)
        train(vib, x, y, TrainSettings(epochs=15, batch_size=50, lr=0.05, weight_decay=0.0, seed=0),
              checkpoint=tmp_path / f"b{beta}.pt", device=torch.device("cpu"))
        bounds.append(vib.information_bound(x))
    assert bounds[1] < 0.5 * bounds[0]


def test_bad_parameters_are_named():
    with pytest.raises(InvalidParameterError, match="'beta'"):
        VariationalBottleneck(nn.Identity(), 4, 2, 3, beta=-1.0)
    with pytest.raises(InvalidParameterError, match="'bottleneck'"):
        VariationalBottleneck(nn.Identity(), 4, 0, 3)
    with pytest.raises(ShapeError, match="'features'"):
        VariationalBottleneck(nn.Identity(), 4, 2, 3).encode(torch.zeros(2, 5))
    with pytest.raises(InvalidParameterError, match="stochastic"):
        VariationalBottleneck(nn.Identity(), 4, 2, 3, stochastic=False).information_bound(torch.zeros(2, 4))
    with pytest.raises(InvalidParameterError, match="'beta'"):
        vib_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), torch.zeros(2, 2), torch.zeros(2, 2), -0.1)
    with pytest.raises(ShapeError, match="'mean'"):
        gaussian_kl_to_standard(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ShapeError, match="'extra'"):
        with_extra_loss(torch.zeros(3), torch.zeros(2))
