"""A tiny valid episode sequence (3 stocks + SHY/TLT, all holds) for the episode-layer tests."""

from __future__ import annotations

import json
from pathlib import Path

from episodes.schema import (
    ANALYSTS,
    NAN,
    PORTFOLIO_AGENTS,
    RISK,
    RISK_REASONING,
    Decision,
    Decisions,
    Episode,
    FixedIncome,
    Forward,
    Macro,
    Portfolio,
    Prices,
    RiskEntries,
    Signals,
)
from tests.episode_encode import episode_to_dict

STOCKS = ("AAA", "BBB", "CCC")
KEYS = (*STOCKS, "SHY", "TLT")  # portfolio keys: stocks sorted, then the bonds
DATES = ("2022-04-01", "2022-04-04", "2022-04-05", "2022-04-06")


def portfolio(cash: float = 1000.0, long_aaa: int = 2) -> Portfolio:
    n = len(KEYS)
    long = (long_aaa,) + (0,) * (n - 1)
    lcb = (10.0 if long_aaa else 0.0,) + (0.0,) * (n - 1)
    zeros = (0.0,) * n
    return Portfolio(cash, 0.0, KEYS, long, (0,) * n, lcb, zeros, zeros, (1.5,) + zeros[1:], zeros)


def episode(date: str, cash: float = 1000.0, reasoning: str = "why") -> Episode:
    """A day on which nothing trades: portfolio_after == portfolio_before."""
    order = ("CCC", "AAA", "BBB")  # eligible in "set order", not sorted
    conf = (50.0, NAN, -5.0)  # raw quirks: NaN and negative confidences are valid
    analysts = tuple(
        Signals(order, ("bullish", "neutral", "bearish"), conf if a == ANALYSTS[3] else (1, 2, 3))
        for a in ANALYSTS
    )
    risk = RiskEntries(("AAA",), (40.0,), (11.0,), tuple((1.0,) for _ in RISK_REASONING))
    hold = Decision("hold", 0, 85.0, "bond hold")
    port = portfolio(cash)
    n = len(order) + 2
    return Episode(
        date=date,
        agent_order=(*PORTFOLIO_AGENTS[:2], *ANALYSTS, RISK, PORTFOLIO_AGENTS[2]),
        analysts=analysts,
        risk=risk,
        macro=Macro(0.6, 0.4, 1, 0, 2, (("inflation", "neutral", "n/a"),)),
        forward=Forward(0.6, 0.4, 18.5, "normal VIX"),
        fixed_income=FixedIncome(
            hold, hold, 40.0, 400.0, 0.0, 400.0, "flat", 0.2, 2.5, 2.7, "flat"
        ),
        decisions=Decisions(
            (*order, "SHY", "TLT"),
            ("hold", "hold", "buy", "hold", "hold"),
            (3, 0, -1, 0, 0),  # hold with quantity != 0 and buy -1 are recorded no-ops
            (0.0, 0.0, 0.5, 85.0, 85.0),
            (reasoning,) * n,
        ),
        before=port,
        after=port,
        portfolio_return=0.0,
        prices=Prices(
            (*order, "SHY", "TLT"), (20.0, 10.5, 5.0, 80.0, 90.0), (21.0, 11.0, 5.5, 81.0, 91.0)
        ),
        long_exposure=22.0,
        short_exposure=0.0,
        gross_exposure=22.0,
        net_exposure=22.0,
        model_name="m",
        model_provider="p",
        selected_analysts=("technical_analyst",),
        screen_mode=True,
        eligible=order,
        trade_tickers=(*order, "SHY", "TLT"),
        trade_qty=(0,) * n,
        repl_new=(),
        repl_victim=(),
    )


def episode_json(date: str, **kw) -> dict:
    return episode_to_dict(episode(date, **kw))


def write_day(folder: Path, data: dict, name: str | None = None) -> Path:
    """Write one episode dict as the recorder did (bare NaN literal, indent 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"episode_{data['date']}.json")
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def write_days(folder: Path, dates=DATES, **kw) -> list[Path]:
    return [write_day(folder, episode_json(d, **kw)) for d in dates]
