"""An experiment's ``Config``: full or quick, with a seed, and fields changed from strings."""
from __future__ import annotations

import dataclasses
import fractions
import types
import typing
from collections.abc import Mapping

from ..errors import InvalidParameterError
from .registry import load

__all__ = ["ConfigOverrideError", "configure", "parse_value"]


class ConfigOverrideError(InvalidParameterError):
    """A change of a ``Config`` field that cannot be made: ``experiment``, ``key``, ``text`` as given,
    ``reason``, and ``fields`` (the valid keys)."""

    def __init__(self, experiment: str, key: str, text: str | None, reason: str, fields: tuple[str, ...] = ()):
        self.experiment, self.key, self.text, self.reason, self.fields = experiment, key, text, reason, fields
        super().__init__(f"Config field {key!r} of experiment {experiment} = {text!r}: {reason}.")


def configure(name: str, *, quick: bool = False, seed: int = 0, options: Mapping[str, str] | None = None):
    """The ``Config`` of experiment ``name``: the full or quick one, with ``seed``, then ``options``.

    ``options`` maps field names to values written as text (:func:`parse_value`). The seed is not
    an option: it is ``seed``, which also seeds the generators.
    """
    module = load(name)
    cfg = dataclasses.replace(module.Config.quick() if quick else module.Config(), seed=seed)
    hints = typing.get_type_hints(type(cfg))
    fields = tuple(sorted(hints))
    changes = {}
    for key, text in (options or {}).items():
        if key == "seed":
            raise ConfigOverrideError(name, key, text, "the seed is set by the seed argument, which also seeds the"
                                      " generators", fields)
        if key not in hints:
            raise ConfigOverrideError(name, key, text, f"no such field; the fields are {', '.join(fields)}", fields)
        try:
            changes[key] = parse_value(text.strip(), hints[key])
        except ValueError as exc:
            raise ConfigOverrideError(name, key, text, f"{exc} (default: {getattr(cfg, key)!r})", fields) from None
    return dataclasses.replace(cfg, **changes)


def parse_value(text: str, kind):
    """``text`` as a value of the annotation ``kind``: ``int``, ``float`` (``0.01``, ``1e-3``, ``1/3``),
    ``bool`` (``True``/``False``), ``str`` (as typed, e.g. a path), ``X | None`` (``None`` or an X)
    and tuples, written with commas (``100,500,60000`` or ``hybrid,wrn``); ValueError saying what
    was expected."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if text == "None" else parse_value(text, options[0])
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        items = [part.strip().strip("'\"") for part in text.strip("()[] ").split(",") if part.strip()]
        kinds = [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
        if not items or len(kinds) != len(items):
            raise ValueError(f"expected {len(kinds) if args[-1] is not Ellipsis else 'one or more'} values"
                             " separated by commas")
        return tuple(parse_value(item, k) for item, k in zip(items, kinds))
    if not text:
        raise ValueError("expected a value")
    if kind is str:
        return text
    if kind is bool:
        if text not in ("True", "False"):
            raise ValueError("expected True or False")
        return text == "True"
    try:
        return int(text) if kind is int else float(fractions.Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"expected {'an integer' if kind is int else 'a number such as 0.01, 1e-3 or 1/3'}") from None
