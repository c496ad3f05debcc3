"""The i-RevNet (Jacobsen, Smeulders & Oyallon, ICLR 2018): exact inverse on real images and on batches
of other shapes, both variants, both dtypes; gradients; the errors on sizes that do not divide."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from scatlab.datasets import FASHION_MNIST_DIR, load_classification
from scatlab.errors import InvalidParameterError
from scatlab.networks import MODELS, build_model
from scatlab.networks.irevnet import VARIANTS, AdditiveCoupling, IRevNet, InvertibleDownsampling
from conftest import require_data

BOUND = {torch.float32: 1e-5, torch.float64: 1e-12}  # largest relative reconstruction error accepted

needs_fmnist = pytest.mark.requires_data("Fashion-MNIST")


def scrambled(net: IRevNet, seed: int = 0) -> IRevNet:
    """``net`` in eval mode with random BatchNorm statistics and affine parameters, so that every
    residual function F is far from zero (a trained-like state, not the identity-like init)."""
    g = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            module.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=g) * 0.3)
    return net.eval()


def relative_errors(net: IRevNet, x: torch.Tensor) -> torch.Tensor:
    """||inverse(representation(x)) - x|| / ||x|| per image."""
    with torch.no_grad():
        x_hat = net.inverse(net.representation(x))
    return (x_hat - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)


@pytest.fixture(scope="module")
def fmnist():
    require_data("Fashion-MNIST")
    images = load_classification(str(FASHION_MNIST_DIR), "test")[0][:64]
    return torch.as_tensor(images.astype(np.float32) / 255)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_inverse_on_fashion_mnist(fmnist, variant, dtype):
    torch.manual_seed(0)
    net = scrambled(IRevNet((28, 28), variant=variant, stages=(2, 2), width=8)).to(dtype)
    x = fmnist.to(dtype)
    errors = relative_errors(net, x)
    assert errors.max() <= BOUND[dtype], f"{variant} {dtype}: largest relative error {errors.max():.3g}"
    # the residual functions matter: with every F set to zero, the representation (then a mere
    # permutation of the padded x) would differ from this one by more than 10 %
    permutation = copy.deepcopy(net)
    for block in permutation.blocks:
        block.F[-1].weight.data.zero_()
    with torch.no_grad():
        z, z0 = net.representation(x), permutation.representation(x)
    assert ((z - z0).flatten(1).norm(dim=1) / z0.flatten(1).norm(dim=1)).min() > 0.1
    expected = 4 * 28 * 28 if variant == "injective" else 28 * 28  # injective: 4x the input's dimension
    assert z[0].numel() == expected


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch, channels, shape, stages, initial", [
    (3, 3, (32, 32), (1, 1, 1), 1),   # CIFAR-like: 32 -> 16 -> 8 -> 4
    (1, 2, (16, 24), (2, 1), 1),      # a non-square size, an even channel count
    (5, 1, (8, 8), (1,), 2),          # two initial downsamplings, one stage
    (2, 2, (12, 20), (1, 1), 0),      # no initial downsampling (2 channels split in two)
])
def test_exact_inverse_on_random_batches(variant, dtype, batch, channels, shape, stages, initial):
    torch.manual_seed(1)
    net = scrambled(IRevNet(shape, 7, in_channels=channels, variant=variant, stages=stages, width=4,
                            initial_downsamplings=initial), seed=2).to(dtype)
    x = torch.randn(batch, channels, *shape, dtype=dtype)
    assert relative_errors(net, x).max() <= BOUND[dtype]
    with torch.no_grad():
        assert net(x).shape == (batch, 7)
        assert net.representation(x).shape == (batch, *net.representation_shape)


def test_every_layer_inverts_and_train_mode_too():
    """The representation after every block determines x; in train mode (BatchNorm on batch
    statistics) the inverse recomputes F on the same x2, hence stays exact."""
    torch.manual_seed(3)
    net = scrambled(IRevNet((16, 16), in_channels=3, stages=(2, 2), width=4)).double()
    x = torch.randn(4, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        layers = net.layers(x)
        assert len(layers) == 1 + len(net.blocks)
        torch.testing.assert_close(layers[-1], net.representation(x), rtol=0, atol=0)
        for k, z in enumerate(layers):
            assert (net.inverse(z, layer=k) - x).norm() / x.norm() <= 1e-12
        net.train()
        assert (net.inverse(net.representation(x)) - x).norm() / x.norm() <= 1e-12


def test_injective_padding():
    """The padded channels come back as zeros from a representation, and both halves of the first
    coupling carry the image (else the first F would only ever see zeros)."""
    torch.manual_seed(6)
    net = scrambled(IRevNet((8, 8), in_channels=1, variant="injective", stages=(1, 1), width=4, expansion=3)).double()
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        z0, z = net.layers(x)[0], net.representation(x)
        assert z0.shape == (3, 12, 4, 4) and z[0].numel() == 3 * x[0].numel()
        x1, x2 = z0.chunk(2, dim=1)
        assert x1.abs().sum() > 0 and x2.abs().sum() > 0
        assert net.padding_part(z).shape == (3, 8, 4, 4) and net.padding_part(z).abs().max() < 1e-12
        other = z + torch.randn_like(z)  # not a representation: the padded part is not zero, inverse drops it
        assert net.padding_part(other).norm() > 0.1 * net.padding_part(other).numel() ** 0.5
        assert net.inverse(other).shape == x.shape
    bijective = IRevNet((8, 8), variant="bijective", stages=(1,), width=2).eval()
    assert bijective.padding_part(bijective.representation(torch.randn(2, 1, 8, 8))).shape[1] == 0


def test_downsampling_is_a_permutation():
    x = torch.randn(2, 3, 6, 10)
    S = InvertibleDownsampling()
    y = S(x)
    assert y.shape == (2, 12, 3, 5)
    torch.testing.assert_close(y.flatten().sort().values, x.flatten().sort().values, rtol=0, atol=0)
    torch.testing.assert_close(S.inverse(y), x, rtol=0, atol=0)
    # channel 4c + 2i + j holds the pixels (2m + i, 2n + j) of channel c
    torch.testing.assert_close(y[:, 4 * 1 + 2 * 1 + 0], x[:, 1, 1::2, 0::2], rtol=0, atol=0)


def test_coupling_formula():
    """y1 = x2 and y2 = x1 + F(x2) without downsampling; a wrong sign in the inverse would be caught."""
    torch.manual_seed(4)
    block = AdditiveCoupling(4, 3).eval().double()
    block.F[-1].weight.data.mul_(30)  # F of the size of x
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        y = block(x)
        fx2 = block.F(x[:, 2:])
        torch.testing.assert_close(y[:, :2], x[:, 2:])
        torch.testing.assert_close(y[:, 2:], x[:, :2] + fx2)
        assert fx2.norm() > 0.3 * x.norm()
        torch.testing.assert_close(block.inverse(y), x)


def test_gradcheck_float64():
    torch.manual_seed(5)
    net = scrambled(IRevNet((4, 4), 3, in_channels=1, stages=(1, 1), width=2)).double()
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(net, (x,))
    z = net.representation(x).detach().requires_grad_()
    assert torch.autograd.gradcheck(net.inverse, (z,))
    # and through the parameters of a residual function
    weight = net.blocks[1].F[2].weight  # the first convolution of the downsampling block's F

    def logits_of(w):
        return torch.func.functional_call(net, {"blocks.1.F.2.weight": w}, (x.detach(),))

    assert torch.autograd.gradcheck(logits_of, (weight.detach().clone().requires_grad_(),))


def test_bad_sizes_name_the_parameter():
    with pytest.raises(InvalidParameterError, match=r"'shape'.*divisible by 4.*\(30, 30\)"):
        IRevNet((30, 30), stages=(2, 2))  # 28 works, 30 / 2 = 15 cannot be downsampled again
    with pytest.raises(InvalidParameterError, match=r"'shape'.*divisible by 8"):
        IRevNet((28, 28), stages=(1, 1, 1))
    net = IRevNet((28, 28)).eval()
    with pytest.raises(InvalidParameterError, match=r"size \(1, 1, 30, 30\)"):
        net(torch.zeros(1, 1, 30, 30))  # 30 -> 15 at the first block, odd at the stage downsampling
    with pytest.raises(InvalidParameterError, match=r"size \(2, 1, 27, 28\)"):
        net(torch.zeros(2, 1, 27, 28))
    with pytest.raises(InvalidParameterError, match=r"\(B, 1, M, N\).*\(2, 3, 28, 28\)"):
        net(torch.zeros(2, 3, 28, 28))
    with pytest.raises(InvalidParameterError, match="'variant'"):
        IRevNet(variant="surjective")
    with pytest.raises(InvalidParameterError, match="'stages'"):
        IRevNet(stages=())
    with pytest.raises(InvalidParameterError, match="'width'"):
        IRevNet(width=0)
    with pytest.raises(InvalidParameterError, match="'initial_downsamplings'"):
        IRevNet((28, 28), in_channels=1, variant="bijective", initial_downsamplings=0)  # 1 channel cannot split
    with pytest.raises(InvalidParameterError, match="'layer'"):
        net.inverse(torch.zeros(1, *net.representation_shape), layer=9)
    with pytest.raises(InvalidParameterError, match=r"\(B, 16, M, N\) representations at layer 0.*\(1, 64, 7, 7\)"):
        net.inverse(torch.zeros(1, *net.representation_shape), layer=0)
    with pytest.raises(InvalidParameterError, match="'channels'"):
        AdditiveCoupling(3, 4)


def test_catalog_builds_both_variants():
    assert {"irevnet-injective", "irevnet-bijective"} <= set(MODELS)
    for variant in VARIANTS:
        net = build_model(f"irevnet-{variant}", (32, 32), in_channels=3, width=1, blocks=1)
        assert isinstance(net, IRevNet) and net.variant == variant and len(net.blocks) == 2
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def inverse_gain(net: IRevNet, x: torch.Tensor) -> float:
    """||blocks[0].inverse(y + d) - blocks[0].inverse(y)|| / ||d|| for a small random d, in eval mode,
    after 200 training-mode passes have set the BatchNorm running statistics."""
    net.train()
    with torch.no_grad():
        for _ in range(200):
            net.representation(x)
    net.eval()
    with torch.no_grad():
        y = net.layers(x)[1]
        d = torch.randn_like(y) * 1e-6
        block = net.blocks[0]
        return float((block.inverse(y + d) - block.inverse(y)).norm() / d.norm())


def test_first_block_does_not_normalize_the_zero_padding():
    """Regression: with a BatchNorm at the entry of the first F, the zero-padded channels of the
    injective network get a running variance of ~0, and the inverse multiplies rounding errors on
    them by ~1/sqrt(eps) (a float32 reconstruction error of 3e-4 after training)."""
    torch.manual_seed(7)
    x = torch.rand(16, 1, 8, 8, dtype=torch.float64)
    net = IRevNet((8, 8), variant="injective", stages=(1,), width=4).double()
    assert not isinstance(net.blocks[0].F[0], torch.nn.BatchNorm2d)
    assert inverse_gain(net, x) < 5
    torch.manual_seed(7)
    normalized = IRevNet((8, 8), variant="injective", stages=(1,), width=4).double()
    normalized.blocks[0] = AdditiveCoupling(16, 4, first=False).double()
    assert inverse_gain(normalized, x) > 50  # the failure the first block avoids
