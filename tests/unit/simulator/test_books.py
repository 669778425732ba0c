"""Books: the §5 fill rules, the cap with replacement and its tie-break, the close mark."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.books import Books
from simulator.kernels.records import (
    BUY,
    COVER,
    HOLD,
    R_CAP_REJECTED,
    R_CASH_LIMITED,
    R_CLIPPED_HOLDING,
    R_DECISION,
    R_NO_PRICE,
    R_REPLACEMENT,
    R_SYNC,
    SELL,
    SHORT,
    Orders,
)

FEE = 0.0005
K = 6  # tickers 0..3 stocks, 4..5 bonds
IS_BOND = np.array([False, False, False, False, True, True])
P = np.array([100.0, 50.0, 20.0, 10.0, 80.0, 90.0])


def orders(*rows, victim=None, reason=R_DECISION) -> Orders:
    """rows: (k, action, qty)."""
    k, a, q = (np.array(c) for c in zip(*rows, strict=True))
    n = len(rows)
    v = np.full(n, -1) if victim is None else np.asarray(victim)
    return Orders(k.astype(np.int32), a.astype(np.int8), q.astype(np.int64),
                  np.full(n, reason, np.int8), v.astype(np.int32))  # fmt: skip


def book(cash=10_000.0, long=(), short=(), cap=30, margin_rate=0.0) -> Books:
    b = Books(K, IS_BOND, cash, fee_rate=FEE, margin_rate=margin_rate, max_positions=cap)
    for k, n in long:
        b.long[k], b.lcb[k] = n, P[k]
    for k, n in short:
        b.short[k], b.scb[k] = n, P[k]
    return b


def run(b, *rows, strength=None, price=P, victim=None, reason=R_DECISION):
    s = np.zeros(K) if strength is None else np.asarray(strength, float)
    return b.execute(3, orders(*rows, victim=victim, reason=reason), price, s)


@pytest.mark.parametrize(
    "cash, qty, filled, reason",
    [
        (10_000.0, 10, 10, R_DECISION),
        (505.0, 10, 5, R_CASH_LIMITED),  # int(505 / (100 * 1.0005)) = 5
        (1000.5, 10, 10, R_DECISION),  # exactly affordable: 10*100*1.0005 == 1000.5
        (50.0, 10, 0, R_CASH_LIMITED),
        (-10.0, 10, 0, R_CASH_LIMITED),
        (10_000.0, 0, 0, R_DECISION),
        (10_000.0, -1, 0, R_DECISION),
    ],
)
def test_buy_is_cash_checked(cash, qty, filled, reason):
    b = book(cash)
    f = run(b, (0, BUY, qty))
    assert (f["qty"][0], f["reason"][0], f["req_qty"][0]) == (filled, reason, qty)
    assert b.cash == pytest.approx(cash - filled * 100 * (1 + FEE))
    assert b.long[0] == filled and b.lcb[0] == (100.0 if filled else 0.0)


def test_buy_averages_cost_basis_without_fees():
    b = book(long=[(1, 10)])  # 10 @ 50
    run(b, (1, BUY, 30), price=np.where(np.arange(K) == 1, 70.0, P))
    assert b.long[1] == 40 and b.lcb[1] == pytest.approx((10 * 50 + 30 * 70) / 40)


@pytest.mark.parametrize("qty, filled, reason", [(4, 4, R_DECISION), (25, 10, R_CLIPPED_HOLDING)])
def test_sell_clips_to_long_and_realizes_net_of_exit_fee(qty, filled, reason):
    b = book(cash=0.0, long=[(0, 10)])
    b.lcb[0] = 90.0
    f = run(b, (0, SELL, qty))
    assert (f["qty"][0], f["reason"][0]) == (filled, reason)
    fee = filled * 100 * FEE
    assert f["realized"][0] == pytest.approx((100 - 90) * filled - fee)
    assert b.rg_long[0] == pytest.approx((100 - 90) * filled - fee)
    assert b.cash == pytest.approx(filled * 100 - fee)
    assert b.lcb[0] == (0.0 if filled == 10 else 90.0)  # reset when flat


def test_sell_without_holding_fills_zero():
    f = run(book(), (2, SELL, 5))
    assert (f["qty"][0], f["reason"][0], f["fee"][0]) == (0, R_CLIPPED_HOLDING, 0.0)


@pytest.mark.parametrize(
    "cash, margin_rate, filled, reason",
    [
        (1.0, 0.0, 10, R_DECISION),  # only the fee (0.5) is checked against cash
        (0.2, 0.0, 4, R_CASH_LIMITED),  # int(0.2 / (100 * 0.0005)) = 4
        (-5.0, 0.0, 0, R_CASH_LIMITED),  # negative cash: every short fails
        (300.0, 0.5, 5, R_CASH_LIMITED),  # int(300 / (100 * 0.5005)) = 5
    ],
)
def test_short_checks_margin_and_fee_and_credits_proceeds(cash, margin_rate, filled, reason):
    b = book(cash, margin_rate=margin_rate)
    f = run(b, (0, SHORT, 10))
    assert (f["qty"][0], f["reason"][0]) == (filled, reason)
    n = filled * 100.0
    assert b.cash == pytest.approx(cash + n - n * FEE - n * margin_rate)
    assert b.smu[0] == pytest.approx(n * margin_rate) and b.margin_used == pytest.approx(b.smu[0])
    assert b.short[0] == filled


def test_cover_has_no_cash_check_and_may_drive_cash_negative():
    b = book(cash=100.0, short=[(0, 20)])
    b.scb[0] = 110.0
    f = run(b, (0, COVER, 50))
    assert (f["qty"][0], f["reason"][0]) == (20, R_CLIPPED_HOLDING)
    assert b.cash == pytest.approx(100 - 2000 * (1 + FEE)) and b.cash < 0
    assert b.rg_short[0] == pytest.approx((110 - 100) * 20 - 2000 * FEE)
    assert b.short[0] == 0 and b.scb[0] == 0.0


def test_cover_releases_margin_pro_rata():
    b = book(cash=1000.0, margin_rate=0.5)
    run(b, (0, SHORT, 10))  # 500 margin
    cash = b.cash
    run(b, (0, COVER, 4))
    assert b.smu[0] == pytest.approx(300.0) and b.margin_used == pytest.approx(300.0)
    assert b.cash == pytest.approx(cash + 200 - 400 * (1 + FEE))


def test_long_and_short_in_the_same_ticker_are_not_netted():
    b = book(long=[(0, 8)])
    run(b, (0, SHORT, 7))
    assert (b.long[0], b.short[0]) == (8, 7)
    assert b.mark(P, np.arange(K))[1:] == (800.0, 700.0, 1500.0, 100.0)


def test_hold_and_no_price_orders_leave_a_record():
    price = P.copy()
    price[1] = np.nan
    f = run(book(), (0, HOLD, 5), (1, BUY, 5), price=price)
    assert list(f["reason"]) == [R_DECISION, R_NO_PRICE] and list(f["qty"]) == [0, 0]
    assert list(f["seq"]) == [0, 1] and list(f["day"]) == [3, 3]


def test_sync_orders_keep_their_reason():
    f = run(book(long=[(0, 10)]), (0, SELL, 10), reason=R_SYNC)
    assert (f["qty"][0], f["reason"][0], f["long_after"][0]) == (10, R_SYNC, 0)


# --- the cap (§5.4): cap = 2 stock positions below -------------------------------------------


def test_bonds_and_existing_positions_are_outside_the_cap():
    b = book(long=[(0, 1), (1, 1)], cap=2)
    f = run(b, (4, BUY, 3), (0, BUY, 2), (1, SHORT, 1), strength=[0.5, 0.5, 0, 0, 0, 0])
    assert list(f["qty"]) == [3, 2, 1] and (f["reason"] == R_DECISION).all()
    assert b.n_open() == 2


def test_newcomer_not_stronger_than_weakest_is_rejected():
    b = book(long=[(0, 1), (1, 1)], cap=2)
    f = run(b, (2, BUY, 5), strength=[0.3, 0.2, 0.2, 0, 0, 0])  # 0.2 <= s_min 0.2
    assert (f["reason"][0], f["qty"][0], len(f)) == (R_CAP_REJECTED, 0, 1)
    assert b.long[2] == 0


@pytest.mark.parametrize(
    "long, short, action, closed_long, closed_short",
    [
        ([(1, 4)], [], SELL, 0, 0),  # long victim: sold
        ([], [(1, 4)], COVER, 0, 0),  # short victim: covered
        ([(1, 4)], [(1, 3)], SELL, 0, 3),  # both sides: only the long closes (31st position)
    ],
)
def test_stronger_newcomer_replaces_the_weakest(long, short, action, closed_long, closed_short):
    b = book(long=[(0, 1), *long], short=short, cap=2)
    f = run(b, (2, BUY, 5), strength=[0.3, 0.1, 0.5, 0, 0, 0])
    assert list(f["k"]) == [1, 2] and list(f["reason"]) == [R_REPLACEMENT, R_DECISION]
    assert (f["action"][0], f["victim_of"][0], f["victim_of"][1]) == (action, 2, -1)
    assert (b.long[1], b.short[1], b.long[2]) == (closed_long, closed_short, 5)
    assert b.n_open() == (3 if closed_short else 2)


def test_weakest_includes_todays_earlier_fills():
    b = book(long=[(0, 1)], cap=2)
    f = run(b, (1, BUY, 1), (2, BUY, 1), strength=[0.3, 0.1, 0.2, 0, 0, 0])
    assert list(f["k"]) == [1, 1, 2] and f["reason"][1] == R_REPLACEMENT  # 1 opened then replaced


def test_newcomer_executes_even_if_the_victim_close_fills_zero():
    price = P.copy()
    price[1] = np.nan  # the victim cannot trade today
    b = book(long=[(0, 1), (1, 4)], cap=2)
    f = run(b, (2, BUY, 5), strength=[0.3, 0.1, 0.5, 0, 0, 0], price=price)
    assert list(f["reason"]) == [R_NO_PRICE, R_DECISION] and f["victim_of"][0] == 2
    assert (b.long[1], b.long[2], b.n_open()) == (4, 5, 3)


@pytest.mark.parametrize(
    "hint, victim",
    [
        (-1, 0),  # no hint: lowest ticker index among the tied weakest
        (1, 1),  # recorded victim among the tied: used
        (3, 0),  # hint not tied-weakest (stronger): ignored
        (2, 0),  # hint without a position: ignored
    ],
)
def test_tie_break(hint, victim):
    b = book(long=[(0, 1), (1, 1), (3, 1)], cap=3)
    f = run(b, (2, BUY, 1), strength=[0.1, 0.1, 0.5, 0.3, 0, 0], victim=[hint])
    assert f["k"][0] == victim and f["reason"][0] == R_REPLACEMENT


def test_mark_sums_positions_in_key_order_and_ignores_unpriced_flat_tickers():
    b = book(cash=-50.0, long=[(0, 2), (4, 1)], short=[(1, 3)])
    close = np.array([101.0, 49.0, np.nan, np.nan, 81.0, 91.0])
    nav, lx, sx, gx, nx = b.mark(close, np.array([4, 0, 1, 2, 3, 5]))
    assert nav == -50.0 + 81.0 + 202.0 - 147.0
    assert (lx, sx, gx, nx) == (283.0, 147.0, 430.0, 136.0)


def test_snapshot_is_a_copy():
    b = book(long=[(0, 2)])
    s = b.snapshot()
    run(b, (0, SELL, 2))
    assert s.long[0] == 2 and b.long[0] == 0 and s.cash == 10_000.0


def test_is_bond_must_match_the_ticker_axis():
    with pytest.raises(ValueError, match=r"is_bond.shape=\(2,\), expected \(3,\)"):
        Books(3, np.array([False, True]), 1.0, fee_rate=FEE, margin_rate=0.0, max_positions=30)


def test_orders_outside_the_ticker_axis_are_refused():
    with pytest.raises(ValueError, match=r"outside 0\.\.5"):
        run(book(), (6, BUY, 1))
    with pytest.raises(ValueError, match=r"outside 0\.\.5"):
        run(book(), (0, BUY, 1), victim=[9])


def test_executed_trades_reproduce_the_recorded_dict_quirk():
    """A replacement close inserts the victim's key early; its own later hold overwrites it."""
    from simulator.kernels.books import executed_trades_nb

    # day 0: victim 2 closed (9 shares) for newcomer 3, then ticker 1, then 2's own hold
    day = np.array([0, 0, 0, 0, 1, 1], np.int32)
    k = np.array([2, 3, 1, 2, 2, 0], np.int32)
    qty = np.array([9, 7, 5, 0, 4, 1], np.int64)
    rows = list(zip(*executed_trades_nb(day, k, qty, 4), strict=True))
    assert rows == [(0, 2, 0), (0, 3, 7), (0, 1, 5), (1, 2, 4), (1, 0, 1)]
