r"""Invertible networks: the i-RevNet of Jacobsen, Smeulders & Oyallon ("i-RevNet: deep invertible
networks", ICLR 2018).

Every layer up to the final classifier is invertible, so no information on the input is lost:

- :class:`InvertibleDownsampling`: the space-to-depth permutation :math:`S` that moves each 2 x 2
  block of pixels into 4 channels, (B, C, M, N) -> (B, 4C, M/2, N/2), inverted exactly by its
  transpose (depth-to-space);
- :class:`AdditiveCoupling`: with the channels split :math:`x = (x_1, x_2)`,

  .. math:: y_1 = S x_2, \qquad y_2 = S x_1 + F(x_2), \qquad
            x_2 = S^{-1} y_1, \qquad x_1 = S^{-1}\big(y_2 - F(x_2)\big),

  where :math:`F` is any network (here BN-ReLU-conv3x3 three times, the first with stride 2 when
  the block downsamples, without the first BN-ReLU in the first block) and :math:`S` the identity or the invertible downsampling: the inverse
  recomputes :math:`F(x_2)` and subtracts it, so it is exact up to rounding, whatever F is;
- :class:`IRevNet`: initial invertible downsamplings, optional zero-padding of the channels (the
  *injective* i-RevNet, whose inverse drops the padded channels; without it, the *bijective*
  i-RevNet keeps the dimension of the input at every layer), stages of coupling blocks, then
  BN-ReLU-average pooling-linear on the last representation :math:`\Phi(x)`.
  :meth:`IRevNet.representation` gives :math:`\Phi(x)`, :meth:`IRevNet.inverse` gives
  :math:`x = \Phi^{-1}(\Phi(x))`, :meth:`IRevNet.layers` the representation after every block.

FrEIA and memcnn offer coupling blocks, but the network is three exact operations of a few lines each
(pixel_unshuffle, an additive coupling, a zero-padding) and neither library is installed here, so a
dependency would add more than it saves.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidParameterError, parameter_error

__all__ = ["AdditiveCoupling", "IRevNet", "InvertibleDownsampling", "VARIANTS"]

VARIANTS = ("injective", "bijective")


class InvertibleDownsampling(nn.Module):
    """Space-to-depth by 2: (B, C, M, N) -> (B, 4C, M/2, N/2), channel 4c + 2i + j holding the pixels
    (2m + i, 2n + j) of channel c; a permutation of the entries, so :meth:`inverse` undoes it exactly."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[-2] % 2 or x.shape[-1] % 2:
            raise InvalidParameterError(
                f"The invertible downsampling needs (B, C, M, N) inputs with M and N even; got an input of size"
                f" {tuple(x.shape)}. Crop or pad the images to a size divisible by 2 at every downsampling.")
        return F.pixel_unshuffle(x, 2)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        if y.ndim != 4 or y.shape[1] % 4:
            raise InvalidParameterError(f"The inverse downsampling needs (B, 4C, M, N) inputs; got an input of size"
                                        f" {tuple(y.shape)}.")
        return F.pixel_shuffle(y, 2)


class AdditiveCoupling(nn.Module):
    r"""One i-RevNet block on ``channels`` channels: :math:`y_1 = S x_2`, :math:`y_2 = S x_1 + F(x_2)`.

    ``downsample``: S is the invertible downsampling (output 4 ``channels`` at half the size) and the
    first convolution of F has stride 2; else S is the identity. ``hidden``: channels inside F.
    ``first``: F starts with its convolution, without BN-ReLU (the pre-activation convention for the
    block that reads the input): on the zero-padded channels of the injective network, a BatchNorm
    learns a running variance of about 0 and would multiply the rounding errors of the inverse by
    1 / sqrt(eps) ~ 300 (measured: a gain of 116 through this block after training).
    """

    def __init__(self, channels: int, hidden: int, *, downsample: bool = False, first: bool = False):
        super().__init__()
        if channels < 2 or channels % 2:
            raise parameter_error("AdditiveCoupling", "channels", "an even int >= 2 (the block splits them in two)",
                                  channels)
        if hidden < 1:
            raise parameter_error("AdditiveCoupling", "hidden", "an int >= 1", hidden)
        half = channels // 2
        out = 4 * half if downsample else half
        self.downsample = InvertibleDownsampling() if downsample else None
        entry = [] if first else [nn.BatchNorm2d(half), nn.ReLU()]
        self.F = nn.Sequential(
            *entry, nn.Conv2d(half, hidden, 3, 2 if downsample else 1, 1, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU(), nn.Conv2d(hidden, hidden, 3, 1, 1, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU(), nn.Conv2d(hidden, out, 3, 1, 1, bias=False))

    def _S(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)

    def _S_inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y if self.downsample is None else self.downsample.inverse(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return torch.cat([self._S(x2), self._S(x1) + self.F(x2)], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y1, y2 = y.chunk(2, dim=1)
        x2 = self._S_inverse(y1)
        return torch.cat([self._S_inverse(y2 - self.F(x2)), x2], dim=1)


class IRevNet(nn.Module):
    """The i-RevNet classifier of (B, ``in_channels``, M, N) images.

    Parameters
    ----------
    shape : (M, N)
        Image size; both must be divisible by 2 ** (``initial_downsamplings`` + len(``stages``) - 1).
    num_classes : int
    in_channels : int
    variant : 'injective' or 'bijective'
        'injective' zero-pads the channels by the factor ``expansion`` (the paper's injective i-RevNet):
        zero channels are appended to each half of the downsampled input, so that both halves of the
        first coupling carry the image (up to a fixed permutation of the channels, this is zero-padding
        of the input); 'bijective' keeps the dimension M N ``in_channels`` at every layer.
    stages : tuple of ints
        Coupling blocks per stage; the first block of every stage but the first downsamples.
    width : int
        Channels inside F in the first stage, doubled at every stage.
    initial_downsamplings : int
        Invertible downsamplings applied before the first block.
    expansion : int
        Channel factor of the injective padding (ignored by the bijective variant).

    Shape: :meth:`forward` (B, in_channels, M, N) -> (B, num_classes); :meth:`representation` ->
    (B, *self.representation_shape); :meth:`inverse` the reverse.
    """

    def __init__(self, shape: tuple[int, int] = (28, 28), num_classes: int = 10, *, in_channels: int = 1,
                 variant: str = "injective", stages: tuple[int, ...] = (2, 2), width: int = 16,
                 initial_downsamplings: int = 1, expansion: int = 4):
        super().__init__()
        if variant not in VARIANTS:
            raise parameter_error("IRevNet", "variant", f"one of {VARIANTS}", variant)
        for name, value, low in (("in_channels", in_channels, 1), ("num_classes", num_classes, 1),
                                 ("width", width, 1), ("initial_downsamplings", initial_downsamplings, 0),
                                 ("expansion", expansion, 1)):
            if not isinstance(value, int) or value < low:
                raise parameter_error("IRevNet", name, f"an int >= {low}", value)
        if not stages or any(not isinstance(b, int) or b < 1 for b in stages):
            raise parameter_error("IRevNet", "stages", "a non-empty tuple of ints >= 1 (blocks per stage)", stages)
        factor = 2 ** (initial_downsamplings + len(stages) - 1)
        if len(shape) != 2 or shape[0] % factor or shape[1] % factor or min(shape) < factor:
            raise parameter_error(
                "IRevNet", "shape", f"two sizes divisible by {factor} ({initial_downsamplings} initial and"
                f" {len(stages) - 1} stage downsamplings by 2 of the image size); crop or pad the images, or use"
                " fewer stages", tuple(shape))
        self.shape, self.in_channels, self.variant, self.size_factor = tuple(shape), in_channels, variant, factor
        self.initial_downsamplings = initial_downsamplings
        self.downsampling = InvertibleDownsampling()
        self.embedded_channels = in_channels * 4**initial_downsamplings  # after the initial downsamplings
        if self.embedded_channels % 2:
            raise parameter_error("IRevNet", "initial_downsamplings", f">= 1 when the input has an odd number of"
                                  f" channels ({in_channels}): coupling blocks split the channels in two",
                                  initial_downsamplings)
        self.expansion = expansion if variant == "injective" else 1
        channels = self.embedded_channels * self.expansion
        blocks = []
        for s, count in enumerate(stages):
            for b in range(count):
                down = s > 0 and b == 0
                blocks.append(AdditiveCoupling(channels, width * 2**s, downsample=down, first=not blocks))
                channels *= 4 if down else 1
        self.blocks = nn.ModuleList(blocks)
        M, N = shape[0] // factor, shape[1] // factor
        self.representation_shape = (channels, M, N)
        self.head_norm = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, num_classes)

    # ----------------------------------------------------------------------- the invertible part

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise InvalidParameterError(f"IRevNet expects (B, {self.in_channels}, M, N) images; got an input of size"
                                        f" {tuple(x.shape)}.")
        if x.shape[-2] % self.size_factor or x.shape[-1] % self.size_factor:
            raise InvalidParameterError(
                f"IRevNet needs image sizes M and N divisible by {self.size_factor} (its number of invertible"
                f" downsamplings by 2); got an input of size {tuple(x.shape)}. Crop or pad the images.")
        for _ in range(self.initial_downsamplings):
            x = self.downsampling(x)
        if self.expansion > 1:  # injective: zeros after each half, so that both halves carry the image
            h1, h2 = x.chunk(2, dim=1)
            zeros = x.new_zeros(x.shape[0], (self.expansion - 1) * h1.shape[1], *x.shape[2:])
            x = torch.cat([h1, zeros, h2, zeros], dim=1)
        return x

    def layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The representations after the initial downsamplings (layer 0) and after every block (layers
        1 ... len(self.blocks)); each determines x (:meth:`inverse` with ``layer``)."""
        out = [self._embed(x)]
        for block in self.blocks:
            out.append(block(out[-1]))
        return out

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        r"""The last-layer representation :math:`\Phi(x)` (B, *self.representation_shape)."""
        z = self._embed(x)
        for block in self.blocks:
            z = block(z)
        return z

    def layer_channels(self, layer: int) -> int:
        """The number of channels of the representation at ``layer`` (0: before the first block)."""
        downsamplings = sum(block.downsample is not None for block in self.blocks[:layer])
        return self.embedded_channels * self.expansion * 4**downsamplings

    def _unblock(self, z: torch.Tensor, layer: int | None) -> torch.Tensor:
        """z at ``layer`` taken back through the blocks: the (padded) input after the initial downsamplings."""
        layer = len(self.blocks) if layer is None else layer
        if not isinstance(layer, int) or not 0 <= layer <= len(self.blocks):
            raise parameter_error("IRevNet.inverse", "layer", f"an int in [0, {len(self.blocks)}]", layer)
        if z.ndim != 4 or z.shape[1] != self.layer_channels(layer):
            raise InvalidParameterError(f"IRevNet.inverse expects (B, {self.layer_channels(layer)}, M, N)"
                                        f" representations at layer {layer}; got a tensor of size {tuple(z.shape)}.")
        for block in reversed(self.blocks[:layer]):
            z = block.inverse(z)
        return z

    def inverse(self, z: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """The image x (B, in_channels, M, N) whose representation at ``layer`` (default: the last) is z.

        Exact for z = representation(x) (or ``layers(x)[layer]``), up to rounding. For any other z of
        the injective variant, the padded channels are dropped: a left inverse (:meth:`padding_part`
        returns what is dropped).
        """
        x = self._unblock(z, layer)
        if self.expansion > 1:
            h1, h2 = x.chunk(2, dim=1)
            half = self.embedded_channels // 2
            x = torch.cat([h1[:, :half], h2[:, :half]], dim=1)
        for _ in range(self.initial_downsamplings):
            x = self.downsampling.inverse(x)
        return x

    def padding_part(self, z: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """The padded channels of z taken back through the blocks: zero exactly when z is the
        representation of an image (in the range of the injective network), and what :meth:`inverse`
        drops otherwise; (B, 0, M', N') for the bijective variant."""
        h1, h2 = self._unblock(z, layer).chunk(2, dim=1)
        half = self.embedded_channels // 2
        return torch.cat([h1[:, half:], h2[:, half:]], dim=1)

    # ----------------------------------------------------------------------- the classifier

    def classify(self, z: torch.Tensor) -> torch.Tensor:
        """Logits from a last-layer representation: BN-ReLU, spatial average, linear."""
        return self.fc(F.relu(self.head_norm(z)).mean(dim=(-2, -1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.representation(x))
