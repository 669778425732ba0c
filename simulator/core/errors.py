"""The wfsim error family: one-line messages `where: what (name=value, expected rule)`."""

from __future__ import annotations

__all__ = [
    "WfsimError",
    "ConfigError",
    "EpisodeError",
    "StoreError",
    "RegistryError",
    "LookaheadError",
    "ReconcileError",
]


class WfsimError(Exception):
    """Base of every error wfsim raises on purpose.

    Parameters
    ----------
    where : str
        What the error is about: a file, ``file: date``, a config key, a window id.
    what : str
        What is wrong, in a few words.
    expected : str, optional
        The rule the value broke (rendered as ``expected <rule>``).
    fix : str, optional
        How to fix it, when there is one obvious fix.
    **values
        Offending values, rendered as ``name=value``.

    Examples
    --------
    >>> str(EpisodeError("2023-03-14.json", "cash is negative", cash=-12.5, expected=">= 0"))
    '2023-03-14.json: cash is negative (cash=-12.5, expected >= 0)'
    """

    def __init__(
        self,
        where: str,
        what: str,
        *,
        expected: str | None = None,
        fix: str | None = None,
        **values: object,
    ) -> None:
        self.where = where
        self.what = what
        self.expected = expected
        self.fix = fix
        self.values = values
        super().__init__(self.render())

    def render(self) -> str:
        parts = [f"{k}={v}" for k, v in self.values.items()]
        if self.expected is not None:
            parts.append(f"expected {self.expected}")
        msg = f"{self.where}: {self.what}" if self.where else self.what
        if parts:
            msg += f" ({', '.join(parts)})"
        if self.fix:
            msg += f"; {self.fix}"
        return msg

    def __reduce__(self):  # picklable across processes (Ray, multiprocessing)
        return (_rebuild, (type(self), self.where, self.what, self.expected, self.fix, self.values))


def _rebuild(cls, where, what, expected, fix, values):
    return cls(where, what, expected=expected, fix=fix, **values)


class ConfigError(WfsimError):
    """A config key is unknown, mistyped or out of range."""


class EpisodeError(WfsimError):
    """An episode file is unreadable or breaks the schema (where = ``file: date: field``)."""


class StoreError(WfsimError):
    """The Parquet episode store is missing, inconsistent or cannot be written."""


class RegistryError(WfsimError):
    """No eligible model, a stale or inconsistent registry entry."""


class LookaheadError(WfsimError):
    """Something tried to use information from at or after the open of the day it decides."""


class ReconcileError(WfsimError):
    """Simulated books differ from the recorded ones."""
