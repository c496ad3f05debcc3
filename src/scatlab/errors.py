"""The two documented error classes of scatlab.

Every message follows one template: what is wrong, with the offending value, then the fix.
"""

__all__ = ["InvalidParameterError", "ShapeError", "DataError", "MissingData"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor or function parameter is out of range or of the wrong type.

    Subclasses both ``ValueError`` and ``TypeError`` so that either ``except`` catches it.
    """


class ShapeError(ValueError):
    """An input array has the wrong number of dimensions or a size that does not fit the transform."""


class DataError(ValueError):
    """An input file or data set is missing, unreadable, corrupt or holds invalid values (NaN, Inf)."""


class MissingData(DataError):
    """A data set is not on this machine: ``dataset`` names it, ``how`` says how to get it.

    ``scatlab reproduce`` skips an experiment whose data is missing (and says how to get it) rather
    than failing, unless asked to be strict.
    """

    def __init__(self, dataset: str, how: str, detail: str = ""):
        self.dataset, self.how = dataset, how
        super().__init__(f"{dataset} is not on this machine{': ' + detail if detail else ''}. {how}")


def parameter_error(owner: str, name: str, expected: str, got) -> InvalidParameterError:
    """Build the standard message: The 'J' parameter of Scattering2D must be ... Got 0 instead."""
    return InvalidParameterError(f"The '{name}' parameter of {owner} must be {expected}. Got {got!r} instead.")
