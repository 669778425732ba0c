"""LSTMDecisionMaker: predicted returns → the day's stock orders (rank, hysteresis, cap, sizing)."""

from __future__ import annotations

import numpy as np

from agents.base import DayView
from agents.config import DecisionConfig
from agents.neutral import neutral_orders
from simulator.kernels.records import BUY, COVER, R_DECISION, SELL, SHORT, Orders

__all__ = ["LSTMDecisionMaker", "cash_estimate", "clip_to_cash"]


class LSTMDecisionMaker:
    """Long the best, short the worst predicted returns; keep a position while its sign holds.

    The rule for day t (all inputs known before the open, see ``DayView``):

    1. **Close on a flip.** A held long whose prediction is < 0 is sold, a held short whose
       prediction is > 0 is covered, in full. A held ticker without a prediction is held, never
       guessed; positions that position sync closes are left to it.
    2. **Open the strongest.** Tickers not held after step 1, tradable and with a known risk
       limit, ranked by ``|pred|`` (ties: lower ticker index first), longs where
       ``pred > threshold``, shorts where ``pred < −threshold`` (when ``allow_short``); at most
       ``max_positions − kept`` of them, so the books' cap never has to reject or replace.
    3. **Size** each opening at ``nav / max_positions`` (``equal``) or, ``proportional``, the
       same per-opening budget re-split among the day's openings in proportion to ``|pred|``;
       capped by the risk limit ``risk_frac[k] * nav``; integer shares at close(t−1). A long is
       further capped by the cash estimate: cash before the open plus the step-1 closes valued at
       close(t−1) net of fees, minus earlier longs (with fees); a short only needs its fee and
       margin. Short proceeds are not counted as buying power.

    With ``neutral`` (``DecisionConfig.neutral``) the book is market-neutral instead: equal names
    and equal gross long and short, ranked relative to the day's median prediction
    (``agents.neutral``).

    Orders: the closes (sell/cover, ticker order) first, then the openings in rank order, so the
    cash from the closes funds the openings and the strongest openings are funded first. The
    books then fill at the open(t) price with the §5.3 rules (a buy may still be clipped if the
    open gapped up).

    Parameters
    ----------
    cfg : DecisionConfig
        threshold, allow_short, max_positions, sizing.
    fee_rate, margin_rate : float
        The account's costs (``replay.fee_rate``, ``replay.margin_rate``) for the cash estimate.
    """

    name = "lstm"
    needs_predictions = True
    trades_bonds = True

    def __init__(self, cfg: DecisionConfig, *, fee_rate: float, margin_rate: float) -> None:
        cfg.resolved_cap()  # refuses an unresolved cap before any day
        self.cfg = cfg
        self.fee_rate = float(fee_rate)
        self.margin_rate = float(margin_rate)

    def decide(self, view: DayView) -> Orders:
        """The day's stock orders (closes, then openings); see the class docstring for the rule."""
        if self.cfg.neutral:
            return neutral_orders(self, view)
        n_k = len(view.long)
        pred = np.full(n_k, np.nan)
        pred[view.k_idx] = view.pred
        stock = ~view.is_bond & ~view.closing
        sell = stock & (view.long > 0) & (pred < 0)
        cover = stock & (view.short > 0) & (pred > 0)
        held = stock & (((view.long > 0) & ~sell) | ((view.short > 0) & ~cover))
        free = max(self.cfg.max_positions - int(held.sum()), 0)
        # flat after the closes: a long sold on a flip may open short today, and vice versa
        flat = ((view.long <= 0) | sell) & ((view.short <= 0) | cover)
        close_k = np.flatnonzero(sell | cover).astype(np.int32)
        close_act = np.where(sell[close_k], SELL, COVER).astype(np.int8)
        close_qty = np.where(sell[close_k], view.long[close_k], view.short[close_k])
        open_k, open_act = self._rank(view, pred, flat, free)
        open_qty = self._size(view, pred, open_k, open_act, close_k, close_qty, close_act)
        keep = open_qty > 0
        k = np.concatenate([close_k, open_k[keep]]).astype(np.int32)
        act = np.concatenate([close_act, open_act[keep]]).astype(np.int8)
        qty = np.concatenate([close_qty, open_qty[keep]]).astype(np.int64)
        return Orders(
            k, act, qty, np.full(len(k), R_DECISION, np.int8), np.full(len(k), -1, np.int32)
        )

    def _rank(
        self, view: DayView, pred: np.ndarray, flat: np.ndarray, free: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Openings: (tickers, actions) of the ``free`` strongest predictions among flat tickers."""
        thr = self.cfg.threshold
        ok = view.tradable & flat
        ok &= np.isfinite(view.risk_frac) & (view.risk_frac > 0)
        ok &= np.isfinite(view.prev_close) & (view.prev_close > 0)
        go_long = ok & (pred > thr)
        go_short = ok & (pred < -thr) & self.cfg.allow_short
        cand = np.flatnonzero(go_long | go_short)
        order = np.lexsort((cand, -np.abs(pred[cand])))[:free]
        ks = cand[order].astype(np.int32)
        return ks, np.where(go_long[ks], BUY, SHORT).astype(np.int8)

    def _size(
        self,
        view: DayView,
        pred: np.ndarray,
        open_k: np.ndarray,
        open_act: np.ndarray,
        close_k: np.ndarray,
        close_qty: np.ndarray,
        close_act: np.ndarray,
    ) -> np.ndarray:
        """Integer shares of each opening (0 = dropped): budget, risk cap, cash cap."""
        nav = float(view.nav)
        if len(open_k) == 0 or not nav > 0:
            return np.zeros(len(open_k), np.int64)
        per_slot = nav / self.cfg.max_positions
        if self.cfg.sizing == "proportional":
            w = np.abs(pred[open_k])
            budget = (
                per_slot * len(open_k) * w / w.sum() if w.sum() > 0 else np.full(len(w), per_slot)
            )
        else:
            budget = np.full(len(open_k), per_slot)
        price = view.prev_close[open_k]
        notional = np.minimum(budget, view.risk_frac[open_k] * nav)
        qty = np.floor(notional / price).astype(np.int64)
        cash = cash_estimate(view, close_k, close_qty, close_act, self.fee_rate)
        return clip_to_cash(qty, price, open_act, cash, self.fee_rate, self.margin_rate)


def cash_estimate(
    view: DayView, close_k: np.ndarray, close_qty: np.ndarray, close_act: np.ndarray, fee: float
) -> float:
    """Cash before the open plus the day's sells/covers (``close_*``) and position sync's closes,
    valued at close(t−1) net of fees: the buying power a decision may spend."""
    cp = view.prev_close[close_k] * close_qty
    cash = float(view.cash) + float(
        np.sum(np.where(close_act == SELL, cp * (1 - fee), -cp * (1 + fee)))
    )
    return cash + _sync_cash(view, fee)


def clip_to_cash(
    qty: np.ndarray, price: np.ndarray, act: np.ndarray, cash: float, fee: float, margin: float
) -> np.ndarray:
    """``qty`` (in place) clipped in array order by ``cash``: a buy costs price·(1 + fee), a
    short only its fee and margin, price·(margin + fee); short proceeds are not buying power."""
    for i in range(len(qty)):
        unit = price[i] * (1 + fee) if act[i] == BUY else price[i] * (margin + fee)
        if unit > 0:
            qty[i] = min(qty[i], int(np.floor(cash / unit)) if cash > 0 else 0)
            cash -= qty[i] * unit
    return qty


def _sync_cash(view: DayView, c: float) -> float:
    """Cash estimate of the positions that position sync closes (at close(t−1), net of fees)."""
    ks = np.flatnonzero(view.closing & ~view.is_bond)
    if len(ks) == 0:
        return 0.0
    p = np.where(np.isfinite(view.prev_close[ks]), view.prev_close[ks], 0.0)
    return float(np.sum(view.long[ks] * p * (1 - c) - view.short[ks] * p * (1 + c)))
