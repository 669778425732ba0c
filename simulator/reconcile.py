"""Exact replay of the recorded LLM baseline with our own books, checked day by day.

The book starts from the first ``portfolio_before`` and is never reset to the recording: a rule
error therefore shows up on the day it happens and on every later day. The day loop keeps each
day's book; the comparison with the recording then runs over all days at once. The same day loop
under another account's rules is the counterfactual LLM run (``replay_decisions``), unreconciled.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import structlog

from agents.llm import RecordedDecisions
from episodes.account import RECORDED_ACCOUNT, AccountRules
from episodes.panel import Panel
from models.mapped import release
from simulator.books import Books
from simulator.kernels.books import executed_trades_nb
from simulator.kernels.records import R_REPLACEMENT, fill_dt
from simulator.panel_map import RELEASE_DAYS, columns, release_panel, scratch, take_rows
from simulator.runs import Marks

__all__ = [
    "Mismatch",
    "DailyBooks",
    "BookReplay",
    "ReplayResult",
    "replay_recorded",
    "replay_decisions",
    "reconcile",
    "TOLERANCES",
]

log = structlog.get_logger(__name__)

TOLERANCES = {"money_rel": 1e-6, "return_abs": 1e-10}
"""Money (cash, cost bases, realized gains, exposures): |ours − recorded| ≤ 1e-6·max(1, |recorded|).
``portfolio_return``: 1e-10 absolute. Shares, executed_trades and replacements: exact."""

# our field name -> Panel field holding the recorded after-trade value ([T] or [T, K])
DAY_FIELDS = {"cash": "cash_after", "margin_used": "margin_after"}
MARK_FIELDS = ("long_exposure", "short_exposure", "gross_exposure", "net_exposure")
TICKER_FIELDS = {
    "long": "long_after",
    "short": "short_after",
    "long_cost_basis": "lcb_after",
    "short_cost_basis": "scb_after",
    "short_margin_used": "smu_after",
    "realized_long": "rg_long_after",
    "realized_short": "rg_short_after",
}
_BOOK_ATTR = dict(zip(TICKER_FIELDS, ("long", "short", "lcb", "scb", "smu", "rg_long", "rg_short"),
                      strict=True))  # fmt: skip


class Mismatch(NamedTuple):
    """One field of one day (and ticker; '' for day-level fields) that differs from the record."""

    date: str
    ticker: str
    field: str
    expected: str
    actual: str


class DailyBooks(NamedTuple):
    """Our book after each day: ``cash``/``margin_used`` [T], the others [T, K] (as in Books)."""

    cash: np.ndarray
    margin_used: np.ndarray
    long: np.ndarray
    short: np.ndarray
    lcb: np.ndarray
    scb: np.ndarray
    smu: np.ndarray
    rg_long: np.ndarray
    rg_short: np.ndarray


class BookReplay(NamedTuple):
    """The recorded decisions executed on one book: fills (``fill_dt``, in execution sequence),
    daily marks and the book after each day."""

    fills: np.ndarray
    marks: Marks
    initial_nav: float
    n_long: np.ndarray  # [T] open long stock positions after the close
    n_short: np.ndarray  # [T] open short stock positions after the close
    after: DailyBooks


# A ``BookReplay``'s fields (declared once, above) plus the reconciliation's two.
ReplayResult = NamedTuple(
    "ReplayResult",
    [
        *BookReplay.__annotations__.items(),
        ("mismatches", list[Mismatch]),
        ("bad_days", np.ndarray),  # [T] bool: day t has at least one mismatch
    ],
)
ReplayResult.__doc__ = (
    "A ``BookReplay`` under the recording's rules plus its reconciliation with the recording."
)


def replay_recorded(panel: Panel) -> ReplayResult:
    """Replay the recorded decisions under the recording's rules (``RECORDED_ACCOUNT``), then
    reconcile every day with the recording."""
    res = replay_decisions(panel, RECORDED_ACCOUNT)
    mismatches = reconcile(panel, res.after, res.fills, res.marks)
    bad = np.isin(panel.dates.astype(str), [m.date for m in mismatches])
    T = panel.n_days
    log.info("baseline_replayed", days=T, days_ok=int(T - bad.sum()), mismatches=len(mismatches))
    return ReplayResult(*res, mismatches, bad)


def replay_decisions(panel: Panel, rules: AccountRules) -> BookReplay:
    """Execute the recorded decisions of every day on one book under ``rules``.

    The book starts as the first episode's ``portfolio_before`` (the decisions are share counts
    sized for it); the NAV before day 0 is its cash plus margin (the recorded run starts flat at
    100,000; a book starting with positions takes the NAV implied by the first recorded return
    instead). Under other rules than the recording's this is a counterfactual: orders the books
    clip or reject keep their reason codes in the fills, and nothing is reconciled.
    """
    books = Books.from_panel_before(panel, 0, rules)
    decisions = RecordedDecisions(panel)
    T, K = panel.n_days, panel.n_tickers
    after = DailyBooks(np.zeros(T), np.zeros(T),
                       *(scratch(panel, (T, K), np.int64) for _ in range(2)),
                       *(scratch(panel, (T, K), np.float64) for _ in range(5)))  # fmt: skip
    cols = np.zeros((7, T))
    buf = scratch(panel, (2 * len(panel.order_idx),), fill_dt)  # on disk beside a mapped Panel
    n = 0
    prev_nav = initial_nav = _initial_nav(panel, books, rules)
    stock = ~panel.is_bond
    n_long, n_short = np.zeros(T, np.int64), np.zeros(T, np.int64)
    for t in range(T):
        if t % RELEASE_DAYS == 0:  # a mapped Panel's pages so far (simulator.panel_map)
            release_panel(panel)
            for a in (*after, buf):
                release(a)
        fills = books.execute(t, decisions.orders(t), panel.open[t], panel.strength[t])
        buf[n : n + len(fills)] = fills
        n += len(fills)
        nav, lx, sx, gx, nx = books.mark(panel.close[t], panel.order(t))
        cols[:, t] = nav, books.cash, lx, sx, gx, nx, (nav - prev_nav) / prev_nav
        prev_nav = nav
        after.cash[t], after.margin_used[t] = books.cash, books.margin_used
        for name in DailyBooks._fields[2:]:
            getattr(after, name)[t] = getattr(books, name)
        n_long[t], n_short[t] = (
            np.count_nonzero(books.long[stock]),
            np.count_nonzero(books.short[stock]),
        )
    return BookReplay(_trimmed(buf, n), Marks(*cols), initial_nav, n_long, n_short, after)


def _trimmed(buf: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` rows of ``buf``: in place in memory (no second copy), a view when mapped."""
    if isinstance(buf, np.memmap):
        return buf[:n]
    buf.resize(n, refcheck=False)
    return buf


def _initial_nav(panel: Panel, books: Books, rules: AccountRules) -> float:
    if not (books.long.any() or books.short.any()):
        return books.cash + books.margin_used
    # the recorded book after day 0 at its close (a one-day store has no day-1 "before" book)
    nav0 = Books.from_panel_after(panel, 0, rules).mark(panel.close[0], panel.order(0))[0]
    return nav0 / (1.0 + panel.portfolio_return[0])


def reconcile(panel: Panel, after: DailyBooks, fills: np.ndarray, marks: Marks) -> list[Mismatch]:
    """Every difference between our days and the recorded ones, sorted by day.

    Checks cash, margin, long/short shares, both cost bases, short margin and realized gains per
    ticker, ``executed_trades`` (the recorded dict: one key per order in execution order holding
    its fill, a replacement close inserting/overwriting the victim's key first — §5.5 — so
    values and key order), ``position_replacements`` (newcomer → victim for closes that filled,
    in event order), ``portfolio_return`` and the four exposures. Tolerances: ``TOLERANCES``.
    """
    dates = panel.dates.astype(str)
    tk = panel.tickers
    rows: list[tuple[int, int, Mismatch]] = []  # (day, rank, row): rank keeps field order
    day_vals = {
        name: (getattr(panel, rec), getattr(after, name)) for name, rec in DAY_FIELDS.items()
    }
    day_vals |= {name: (getattr(panel, name), getattr(marks, name)) for name in MARK_FIELDS}
    for rank, (name, (exp, act)) in enumerate(day_vals.items()):
        for t in np.flatnonzero(~_money_ok(exp, act)):
            rows.append((t, rank, Mismatch(dates[t], "", name, _fmt(exp[t]), _fmt(act[t]))))
    exp, act = panel.portfolio_return, marks.daily_return
    for t in np.flatnonzero(~(np.abs(act - exp) <= TOLERANCES["return_abs"])):
        rows.append((t, 10, Mismatch(dates[t], "", "portfolio_return", _fmt(exp[t]), _fmt(act[t]))))
    for rank, (name, rec) in enumerate(TICKER_FIELDS.items(), start=20):
        exp, act = getattr(panel, rec), getattr(after, _BOOK_ATTR[name])
        ok = _by_days(np.equal if exp.dtype.kind == "i" else _money_ok, exp, act)
        for t, k in zip(*np.nonzero(~ok), strict=True):
            rows.append((t, rank, Mismatch(dates[t], str(tk[k]), name, _fmt(exp[t, k]),
                                           _fmt(act[t, k]))))  # fmt: skip
        release_panel(panel)  # one field's mapped pages at a time
        release(act)
    rec_trades = (panel.trade_ptr, panel.trade_k, panel.trade_qty)
    rec_repl = (panel.repl_ptr, panel.repl_new_k, panel.repl_victim_k)
    for rank, name, rec, ours in (
        (40, "executed_trades", rec_trades, _our_trades(fills, panel.n_days, panel.n_tickers)),
        (41, "position_replacements", rec_repl, _our_repl(fills, panel.n_days)),
    ):
        for t in _days_differing(rec, ours):
            for m in _diff_pairs(dates[t], tk, name, _pairs(rec, t), _pairs(ours, t)):
                rows.append((t, rank, m))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [m for _, _, m in rows]


def _by_days(ok, exp: np.ndarray, act: np.ndarray, step: int = 64) -> np.ndarray:
    """``ok(exp, act)`` [T, K] bool, computed ``step`` days at a time: the temporaries stay small
    and a mapped array's pages are handed back block by block (``simulator.panel_map``)."""
    out = np.empty(exp.shape, bool)
    for a in range(0, len(exp), step):
        out[a : a + step] = ok(exp[a : a + step], act[a : a + step])
        release(exp[a : a + step])
        release(act[a : a + step])
    return out


def _money_ok(exp: np.ndarray, act: np.ndarray) -> np.ndarray:
    return np.abs(act - exp) <= TOLERANCES["money_rel"] * np.maximum(1.0, np.abs(exp))


def _fmt(x) -> str:
    return repr(int(x)) if isinstance(x, np.integer) else repr(float(x))


def _ragged(day: np.ndarray, a: np.ndarray, b: np.ndarray, n_days: int):
    return np.searchsorted(day, np.arange(n_days + 1)), a, b


def _our_trades(fills: np.ndarray, n_days: int, n_tickers: int):
    day, k, qty = columns(fills, ("day", "k", "qty"))
    day, k, qty = executed_trades_nb(day, k, qty, n_tickers)
    return _ragged(day, k, qty, n_days)


def _our_repl(fills: np.ndarray, n_days: int):
    m = take_rows(fills, lambda f: (f["reason"] == R_REPLACEMENT) & (f["qty"] > 0))
    return _ragged(m["day"], m["victim_of"], m["k"], n_days)


def _pairs(ragged, t: int) -> list[tuple[int, int]]:
    ptr, a, b = ragged
    lo, hi = ptr[t], ptr[t + 1]
    return list(zip(a[lo:hi].tolist(), b[lo:hi].tolist(), strict=True))


def _days_differing(rec, ours) -> np.ndarray:
    """Days whose (key, value) sequences differ; a fast whole-run check first."""
    if all(np.array_equal(x, y) for x, y in zip(rec, ours, strict=True)):
        return np.empty(0, np.int64)
    n_days = len(rec[0]) - 1
    return np.array([t for t in range(n_days) if _pairs(rec, t) != _pairs(ours, t)], np.int64)


def _diff_pairs(date: str, tk: np.ndarray, name: str, exp: list, act: list) -> list[Mismatch]:
    """Per-key value differences of two ordered (key, value) lists, then a key-order check."""
    de, da = dict(exp), dict(act)
    show = (lambda v: str(tk[v])) if name == "position_replacements" else repr
    out = []
    for k in sorted(set(de) | set(da)):
        e, a = de.get(k), da.get(k)
        if e != a:
            e_s, a_s = ("" if v is None else show(v) for v in (e, a))
            out.append(Mismatch(date, str(tk[k]), name, e_s, a_s))
    if not out:  # same keys and values, different order
        i = next(i for i, (x, y) in enumerate(zip(exp, act, strict=True)) if x != y)
        out.append(Mismatch(date, "", f"{name}.order", str(tk[exp[i][0]]), str(tk[act[i][0]])))
    return out
