"""The channel table: one row per output channel of a transform, in output order."""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

__all__ = ["ChannelTable"]


class ChannelTable:
    """Columns describing every output channel (order, scales, orientations, frequencies, ...).

    Integer columns use -1 and float columns NaN where a field does not apply (for example j2 of
    an order-1 channel). Plans are cached and shared, so the table is read-only: each column is a
    read-only copy of the values given, and ``columns`` is a read-only mapping.

    Examples
    --------
    >>> table = ChannelTable({"order": [0, 1, 1], "j1": [-1, 0, 2]})
    >>> table.select(order=1, j1=2)
    array([2])
    """

    def __init__(self, columns: dict):
        self._columns = {name: _frozen_copy(values) for name, values in columns.items()}
        lengths = {len(v) for v in self._columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"all columns of a ChannelTable must have one length; got {lengths}")
        self._length = lengths.pop()

    @property
    def columns(self) -> MappingProxyType:
        """The columns by name (a read-only mapping of read-only arrays)."""
        return MappingProxyType(self._columns)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self._columns

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def select(self, **conditions) -> np.ndarray:
        """Indices of the channels whose columns equal every given value (a value may be a list)."""
        mask = np.ones(len(self), dtype=bool)
        for name, value in conditions.items():
            if name not in self._columns:
                raise KeyError(f"unknown column {name!r}; the columns are {', '.join(self.names)}")
            mask &= np.isin(self._columns[name], np.atleast_1d(value))
        return np.nonzero(mask)[0]

    def records(self) -> list[dict]:
        """One dict per channel (for printing or JSON)."""
        return [{k: v[i].item() for k, v in self._columns.items()} for i in range(len(self))]

    def __repr__(self) -> str:
        return f"ChannelTable({len(self)} channels; columns: {', '.join(self.names)})"


def _frozen_copy(values) -> np.ndarray:
    column = np.array(values)
    column.flags.writeable = False
    return column
