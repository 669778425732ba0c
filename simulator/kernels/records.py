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
R_DECISION = 0  # an order executed as decided (filled in full, or a no-op hold/0)
R_REPLACEMENT = 1  # a victim closed by the 30-position cap to make room for a stronger newcomer
R_CAP_REJECTED = 2  # a new buy/short at the cap not stronger than the weakest position
R_CASH_LIMITED = 3  # a buy/short clipped (possibly to 0) by available cash
R_SYNC = 4  # a close forced by position sync (ticker left the universe / baseline closed)
R_CLIPPED_HOLDING = 5  # a sell/cover clipped to the shares held (possibly to 0)
R_NO_PRICE = 6  # no usable price: nothing filled
REASON_NAMES = (
    "decision",
    "replacement",
    "cap-rejected",
    "cash-limited",
    "sync",
    "clipped-holding",
    "no-price",
)

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
