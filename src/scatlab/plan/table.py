"""The channel table: one row per output channel of a transform, in output order."""
from __future__ import annotations

import numpy as np

__all__ = ["ChannelTable"]


class ChannelTable:
    """Columns describing every output channel (order, scales, orientations, frequencies, ...).

    Integer columns use -1 and float columns NaN where a field does not apply (for example j2 of
    an order-1 channel).

    Examples
    --------
    >>> table = ChannelTable({"order": [0, 1, 1], "j1": [-1, 0, 2]})
    >>> table.select(order=1, j1=2)
    array([2])
    """

    def __init__(self, columns: dict):
        self.columns = {name: np.asarray(values) for name, values in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"all columns of a ChannelTable must have one length; got {lengths}")
        self._length = lengths.pop()

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def select(self, **conditions) -> np.ndarray:
        """Indices of the channels whose columns equal every given value (a value may be a list)."""
        mask = np.ones(len(self), dtype=bool)
        for name, value in conditions.items():
            if name not in self.columns:
                raise KeyError(f"unknown column {name!r}; the columns are {', '.join(self.names)}")
            mask &= np.isin(self.columns[name], np.atleast_1d(value))
        return np.nonzero(mask)[0]

    def records(self) -> list[dict]:
        """One dict per channel (for printing or JSON)."""
        return [{k: v[i].item() for k, v in self.columns.items()} for i in range(len(self))]

    def __repr__(self) -> str:
        return f"ChannelTable({len(self)} channels; columns: {', '.join(self.names)})"
