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
    # the families' test bed (episodes.synth_signal); the defaults leave the market as before
    price_signal_ic: float = 0.0  # nonlinear price signal shared by all tickers (0 = off)
    market_vol: float = 0.010  # market factor's base daily vol (stochastic-vol multiplier on top)
    consensus_reach: float = 1.0  # share of (day, ticker) whose analysts may agree (consensus)
    new_listings: float = 0.0  # share of stocks listed mid-sample (no prices before listing)
    delistings: float = 0.0  # share of stocks delisted mid-sample (closed out, no prices after)

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
        if not (self.price_signal_ic >= 0.0 and self.signal_ic**2 + self.price_signal_ic**2 < 1):
            raise ValueError(
                f"price_signal_ic={self.price_signal_ic}, expected >= 0 with "
                f"signal_ic² + price_signal_ic² < 1 (signal_ic={self.signal_ic})"
            )
        if not self.market_vol >= 0.0:
            raise ValueError(f"market_vol={self.market_vol}, expected >= 0")
        if not 0.0 < self.consensus_reach <= 1.0:
            raise ValueError(f"consensus_reach={self.consensus_reach}, expected in (0, 1]")
        if not 0.0 <= self.new_listings <= 1.0:
            raise ValueError(f"new_listings={self.new_listings}, expected in [0, 1]")
        if not 0.0 <= self.delistings <= 1.0:
            raise ValueError(f"delistings={self.delistings}, expected in [0, 1]")
