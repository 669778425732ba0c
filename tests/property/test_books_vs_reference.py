"""The numba books and the plain-Python reference agree fill by fill on random order streams."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from episodes.account import RECORDED_ACCOUNT
from simulator.books import Books
from simulator.kernels.records import R_DECISION, R_REPLACEMENT, Orders
from simulator.kernels.reference import RefBook, ref_execute_day, ref_nav

FEE = RECORDED_ACCOUNT.fee_rate

BONDS = ("SHY", "TLT")
STRENGTHS = (0.0, 0.1, 0.2, 0.3)  # few values, so ties among the weakest are common


@st.composite
def scenarios(draw):
    n_stocks = draw(st.integers(2, 7))
    names = [f"T{k:02d}" for k in range(n_stocks)] + list(BONDS)
    K = len(names)
    price = st.floats(1.0, 300.0, allow_nan=False, allow_infinity=False)
    start = {
        "cash": draw(st.floats(-2_000.0, 20_000.0)),
        "long": draw(st.lists(st.sampled_from((0, 0, 0, 3, 30)), min_size=K, max_size=K)),
        "short": draw(st.lists(st.sampled_from((0, 0, 0, 5, 17)), min_size=K, max_size=K)),
        "lcb": draw(st.lists(price, min_size=K, max_size=K)),
        "scb": draw(st.lists(price, min_size=K, max_size=K)),
    }
    action = st.sampled_from((0, 1, 1, 1, 2, 3, 3, 4))  # hold, buy, sell, short, cover
    order = st.tuples(st.integers(0, K - 1), action, st.integers(-3, 80))
    days = []
    for _ in range(draw(st.integers(1, 3))):
        days.append(
            {
                "orders": draw(st.lists(order, min_size=1, max_size=12)),
                "open": draw(st.lists(price, min_size=K, max_size=K)),
                "close": draw(st.lists(price, min_size=K, max_size=K)),
                "strength": draw(st.lists(st.sampled_from(STRENGTHS), min_size=K, max_size=K)),
                "hint": draw(st.lists(st.integers(-1, n_stocks - 1), min_size=K, max_size=K)),
            }
        )
    return {
        "names": names,
        "start": start,
        "days": days,
        "max_positions": draw(st.integers(1, 4)),
        "margin_rate": draw(st.sampled_from((0.0, 0.0, 0.5))),
    }


def _books(sc) -> tuple[Books, RefBook]:
    names, s = sc["names"], sc["start"]
    is_bond = np.array([n in BONDS for n in names])
    books = Books(len(names), is_bond, s["cash"], fee_rate=FEE, margin_rate=sc["margin_rate"],
                  max_positions=sc["max_positions"])  # fmt: skip
    books.long[:] = s["long"]
    books.short[:] = s["short"]
    books.lcb[:] = np.where(books.long > 0, s["lcb"], 0.0)
    books.scb[:] = np.where(books.short > 0, s["scb"], 0.0)
    ref = RefBook(cash=s["cash"])
    for k, n in enumerate(names):
        ref.long[n], ref.short[n] = int(books.long[k]), int(books.short[k])
        ref.lcb[n], ref.scb[n] = float(books.lcb[k]), float(books.scb[k])
    return books, ref


def _n_open(books: Books) -> int:
    return books.n_open()


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(sc=scenarios())
def test_kernels_match_reference(sc):
    names = sc["names"]
    books, ref = _books(sc)
    kx = {n: k for k, n in enumerate(names)}
    for t, day in enumerate(sc["days"]):
        k = np.array([o[0] for o in day["orders"]], np.int32)
        hint = np.array(day["hint"], np.int32)
        orders = Orders(
            k,
            np.array([o[1] for o in day["orders"]], np.int8),
            np.array([o[2] for o in day["orders"]], np.int64),
            np.full(len(k), R_DECISION, np.int8),
            hint[k],
        )
        prices = {n: day["open"][i] for i, n in enumerate(names)}
        strength = {n: day["strength"][i] for i, n in enumerate(names)}
        victims = {names[i]: names[v] for i, v in enumerate(day["hint"]) if v >= 0}
        n_open_before = _n_open(books)
        fills = books.execute(t, orders, np.array(day["open"]), np.array(day["strength"]))
        ref_fills = ref_execute_day(
            ref,
            [(names[o[0]], o[1], o[2]) for o in day["orders"]],
            prices,
            strength,
            fee_rate=FEE,
            margin_rate=sc["margin_rate"],
            max_positions=sc["max_positions"],
            victims=victims,
        )
        got = [
            (names[r["k"]], int(r["action"]), int(r["reason"]), int(r["req_qty"]), int(r["qty"]),
             float(r["price"]), float(r["fee"]), float(r["realized"]),
             names[r["victim_of"]] if r["victim_of"] >= 0 else None)
            for r in fills
        ]  # fmt: skip
        want = [
            (
                f.ticker,
                f.action,
                f.reason,
                f.req_qty,
                f.qty,
                f.price,
                f.fee,
                f.realized,
                f.victim_of,
            )
            for f in ref_fills
        ]
        assert got == want
        # the whole book, bit for bit
        assert books.cash == ref.cash and books.margin_used == ref.margin_used
        for n, i in kx.items():
            assert books.long[i] == ref.long.get(n, 0) and books.short[i] == ref.short.get(n, 0)
            assert books.lcb[i] == ref.lcb.get(n, 0.0) and books.scb[i] == ref.scb.get(n, 0.0)
            assert books.rg_long[i] == ref.rg_long.get(n, 0.0)
            assert books.rg_short[i] == ref.rg_short.get(n, 0.0)
            assert books.smu[i] == ref.smu.get(n, 0.0)
        close = np.array(day["close"])
        nav = books.mark(close, np.arange(len(names)))[0]
        assert nav == ref_nav(ref, {n: day["close"][i] for i, n in enumerate(names)})
        # invariants: no negative shares; the cap only grows past max(before, cap) by victims
        # that kept their other side (a one-side close, README §5.4)
        assert (books.long >= 0).all() and (books.short >= 0).all()
        repl = fills[fills["reason"] == R_REPLACEMENT]
        kept = int(((repl["long_after"] > 0) | (repl["short_after"] > 0)).sum())
        assert _n_open(books) <= max(n_open_before, sc["max_positions"]) + kept


@settings(max_examples=200, deadline=None, derandomize=True)
@given(sc=scenarios())
def test_value_conserved_net_of_costs(sc):
    """Valued at the fill prices, trading changes NAV by exactly minus the fees (margin 0)."""
    books, _ = _books(sc | {"margin_rate": 0.0})
    day = sc["days"][0]
    p = np.array(day["open"])
    keys = np.arange(len(sc["names"]))
    before = books.mark(p, keys)[0]
    k = np.array([o[0] for o in day["orders"]], np.int32)
    orders = Orders(
        k,
        np.array([o[1] for o in day["orders"]], np.int8),
        np.array([o[2] for o in day["orders"]], np.int64),
        np.full(len(k), R_DECISION, np.int8),
        np.full(len(k), -1, np.int32),
    )
    fills = books.execute(0, orders, p, np.array(day["strength"]))
    after = books.mark(p, keys)[0]
    assert after == np.float64(before - fills["fee"].sum()) or abs(
        after - (before - fills["fee"].sum())
    ) <= 1e-9 * (abs(before) + np.abs(fills["qty"] * fills["price"]).sum() + 1.0)
