"""Progress reporting as a seam: library code says what advanced; the CLI decides how to show it.

Library code (pretrain, training) opens bars with ``bar(level, total, desc)`` and advances them;
by default nothing is shown (a no-op reporter), so notebooks, tests and CI stay quiet. The command
line installs a terminal reporter (tqdm, ``simulator/cli/progress.py``) only when stderr is a
terminal. Levels nest: ``windows`` (window k of N, with ETA), ``epochs``, ``batches``.

Examples
--------
>>> with bar("windows", 3, "pretrain") as b:
...     b.advance(window="w000")
>>> calls = []
>>> class Rec:
...     def open(self, level, total, desc): calls.append(("open", level, total)); return 0
...     def advance(self, handle, n, info): calls.append(("advance", n, info))
...     def close(self, handle): calls.append(("close",))
>>> with use(Rec()):
...     with bar("windows", 2, "pretrain") as b:
...         b.advance(ic=0.1234567)
>>> calls
[('open', 'windows', 2), ('advance', 1, {'ic': 0.1234567}), ('close',)]
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["LEVELS", "Reporter", "bar", "use", "active"]

LEVELS = ("windows", "epochs", "batches")
"""Nesting levels, outermost first (a reporter may place them on stacked lines)."""


class Reporter(Protocol):
    """What draws bars: ``open`` returns a handle that ``advance``/``close`` receive."""

    def open(self, level: str, total: int, desc: str) -> Any: ...
    def advance(self, handle: Any, n: int, info: dict[str, Any]) -> None: ...
    def close(self, handle: Any) -> None: ...


class _Quiet:
    def open(self, level: str, total: int, desc: str) -> None:
        return None

    def advance(self, handle: Any, n: int, info: dict[str, Any]) -> None:
        return None

    def close(self, handle: Any) -> None:
        return None


_REPORTER: contextvars.ContextVar[Reporter] = contextvars.ContextVar("wfsim_progress")


def active() -> Reporter:
    """The reporter in effect (the quiet one unless ``use`` installed another)."""
    return _REPORTER.get(None) or _Quiet()


@contextlib.contextmanager
def use(reporter: Reporter) -> Iterator[Reporter]:
    """Install ``reporter`` for the block."""
    token = _REPORTER.set(reporter)
    try:
        yield reporter
    finally:
        _REPORTER.reset(token)


class _Bar:
    def __init__(self, reporter: Reporter, handle: Any) -> None:
        self._r, self._h = reporter, handle

    def advance(self, n: int = 1, **info: Any) -> None:
        """Count ``n`` more units done; ``info`` is shown beside the bar (e.g. ``loss=...``)."""
        self._r.advance(self._h, n, info)


@contextlib.contextmanager
def bar(level: str, total: int, desc: str) -> Iterator[_Bar]:
    """A bar of ``total`` units at ``level`` (one of LEVELS), closed when the block ends."""
    reporter = active()
    handle = reporter.open(level, total, desc)
    try:
        yield _Bar(reporter, handle)
    finally:
        reporter.close(handle)
