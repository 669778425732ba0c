"""Episode-layer config sections (stdlib only)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

__all__ = ["SynthConfig"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthConfig:
    """Synthetic market and LLM-like baseline (``wfsim episodes synth``, ``wfsim demo``)."""

    days: int = 300
    tickers: int = 100
    start: str = "2022-04-01"
    signal_ic: float = 0.05  # planted pre-open signal's correlation with the next open->open return

    def __post_init__(self) -> None:
        if self.days < 2:
            raise ValueError(f"days={self.days}, expected >= 2")
        if self.tickers < 5:
            raise ValueError(f"tickers={self.tickers}, expected >= 5")
        try:
            datetime.date.fromisoformat(self.start)
        except (TypeError, ValueError):
            raise ValueError(f"start={self.start!r}, expected a date YYYY-MM-DD") from None
        if not 0.0 <= self.signal_ic < 1.0:
            raise ValueError(f"signal_ic={self.signal_ic}, expected in [0, 1)")
