"""PortfolioDecisionMaker: target weights of NAV (``lstm-portfolio``) → the day's stock orders."""

from __future__ import annotations

import numpy as np

from agents.base import DayView, empty_orders
from agents.config import DecisionConfig
from agents.lstm import cash_estimate, clip_to_cash
from simulator.kernels.records import BUY, COVER, R_DECISION, SELL, SHORT, Orders

__all__ = ["PortfolioDecisionMaker"]


class PortfolioDecisionMaker:
    """Trade the book toward the model's target weights on rebalance days.

    The rule for day t (inputs known before the open, see ``DayView``); ``pred`` is the weight
    of NAV of each of the day's consensus tickers (> 0 long, < 0 short):

    1. **Rebalance days only**: ``t % rebalance == 0`` (the weight map's own schedule,
       ``model.portfolio.rebalance``); other days no orders.
    2. **Targets**: ``floor(|w| * nav / close(t−1))`` shares on w's side, 0 on the other; a held
       stock without a weight (not among the day's consensus tickers) has target 0. A position
       may not grow beyond the risk limit ``risk_frac * nav`` nor on an untradable ticker (it is
       never forced smaller by them). Without a usable close(t−1) a position is only closed
       (weight 0 or the other side), never resized.
    3. **Reductions** (sell/cover down to target, ticker order), then **increases** (buy/short up
       to target) in order of ``|w|`` (ties: lower ticker index); new positions at most
       ``max_positions`` minus those still held, so the books' cap never rejects; a long is
       clipped by ``agents.lstm.cash_estimate`` / ``clip_to_cash`` (the LSTM rule's cash).

    ``threshold``, ``allow_short`` and ``sizing`` of ``DecisionConfig`` do not apply: the weight
    map decides side and size.
    """

    name = "lstm-portfolio"
    needs_predictions = True
    trades_bonds = True

    def __init__(
        self, cfg: DecisionConfig, *, rebalance: int, fee_rate: float, margin_rate: float
    ) -> None:
        self.cap = cfg.resolved_cap()
        if rebalance < 1:
            raise ValueError(f"rebalance={rebalance}, expected >= 1")
        self.rebalance = int(rebalance)
        self.fee_rate = float(fee_rate)
        self.margin_rate = float(margin_rate)

    def targets(self, view: DayView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(w, long target, short target)`` [K] of the day (rule step 2)."""
        n_k = len(view.long)
        w = np.zeros(n_k)
        w[view.k_idx] = view.pred
        nav, price = float(view.nav), view.prev_close
        ok = np.isfinite(price) & (price > 0)
        px = np.where(ok, price, 1.0)
        want_l = np.where(ok, np.floor(np.maximum(w, 0) * max(nav, 0.0) / px), 0).astype(np.int64)
        want_s = np.where(ok, np.floor(np.maximum(-w, 0) * max(nav, 0.0) / px), 0).astype(np.int64)
        risk = np.where(np.isfinite(view.risk_frac) & ok, view.risk_frac, 0.0)
        room = np.floor(np.maximum(risk, 0.0) * max(nav, 0.0) / px).astype(np.int64)
        room = np.where(view.tradable, room, 0)
        tl = np.minimum(want_l, np.maximum(view.long, room))
        ts = np.minimum(want_s, np.maximum(view.short, room))
        tl = np.where(ok, tl, np.where(w > 0, view.long, 0))
        ts = np.where(ok, ts, np.where(w < 0, view.short, 0))
        return w, tl, ts

    def decide(self, view: DayView) -> Orders:
        """The day's stock orders (reductions, then increases); see the class docstring."""
        if view.t % self.rebalance != 0:
            return empty_orders()
        w, tl, ts = self.targets(view)
        stock = ~view.is_bond & ~view.closing
        sell = np.where(stock, np.maximum(view.long - tl, 0), 0)
        cover = np.where(stock, np.maximum(view.short - ts, 0), 0)
        close_k = np.flatnonzero((sell > 0) | (cover > 0)).astype(np.int32)
        close_act = np.where(sell[close_k] > 0, SELL, COVER).astype(np.int8)
        close_qty = np.where(sell[close_k] > 0, sell[close_k], cover[close_k])
        both = close_k[(sell[close_k] > 0) & (cover[close_k] > 0)]  # never both held: defensive
        close_k, close_act, close_qty = _add(close_k, close_act, close_qty, both, COVER, cover)
        held = ((view.long - sell) > 0) | ((view.short - cover) > 0)
        buy = np.where(stock, np.maximum(tl - view.long, 0), 0)
        short = np.where(stock, np.maximum(ts - view.short, 0), 0)
        cand = np.flatnonzero((buy > 0) | (short > 0))
        cand = cand[np.lexsort((cand, -np.abs(w[cand])))]
        new = ~held[cand]
        keep = ~new | (np.cumsum(new) <= max(self.cap - int((held & stock).sum()), 0))
        open_k = cand[keep].astype(np.int32)
        open_act = np.where(buy[open_k] > 0, BUY, SHORT).astype(np.int8)
        open_qty = np.where(buy[open_k] > 0, buy[open_k], short[open_k]).astype(np.int64)
        cash = cash_estimate(view, close_k, close_qty, close_act, self.fee_rate)
        price = view.prev_close[open_k]
        open_qty = clip_to_cash(open_qty, price, open_act, cash, self.fee_rate, self.margin_rate)
        ok = open_qty > 0
        k = np.concatenate([close_k, open_k[ok]]).astype(np.int32)
        act = np.concatenate([close_act, open_act[ok]]).astype(np.int8)
        qty = np.concatenate([close_qty, open_qty[ok]]).astype(np.int64)
        return Orders(
            k, act, qty, np.full(len(k), R_DECISION, np.int8), np.full(len(k), -1, np.int32)
        )


def _add(k, act, qty, extra_k, extra_act, extra_qty):
    """Append orders ``extra_act`` of ``extra_k`` (qty from the [K] ``extra_qty``)."""
    if not len(extra_k):
        return k, act, qty
    return (np.concatenate([k, extra_k]).astype(np.int32),
            np.concatenate([act, np.full(len(extra_k), extra_act, np.int8)]),
            np.concatenate([qty, extra_qty[extra_k]]))  # fmt: skip
