"""PortfolioDecisionMaker: target weights of NAV -> integer-share orders (rebalance days, risk
limit, cap, cash), on hand-made day views."""

from __future__ import annotations

import numpy as np

from agents.config import DecisionConfig
from agents.portfolio import PortfolioDecisionMaker
from simulator.kernels.records import BUY, COVER, SELL, SHORT
from tests.unit.agents.test_lstm import COSTS, held, rows, view


def maker(cap=3, rebalance=1):
    return PortfolioDecisionMaker(DecisionConfig(max_positions=cap), rebalance=rebalance, **COSTS)


def test_weights_become_integer_shares_of_nav_at_the_previous_close():
    # NAV 30_000, price 10: 0.2 -> 600 shares, -0.1 -> 300 short, 0.0334 -> floor(100.2) = 100
    o = maker().decide(view({0: 0.2, 1: -0.1, 2: 0.0334}))
    assert rows(o) == [(0, BUY, 600), (1, SHORT, 300), (2, BUY, 100)]


def test_positions_are_resized_to_target_and_unweighted_holdings_closed():
    h = held(long={0: 1000, 3: 50}, short={1: 100})
    o = maker().decide(view({0: 0.2, 1: 0.1}, **h))  # 3 has no weight today: target 0
    assert rows(o) == [(0, SELL, 400), (1, COVER, 100), (3, SELL, 50), (1, BUY, 300)]


def test_only_rebalance_days_trade():
    assert len(maker(rebalance=5).decide(view({0: 0.2}, t=7)).k) == 0
    assert len(maker(rebalance=5).decide(view({0: 0.2}, t=10)).k) == 1


def test_risk_limit_caps_growth_but_never_forces_a_sale():
    risk = np.full(12, 0.5)
    risk[0] = 0.05  # 1_500 of NAV = 150 shares
    o = maker().decide(view({0: 0.2, 1: 0.2}, risk_frac=risk))
    assert rows(o) == [(0, BUY, 150), (1, BUY, 600)]  # equal weights: lower index first
    o = maker().decide(view({0: 0.2}, risk_frac=risk, **held(long={0: 400})))
    assert rows(o) == []  # held above the limit, below target: kept, not grown


def test_new_positions_stop_at_the_cap_strongest_first_and_cash_clips_longs():
    w = {0: 0.05, 1: 0.3, 2: 0.2, 3: 0.25}
    o = maker(cap=3).decide(view(w, **held(long={5: 10})))  # 5 sold (no weight): room for 3
    assert [r[0] for r in rows(o)] == [5, 1, 3, 2]
    o = maker(cap=3).decide(view({0: 0.5, 1: 0.5}, cash=6_000.0))
    # 6_000 of cash at 10 * (1 + fee) per share: 599 shares, nothing left for ticker 1
    assert rows(o) == [(0, BUY, 599)]
