"""Synthetic baseline books: invariants over random sizes, seeds and signal strengths."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from episodes.account import RECORDED_ACCOUNT
from episodes.config import SynthConfig
from episodes.panel import BONDS
from episodes.synth import INITIAL_CASH, generate_episodes
from simulator.kernels.records import ACTION_CODES, BUY, COVER, HOLD, SELL, SHORT
from simulator.kernels.reference import ref_execute_day
from tests.synth_replay import book_from_portfolio, strength_from_signals

FEE = 0.0005
CASH_SIGN = {BUY: -1, COVER: -1, SELL: 1, SHORT: 1}  # cash flow direction of a fill


def _nav(portfolio: dict, close: dict) -> float:
    nav = portfolio["cash"]
    for x, c in close.items():
        v = portfolio["positions"][x]
        nav += (v["long"] * c if v["long"] > 0 else 0.0) - (
            v["short"] * c if v["short"] > 0 else 0.0
        )
    return nav + portfolio["margin_requirement"]


def _fills(ep: dict):
    """The day's fills, replayed from its own decisions and portfolio_before."""
    book = book_from_portfolio(ep["portfolio_before"])
    md = ep["metadata"]
    orders = []
    for x in md["eligible_tickers"] + list(BONDS):
        d = ep["llm_decisions"].get(x)
        orders.append((x, ACTION_CODES[d["action"]], d["quantity"]) if d else (x, HOLD, 0))
    strength = strength_from_signals(ep["agent_signals"], md["eligible_tickers"])
    prices = ep["market_data"]["execution_prices"]
    return ref_execute_day(book, orders, prices, strength, **RECORDED_ACCOUNT.kwargs())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.integers(2, 12),
    tickers=st.integers(5, 60),
    seed=st.integers(0, 2**32 - 1),
    ic=st.floats(0.0, 0.5),
)
def test_books_conserve_value_net_of_costs(days, tickers, seed, ic):
    """Shares are ints >= 0, <= 30 stock positions, held tickers are priced and on the risk list,
    cash moves exactly by the fills, and NAV moves by price changes on carried positions, by
    close - open on the fills, less the fees; ``portfolio_return`` chains to that NAV."""
    eps = list(generate_episodes(SynthConfig(days=days, tickers=tickers, signal_ic=ic), seed))
    nav_prev, close_prev = INITIAL_CASH, {}
    for ep in eps:
        before, after = ep["portfolio_before"], ep["portfolio_after"]
        opens, close = ep["market_data"]["execution_prices"], ep["market_data"]["evaluation_prices"]
        held = [x for x, v in after["positions"].items() if v["long"] > 0 or v["short"] > 0]
        assert all(
            isinstance(v["long"], int) and v["long"] >= 0 for v in after["positions"].values()
        )
        assert all(
            isinstance(v["short"], int) and v["short"] >= 0 for v in after["positions"].values()
        )
        assert len([x for x in held if x not in BONDS]) <= 30 and set(held) <= set(close)
        stocks_before = {x for x, v in before["positions"].items() if v["long"] or v["short"]}
        assert stocks_before - set(BONDS) <= set(ep["agent_signals"]["risk_management_agent"])
        fills = [f for f in _fills(ep) if f.qty > 0]
        fees = sum(f.qty * f.price * FEE for f in fills)
        flow = sum(CASH_SIGN[f.action] * f.qty * f.price for f in fills) - fees
        assert math.isclose(after["cash"], before["cash"] + flow, rel_tol=1e-9, abs_tol=1e-6)
        carried = sum(
            (v["long"] - v["short"]) * (close[x] - close_prev[x])
            for x, v in before["positions"].items()
            if v["long"] or v["short"]
        )
        traded = sum(
            (1 if f.action in (BUY, COVER) else -1) * f.qty * (close[f.ticker] - opens[f.ticker])
            for f in fills
        )
        nav = _nav(after, close)
        assert math.isclose(nav - nav_prev, carried + traded - fees, rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(ep["portfolio_return"], (nav - nav_prev) / nav_prev, abs_tol=1e-12)
        nav_prev, close_prev = nav, close
