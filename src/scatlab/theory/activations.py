"""Recording the outputs of chosen layers of a network, the raw material of the layer-wise tools
(information per layer, class separation per layer, weight alignment per layer).

Forward hooks on the chosen submodules record their outputs batch by batch, in eval mode, as float32
tensors on the CPU; the network's training mode is restored afterwards.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import InvalidParameterError, parameter_error

__all__ = ["layer_activations"]


class _Stop(Exception):
    """Raised by a forward hook once every recorded module has run (the rest of the network is skipped)."""


@torch.no_grad()
def layer_activations(model: nn.Module, x: torch.Tensor, modules: Sequence[nn.Module], *, batch_size: int = 1000,
                      flatten: bool = True, stop: bool = False) -> list[torch.Tensor]:
    """The outputs of ``modules`` (submodules of ``model``) on the inputs ``x``, one tensor per module,
    float32 on the CPU, flattened to (n, features) with ``flatten`` (else in the module's layout).
    With ``stop`` each batch's forward pass ends once every module has run (later layers are skipped)."""
    if not modules:
        raise InvalidParameterError("The 'modules' argument of layer_activations is empty; give the submodules whose"
                                    " outputs to record, e.g. [model.layers[1], model.layers[3]].")
    owned = {id(m) for m in model.modules()}
    if any(id(m) not in owned for m in modules):
        raise InvalidParameterError("The 'modules' argument of layer_activations must hold submodules of 'model';"
                                    " one of them is not part of it.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise parameter_error("layer_activations", "batch_size", "an int >= 1", batch_size)
    outputs: list[list[torch.Tensor]] = [[] for _ in modules]
    pending: set[int] = set()

    def hook(k: int, output: torch.Tensor) -> None:
        output = output.detach()
        outputs[k].append((output.flatten(1) if flatten else output).float().cpu())
        pending.discard(k)
        if stop and not pending:
            raise _Stop

    hooks = [m.register_forward_hook(lambda _m, _i, out, k=k: hook(k, out)) for k, m in enumerate(modules)]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device if any(True for _ in model.parameters()) else x.device
        for start in range(0, len(x), batch_size):
            pending.update(range(len(modules)))
            try:
                model(x[start:start + batch_size].to(device))
            except _Stop:
                pass
    finally:
        for handle in hooks:
            handle.remove()
        model.train(was_training)
    return [torch.cat(chunks) for chunks in outputs]
