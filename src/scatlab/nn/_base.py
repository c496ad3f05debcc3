"""What the scattering modules share: a frozen plan, the bank as filter buffers, read-only
parameters, one cast of the bank per input precision, pickling by parameters."""
from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
import torch

from ..banks._base import Bank
from ..plan.table import ChannelTable

__all__ = ["ScatteringModule"]


class ScatteringModule(torch.nn.Module):
    """Base class of the transforms: ``forward(x) = engine(x, plan, bank prepared for x.dtype)``.

    A subclass validates its parameters into a plan, builds its bank, calls
    ``super().__init__(params, plan, bank)`` and names its functional ``engine``. The bank's
    tensors become non-persistent buffers named by their place in the bank (``psi1_0``,
    ``first_2_filters``, ...) and :meth:`bank` reassembles them.

    The filters are derived from the parameters, so they are left out of ``state_dict`` and a module
    pickles by its parameters. They stay float64 whatever ``.to(dtype)`` asks (``.to(device)``
    moves them): each forward uses them cast to the input's precision, cached per dtype and
    device, so one module serves float32 and float64 inputs at full accuracy. To change a
    parameter, build a new module.
    """

    engine: Callable[[torch.Tensor, object, Bank], torch.Tensor]
    _frozen = False

    def __init__(self, params: dict, plan, bank: Bank):
        super().__init__()
        self._params = dict(params)
        self._plan = plan
        named = bank.named_tensors()
        for name, tensor in named:
            self.register_buffer(name, tensor, persistent=False)
        self._bank_names = tuple(name for name, _ in named)
        self._bank_layout = bank.with_tensors(tensor.to("meta") for _, tensor in named)
        self._prepared = {}
        self._views = {}
        object.__setattr__(self, "_frozen", True)

    @property
    def plan(self):
        """The validated parameters and the schedule of the transform (torch-free, shared, cached)."""
        return self._plan

    @property
    def meta(self) -> ChannelTable:
        """The channel table: one row per output channel (see the class docstring for the columns)."""
        return self._plan.table

    def bank(self) -> Bank:
        """The float64 filter bank, on the module's device (see the bank's class in scatlab.banks)."""
        return self._bank_layout.with_tensors(getattr(self, name) for name in self._bank_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return type(self).engine(x, self._plan, self._prepared_bank(x))

    def _prepared_bank(self, x: torch.Tensor) -> Bank:
        """The bank cast for x's dtype, after checking that x is on the filters' device."""
        device = getattr(self, self._bank_names[0]).device
        if isinstance(x, torch.Tensor) and x.device != device:
            raise TypeError(
                f"{type(self).__name__}: the input is on {x.device} but the filters are on {device};"
                f" call .to('{x.device}') on the module or move the input to {device}."
            )
        dtype = x.dtype if isinstance(x, torch.Tensor) and x.dtype == torch.float64 else torch.float32
        if dtype not in self._prepared:
            self._prepared[dtype] = self.bank().prepare(dtype)
        return self._prepared[dtype]

    def _view(self, key: Hashable, compute: Callable[[], tuple]) -> tuple:
        """``compute()`` (a tuple of NumPy arrays, returned read-only), computed once per key."""
        if key not in self._views:
            arrays = compute()
            for a in arrays:
                if isinstance(a, np.ndarray):
                    a.flags.writeable = False
            self._views[key] = arrays
        return self._views[key]

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
