"""Position sync (universe exits, stale closes, mirror) and the bond sleeve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator.kernels.records import BUY, COVER, R_DECISION, R_SYNC, SELL
from simulator.sync import baseline_bond_weights, bond_orders, plan_sync
from tests.stub_panel import make_panel

T = 6


def panel_with(**changes):
    p = make_panel(n_days=T, n_stocks=6, seed=1)
    p = dataclasses.replace(p, eligible=np.ones_like(p.eligible) & ~p.is_bond[None, :])
    for name, fn in changes.items():
        arr = getattr(p, name).copy()
        fn(arr)
        p = dataclasses.replace(p, **{name: arr})
    return p


def book(p, long=None, short=None):
    lo, sh = np.zeros(p.n_tickers, np.int64), np.zeros(p.n_tickers, np.int64)
    for k, q in (long or {}).items():
        lo[k] = q
    for k, q in (short or {}).items():
        sh[k] = q
    return lo, sh


def rows(o):
    return list(zip(o.k.tolist(), o.action.tolist(), o.qty.tolist(), strict=True))


def test_nothing_to_sync_in_the_universe():
    p = panel_with()
    plan = plan_sync(p, 3, *book(p, {0: 5}, {1: 2}), p.close[2])
    assert rows(plan.orders) == [] and not plan.closing.any()


def test_exit_with_an_open_price_closes_both_sides_at_the_open():
    p = panel_with(eligible=lambda e: e.__setitem__((3, 2), False))
    plan = plan_sync(p, 3, *book(p, {2: 5, 0: 1}, {2: 4}), np.full(p.n_tickers, 1.0))
    assert rows(plan.orders) == [(2, SELL, 5), (2, COVER, 4)]
    assert (plan.orders.reason == R_SYNC).all() and not plan.stale.any()
    assert plan.price[2] == p.open[3, 2] and plan.closing.tolist().count(True) == 1


def test_exit_without_any_price_closes_at_the_last_close_and_is_flagged():
    def drop(e):
        e[3, 2] = False

    def unprice(a):
        a[3, 2] = np.nan

    p = panel_with(eligible=drop, open=unprice, close=unprice)
    last = np.arange(p.n_tickers, dtype=float) + 0.5
    plan = plan_sync(p, 3, *book(p, {2: 5}), last)
    assert rows(plan.orders) == [(2, SELL, 5)]
    assert plan.stale.tolist() == [True] and plan.price[2] == 2.5


@pytest.mark.parametrize(
    ("before", "after", "ours", "expect"),
    [
        ((5, 0), (0, 0), ({2: 3}, {}), [(2, SELL, 3)]),  # baseline closed its long
        ((5, 0), (1, 0), ({2: 3}, {}), []),  # baseline only reduced
        ((0, 5), (0, 0), ({2: 3}, {}), []),  # baseline closed a short, we are long
        ((0, 5), (0, 0), ({}, {2: 3}), [(2, COVER, 3)]),
    ],
)
def test_mirror_follows_a_full_baseline_close_of_the_same_side(before, after, ours, expect):
    """Lagged: the baseline's close on day 2 is followed at the open of day 3."""

    def setter(v):
        return lambda a: a.__setitem__((2, 2), v)

    p = panel_with(
        long_before=setter(before[0]),
        short_before=setter(before[1]),
        long_after=setter(after[0]),
        short_after=setter(after[1]),
    )
    lo, sh = book(p, *ours)
    assert rows(plan_sync(p, 3, lo, sh, p.close[2], "eligible").orders) == []
    plan = plan_sync(p, 3, lo, sh, p.close[2], "mirror")
    assert rows(plan.orders) == expect
    assert plan.mirrored.all() and not plan.stale.any()


def test_bonds_are_never_synced():
    p = panel_with()
    b = np.flatnonzero(p.is_bond)
    lo, sh = book(p, {int(b[0]): 100})
    assert rows(plan_sync(p, 3, lo, sh, p.close[2]).orders) == []


def test_baseline_bond_weights_value_the_book_before_t_at_the_last_close():
    p = panel_with()
    t = 3
    px = p.close[t - 1]
    nav = p.cash_before[t] + np.nansum((p.long_before[t] - p.short_before[t]) * px)
    w = baseline_bond_weights(p)
    b = np.flatnonzero(p.is_bond)
    np.testing.assert_allclose(w[t, b], p.long_before[t, b] * px[b] / nav)
    assert (w[:, ~p.is_bond] == 0).all() and (w[0] == 0).all() and (w[1:, b] > 0).any()


def test_bond_weights_are_zero_when_the_baseline_nav_is_not_positive():
    p = panel_with(cash_before=lambda c: c.__setitem__(3, -1e9))
    assert (baseline_bond_weights(p)[3] == 0).all()


def test_bond_orders_reach_the_target_shares_sells_first():
    p = panel_with()
    t, nav = 3, 250_000.0
    b0, b1 = np.flatnonzero(p.is_bond)
    w = baseline_bond_weights(p)[t]
    target = [int(w[b] * nav / p.close[t - 1, b]) for b in (b0, b1)]
    lo, _ = book(p, {int(b0): target[0] + 7, int(b1): max(target[1] - 5, 0)})
    o = bond_orders(w, lo, nav, p.close[t - 1], p.is_bond)
    got = {k: (a, q) for k, a, q in rows(o)}
    assert got[b0] == (SELL, 7)
    assert o.action.tolist()[0] == SELL and (o.reason == R_DECISION).all()
    if target[1] >= 5:
        assert got[b1] == (BUY, 5)


def test_no_bond_orders_without_a_positive_nav_or_price():
    p = panel_with()
    lo, _ = book(p)
    w = baseline_bond_weights(p)[3]
    assert len(bond_orders(w, lo, 1e5, p.close[2], p.is_bond).k) > 0
    assert len(bond_orders(w, lo, 0.0, p.close[2], p.is_bond).k) == 0
    assert len(bond_orders(w, lo, 1e5, np.full(p.n_tickers, np.nan), p.is_bond).k) == 0
