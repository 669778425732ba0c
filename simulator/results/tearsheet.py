"""The tearsheet's numbers: exposures, turnover, worst drawdowns, trade list, window IC t-stats.

Pure pandas on loaded runs (`simulator.results.compare.Run`), shared by the interactive report
and the app. Every series is indexed by date; money stays money, fractions stay fractions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.results.compare import Run
from simulator.results.metrics import drawdown_series

__all__ = ["exposures", "turnover_series", "worst_drawdowns", "trade_list", "window_ic"]

TURNOVER_WINDOW = 21
"""Days summed by ``turnover_series`` (a trading month)."""


def exposures(run: Run, dates: pd.DatetimeIndex) -> pd.DataFrame | None:
    """Gross and net exposure as fractions of NAV (long + short, long − short), by date."""
    b = run.book
    if b is None or not {"nav", "long_exposure", "short_exposure"} <= set(b.columns):
        return None
    b = b.reindex(dates)
    nav = b["nav"].astype(float)
    return pd.DataFrame(
        {
            "gross": (b["long_exposure"] + b["short_exposure"]) / nav,
            "net": (b["long_exposure"] - b["short_exposure"]) / nav,
        },
        index=dates,
    )


def turnover_series(
    run: Run, dates: pd.DatetimeIndex, window: int = TURNOVER_WINDOW
) -> pd.Series | None:
    """Traded notional over the trailing ``window`` days / that day's NAV (not annualised)."""
    if run.trades is None or run.book is None or "nav" not in run.book:
        return None
    t = run.trades
    notional = t["notional"].abs().groupby(pd.DatetimeIndex(t["date"])).sum()
    daily = notional.reindex(dates, fill_value=0.0)
    return daily.rolling(window, min_periods=1).sum() / run.book["nav"].reindex(dates)


def worst_drawdowns(returns: pd.Series, n: int = 5) -> pd.DataFrame:
    """The ``n`` deepest drawdown periods: peak, trough, recovery (NaT if none), depth, days.

    Examples
    --------
    >>> r = pd.Series([0.1, -0.2, 0.3, -0.05, 0.0], index=pd.date_range("2024-01-01", periods=5))
    >>> w = worst_drawdowns(r)
    >>> w["depth"].round(3).tolist(), w["recovery"].isna().tolist(), w["days"].tolist()
    ([-0.2, -0.05], [False, True], [2, 2])
    >>> [str(d.date()) for d in w["peak"]], [str(d.date()) for d in w["trough"]]
    (['2024-01-01', '2024-01-03'], ['2024-01-02', '2024-01-04'])
    """
    dd = drawdown_series(returns)
    rows, start = [], None
    for i, (day, value) in enumerate(dd.items()):
        if value < 0 and start is None:
            start = i
        if start is not None and (value >= 0 or i == len(dd) - 1):
            seg = dd.iloc[start : i + (value < 0)]
            peak = dd.index[start - 1] if start > 0 else dd.index[start]
            recovered = value >= 0
            rows.append(
                {
                    "peak": peak,
                    "trough": seg.idxmin(),
                    "recovery": day if recovered else pd.NaT,
                    "depth": float(seg.min()),
                    "days": int(i - start + 1) if recovered else int(len(dd) - start),
                }
            )
            start = None
    cols = ["peak", "trough", "recovery", "depth", "days"]
    out = pd.DataFrame(rows, columns=cols).sort_values("depth", kind="stable").head(n)
    return out.reset_index(drop=True)


def trade_list(run: Run, limit: int = 2000) -> tuple[pd.DataFrame, int]:
    """The run's filled trades (date, ticker, action, shares, price, notional, fee), at most
    ``limit`` rows (the latest), and how many were left out."""
    if run.trades is None:
        return pd.DataFrame(), 0
    t = run.trades
    t = t[t["filled_qty"] > 0] if "filled_qty" in t else t
    cols = [c for c in ("date", "ticker", "action", "filled_qty", "price", "notional", "fee",
                        "realized", "reason") if c in t]  # fmt: skip
    left_out = max(0, len(t) - limit)
    return t[cols].tail(limit).reset_index(drop=True), left_out


def window_ic(windows: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per-window IC and rank IC plus a last row ``all``: mean over windows and its t-stat
    (mean / (std / sqrt(n)), ddof = 1) for each of the columns present."""
    if windows is None:
        return None
    cols = [c for c in ("ic", "rank_ic") if c in windows]
    if not cols:
        return None
    out = windows[["window", *cols]].copy()
    summary = {"window": "mean (t-stat)"}
    for c in cols:
        x = out[c].astype(float).dropna().to_numpy()
        sd = float(np.std(x, ddof=1)) if len(x) > 1 else math.nan
        t = float(np.mean(x) / (sd / math.sqrt(len(x)))) if sd and sd > 0 else math.nan
        summary[c] = f"{np.mean(x):.3f} (t={t:.2f})" if len(x) else ""
    out = out.astype({c: object for c in cols})
    return pd.concat([out, pd.DataFrame([summary])], ignore_index=True)
