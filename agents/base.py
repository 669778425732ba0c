"""The DecisionMaker protocol and the DayView it decides on: what is known before the open of t."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from simulator.kernels.records import Orders

__all__ = ["DayView", "DecisionMaker", "empty_orders", "concat_orders", "readonly"]


@dataclass(frozen=True, slots=True, eq=False)
class DayView:
    """Everything a decision maker may use for day ``t``; all of it is known before the open of t.

    The loop (``simulator/loop.py``) builds it; arrays are read-only. K is the Panel's ticker axis.

    Attributes
    ----------
    t : int
        Day index.
    k_idx, pred : np.ndarray
        int32[m] tickers with a model prediction and float64[m] their predicted returns (empty
        for strategies that need none). A ticker without a prediction is held, never guessed.
    candidates : np.ndarray
        int32[c] the day's served tickers: by default the consensus tickers (the risk manager's
        list of the episode the information set allows, in the universe of t); with
        ``replay.universe: eligible`` the whole screened universe of t with data
        (``models.infoset.ServingUniverse``). The random strategy draws among them.
    tradable : np.ndarray
        [K] bool, may be opened today: in the universe of t, priced at close(t−1), not a bond,
        not being closed by position sync.
    prev_close : np.ndarray
        [K] float64 close(t−1), the sizing price (NaN where unknown).
    risk_frac : np.ndarray
        [K] float64 the risk manager's remaining position limit as a fraction of its base
        (``risk_limit / risk_base`` of the allowed episode, clipped to [0, 1]; NaN = no limit
        known, so the ticker is not opened). The cap on a new position's notional is
        ``risk_frac * nav``: the recorded fraction applied to the simulated book's value.
    nav : float
        The simulated book's NAV at close(t−1) (initial cash on the first day).
    cash : float
        Cash before the open of t.
    long, short : np.ndarray
        [K] int64 shares held before the open (read-only views of the book).
    closing : np.ndarray
        [K] bool, positions that position sync closes at this open (before any decision).
    is_bond : np.ndarray
        [K] bool, SHY and TLT (outside the position cap; the loop runs the bond sleeve).
    """

    t: int
    k_idx: np.ndarray
    pred: np.ndarray
    candidates: np.ndarray
    tradable: np.ndarray
    prev_close: np.ndarray
    risk_frac: np.ndarray
    nav: float
    cash: float
    long: np.ndarray
    short: np.ndarray
    closing: np.ndarray
    is_bond: np.ndarray


@runtime_checkable
class DecisionMaker(Protocol):
    """Turns a DayView into the day's stock Orders (executed at the open, in array order).

    ``needs_predictions``: the loop must call the model for each day. ``trades_bonds``: the loop
    runs the bond sleeve (``replay.bond_sleeve``) after this strategy's orders.
    """

    name: str
    needs_predictions: bool
    trades_bonds: bool

    def decide(self, view: DayView) -> Orders: ...


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (the book stays writable for its owner)."""
    v = a.view()
    v.flags.writeable = False
    return v


def empty_orders() -> Orders:
    """Orders with no rows."""
    return Orders(
        np.empty(0, np.int32),
        np.empty(0, np.int8),
        np.empty(0, np.int64),
        np.empty(0, np.int8),
        np.empty(0, np.int32),
    )


def concat_orders(*parts: Orders) -> Orders:
    """Orders of ``parts`` one after the other (execution order is array order)."""
    if not parts:
        return empty_orders()
    return Orders(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))
