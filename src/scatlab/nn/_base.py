"""What the scattering modules share: immutable parameters, filter buffers, pickling by parameters."""
from __future__ import annotations

import torch

__all__ = ["ScatteringModule"]


class ScatteringModule(torch.nn.Module):
    """Base class: a frozen plan, filters as non-persistent buffers, read-only parameters.

    The filters are derived from the parameters, so they are left out of ``state_dict`` and a module
    pickles by its parameters. To change a parameter, build a new module.
    """

    _frozen = False

    def __init__(self, params: dict):
        super().__init__()
        self._params = dict(params)

    def _register_filters(self, prefix: str, tensors) -> None:
        for i, t in enumerate(tensors):
            self.register_buffer(f"{prefix}_{i}", t, persistent=False)

    def _filters(self, prefix: str, count: int) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self, f"{prefix}_{i}") for i in range(count))

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

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
        dtype = next(iter(self.buffers())).dtype
        return (_rebuild, (type(self), self._params, dtype, self.training))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._params.items())


def _rebuild(cls, params, dtype, training):
    params = dict(params)
    shape = params.pop("shape")
    module = cls(shape, **params).to(dtype)
    return module.train(training)
