"""Plain-Python reference of the recorded accounting rules (shared README §5), one order at a time.

Slow and obvious on purpose: the numba kernels are tested against it, and the synthetic baseline
trades through it. Imports nothing but the standard library and numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.kernels.records import (
    BUY,
    COVER,
    R_CAP_REJECTED,
    R_CASH_LIMITED,
    R_CLIPPED_HOLDING,
    R_DECISION,
    R_REPLACEMENT,
    SELL,
    SHORT,
)

__all__ = ["RefBook", "RefFill", "ref_execute_day", "ref_strength", "ref_nav"]


@dataclass
class RefBook:
    """A book as plain dicts keyed by ticker (only non-empty entries need to exist)."""

    cash: float
    long: dict[str, int] = field(default_factory=dict)
    short: dict[str, int] = field(default_factory=dict)
    lcb: dict[str, float] = field(default_factory=dict)
    scb: dict[str, float] = field(default_factory=dict)
    smu: dict[str, float] = field(default_factory=dict)  # short margin used per ticker
    rg_long: dict[str, float] = field(default_factory=dict)
    rg_short: dict[str, float] = field(default_factory=dict)
    margin_used: float = 0.0

    def copy(self) -> RefBook:
        return RefBook(
            self.cash,
            dict(self.long),
            dict(self.short),
            dict(self.lcb),
            dict(self.scb),
            dict(self.smu),
            dict(self.rg_long),
            dict(self.rg_short),
            self.margin_used,
        )


@dataclass
class RefFill:
    ticker: str
    action: int
    reason: int
    req_qty: int
    qty: int
    price: float
    fee: float
    realized: float = 0.0
    victim_of: str | None = None


def ref_strength(votes: list[int]) -> float:
    """Consensus strength §5.4: ``|mean| * agree / n`` over the votes of every agent covering x."""
    n = len(votes)
    if n == 0:
        return 0.0
    mean = sum(votes) / n
    if mean == 0:
        return 0.0
    sgn = 1 if mean > 0 else -1
    agree = sum(1 for v in votes if v == sgn)
    return abs(mean) * agree / n


def _fill(book: RefBook, tk: str, action: int, q: int, p: float, fee_rate: float, m: float):
    """Apply one order; return (filled, fee, realized, reason)."""
    L, S = book.long.get(tk, 0), book.short.get(tk, 0)
    reason = R_DECISION
    if q <= 0:
        return 0, 0.0, 0.0, reason
    if action == BUY:
        if q * p * (1 + fee_rate) > book.cash:
            q = int(book.cash / (p * (1 + fee_rate)))
            reason = R_CASH_LIMITED
            if q <= 0:
                return 0, 0.0, 0.0, reason
        cost = q * p
        fee = cost * fee_rate
        book.cash -= cost + fee
        book.lcb[tk] = (book.lcb.get(tk, 0.0) * L + cost) / (L + q)
        book.long[tk] = L + q
        return q, fee, 0.0, reason
    if action == SELL:
        if q > L:
            q, reason = L, R_CLIPPED_HOLDING
        if q <= 0:
            return 0, 0.0, 0.0, reason
        proceeds = q * p
        fee = proceeds * fee_rate
        book.cash += proceeds - fee
        gain = (p - book.lcb.get(tk, 0.0)) * q - fee
        book.rg_long[tk] = book.rg_long.get(tk, 0.0) + gain
        book.long[tk] = L - q
        if L - q == 0:
            book.lcb[tk] = 0.0
        return q, fee, gain, reason
    if action == SHORT:
        proceeds = q * p
        if proceeds * m + proceeds * fee_rate > book.cash:
            q = int(book.cash / (p * (m + fee_rate))) if (m + fee_rate) > 0 else q
            reason = R_CASH_LIMITED
            if q <= 0:
                return 0, 0.0, 0.0, reason
            proceeds = q * p
        fee = proceeds * fee_rate
        margin = proceeds * m
        book.cash += proceeds
        book.cash -= fee
        book.cash -= margin
        book.smu[tk] = book.smu.get(tk, 0.0) + margin
        book.margin_used += margin
        book.scb[tk] = (book.scb.get(tk, 0.0) * S + proceeds) / (S + q)
        book.short[tk] = S + q
        return q, fee, 0.0, reason
    if action == COVER:
        if q > S:
            q, reason = S, R_CLIPPED_HOLDING
        if q <= 0:
            return 0, 0.0, 0.0, reason
        cost = q * p
        fee = cost * fee_rate
        portion = q / S
        release = portion * book.smu.get(tk, 0.0)
        book.smu[tk] = book.smu.get(tk, 0.0) - release
        book.margin_used -= release
        book.cash += release
        book.cash -= cost + fee
        gain = (book.scb.get(tk, 0.0) - p) * q - fee
        book.rg_short[tk] = book.rg_short.get(tk, 0.0) + gain
        book.short[tk] = S - q
        if S - q == 0:
            book.scb[tk] = 0.0
        return q, fee, gain, reason
    return 0, 0.0, 0.0, reason  # hold


def ref_execute_day(
    book: RefBook,
    orders: list[tuple[str, int, int]],
    prices: dict[str, float],
    strength: dict[str, float],
    bonds: frozenset[str] = frozenset({"SHY", "TLT"}),
    *,
    fee_rate: float,
    margin_rate: float,
    max_positions: int,
    victims: dict[str, str] | None = None,
) -> list[RefFill]:
    """Execute one day's orders in sequence, mutating ``book``; return the fill log.

    ``orders`` are ``(ticker, action, quantity)`` in execution order. A buy/short that would open a
    new stock position at the cap replaces the weakest open position if strictly stronger (§5.4).
    Ties: ``victims[newcomer]`` when given and tied-weakest (the recorded oracle), else the first
    tied position in ``sorted`` ticker order (wfsim's documented deterministic rule).
    """
    fills: list[RefFill] = []
    for tk, action, qty in orders:
        q = int(qty)
        p = prices[tk]
        if action in (BUY, SHORT) and q > 0 and tk not in bonds:
            has_pos = book.long.get(tk, 0) > 0 or book.short.get(tk, 0) > 0
            if not has_pos:
                open_pos = [
                    x
                    for x in sorted(set(book.long) | set(book.short))
                    if x not in bonds and (book.long.get(x, 0) > 0 or book.short.get(x, 0) > 0)
                ]
                if len(open_pos) >= max_positions:
                    s_min = min(strength.get(x, 0.0) for x in open_pos)
                    if strength.get(tk, 0.0) <= s_min:
                        fills.append(RefFill(tk, action, R_CAP_REJECTED, q, 0, p, 0.0))
                        continue
                    tied = [x for x in open_pos if strength.get(x, 0.0) == s_min]
                    v = tied[0]
                    if victims and victims.get(tk) in tied:
                        v = victims[tk]
                    vact = SELL if book.long.get(v, 0) > 0 else COVER
                    vq = book.long.get(v, 0) if vact == SELL else book.short.get(v, 0)
                    f, fee, gain, _ = _fill(book, v, vact, vq, prices[v], fee_rate, margin_rate)
                    fills.append(RefFill(v, vact, R_REPLACEMENT, vq, f, prices[v], fee, gain, tk))
        f, fee, gain, reason = _fill(book, tk, action, q, p, fee_rate, margin_rate)
        fills.append(RefFill(tk, action, reason, q, f, p, fee, gain))
    return fills


def ref_nav(book: RefBook, close: dict[str, float]) -> float:
    """NAV at the close §5.6: cash + Σ long·close − Σ short·close + margin used (priced tickers)."""
    nav = book.cash
    for tk, c in close.items():
        L, S = book.long.get(tk, 0), book.short.get(tk, 0)
        if L > 0:
            nav += L * c
        if S > 0:
            nav -= S * c
    return nav + book.margin_used
