"""Exports for other tools: per-ticker daily holdings (pyfolio/quantstats shape), units, versions.

These are *new* files beside a run's exports; the existing files keep their bytes.

* ``holdings_shares.csv``: date x ticker, signed shares after the close (long > 0, short < 0).
* ``holdings_value.csv``: date x ticker, signed money value at the close (shares x close) plus a
  ``cash`` column, so that each row sums to the NAV — the ``positions`` frame pyfolio's
  ``create_full_tear_sheet(returns, positions=...)`` and quantstats expect.
* ``units.json``: the unit of every summary.json metric and every export column.
* ``versions.json``: library versions, with torch when a model served the run (its predictions
  came from torch, live or saved) or torch is already imported.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pyarrow as pa

from simulator.core.versions import library_versions
from simulator.runs import RunOutput

__all__ = ["UNITS", "holdings_tables", "run_versions", "units"]

UNITS: dict[str, dict[str, str]] = {
    "summary": {
        "initial_nav": "money", "final_nav": "money", "fees_paid": "money",
        "notional_traded": "money", "fills": "count", "days": "trading days",
    },
    "metrics": {
        "total_return": "fraction (0.05 = 5%)", "cagr": "fraction per year (252 days)",
        "ann_vol": "fraction per year (daily std x sqrt 252)", "sharpe": "ratio, annualised",
        "sortino": "ratio, annualised", "max_drawdown": "fraction (negative)",
        "calmar": "ratio", "daily_win_rate": "fraction of days",
        "turnover": "traded notional / mean NAV over the run (not annualised)",
        "fees_paid": "money", "n_trades": "count", "avg_positions": "count",
    },
    "equity.csv": {
        "nav": "money", "cash": "money", "long_exposure": "money", "short_exposure": "money",
        "gross_exposure": "money", "net_exposure": "money", "daily_return": "fraction",
    },
    "trades.csv": {"filled_qty": "shares", "price": "money per share", "notional": "money",
                   "fee": "money", "realized": "money"},
    "holdings_shares.csv": {"<ticker>": "shares (signed: short < 0)"},
    "holdings_value.csv": {"<ticker>": "money (signed: short < 0)",
                           "cash": "money (NAV - sum of ticker values; includes short margin)"},
}  # fmt: skip
"""Units of the exported numbers (units.json); keys absent here are dimensionless or text."""


def units(summary_metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """``UNITS``, with the metric units restricted to the keys a run actually reports."""
    out = {k: dict(v) for k, v in UNITS.items()}
    if summary_metrics is not None:
        out["metrics"] = {k: v for k, v in out["metrics"].items() if k in summary_metrics}
    return out


def run_versions(packages: tuple[str, ...], *, models: bool = False) -> dict[str, str]:
    """``library_versions(packages)`` plus torch when ``models`` (a model served the run: saved
    predictions came from torch without importing it here) or this process has imported it."""
    extra = ("torch",) if models or "torch" in sys.modules else ()
    return library_versions((*packages, *extra))


def holdings_tables(run: RunOutput, close: np.ndarray) -> dict[str, pa.Table]:
    """Shares and values after each day's close, by ticker held at least once.

    ``close`` is the [T, K] close panel indexed by ``run.days`` x ticker. Values follow the books'
    mark: a ticker without a usable close contributes 0, and ``cash = nav - sum(values)``, so every
    row of ``holdings_value.csv`` sums to the NAV of ``equity.csv``.
    """
    shares = _shares(run)
    held = np.flatnonzero((shares != 0).any(axis=0))
    # only the held columns are read (a mapped close stays on disk: simulator.panel_map)
    px = np.asarray(close[np.ix_(np.asarray(run.days), held)], dtype=np.float64)
    value = np.where(shares[:, held] != 0, shares[:, held] * np.nan_to_num(px), 0.0)
    names = [str(run.tickers[k]) for k in held]
    dates = pa.array(np.asarray(run.dates, "datetime64[D]"))
    nav = np.asarray(run.marks.nav, dtype=np.float64)
    cash = nav - value.sum(axis=1) if len(held) else nav
    sh = {"date": dates} | {n: shares[:, k] for n, k in zip(names, held, strict=True)}
    val = {"date": dates} | {n: value[:, j] for j, n in enumerate(names)} | {"cash": cash}
    return {"holdings_shares.csv": pa.table(sh), "holdings_value.csv": pa.table(val)}


def _shares(run: RunOutput) -> np.ndarray:
    """[n, K] int64 signed shares after each day, from the fills' ``long_after``/``short_after``."""
    n, n_k = len(run.days), len(run.tickers)
    out = np.zeros((n, n_k), dtype=np.int64)
    f = run.fills
    if n == 0 or len(f) == 0:
        return out
    row = np.searchsorted(np.asarray(run.days), f["day"])
    last = np.full((n, n_k), -1, dtype=np.int64)
    np.maximum.at(last, (row, f["k"]), np.arange(len(f)))  # the day's last fill row per ticker
    net = (f["long_after"] - f["short_after"]).astype(np.int64)
    # fill rows run in day order, so the running max is the last fill row up to each day: it
    # carries each ticker's position forward over the days without a fill (in place: one [n, K])
    np.maximum.accumulate(last, axis=0, out=last)
    none = last < 0
    np.maximum(last, 0, out=last)
    out = net[last]
    out[none] = 0
    return out
