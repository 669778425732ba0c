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
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from simulator.core.versions import library_versions
from simulator.panel_map import release
from simulator.results.export import Streamed
from simulator.runs import RunOutput

__all__ = ["UNITS", "holdings_streams", "holdings_tables", "run_versions", "units"]

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


HOLDINGS_ROWS = 256  # days of the dense shares x close product computed at a time


def holdings_tables(run: RunOutput, close: np.ndarray) -> dict[str, pa.Table]:
    """Shares and values after each day's close, by ticker held at least once, as whole tables
    (``holdings_streams``' blocks joined: the same values)."""
    return {name: pa.concat_tables(list(s.blocks()))
            for name, s in holdings_streams(run, close).items()}  # fmt: skip


def holdings_streams(run: RunOutput, close: np.ndarray) -> dict[str, Streamed]:
    """Shares and values after each day's close, by ticker held at least once, as tables that
    ``write_csv`` writes ``HOLDINGS_ROWS`` days at a time (``simulator.results.export.Streamed``).

    ``close`` is the [T, K] close panel indexed by ``run.days`` x ticker (a mapped close stays
    valid after its Panel's files are removed: it is read while the files are written). Values
    follow the books' mark: a ticker without a usable close contributes 0, and ``cash = nav -
    sum(values)``, so every row of ``holdings_value.csv`` sums to the NAV of ``equity.csv``. Each
    day's sum is the same reduction over its row as over the whole ``[days, held]`` array (same
    bits); the memory is one block, never a table.
    """
    held_any = np.zeros(len(run.tickers), dtype=bool)
    for _, s_blk in _share_blocks(run, HOLDINGS_ROWS):  # first pass: which tickers are held
        held_any |= (s_blk != 0).any(axis=0)
    held = np.flatnonzero(held_any)
    names = tuple(str(run.tickers[k]) for k in held)
    days, dates = np.asarray(run.days), np.asarray(run.dates, "datetime64[D]")
    nav = np.asarray(run.marks.nav, dtype=np.float64)

    def blocks(values: bool) -> Iterator[pa.Table]:
        none = [(slice(0, 0), np.zeros((0, len(run.tickers)), np.int64))]  # no days: one empty
        for rows, s_all in _share_blocks(run, HOLDINGS_ROWS) if len(dates) else none:
            cols: dict[str, Any] = {"date": pa.array(dates[rows])}
            if not len(held):
                yield pa.table(cols | ({"cash": nav[rows]} if values else {}))
                continue
            s_blk = s_all[:, held]
            if not values:
                s_t = np.ascontiguousarray(s_blk.T)  # ticker-major: Arrow takes rows as is
                yield pa.table(cols | {nm: s_t[j] for j, nm in enumerate(names)})
                continue
            # only the held columns are read (a mapped close stays on disk: simulator.panel_map)
            px = np.asarray(close[np.ix_(days[rows], held)], dtype=np.float64)
            v = np.where(s_blk != 0, s_blk * np.nan_to_num(px), 0.0)
            cash = nav[rows] - v.sum(axis=1)
            v_t = np.ascontiguousarray(v.T)
            release(close)  # a mapped close: the block's pages back (no-op in memory)
            yield pa.table(cols | {nm: v_t[j] for j, nm in enumerate(names)} | {"cash": cash})

    return {
        "holdings_shares.csv": Streamed(("date", *names), lambda: blocks(False)),
        "holdings_value.csv": Streamed(("date", *names, "cash"), lambda: blocks(True)),
    }


def _share_blocks(run: RunOutput, rows: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Signed shares after each day, ``rows`` days at a time: ``(days slice, [len, K] int64)``.

    A day's position of a ticker is the ``long_after - short_after`` of its last fill up to that
    day (fill rows run in day order), 0 before its first: within a block the running max of the
    fill row carries it over days without a fill, and a block starts from the previous block's
    last day. Never a ``[days, K]`` array: one block's."""
    n, n_k = len(run.days), len(run.tickers)
    f = run.fills
    row = np.searchsorted(np.asarray(run.days), f["day"])  # fill -> day row (nondecreasing)
    net = (f["long_after"] - f["short_after"]).astype(np.int64)
    idx = np.int32 if len(f) < 2**31 - 1 else np.int64  # fill rows: half the bytes when they fit
    carry = np.zeros(n_k, dtype=np.int64)
    for a in range(0, n, rows):
        b = min(a + rows, n)
        lo, hi = np.searchsorted(row, [a, b])
        last = np.full((b - a, n_k), -1, dtype=idx)
        np.maximum.at(last, (row[lo:hi] - a, f["k"][lo:hi]), np.arange(lo, hi, dtype=idx))
        np.maximum.accumulate(last, axis=0, out=last)
        none = last < 0
        np.maximum(last, 0, out=last)
        out = np.where(none, carry, net[last] if len(net) else 0)  # no fill yet: the carry
        carry = out[-1]
        yield slice(a, b), out
