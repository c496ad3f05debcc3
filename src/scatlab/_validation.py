"""Parameter checks shared by the transforms (one message template, see errors.py)."""
from __future__ import annotations

import numbers

from .errors import InvalidParameterError, parameter_error


def check_int(owner: str, name: str, value, low: int, high: int) -> int:
    """Return ``value`` if it is an int in [low, high], else raise InvalidParameterError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise parameter_error(owner, name, f"an int in [{low}, {high}]", value)
    if not low <= value <= high:
        raise parameter_error(owner, name, f"an int in [{low}, {high}]", value)
    return int(value)


def check_choice(owner: str, name: str, value, choices: tuple) -> str:
    """Return ``value`` if it is one of the strings ``choices``, else raise InvalidParameterError.

    Non-strings are refused before the comparison: a NumPy array would compare elementwise.
    """
    if not isinstance(value, str) or value not in choices:
        raise parameter_error(owner, name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_shape(owner: str, shape, ndim: int) -> tuple[int, ...]:
    """Normalize ``shape`` (an int in 1D, or a tuple of ``ndim`` positive ints)."""
    given = shape
    if ndim == 1 and isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = () if isinstance(shape, (str, bytes)) else tuple(shape)  # not one int per character
    except TypeError:
        raise parameter_error(owner, "shape", f"a tuple of {ndim} positive ints", given) from None
    if len(shape) != ndim or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in shape
    ):
        raise parameter_error(owner, "shape", f"a tuple of {ndim} positive ints", given)
    return tuple(int(s) for s in shape)


def raise_if(condition: bool, message: str) -> None:
    if condition:
        raise InvalidParameterError(message)
