"""Choice fields of the frozen configs: ``Literal`` annotations, checked in one place."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

__all__ = ["check_choices", "choices_of"]


def choices_of(annotation: Any) -> tuple[Any, ...] | None:
    """The allowed values of a ``Literal[...]`` (or ``Literal[...] | None``) annotation, else None.

    Examples
    --------
    >>> choices_of(typing.Literal["a", "b"])
    ('a', 'b')
    >>> choices_of(int) is None
    True
    """
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    args = typing.get_args(annotation)
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and typing.get_origin(inner[0]) is typing.Literal:
            return (*typing.get_args(inner[0]), None)
    return None


def check_choices(obj: Any) -> None:
    """Raise ``ValueError("name='x', expected one of 'a', 'b'")`` for the first choice field of the
    dataclass ``obj`` whose value is not one of its ``Literal`` values (call from __post_init__)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        allowed = choices_of(hints[f.name])
        value = getattr(obj, f.name)
        if allowed is not None and value not in allowed:
            listed = ", ".join(repr(a) for a in allowed)
            raise ValueError(f"{f.name}={value!r}, expected one of {listed}")
