"""structlog setup: events on stderr (console renderer on a tty, JSON lines otherwise)."""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["configure_logging", "get_logger"]


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


def configure_logging(level: str = "info", json: bool | None = None) -> None:
    """Configure structlog once, at the command boundary (``simulator/cli.py``)."""
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
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
