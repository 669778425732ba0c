"""Terminal progress bars (tqdm) behind ``simulator.core.progress``, on a terminal only.

tqdm rather than rich: one small pure-Python package with no dependencies (rich brings pygments and
markdown-it), nested bars by ``position``, ETA built in, and ``tqdm.write`` keeps log lines above
the bars. Shown only when stderr is a terminal and ``CI`` is unset: CliRunner, pipes, files and CI
logs get no bar characters at all.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from simulator.core.progress import LEVELS

__all__ = ["TqdmReporter", "BarSafeStream", "wanted"]


def wanted(stream: TextIO | None = None, environ: dict[str, str] | None = None) -> bool:
    """Whether to draw bars: ``stream`` (stderr) is a terminal and this is not CI."""
    stream = sys.stderr if stream is None else stream
    ci = (os.environ if environ is None else environ).get("CI", "").strip().lower()
    isatty = getattr(stream, "isatty", lambda: False)
    return bool(isatty()) and ci in ("", "0", "false", "no")


class TqdmReporter:
    """Nested tqdm bars: windows (k of N, ETA), the current window's epochs, the epoch's batches."""

    def __init__(self, stream: TextIO | None = None, mininterval: float = 0.1) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.mininterval = mininterval  # seconds between redraws

    def open(self, level: str, total: int, desc: str) -> Any:
        from tqdm import tqdm

        return tqdm(
            total=total,
            desc=desc,
            position=LEVELS.index(level) if level in LEVELS else 0,
            leave=False,
            file=self.stream,
            dynamic_ncols=True,
            mininterval=self.mininterval,
            unit={"windows": "win", "epochs": "ep"}.get(level, "it"),
        )

    def advance(self, handle: Any, n: int, info: dict[str, Any]) -> None:
        if info:
            handle.set_postfix({k: _short(v) for k, v in info.items()}, refresh=False)
        handle.update(n)

    def close(self, handle: Any) -> None:
        handle.close()


def _short(v: Any) -> Any:
    return f"{v:.4g}" if isinstance(v, float) else v


class BarSafeStream:
    """A text stream for log lines that prints whole lines with ``tqdm.write`` (above the bars)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self._buf = ""

    def write(self, text: str) -> int:
        from tqdm import tqdm

        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            tqdm.write(line, file=self.stream)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())
