"""The two documented error classes of scatlab.

Every message follows one template: what is wrong, with the offending value, then the fix.
"""

__all__ = ["InvalidParameterError", "ShapeError", "DataError"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor or function parameter is out of range or of the wrong type.

    Subclasses both ``ValueError`` and ``TypeError`` so that either ``except`` catches it.
    """


class ShapeError(ValueError):
    """An input array has the wrong number of dimensions or a size that does not fit the transform."""


class DataError(ValueError):
    """An input file or data set is missing, unreadable, corrupt or holds invalid values (NaN, Inf)."""


def parameter_error(owner: str, name: str, expected: str, got) -> InvalidParameterError:
    """Build the standard message: The 'J' parameter of Scattering2D must be ... Got 0 instead."""
    return InvalidParameterError(f"The '{name}' parameter of {owner} must be {expected}. Got {got!r} instead.")
