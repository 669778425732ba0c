"""The market-neutral book of ``decision.neutral``: equal names and equal gross long and short.

``LSTMDecisionMaker`` calls ``neutral_orders`` when ``DecisionConfig.neutral`` is set. The rule for
day t (all inputs known before the open, see ``agents.base.DayView``):

1. **Score relative to the day.** ``score = pred − median(pred)``, the median over all of the day's
   predictions: the common level of the predictions (a market call) drops out, so it can no longer
   turn the whole book long or short. A ticker without a prediction has no score.
2. **Close on a flip** of the score's sign: a held long with ``score < 0`` is sold, a held short
   with ``score > 0`` covered, in full (hysteresis as in the directional rule; a held ticker
   without a prediction is held).
3. **Open per side.** Each side holds at most ``max_positions // 2`` names. Longs: flat, tradable
   tickers with a known risk limit and ``score > threshold``, strongest first; shorts likewise with
   ``score < −threshold``; ties by lower ticker index. Openings alternate long, short, long, ... so
   that a cash shortfall (which caps only longs) hits both sides alike.
4. **Size** as the directional rule does (``nav / max_positions`` per opening, or proportional to
   ``|score|``; risk cap; integer shares at close(t−1); the cash estimate caps longs).
5. **Balance the gross.** At close(t−1) prices, gross long = kept longs + opened longs, gross short
   likewise. The heavier side's openings are cut, weakest first, to the lighter side's gross (to
   within one share). If the excess left exceeds ``BAND`` of one position (``nav / max_positions``),
   the heavier side's kept positions are trimmed (partial sell / cover, weakest score first, no
   score counting as 0) to within one share. So after the day's orders, at the decision prices,
   ``|gross long − gross short| ≤ BAND · nav / max_positions`` plus one share's price, unless the
   open fills differently from the estimate (gaps, clipped buys).

Orders: full closes (ticker order), then trims (partial sell/cover), then the openings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.base import DayView
from simulator.kernels.records import BUY, COVER, R_DECISION, SELL, SHORT, Orders

if TYPE_CHECKING:
    from agents.lstm import LSTMDecisionMaker

__all__ = ["BAND", "relative_scores", "neutral_orders", "gross_sides"]

BAND = 0.5  # kept positions are trimmed once the gross excess exceeds half a position


def relative_scores(n_k: int, k_idx: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """[n_k] the day's predictions minus their median (NaN where a ticker has none).

    Examples
    --------
    >>> relative_scores(4, np.array([0, 1, 3]), np.array([0.5, 0.25, 0.375])).tolist()
    [0.125, -0.125, nan, 0.0]
    """
    out = np.full(n_k, np.nan)
    ok = np.isfinite(pred)
    if ok.any():
        out[k_idx[ok]] = pred[ok] - np.median(pred[ok])
    return out


def gross_sides(long: np.ndarray, short: np.ndarray, price: np.ndarray) -> tuple[float, float]:
    """(gross long, gross short) of share counts at ``price`` (NaN prices count 0)."""
    p = np.where(np.isfinite(price), price, 0.0)
    return float(np.sum(long * p)), float(np.sum(short * p))


def neutral_orders(maker: LSTMDecisionMaker, view: DayView) -> Orders:
    """The day's orders under the neutral rule (module docstring)."""
    n_k, cfg = len(view.long), maker.cfg
    score = relative_scores(n_k, view.k_idx, view.pred)
    stock = ~view.is_bond & ~view.closing
    sell = stock & (view.long > 0) & (score < 0)
    cover = stock & (view.short > 0) & (score > 0)
    kept_l = stock & (view.long > 0) & ~sell
    kept_s = stock & (view.short > 0) & ~cover
    flat = ((view.long <= 0) | sell) & ((view.short <= 0) | cover)
    close_k = np.flatnonzero(sell | cover).astype(np.int32)
    close_act = np.where(sell[close_k], SELL, COVER).astype(np.int8)
    close_qty = np.where(sell[close_k], view.long[close_k], view.short[close_k])
    half = cfg.resolved_cap() // 2
    open_k, open_act = _rank(view, score, flat, half - int(kept_l.sum()), half - int(kept_s.sum()),
                             cfg.threshold)  # fmt: skip
    weights = np.where(np.isfinite(score), np.abs(score), 0.0)
    open_qty = maker._size(view, weights, open_k, open_act, close_k, close_qty, close_act)
    p = np.where(np.isfinite(view.prev_close), view.prev_close, 0.0)
    kept_qty = np.where(kept_l, view.long, 0), np.where(kept_s, view.short, 0)
    trim = _balance(view, score, p, kept_qty, open_k, open_act, open_qty, maker)
    keep = open_qty > 0
    tk = np.flatnonzero(trim).astype(np.int32)
    tact = np.where(kept_l[tk], SELL, COVER).astype(np.int8)
    k = np.concatenate([close_k, tk, open_k[keep]]).astype(np.int32)
    act = np.concatenate([close_act, tact, open_act[keep]]).astype(np.int8)
    qty = np.concatenate([close_qty, trim[tk], open_qty[keep]]).astype(np.int64)
    return Orders(k, act, qty, np.full(len(k), R_DECISION, np.int8), np.full(len(k), -1, np.int32))


def _rank(
    view: DayView, score: np.ndarray, flat: np.ndarray, free_l: int, free_s: int, thr: float
) -> tuple[np.ndarray, np.ndarray]:
    """Openings (tickers, actions): the strongest ``free_l`` longs and ``free_s`` shorts by
    score, interleaved long, short, long, ... (the rest of the longer side follows)."""
    ok = view.tradable & flat & np.isfinite(score)
    ok &= np.isfinite(view.risk_frac) & (view.risk_frac > 0)
    ok &= np.isfinite(view.prev_close) & (view.prev_close > 0)
    lc, sc = np.flatnonzero(ok & (score > thr)), np.flatnonzero(ok & (score < -thr))
    longs = lc[np.lexsort((lc, -score[lc]))][: max(free_l, 0)]
    shorts = sc[np.lexsort((sc, score[sc]))][: max(free_s, 0)]
    ks, acts = [], []
    for i in range(max(len(longs), len(shorts))):
        for side, act in ((longs, BUY), (shorts, SHORT)):
            if i < len(side):
                ks.append(side[i])
                acts.append(act)
    return np.asarray(ks, np.int32), np.asarray(acts, np.int8)


def _balance(view, score, p, kept_qty, open_k, open_act, open_qty, maker) -> np.ndarray:
    """Cut the heavier side's openings (in place, weakest first) to the lighter side's gross;
    return [K] shares to trim from kept positions when the excess left exceeds ``BAND``."""
    kept_l, kept_s = kept_qty
    gl, gs = gross_sides(kept_l, kept_s, p)
    opened = open_qty * p[open_k]
    gl += float(opened[open_act == BUY].sum())
    gs += float(opened[open_act == SHORT].sum())
    heavy = BUY if gl > gs else SHORT
    excess = abs(gl - gs)
    for i in np.flatnonzero(open_act == heavy)[::-1]:
        cut = min(int(open_qty[i]), int(excess // p[open_k[i]]))
        open_qty[i] -= cut
        excess -= cut * p[open_k[i]]
    trim = np.zeros(len(p), np.int64)
    if excess <= BAND * view.nav / maker.cfg.resolved_cap():
        return trim
    held = kept_l if heavy == BUY else kept_s
    sign = 1.0 if heavy == BUY else -1.0
    conviction = np.where(np.isfinite(score), sign * score, 0.0)
    ks = np.flatnonzero((held > 0) & (p > 0))
    for k in ks[np.lexsort((ks, conviction[ks]))]:
        trim[k] = min(int(held[k]), int(excess // p[k]))
        excess -= trim[k] * p[k]
    return trim
