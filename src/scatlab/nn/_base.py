"""What the scattering modules share: immutable parameters, filter buffers, pickling by parameters."""
from __future__ import annotations

import torch

__all__ = ["ScatteringModule"]


class ScatteringModule(torch.nn.Module):
    """Base class: a frozen plan, filters as non-persistent float64 buffers, read-only parameters.
    Subclasses define ``bank()``, assembling the filters from their buffers.

    The filters are derived from the parameters, so they are left out of ``state_dict`` and a module
    pickles by its parameters. They stay float64 whatever ``.to(dtype)`` asks (``.to(device)``
    moves them): each forward uses them cast to the input's precision, cached per dtype and
    device, so one module serves float32 and float64 inputs at full accuracy. To change a
    parameter, build a new module.
    """

    _frozen = False

    def __init__(self, params: dict):
        super().__init__()
        self._params = dict(params)
        self._prepared = {}

    def _register_filters(self, prefix: str, tensors) -> None:
        for i, t in enumerate(tensors):
            self.register_buffer(f"{prefix}_{i}", t, persistent=False)

    def _filters(self, prefix: str, count: int) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self, f"{prefix}_{i}") for i in range(count))

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def _prepared_bank(self, x: torch.Tensor):
        """The bank cast for x's dtype, after checking that x is on the filters' device."""
        device = next(iter(self.buffers())).device
        if isinstance(x, torch.Tensor) and x.device != device:
            raise TypeError(
                f"{type(self).__name__}: the input is on {x.device} but the filters are on {device};"
                f" call .to('{x.device}') on the module or move the input to {device}."
            )
        dtype = x.dtype if isinstance(x, torch.Tensor) and x.dtype == torch.float64 else torch.float32
        if dtype not in self._prepared:
            self._prepared[dtype] = self.bank().prepare(dtype)
        return self._prepared[dtype]

    def _apply(self, fn, recurse=True):
        masters = dict(self._buffers)
        super()._apply(fn, recurse)
        for name, master in masters.items():
            self._buffers[name] = master.to(self._buffers[name].device)  # moved, still float64
        self._prepared = {}
        return self

    def __setattr__(self, name, value):
        if self._frozen and name in self._params:
            raise AttributeError(
                f"{type(self).__name__} is immutable: '{name}' cannot be changed after construction;"
                f" build a new {type(self).__name__}(..., {name}={value!r})."
            )
        super().__setattr__(name, value)

    def __getattr__(self, name):
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        return super().__getattr__(name)

    def __reduce__(self):
        return (_rebuild, (type(self), self._params, self.training))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._params.items())


def _rebuild(cls, params, training):
    params = dict(params)
    shape = params.pop("shape")
    return cls(shape, **params).train(training)
