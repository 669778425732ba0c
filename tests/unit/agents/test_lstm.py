"""LSTMDecisionMaker: flips, hysteresis, cap, ranking, sizing, risk and cash caps, order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.base import DayView
from agents.config import DecisionConfig
from agents.lstm import LSTMDecisionMaker
from episodes.account import RECORDED_ACCOUNT
from simulator.kernels.records import BUY, COVER, R_DECISION, SELL, SHORT

COSTS = {"fee_rate": RECORDED_ACCOUNT.fee_rate, "margin_rate": RECORDED_ACCOUNT.margin_rate}

K = 12  # 10 stocks, then SHY, TLT


def view(pred: dict[int, float], **kw) -> DayView:
    """A DayView with price 10 everywhere, NAV 30_000, cash 30_000, risk fraction 0.5."""
    is_bond = np.zeros(K, bool)
    is_bond[10:] = True
    base = dict(
        t=5,
        k_idx=np.array(list(pred), np.int32),
        pred=np.array(list(pred.values()), np.float64),
        candidates=np.arange(10, dtype=np.int32),
        tradable=~is_bond,
        prev_close=np.full(K, 10.0),
        risk_frac=np.full(K, 0.5),
        nav=30_000.0,
        cash=30_000.0,
        long=np.zeros(K, np.int64),
        short=np.zeros(K, np.int64),
        closing=np.zeros(K, bool),
        is_bond=is_bond,
    )
    base.update(kw)
    return DayView(**base)


def held(long=None, short=None):
    lo, sh = np.zeros(K, np.int64), np.zeros(K, np.int64)
    for k, q in (long or {}).items():
        lo[k] = q
    for k, q in (short or {}).items():
        sh[k] = q
    return {"long": lo, "short": sh}


def rows(o):
    return list(zip(o.k.tolist(), o.action.tolist(), o.qty.tolist(), strict=True))


def maker(**kw) -> LSTMDecisionMaker:
    return LSTMDecisionMaker(DecisionConfig(**({"max_positions": 3} | kw)), **COSTS)


def test_ranks_by_abs_prediction_and_fills_free_slots():
    o = maker().decide(view({0: 0.01, 1: -0.03, 2: 0.02, 3: 0.005}))
    # NAV/3 = 10_000 per slot at price 10 = 1000 shares; strongest first
    assert rows(o) == [(1, SHORT, 1000), (2, BUY, 1000), (0, BUY, 1000)]
    assert (o.reason == R_DECISION).all() and (o.victim == -1).all()


def test_flip_closes_first_then_opens_and_can_reverse_the_side():
    v = view({0: -0.02, 1: 0.01, 5: 0.04}, **held({0: 7}, {1: 9}))
    o = maker(max_positions=5).decide(v)
    assert rows(o)[:2] == [(0, SELL, 7), (1, COVER, 9)]
    assert [r[:2] for r in rows(o)[2:]] == [(5, BUY), (0, SHORT), (1, BUY)]


@pytest.mark.parametrize(
    ("pred", "expect"),
    [
        (0.001, []),  # same sign, below threshold: kept, no order (hysteresis)
        (0.0, []),  # zero is no flip
        (-0.001, [(0, SELL, 7)]),  # any flip closes, threshold or not
    ],
)
def test_hysteresis_keeps_a_position_while_its_sign_holds(pred, expect):
    o = maker(threshold=0.01).decide(view({0: pred}, **held({0: 7})))
    assert rows(o) == expect


def test_ticker_without_prediction_is_held_and_counts_against_the_cap():
    v = view({5: 0.03, 6: 0.02, 7: 0.01}, **held({0: 3, 1: 4}))
    o = maker().decide(v)
    assert [r[0] for r in rows(o)] == [5]  # 2 kept + 1 new = cap 3


def test_threshold_and_allow_short():
    p = {0: 0.02, 1: -0.02, 2: 0.004}
    assert [r[:2] for r in rows(maker(threshold=0.005).decide(view(p)))] == [(0, BUY), (1, SHORT)]
    assert [r[:2] for r in rows(maker(allow_short=False).decide(view(p)))] == [(0, BUY), (2, BUY)]


def test_ties_go_to_the_lower_ticker_index():
    o = maker(max_positions=2).decide(view({4: 0.01, 2: 0.01, 3: 0.01}))
    assert [r[0] for r in rows(o)] == [2, 3]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("risk_frac", np.nan),  # no limit known
        ("risk_frac", 0.0),
        ("prev_close", np.nan),  # no sizing price
        ("tradable", False),
    ],
)
def test_untradable_or_unlimited_tickers_are_never_opened(field, value):
    v = view({0: 0.05, 1: 0.01})
    arr = getattr(v, field).copy()
    arr[0] = value
    o = maker().decide(dataclasses.replace(v, **{field: arr}))
    assert [r[0] for r in rows(o)] == [1]


def test_positions_being_synced_are_left_to_sync():
    closing = np.zeros(K, bool)
    closing[0] = True
    v = view({0: -0.05, 1: 0.01}, closing=closing, **held({0: 7}))
    assert [r[0] for r in rows(maker().decide(v))] == [1]


def test_risk_limit_caps_the_notional():
    frac = np.full(K, 0.5)
    frac[0] = 0.01  # 1% of NAV 30_000 = 300 -> 30 shares at 10
    o = maker().decide(view({0: 0.05, 1: 0.01}, risk_frac=frac))
    assert rows(o) == [(0, BUY, 30), (1, BUY, 1000)]


def test_proportional_sizing_splits_the_budget_by_abs_prediction():
    o = maker(sizing="proportional").decide(view({0: 0.04, 1: -0.02, 2: 0.02}))
    # budget 3 * 10_000 split 2:1:1
    assert rows(o) == [(0, BUY, 1500), (1, SHORT, 750), (2, BUY, 750)]


def test_cash_caps_longs_but_closes_fund_them():
    v = view({0: 0.05, 1: 0.04, 2: -0.01}, cash=12_000.0, **held({2: 500}))
    o = LSTMDecisionMaker(
        DecisionConfig(max_positions=3, allow_short=False), fee_rate=0, margin_rate=0.0
    ).decide(v)
    # 12_000 + 500*10 from the sell = 17_000: 1000 shares of 0, then 700 of 1
    assert rows(o) == [(2, SELL, 500), (0, BUY, 1000), (1, BUY, 700)]


def test_short_proceeds_are_not_buying_power():
    v = view({0: -0.05, 1: 0.04}, cash=5_000.0)
    o = LSTMDecisionMaker(DecisionConfig(max_positions=3), fee_rate=0.0, margin_rate=0.0).decide(v)
    assert rows(o) == [(0, SHORT, 1000), (1, BUY, 500)]


def test_no_openings_without_positive_nav():
    o = maker().decide(view({0: 0.05}, nav=-5.0, **held({3: 1})))
    assert rows(o) == []


def test_never_more_opens_than_free_slots_at_the_cap():
    v = view({k: 0.01 * (k + 1) for k in range(10)}, **held({0: 1, 1: 1, 2: 1}))
    assert rows(maker().decide(v)) == []


def test_view_is_not_mutated():
    v = view({0: 0.02, 1: -0.02}, **held({0: 5}))
    before = {f.name: np.copy(getattr(v, f.name)) for f in dataclasses.fields(v)}
    maker().decide(v)
    for name, val in before.items():
        np.testing.assert_array_equal(getattr(v, name), val)
