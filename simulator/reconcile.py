"""Exact replay of the recorded LLM baseline with our own books, checked day by day.

The book starts from the first ``portfolio_before`` and is never reset to the recording: a rule
error therefore shows up on the day it happens and on every later day.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import structlog

from agents.llm import RecordedDecisions
from episodes.panel import Panel
from simulator.books import Books
from simulator.export import Marks
from simulator.kernels.records import R_REPLACEMENT, fill_dt

__all__ = ["Mismatch", "ReplayResult", "replay_recorded", "reconcile_day", "TOLERANCES"]

log = structlog.get_logger(__name__)

TOLERANCES = {"money_rel": 1e-6, "return_abs": 1e-10}
"""Money (cash, cost bases, realized gains, exposures): |ours − recorded| ≤ 1e-6·max(1, |recorded|).
``portfolio_return``: 1e-10 absolute. Shares, executed_trades and replacements: exact."""


class Mismatch(NamedTuple):
    """One field of one day (and ticker; '' for day-level fields) that differs from the record."""

    date: str
    ticker: str
    field: str
    expected: str
    actual: str


class ReplayResult(NamedTuple):
    """Fills of every day (``fill_dt``, in execution sequence), daily marks and mismatches."""

    fills: np.ndarray
    marks: Marks
    initial_nav: float
    n_long: np.ndarray  # [T] open long stock positions after the close
    n_short: np.ndarray  # [T] open short stock positions after the close
    mismatches: list[Mismatch]
    bad_days: np.ndarray  # [T] bool: day t has at least one mismatch


def replay_recorded(
    panel: Panel, *, fee_rate: float = 0.0005, margin_rate: float = 0.0, max_positions: int = 30
) -> ReplayResult:
    """Replay the recorded decisions of every day with our books and reconcile each day.

    The book starts as the first episode's ``portfolio_before``; the NAV before day 0 is its
    cash plus margin (the recorded run starts flat at 100,000; a book starting with positions
    takes the NAV implied by the first recorded return instead).
    """
    books = Books.from_panel_before(
        panel, 0, fee_rate=fee_rate, margin_rate=margin_rate, max_positions=max_positions
    )
    decisions = RecordedDecisions(panel)
    T = panel.n_days
    cols = np.zeros((7, T))
    counts = np.zeros((2, T), np.int64)
    stock = ~panel.is_bond
    initial_nav = _initial_nav(panel, books)
    prev_nav = initial_nav
    chunks, mismatches = [], []
    bad = np.zeros(T, bool)
    for t in range(T):
        fills = books.execute(t, decisions.orders(t), panel.open[t], panel.strength[t])
        nav, lx, sx, gx, nx = books.mark(panel.close[t], panel.order(t))
        cols[:, t] = nav, books.cash, lx, sx, gx, nx, (nav - prev_nav) / prev_nav
        prev_nav = nav
        counts[:, t] = np.count_nonzero(books.long[stock]), np.count_nonzero(books.short[stock])
        day = reconcile_day(panel, t, books, fills, cols[:, t])
        bad[t] = bool(day)
        mismatches.extend(day)
        chunks.append(fills)
    fills = np.concatenate(chunks) if chunks else np.empty(0, fill_dt)
    log.info("baseline_replayed", days=T, days_ok=int(T - bad.sum()), mismatches=len(mismatches))
    return ReplayResult(fills, Marks(*cols), initial_nav, *counts, mismatches, bad)


def _initial_nav(panel: Panel, books: Books) -> float:
    if not (books.long.any() or books.short.any()):
        return books.cash + books.margin_used
    b = Books.from_panel_before(panel, 1) if panel.n_days > 1 else books
    nav0 = b.mark(panel.close[0], panel.order(0))[0]
    return nav0 / (1.0 + panel.portfolio_return[0])


def reconcile_day(
    panel: Panel, t: int, books: Books, fills: np.ndarray, day_marks: np.ndarray
) -> list[Mismatch]:
    """Compare our book after day ``t`` (and its fills and marks) with the recorded episode.

    Checks cash, margin, long/short shares, both cost bases, short margin, realized gains per
    side, ``executed_trades`` (the recorded dict: one key per order in execution order holding
    its fill, a replacement close inserting/overwriting the victim's key first — §5.5 — so
    values and key order), ``position_replacements`` (newcomer → victim for closes that filled,
    in event order), ``portfolio_return`` and the four exposures. Tolerances: ``TOLERANCES``.
    """
    date = str(panel.dates[t])
    tk = panel.tickers
    out: list[Mismatch] = []
    day_fields = {
        "cash": (panel.cash_after[t], books.cash),
        "margin_used": (panel.margin_after[t], books.margin_used),
        "long_exposure": (panel.long_exposure[t], day_marks[2]),
        "short_exposure": (panel.short_exposure[t], day_marks[3]),
        "gross_exposure": (panel.gross_exposure[t], day_marks[4]),
        "net_exposure": (panel.net_exposure[t], day_marks[5]),
    }
    for name, (exp, act) in day_fields.items():
        if not _money_ok(exp, act):
            out.append(Mismatch(date, "", name, _fmt(exp), _fmt(act)))
    ret_exp, ret_act = panel.portfolio_return[t], day_marks[6]
    if not abs(ret_act - ret_exp) <= TOLERANCES["return_abs"]:
        out.append(Mismatch(date, "", "portfolio_return", _fmt(ret_exp), _fmt(ret_act)))
    arrays = {
        "long": (panel.long_after[t], books.long, True),
        "short": (panel.short_after[t], books.short, True),
        "long_cost_basis": (panel.lcb_after[t], books.lcb, False),
        "short_cost_basis": (panel.scb_after[t], books.scb, False),
        "short_margin_used": (panel.smu_after[t], books.smu, False),
        "realized_long": (panel.rg_long_after[t], books.rg_long, False),
        "realized_short": (panel.rg_short_after[t], books.rg_short, False),
    }
    for name, (exp, act, exact) in arrays.items():
        ok = exp == act if exact else _money_ok(exp, act)
        for k in np.flatnonzero(~ok):
            out.append(Mismatch(date, str(tk[k]), name, _fmt(exp[k]), _fmt(act[k])))
    out += _diff_pairs(date, tk, "executed_trades", _recorded_trades(panel, t), _our_trades(fills))
    out += _diff_pairs(
        date, tk, "position_replacements", _recorded_repl(panel, t), _our_repl(fills)
    )
    return out


def _money_ok(exp, act) -> np.ndarray | bool:
    return np.abs(np.asarray(act) - exp) <= TOLERANCES["money_rel"] * np.maximum(1.0, np.abs(exp))


def _fmt(x) -> str:
    return repr(int(x)) if isinstance(x, np.integer) else repr(float(x))


def _our_trades(fills: np.ndarray) -> list[tuple[int, int]]:
    """``executed_trades`` as the recorded dict builds it: last write wins, first insert orders."""
    et: dict[int, int] = {}
    for k, q in zip(fills["k"].tolist(), fills["qty"].tolist(), strict=True):
        et[k] = q
    return list(et.items())


def _our_repl(fills: np.ndarray) -> list[tuple[int, int]]:
    m = (fills["reason"] == R_REPLACEMENT) & (fills["qty"] > 0)
    return list(zip(fills["victim_of"][m].tolist(), fills["k"][m].tolist(), strict=True))


def _recorded_trades(panel: Panel, t: int) -> list[tuple[int, int]]:
    lo, hi = panel.trade_ptr[t], panel.trade_ptr[t + 1]
    return list(zip(panel.trade_k[lo:hi].tolist(), panel.trade_qty[lo:hi].tolist(), strict=True))


def _recorded_repl(panel: Panel, t: int) -> list[tuple[int, int]]:
    lo, hi = panel.repl_ptr[t], panel.repl_ptr[t + 1]
    return list(
        zip(panel.repl_new_k[lo:hi].tolist(), panel.repl_victim_k[lo:hi].tolist(), strict=True)
    )


def _diff_pairs(date: str, tk: np.ndarray, name: str, exp: list, act: list) -> list[Mismatch]:
    """Per-key value differences of two ordered (key, value) lists, then a key-order check."""
    if exp == act:
        return []
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
