"""structlog setup: events on stderr (console renderer on a tty, JSON lines otherwise).

One line per event at the default level; floats are rounded for reading (``round_floats``).
structlog is imported only when a logger first logs or logging is configured (``wfsim --help``).
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any, TextIO

__all__ = ["configure_logging", "get_logger", "round_floats", "round_float"]


class _LazyLogger:
    """``structlog.get_logger(name)``, made on first use: modules on the `wfsim --help` path
    (simulator/cli) hold one without importing structlog (about 0.2 s) at import time."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._logger is None:
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, attr)


def get_logger(name: str) -> Any:
    """A structlog logger named ``name`` that imports structlog only when it first logs."""
    return _LazyLogger(name)


def round_float(v: float) -> float:
    """A float for a log line: 2 decimals from 1000 up (money), else 4 significant digits.

    >>> round_float(100234.5678), round_float(0.0123456), round_float(-1.23456), round_float(0.0)
    (100234.57, 0.01235, -1.235, 0.0)
    """
    if not math.isfinite(v) or v == 0.0:
        return v
    return round(v, 2) if abs(v) >= 1000 else float(f"{v:.4g}")


def round_floats(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: round every float value of the event (``round_float``)."""
    for k, v in event.items():
        if isinstance(v, float):
            event[k] = round_float(v)
    return event


def configure_logging(level: str = "info", json: bool | None = None, file: TextIO | None = None):
    """Configure structlog once, at the command boundary (``simulator/cli``).

    ``file``: where lines go (default stderr; the CLI passes a progress-bar-safe stream).
    """
    import structlog

    if json is None:
        json = not sys.stderr.isatty()
    renderer = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            round_floats,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr if file is None else file),
        cache_logger_on_first_use=False,
    )
