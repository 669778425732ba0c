"""Action codes, reason codes and record dtypes shared by the numba books and their callers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# --- actions (llm_decisions.action) ---------------------------------------------------------
HOLD = 0
BUY = 1
SELL = 2
SHORT = 3
COVER = 4
ACTION_NAMES = ("hold", "buy", "sell", "short", "cover")
ACTION_CODES = {name: code for code, name in enumerate(ACTION_NAMES)}


# --- reasons: why a fill record exists / why it was clipped or rejected ---------------------
class Reason(NamedTuple):
    """One reason code of ``fill_dt.reason``: its export name, int code and meaning."""

    name: str
    code: int
    description: str


# The one declaration of the reason codes; everything below (the R_* constants the numba kernels
# compile in, REASON_NAMES for exports, the README table) is derived from it.
REASONS: tuple[Reason, ...] = (
    Reason("decision", 0, "an order executed as decided (filled in full, or a no-op hold/0)"),
    Reason("replacement", 1, "a victim closed by the position cap for a stronger newcomer"),
    Reason("cap-rejected", 2, "a new buy/short at the cap not stronger than the weakest position"),
    Reason("cash-limited", 3, "a buy/short clipped (possibly to 0) by available cash"),
    Reason("sync", 4, "a close forced by position sync (ticker left the universe / baseline)"),
    Reason("clipped-holding", 5, "a sell/cover clipped to the shares held (possibly to 0)"),
    Reason("no-price", 6, "no usable price: nothing filled"),
)
REASON_CODES = {r.name: r.code for r in REASONS}
R_DECISION = REASON_CODES["decision"]
R_REPLACEMENT = REASON_CODES["replacement"]
R_CAP_REJECTED = REASON_CODES["cap-rejected"]
R_CASH_LIMITED = REASON_CODES["cash-limited"]
R_SYNC = REASON_CODES["sync"]
R_CLIPPED_HOLDING = REASON_CODES["clipped-holding"]
R_NO_PRICE = REASON_CODES["no-price"]
# Indexed by code (exports take names by code); codes are 0..n-1, checked by the unit test.
REASON_NAMES = tuple(r.name for r in sorted(REASONS, key=lambda r: r.code))


def reasons_markdown() -> str:
    """The README table of reason codes (the README holds this text; a unit test checks it)."""
    rows = [f"| `{r.name}` | {r.code} | {r.description} |" for r in REASONS]
    return "\n".join(["| reason | code | meaning |", "|---|---|---|", *rows])


# One row per processed order (and per replacement close), in execution sequence.
fill_dt = np.dtype(
    [
        ("day", np.int32),  # t
        ("seq", np.int32),  # sequence number within the day
        ("k", np.int32),  # ticker index
        ("action", np.int8),  # action code
        ("reason", np.int8),  # reason code
        ("req_qty", np.int64),  # requested shares (after int())
        ("qty", np.int64),  # filled shares (>= 0)
        ("price", np.float64),  # fill price (open of t)
        ("fee", np.float64),  # fee paid
        ("cash_after", np.float64),
        ("long_after", np.int64),
        ("short_after", np.int64),
        ("realized", np.float64),  # realized gain of this fill (net of exit fee), 0 for openings
        ("victim_of", np.int32),  # for a replacement close: the newcomer's ticker index, else -1
    ],
    align=True,
)


class Orders(NamedTuple):
    """One day's orders as parallel arrays; they execute in array order.

    ``victim`` is the recorded tie-break victim (ticker index) for a newcomer at the cap, −1 when
    there is none: it is used only when that ticker is among the tied weakest positions (§5.4).
    """

    k: np.ndarray  # int32[n] ticker index
    action: np.ndarray  # int8[n] action code
    qty: np.ndarray  # int64[n] requested shares (<= 0 is a no-op)
    reason: np.ndarray  # int8[n] R_DECISION or R_SYNC
    victim: np.ndarray  # int32[n] recorded victim hint, -1 = none


class Book(NamedTuple):
    """The book the kernels read and mutate in place: [2] float state plus [K] arrays per ticker.

    ``state_f8`` = [cash, margin_used] (slots ``CASH``, ``MARGIN``); cost bases are average
    prices excluding fees, 0 when the side is flat; realized gains are cumulative and net of the
    exit fee.
    """

    state_f8: np.ndarray  # [2] float64: cash, margin used
    long: np.ndarray  # [K] int64 shares
    short: np.ndarray  # [K] int64 shares
    lcb: np.ndarray  # [K] float64 long cost basis
    scb: np.ndarray  # [K] float64 short cost basis
    smu: np.ndarray  # [K] float64 short margin used
    rg_long: np.ndarray  # [K] float64 realized gains, long side
    rg_short: np.ndarray  # [K] float64 realized gains, short side


CASH = 0  # Book.state_f8 slots
MARGIN = 1


def empty_book(n_tickers: int, cash: float) -> Book:
    """A flat book of ``n_tickers`` with ``cash`` and no margin used."""
    ints = [np.zeros(n_tickers, np.int64) for _ in range(2)]
    floats = [np.zeros(n_tickers, np.float64) for _ in range(5)]
    return Book(np.array([cash, 0.0], np.float64), *ints, *floats)
