"""Books: a K-ticker account (cash plus positions) over the numba kernels of kernels.books."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from simulator.kernels.books import execute_orders_entry_nb, mark_entry_nb
from simulator.kernels.records import Book, Orders, empty_book, fill_dt
from simulator.kernels.target import init_cpu_target

if TYPE_CHECKING:
    from episodes.account import AccountRules
    from episodes.panel import Panel

__all__ = ["Books", "BookState"]


class BookState(NamedTuple):
    """A copy of a book: cash, margin used and per-ticker arrays over the K tickers."""

    cash: float
    margin_used: float
    long: np.ndarray  # [K] int64 shares
    short: np.ndarray  # [K] int64 shares
    lcb: np.ndarray  # [K] float64 long cost basis (average price, fees excluded; 0 when flat)
    scb: np.ndarray  # [K] float64 short cost basis
    smu: np.ndarray  # [K] float64 short margin used
    rg_long: np.ndarray  # [K] float64 cumulative realized gains, long side (net of exit fees)
    rg_short: np.ndarray  # [K] float64


class Books:
    """An account that executes orders at the open and marks at the close with the §5 rules.

    Parameters
    ----------
    n_tickers : int
        K, the ticker axis of every array passed in (the Panel's ``tickers``).
    is_bond : np.ndarray
        [K] bool; bonds (SHY, TLT) are outside the position cap.
    cash : float
        Starting cash (no positions).
    fee_rate, margin_rate : float
        Fee on notional for every fill; short margin requirement (the recording's:
        ``episodes.account.RECORDED_ACCOUNT``; a simulated account's: ``replay.*``).
    max_positions : int
        Cap on open stock positions; a stronger newcomer at the cap replaces the weakest (§5.4).
        Ties among the weakest go to the order's ``victim`` hint when it is one of them, else to
        the lowest ticker index (wfsim's deterministic rule; the recording's order is lost).

    Examples
    --------
    >>> from simulator.kernels.records import BUY, R_DECISION
    >>> b = Books(2, np.array([False, True]), 1000.0, fee_rate=0.0005, margin_rate=0.0,
    ...           max_positions=30)
    >>> o = Orders(np.array([0], np.int32), np.array([BUY], np.int8), np.array([3], np.int64),
    ...            np.array([R_DECISION], np.int8), np.array([-1], np.int32))
    >>> fills = b.execute(0, o, price=np.array([100.0, 80.0]), strength=np.zeros(2))
    >>> int(fills["qty"][0]), round(b.cash, 2)
    (3, 699.85)
    """

    def __init__(
        self,
        n_tickers: int,
        is_bond: np.ndarray,
        cash: float,
        *,
        fee_rate: float,
        margin_rate: float,
        max_positions: int,
    ) -> None:
        self.is_bond = np.ascontiguousarray(is_bond, dtype=np.bool_)
        if self.is_bond.shape != (n_tickers,):
            raise ValueError(f"is_bond.shape={self.is_bond.shape}, expected ({n_tickers},)")
        self.fee_rate = float(fee_rate)
        self.margin_rate = float(margin_rate)
        self.max_positions = int(max_positions)
        self.book: Book = empty_book(n_tickers, cash)  # the arrays the kernels mutate
        self._book_t = tuple(self.book)  # the same arrays, as the kernel entry points take them

    @classmethod
    def from_panel_before(cls, panel: Panel, t: int, rules: AccountRules) -> Books:
        """The recorded book before day ``t`` (episode t's ``portfolio_before``) under ``rules``."""
        b = cls(panel.n_tickers, panel.is_bond, float(panel.cash_before[t]), **rules.kwargs())
        b.book.state_f8[1] = panel.margin_before[t]
        b.long[:] = panel.long_before[t]
        b.short[:] = panel.short_before[t]
        if t == 0:
            src = (panel.lcb_before0, panel.scb_before0, panel.smu_before0)
            rg = (panel.rg_long_before0, panel.rg_short_before0)
        else:
            src = (panel.lcb_after[t - 1], panel.scb_after[t - 1], panel.smu_after[t - 1])
            rg = (panel.rg_long_after[t - 1], panel.rg_short_after[t - 1])
        b.lcb[:], b.scb[:], b.smu[:] = src
        b.rg_long[:], b.rg_short[:] = rg
        return b

    @classmethod
    def from_panel_after(cls, panel: Panel, t: int, rules: AccountRules) -> Books:
        """The recorded book after day ``t`` (episode t's ``portfolio_after``) under ``rules``."""
        b = cls(panel.n_tickers, panel.is_bond, float(panel.cash_after[t]), **rules.kwargs())
        b.book.state_f8[1] = panel.margin_after[t]
        b.long[:], b.short[:] = panel.long_after[t], panel.short_after[t]
        b.lcb[:], b.scb[:], b.smu[:] = panel.lcb_after[t], panel.scb_after[t], panel.smu_after[t]
        b.rg_long[:], b.rg_short[:] = panel.rg_long_after[t], panel.rg_short_after[t]
        return b

    @property
    def cash(self) -> float:
        return float(self.book.state_f8[0])

    @property
    def margin_used(self) -> float:
        return float(self.book.state_f8[1])

    # The per-ticker arrays of ``self.book`` (views: writing into them changes the book).
    long = property(lambda self: self.book.long)
    short = property(lambda self: self.book.short)
    lcb = property(lambda self: self.book.lcb)
    scb = property(lambda self: self.book.scb)
    smu = property(lambda self: self.book.smu)
    rg_long = property(lambda self: self.book.rg_long)
    rg_short = property(lambda self: self.book.rg_short)

    def n_open(self) -> int:
        """Open stock positions (either side), the quantity the cap counts."""
        return int(np.count_nonzero(((self.long > 0) | (self.short > 0)) & ~self.is_bond))

    def execute(
        self, day: int, orders: Orders, price: np.ndarray, strength: np.ndarray
    ) -> np.ndarray:
        """Execute ``orders`` in array order at ``price`` (open of ``day``); return the fill rows.

        ``strength`` [K] is the consensus strength used by the cap (§5.4); it must be finite for
        every open position and newcomer. One ``fill_dt`` row per order plus one per replacement
        close, in execution sequence (see ``execute_orders_nb``).
        """
        n = len(orders.k)
        K = len(self.long)
        if n and not (0 <= orders.k.min() and orders.k.max() < K and orders.victim.max() < K):
            raise ValueError(f"orders index tickers outside 0..{K - 1} (the kernels do not check)")
        out = np.zeros(2 * n, dtype=fill_dt)  # zeros: padding bytes stay deterministic
        init_cpu_target()  # first call only: before the kernels load from numba's cache
        orders_t = (
            np.ascontiguousarray(orders.k, np.int32),
            np.ascontiguousarray(orders.action, np.int8),
            np.ascontiguousarray(orders.qty, np.int64),
            np.ascontiguousarray(orders.reason, np.int8),
            np.ascontiguousarray(orders.victim, np.int32),
        )
        n_out = execute_orders_entry_nb(
            np.int32(day),
            self._book_t,
            orders_t,
            np.ascontiguousarray(price, np.float64),
            np.ascontiguousarray(strength, np.float64),
            self.is_bond,
            self.fee_rate,
            self.margin_rate,
            self.max_positions,
            out,
        )
        return out[:n_out]

    def mark(self, close: np.ndarray, keys: np.ndarray) -> tuple[float, float, float, float, float]:
        """(nav, long_exp, short_exp, gross, net) at ``close``, summed in ``keys`` order (§5.6)."""
        init_cpu_target()
        return mark_entry_nb(
            self._book_t,
            np.ascontiguousarray(close, np.float64),
            np.ascontiguousarray(keys, np.int64),
        )

    def snapshot(self) -> BookState:
        """A copy of the current book."""
        return BookState(
            self.cash,
            self.margin_used,
            self.long.copy(),
            self.short.copy(),
            self.lcb.copy(),
            self.scb.copy(),
            self.smu.copy(),
            self.rg_long.copy(),
            self.rg_short.copy(),
        )
