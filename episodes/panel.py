"""Panel: the store as dense day x ticker arrays, the one input of replay, features and reports.

Index conventions: day ``t`` in ``0..T-1`` (chronological), ticker ``k`` in ``0..K-1`` over
``tickers`` (stocks sorted, then ``SHY``, ``TLT``). Arrays are ``[t, k]``; ragged per-day lists are
``(ptr[T+1], values[n])`` pairs: day t's entries are ``values[ptr[t]:ptr[t+1]]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["Panel", "ANALYSTS", "BONDS", "slice_panel"]

# The six ticker analysts, in a fixed order (axis 0 of the signal arrays).
ANALYSTS = (
    "technical_analyst_agent",
    "sentiment_agent",
    "fundamentals_agent",
    "valuation_agent",
    "warren_buffett_agent",
    "bill_ackman_agent",
)
BONDS = ("SHY", "TLT")


@dataclass(frozen=True, eq=False)
class Panel:
    """Dense arrays of every episode in a store (see module docstring for the index conventions).

    Information timing (shared README §6): ``open``, ``eligible``/``order``, ``*_before`` are known
    at the open of t; everything from agents (``signal``, ``confidence``, ``risk_*``, allocations,
    ``vix``), ``action``/``quantity``, ``close`` and every ``*_after`` are NOT (they may contain the
    close of t). Features must respect this; replay of recorded decisions may use them.
    """

    dates: np.ndarray  # [T] datetime64[D]
    tickers: np.ndarray  # [K] object (str): stocks sorted, then SHY, TLT
    is_bond: np.ndarray  # [K] bool

    # universe and execution order
    order_ptr: np.ndarray  # [T+1] int64
    order_idx: np.ndarray  # [n] int32: eligible_tickers in recorded order, then SHY, TLT
    eligible: np.ndarray  # [T, K] bool: in metadata.eligible_tickers (stocks only)

    # prices (NaN where the day has no price for k)
    open: np.ndarray  # [T, K] float64 execution price = open of t
    close: np.ndarray  # [T, K] float64 evaluation price = close of t

    # six analysts, axis 0 in ANALYSTS order
    has_signal: np.ndarray  # [6, T, K] bool: the analyst covered k on t
    signal: np.ndarray  # [6, T, K] int8: +1 bullish, -1 bearish, 0 neutral/absent
    confidence: np.ndarray  # [6, T, K] float64: raw recorded value, NaN if absent or recorded NaN

    # risk manager (covers consensus tickers + open positions)
    on_risk: np.ndarray  # [T, K] bool
    risk_limit: np.ndarray  # [T, K] float64 remaining_position_limit (NaN if absent)
    risk_base: np.ndarray  # [T] float64 reasoning.portfolio_value (the limit's base; = cash before)
    risk_price: np.ndarray  # [T, K] float64 current_price (= close of t: a leak, audit only)
    strength: np.ndarray  # [T, K] float64 consensus strength §5.4 (risk manager = neutral vote)

    # portfolio agents (daily)
    macro_stock_alloc: np.ndarray  # [T]
    fwd_stock_alloc: np.ndarray  # [T]
    vix: np.ndarray  # [T]

    # recorded LLM decisions (missing ticker = hold 0)
    has_decision: np.ndarray  # [T, K] bool
    action: np.ndarray  # [T, K] int8 (simulator.kernels.records codes)
    quantity: np.ndarray  # [T, K] int64

    # recorded books; *_before[t] == *_after[t-1]; before[0] is the first episode's portfolio_before
    cash_before: np.ndarray  # [T]
    cash_after: np.ndarray  # [T]
    margin_before: np.ndarray  # [T] portfolio margin_requirement (= margin used)
    margin_after: np.ndarray  # [T]
    long_before: np.ndarray  # [T, K] int64
    short_before: np.ndarray  # [T, K] int64
    long_after: np.ndarray  # [T, K] int64
    short_after: np.ndarray  # [T, K] int64
    lcb_after: np.ndarray  # [T, K] float64 long cost basis
    scb_after: np.ndarray  # [T, K] float64 short cost basis
    smu_after: np.ndarray  # [T, K] float64 short margin used
    rg_long_after: np.ndarray  # [T, K] float64 cumulative realized gains, long side
    rg_short_after: np.ndarray  # [T, K] float64
    lcb_before0: np.ndarray  # [K] first day's before-state (the rest is *_after[t-1])
    scb_before0: np.ndarray  # [K]
    smu_before0: np.ndarray  # [K]
    rg_long_before0: np.ndarray  # [K]
    rg_short_before0: np.ndarray  # [K]

    # recorded outcomes (daily)
    portfolio_return: np.ndarray  # [T]
    long_exposure: np.ndarray  # [T]
    short_exposure: np.ndarray  # [T]
    gross_exposure: np.ndarray  # [T]
    net_exposure: np.ndarray  # [T]

    # ragged: metadata.executed_trades in recorded key order, position_replacements in event order
    trade_ptr: np.ndarray  # [T+1]
    trade_k: np.ndarray  # [n] int32
    trade_qty: np.ndarray  # [n] int64
    repl_ptr: np.ndarray  # [T+1]
    repl_new_k: np.ndarray  # [n] int32 newcomer
    repl_victim_k: np.ndarray  # [n] int32 replaced ticker

    @property
    def n_days(self) -> int:
        return len(self.dates)

    @property
    def n_tickers(self) -> int:
        return len(self.tickers)

    def order(self, t: int) -> np.ndarray:
        """Execution order of day t (ticker indices): eligible tickers as recorded, SHY, TLT."""
        return self.order_idx[self.order_ptr[t] : self.order_ptr[t + 1]]

    def ticker_index(self) -> dict[str, int]:
        return {str(tk): k for k, tk in enumerate(self.tickers)}


_RAGGED = {"order_ptr": ("order_idx",), "trade_ptr": ("trade_k", "trade_qty")}
_RAGGED["repl_ptr"] = ("repl_new_k", "repl_victim_k")
_BEFORE0 = ("lcb", "scb", "smu", "rg_long", "rg_short")  # *_before0 = *_after of the day before
_PER_TICKER = ("tickers", "is_bond")


def slice_panel(panel: Panel, days: range) -> Panel:
    """The Panel of the days ``days`` (a step-1 range inside ``0..T-1``) as if the store held only
    them, with the book state before its first day: ``*_before0`` = ``*_after`` of the day before
    (the chain is validated at ingest). Day ``t`` of the result is day ``days.start + t``.

    Equal to the Panel of a store ingested from those days alone, on its tickers
    (``tests/unit/episodes/test_slice_panel.py``).
    """
    a, b = days.start, days.stop
    if days.step != 1 or not 0 <= a <= b <= panel.n_days:
        raise ValueError(f"slice_panel: days={days} (expected a step-1 range in 0..{panel.n_days})")
    out: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(panel):
        name, v = f.name, getattr(panel, f.name)
        if name in _PER_TICKER or name.endswith("_before0") or _is_ragged_value(name):
            continue
        if name in _RAGGED:
            lo, hi = int(v[a]), int(v[b])
            out[name] = v[a : b + 1] - lo
            for vals in _RAGGED[name]:
                out[vals] = getattr(panel, vals)[lo:hi]
        elif name in ("has_signal", "signal", "confidence"):
            out[name] = v[:, a:b]
        else:
            out[name] = v[a:b]
    for short in _BEFORE0:
        out[f"{short}_before0"] = (
            getattr(panel, f"{short}_after")[a - 1] if a > 0 else getattr(panel, f"{short}_before0")
        )
    return dataclasses.replace(panel, **out)


def _is_ragged_value(name: str) -> bool:
    return any(name in vals for vals in _RAGGED.values())
