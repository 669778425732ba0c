"""Numba books: fills, the 30-position cap with replacement, and the close mark (README §5).

Arrays only, vectorbt style: ``fill_order_nb`` decides one fill and mutates the book,
``record_fill_nb`` writes one ``fill_dt`` row, ``execute_orders_nb`` runs a day's orders in
sequence and ``mark_nb`` values the book at the close. The plain-Python spec they must match is
``simulator.kernels.reference``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulator.kernels.records import (
    BUY,
    CASH,
    COVER,
    HOLD,
    MARGIN,
    R_CAP_REJECTED,
    R_CASH_LIMITED,
    R_CLIPPED_HOLDING,
    R_DECISION,
    R_NO_PRICE,
    R_REPLACEMENT,
    SELL,
    SHORT,
    Book,
    Orders,
)

__all__ = [
    "fill_order_nb",
    "buy_nb",
    "sell_nb",
    "short_nb",
    "cover_nb",
    "record_fill_nb",
    "find_victim_nb",
    "execute_orders_nb",
    "mark_nb",
    "execute_orders_entry_nb",
    "mark_entry_nb",
    "executed_trades_nb",
    "CAP_FREE",
    "CAP_REJECT",
]

CAP_FREE = -1  # find_victim_nb: no replacement needed
CAP_REJECT = -2  # find_victim_nb: newcomer not stronger than the weakest position


@njit(cache=True)
def fill_order_nb(k, action, q, p, fee_rate, margin_rate, book):
    """Apply one order to ticker ``k`` at price ``p`` to ``book`` (a ``records.Book``, mutated).

    Returns (filled, fee, realized, reason). ``q <= 0`` and hold are no-ops; an unusable price
    (NaN or <= 0) fills nothing (R_NO_PRICE); otherwise the action's own kernel applies the §5.3
    rule. The float operation order in each follows the recording so that books stay bit-exact.
    """
    if action == HOLD or q <= 0:
        return 0, 0.0, 0.0, R_DECISION
    if not (p > 0.0):
        return 0, 0.0, 0.0, R_NO_PRICE
    if action == BUY:
        return buy_nb(book, k, q, p, fee_rate)
    if action == SELL:
        return sell_nb(book, k, q, p, fee_rate)
    if action == SHORT:
        return short_nb(book, k, q, p, fee_rate, margin_rate)
    if action == COVER:
        return cover_nb(book, k, q, p, fee_rate)
    return 0, 0.0, 0.0, R_DECISION


# The per-action kernels are inlined at the numba IR level: as plain njit calls the split cost
# ~5 % on the njit day loop of scripts/bench/bench_books.py (best-of-101 medians over 6-9 rounds:
# 6.2 ms one fill_order_nb -> 6.5 ms split; 6.2 ms split + inline="always").
@njit(cache=True, inline="always")
def buy_nb(book, k, q, p, fee_rate):
    """Buy ``q > 0`` at ``p > 0``: the only cash-checked action; short of cash it fills
    ``int(cash / (p (1+fee)))`` (R_CASH_LIMITED). The long cost basis is the average price."""
    reason = R_DECISION
    cash = book.state_f8
    if q * p * (1 + fee_rate) > cash[CASH]:
        q = np.int64(cash[CASH] / (p * (1 + fee_rate)))
        reason = R_CASH_LIMITED
        if q <= 0:
            return 0, 0.0, 0.0, reason
    L = book.long[k]
    cost = q * p
    fee = cost * fee_rate
    cash[CASH] -= cost + fee
    book.lcb[k] = (book.lcb[k] * L + cost) / (L + q)
    book.long[k] = L + q
    return q, fee, 0.0, reason


@njit(cache=True, inline="always")
def sell_nb(book, k, q, p, fee_rate):
    """Sell ``q > 0`` at ``p > 0``, clipped to the long held (R_CLIPPED_HOLDING); the realized
    gain is net of the fee; the cost basis resets to 0 when flat."""
    reason = R_DECISION
    L = book.long[k]
    if q > L:
        q = L
        reason = R_CLIPPED_HOLDING
    if q <= 0:
        return 0, 0.0, 0.0, reason
    proceeds = q * p
    fee = proceeds * fee_rate
    book.state_f8[CASH] += proceeds - fee
    gain = (p - book.lcb[k]) * q - fee
    book.rg_long[k] += gain
    book.long[k] = L - q
    if L - q == 0:
        book.lcb[k] = 0.0
    return q, fee, gain, reason


@njit(cache=True, inline="always")
def short_nb(book, k, q, p, fee_rate, margin_rate):
    """Short ``q > 0`` at ``p > 0``: margin + fee are checked against cash (else clipped,
    R_CASH_LIMITED); the proceeds are credited and the margin set aside."""
    reason = R_DECISION
    cash = book.state_f8
    proceeds = q * p
    if proceeds * margin_rate + proceeds * fee_rate > cash[CASH]:
        if margin_rate + fee_rate > 0:
            q = np.int64(cash[CASH] / (p * (margin_rate + fee_rate)))
        reason = R_CASH_LIMITED
        if q <= 0:
            return 0, 0.0, 0.0, reason
        proceeds = q * p
    S = book.short[k]
    fee = proceeds * fee_rate
    margin = proceeds * margin_rate
    cash[CASH] += proceeds
    cash[CASH] -= fee
    cash[CASH] -= margin
    book.smu[k] += margin
    cash[MARGIN] += margin
    book.scb[k] = (book.scb[k] * S + proceeds) / (S + q)
    book.short[k] = S + q
    return q, fee, 0.0, reason


@njit(cache=True, inline="always")
def cover_nb(book, k, q, p, fee_rate):
    """Cover ``q > 0`` at ``p > 0``, clipped to the short held (R_CLIPPED_HOLDING); no cash
    check (cash may go negative); releases the covered share of the margin."""
    reason = R_DECISION
    S = book.short[k]
    if q > S:
        q = S
        reason = R_CLIPPED_HOLDING
    if q <= 0:
        return 0, 0.0, 0.0, reason
    cash = book.state_f8
    cost = q * p
    fee = cost * fee_rate
    release = (q / S) * book.smu[k]
    book.smu[k] -= release
    cash[MARGIN] -= release
    cash[CASH] += release
    cash[CASH] -= cost + fee
    gain = (book.scb[k] - p) * q - fee
    book.rg_short[k] += gain
    book.short[k] = S - q
    if S - q == 0:
        book.scb[k] = 0.0
    return q, fee, gain, reason


@njit(cache=True)
def record_fill_nb(out, i, day, seq, k, action, reason, req, filled, price, fee, book, gain, of):
    """Write one ``fill_dt`` row at ``out[i]`` (``book`` is the state after the fill)."""
    r = out[i]
    r["day"] = day
    r["seq"] = seq
    r["k"] = k
    r["action"] = action
    r["reason"] = reason
    r["req_qty"] = req
    r["qty"] = filled
    r["price"] = price
    r["fee"] = fee
    r["cash_after"] = book.state_f8[CASH]
    r["long_after"] = book.long[k]
    r["short_after"] = book.short[k]
    r["realized"] = gain
    r["victim_of"] = of


@njit(cache=True)
def find_victim_nb(k, book, is_bond, strength, max_positions, hint):
    """Cap check for a new stock position in ``k`` (§5.4); return a victim index or a CAP_* code.

    The open stock positions W include today's earlier fills; below ``max_positions`` there is
    room (CAP_FREE). Otherwise the newcomer must be strictly stronger than ``s_min = min
    strength(W)`` (else CAP_REJECT). Tie-break among the weakest: ``hint`` (the recorded victim)
    when it is one of them, else the lowest ticker index — wfsim's deterministic rule (the
    recording's own order came from CPython set iteration and cannot be reproduced).
    """
    long, short = book.long, book.short
    n_open = 0
    s_min = np.inf
    first = -1
    for x in range(long.shape[0]):
        if is_bond[x] or (long[x] <= 0 and short[x] <= 0):
            continue
        n_open += 1
        if strength[x] < s_min:
            s_min = strength[x]
            first = x
    if n_open < max_positions:
        return CAP_FREE
    if not (strength[k] > s_min):
        return CAP_REJECT
    if hint >= 0 and not is_bond[hint] and (long[hint] > 0 or short[hint] > 0):
        if strength[hint] == s_min:
            return hint
    return first


@njit(cache=True)
def execute_orders_nb(
    day, book, orders, price, strength, is_bond, fee_rate, margin_rate, max_positions, out, n_out
):
    """Execute one day's orders in array order; append fill rows to ``out``; return the new n_out.

    ``book`` (a ``records.Book``) is mutated in place; ``orders`` is a ``records.Orders``. One row
    per order (holds included, so the rows replay ``executed_trades``), plus one R_REPLACEMENT row
    (``victim_of`` = newcomer) before a newcomer that displaces a victim. A buy/short with q > 0
    in a stock without a position is a newcomer: at the cap it is rejected (R_CAP_REJECTED) or
    first closes the victim fully — sell the long if long > 0, else cover the short, one side
    only — and then executes even if that close filled 0. ``out`` needs room for 2 rows per order.
    """
    long, short = book.long, book.short
    seq = 0
    for j in range(orders.k.shape[0]):
        k = orders.k[j]
        act = orders.action[j]
        q = orders.qty[j]
        p = price[k]
        if (act == BUY or act == SHORT) and q > 0 and not is_bond[k]:
            if long[k] <= 0 and short[k] <= 0:
                v = find_victim_nb(k, book, is_bond, strength, max_positions, orders.victim[j])
                if v == CAP_REJECT:
                    record_fill_nb(out, n_out, day, seq, k, act, R_CAP_REJECTED, q, 0, p, 0.0,
                                   book, 0.0, -1)  # fmt: skip
                    n_out += 1
                    seq += 1
                    continue
                if v >= 0:
                    vact = SELL if long[v] > 0 else COVER
                    vq = long[v] if vact == SELL else short[v]
                    f, fee, gain, why = fill_order_nb(
                        v, vact, vq, price[v], fee_rate, margin_rate, book
                    )
                    vreason = R_NO_PRICE if why == R_NO_PRICE else R_REPLACEMENT
                    record_fill_nb(out, n_out, day, seq, v, vact, vreason, vq, f, price[v], fee,
                                   book, gain, k)  # fmt: skip
                    n_out += 1
                    seq += 1
        f, fee, gain, why = fill_order_nb(k, act, q, p, fee_rate, margin_rate, book)
        if why == R_DECISION:
            why = orders.reason[j]
        record_fill_nb(out, n_out, day, seq, k, act, why, q, f, p, fee, book, gain, -1)
        n_out += 1
        seq += 1
    return n_out


@njit(cache=True)
def mark_nb(book, close, keys):
    """Value ``book`` at the close over ``keys`` (§5.6, §4.3), summing in ``keys`` order.

    Returns (nav, long_exposure, short_exposure, gross_exposure, net_exposure) with
    ``nav = cash + Σ long·close − Σ short·close + margin_used`` accumulated term by term in key
    order (as recorded, hence bit-exact), ``long_exposure = Σ long·close`` and ``short_exposure =
    Σ short·close``. Tickers without a position contribute nothing, even when unpriced.
    """
    long, short = book.long, book.short
    nav = book.state_f8[CASH]
    long_exp = 0.0
    short_exp = 0.0
    for j in range(keys.shape[0]):
        k = keys[j]
        c = close[k]
        if long[k] > 0:
            nav += long[k] * c
            long_exp += long[k] * c
        if short[k] > 0:
            nav -= short[k] * c
            short_exp += short[k] * c
    nav += book.state_f8[MARGIN]
    return nav, long_exp, short_exp, long_exp + short_exp, long_exp - short_exp


# Entry points for Python callers. A NamedTuple argument misses numba's C fast path for argument
# typing (plain tuples and arrays take it): a call with a Book + Orders costs ~2.5 us more per day
# than flat arrays (measured: Books.execute 9.2 -> 11.3 us, Books.mark 2.2 -> 3.3 us). These take
# plain tuples and rebuild the NamedTuples inside numba, where it is free.
@njit(cache=True)
def execute_orders_entry_nb(
    day, book_t, orders_t, price, strength, is_bond, fee_rate, margin_rate, max_positions, out
):
    """``execute_orders_nb`` from n_out = 0, with ``tuple(Book)`` and ``tuple(Orders)``."""
    return execute_orders_nb(day, Book(*book_t), Orders(*orders_t), price, strength, is_bond,
                             fee_rate, margin_rate, max_positions, out, 0)  # fmt: skip


@njit(cache=True)
def mark_entry_nb(book_t, close, keys):
    """``mark_nb`` with ``tuple(Book)``."""
    return mark_nb(Book(*book_t), close, keys)


@njit(cache=True)
def executed_trades_nb(day, k, qty, n_tickers):
    """The recorded ``executed_trades`` dicts of fill rows (§5.5), as (day, k, qty) rows.

    Per day, one row per ticker in order of its first fill row (a replacement victim therefore
    comes where it was closed), holding the quantity of its last fill row (the overwrite quirk).
    """
    n = k.shape[0]
    o_day = np.empty(n, np.int32)
    o_k = np.empty(n, np.int32)
    o_qty = np.empty(n, np.int64)
    slot = np.full(n_tickers, -1, np.int64)
    m = 0
    start = 0
    for i in range(n):
        if i > 0 and day[i] != day[i - 1]:
            for j in range(start, m):
                slot[o_k[j]] = -1
            start = m
        s = slot[k[i]]
        if s < 0:
            slot[k[i]] = m
            o_day[m], o_k[m], o_qty[m] = day[i], k[i], qty[i]
            m += 1
        else:
            o_qty[s] = qty[i]
    return o_day[:m], o_k[:m], o_qty[:m]
