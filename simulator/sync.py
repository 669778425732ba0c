"""Keeping a simulated book in step with the recording: position sync and the bond sleeve.

Position sync runs at the open of day t, before any decision; the bond sleeve runs after the
strategy's stock orders. Both are sized and decided with information known before the open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from episodes.panel import Panel
from simulator.kernels.records import BUY, COVER, R_DECISION, R_SYNC, SELL, Orders

__all__ = [
    "SyncPlan",
    "SyncStats",
    "plan_sync",
    "bond_orders",
    "sync_stats",
    "baseline_bond_weights",
]

SYNC_MODES = ("eligible", "mirror")


@dataclass(frozen=True, slots=True, eq=False)
class SyncPlan:
    """The position-sync closes of one day.

    ``orders`` are R_SYNC sells/covers (one row per side closed, ticker order); ``price`` is the
    [K] fill price to use for them: open(t), or the ticker's last recorded close where it has no
    price on t (``stale`` [n] marks those rows). ``closing`` [K] marks every ticker being closed;
    ``mirrored`` [n] marks rows closed only because the baseline closed (``sync: mirror``).
    """

    orders: Orders
    price: np.ndarray
    stale: np.ndarray
    mirrored: np.ndarray
    closing: np.ndarray


@dataclass(frozen=True, slots=True)
class SyncStats:
    """Position-sync counts over a run (rows of fills, one per side closed) and their P&L."""

    n_closes: int  # every R_SYNC fill with shares
    n_universe: int  # the ticker left the universe (or had no open price) on t
    n_stale: int  # of which closed at the last recorded close (no price at all on t)
    n_mirror: int  # closed because the baseline fully closed its side the day before
    pnl: float  # realized gains of the sync closes, net of fees


def plan_sync(
    panel: Panel,
    t: int,
    long: np.ndarray,
    short: np.ndarray,
    last_close: np.ndarray,
    mode: str = "eligible",
) -> SyncPlan:
    """Sync closes for day ``t`` of the book ``(long, short)`` [K].

    Rules: (1) a stock position in a ticker outside ``panel.eligible[t]`` (or without an open
    price on t) is closed in full, both sides, at open(t) when that price exists, else at
    ``last_close`` [K] (the last recorded close before t) and flagged ``stale``; (2) with
    ``mode="mirror"`` a side is also closed at open(t) when the baseline closed that whole side on
    day t−1 (``long_before[t−1] > 0 == long_after[t−1]``). Lagged one day on purpose: the
    baseline's book after day t holds the LLM's decisions of t, taken having seen close(t) (shared
    README §6), so following them at open(t) would be look-ahead in every information set.
    """
    if mode not in SYNC_MODES:
        raise ValueError(f"mode={mode!r}, expected one of {SYNC_MODES}")
    stock = ~panel.is_bond
    px_open = panel.open[t]
    exit_ = stock & ((long > 0) | (short > 0)) & ~(panel.eligible[t] & np.isfinite(px_open))
    sell = exit_ & (long > 0)
    cover = exit_ & (short > 0)
    msell = np.zeros_like(sell)
    mcover = np.zeros_like(cover)
    if mode == "mirror" and t > 0:
        s = t - 1  # the baseline's last finished day: known before the open of t
        msell = (
            stock & ~exit_ & (long > 0) & (panel.long_before[s] > 0) & (panel.long_after[s] == 0)
        )
        mcover = (
            stock & ~exit_ & (short > 0) & (panel.short_before[s] > 0) & (panel.short_after[s] == 0)
        )
    ks_l = np.flatnonzero(sell | msell)
    ks_s = np.flatnonzero(cover | mcover)
    k = np.concatenate([ks_l, ks_s]).astype(np.int32)
    act = np.concatenate([np.full(len(ks_l), SELL), np.full(len(ks_s), COVER)]).astype(np.int8)
    qty = np.concatenate([long[ks_l], short[ks_s]]).astype(np.int64)
    order = np.lexsort((act, k))  # ticker order, sell before cover
    k, act, qty = k[order], act[order], qty[order]
    stale_k = exit_ & ~np.isfinite(px_open)
    price = np.where(stale_k, last_close, px_open)
    n = len(k)
    orders = Orders(k, act, qty, np.full(n, R_SYNC, np.int8), np.full(n, -1, np.int32))
    return SyncPlan(orders, price, stale_k[k], ~exit_[k], exit_ | msell | mcover)


def baseline_bond_weights(panel: Panel) -> np.ndarray:
    """[T, K] weight of each bond in the baseline's NAV at close(t−1) (0 for stocks and day 0).

    ``w[t, b] = long_before[t, b] * close[t−1, b] / NAV_before[t]`` with ``NAV_before = cash_before
    + margin_before + Σ (long_before − short_before) * close[t−1]``: the baseline's book before t,
    valued at the last close, all known before the open of t (0 where that NAV is not > 0).
    """
    w = np.zeros(panel.open.shape)
    px = panel.close[:-1]
    lb, sb = panel.long_before[1:], panel.short_before[1:]
    held = (lb > 0) | (sb > 0)
    net = np.where(held, (lb - sb) * np.where(held, px, 0.0), 0.0)
    nav = panel.cash_before[1:] + panel.margin_before[1:] + np.nansum(net, axis=1)
    b = np.flatnonzero(panel.is_bond)
    with np.errstate(invalid="ignore", divide="ignore"):
        wb = np.nan_to_num(lb[:, b] * px[:, b] / nav[:, None])
    w[1:, b] = np.where(nav[:, None] > 0, wb, 0.0)
    return w


def bond_orders(
    weights: np.ndarray, long: np.ndarray, nav: float, prev_close: np.ndarray, is_bond: np.ndarray
) -> Orders:
    """Bond-sleeve orders of one day (``bond_sleeve: mirror``): hold the baseline's bond weights.

    Target shares of bond b: ``int(weights[b] * nav / prev_close[b])``, with ``weights`` the
    day's row of ``baseline_bond_weights`` and ``nav`` the simulated NAV at close(t−1); the order
    is the difference from ``long[b]`` (sells first, then buys). Never the recorded SHY/TLT
    orders: those were sized for the LLM's book with close(t).
    """
    rows: list[tuple[int, int, int]] = []
    for b in np.flatnonzero(is_bond):
        p = prev_close[b]
        if not (np.isfinite(p) and p > 0 and nav > 0):
            continue
        diff = int(weights[b] * nav / p) - int(long[b])
        if diff != 0:
            rows.append((int(b), SELL if diff < 0 else BUY, abs(diff)))
    rows.sort(key=lambda r: (r[1] != SELL, r[0]))
    n = len(rows)
    return Orders(
        np.array([r[0] for r in rows], np.int32),
        np.array([r[1] for r in rows], np.int8),
        np.array([r[2] for r in rows], np.int64),
        np.full(n, R_DECISION, np.int8),
        np.full(n, -1, np.int32),
    )


def sync_stats(fills: np.ndarray, n_stale: int, n_mirror: int) -> SyncStats:
    """Summary of a run's R_SYNC fills; ``n_stale`` and ``n_mirror`` are counted by the loop."""
    s = fills[(fills["reason"] == R_SYNC) & (fills["qty"] > 0)]
    return SyncStats(
        n_closes=len(s),
        n_universe=len(s) - n_mirror,
        n_stale=n_stale,
        n_mirror=n_mirror,
        pnl=float(s["realized"].sum()),
    )
