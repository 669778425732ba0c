"""Round trips of a run's fills (FIFO per ticker and side) and their statistics."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pandas as pd

from simulator.core.errors import WfsimError

__all__ = ["ROUND_TRIP_COLUMNS", "round_trips", "trade_stats"]

ROUND_TRIP_COLUMNS = ("ticker", "side", "qty", "open_date", "close_date", "open_price",
                      "close_price", "pnl", "holding_days")  # fmt: skip
_OPENS = {"buy": "long", "short": "short"}
_CLOSES = {"sell": "long", "cover": "short"}


def round_trips(trades: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Match closing fills to opening lots, first in first out, per (ticker, side).

    Rule: fills with ``filled_qty`` > 0 are read in file (execution) order. A buy opens a long
    lot, a short opens a short lot; a sell (cover) closes the oldest open long (short) lots of
    that ticker first, splitting a lot when it is closed in parts. Each (lot, closing fill) match
    of q shares is one round trip with pnl = q·(P_close − P_open) for a long, q·(P_open −
    P_close) for a short, minus both fills' fees pro rata to q; ``holding_days`` = calendar days
    from the opening to the closing fill's date (0 within a day). Prices are ``price`` (else
    ``notional / filled_qty``). Per trip this FIFO P&L differs from the trades table's
    ``realized`` (average cost, README §5.3); summed over a position that ends flat, both give
    the same gain before fees. A close larger than the open lots (a book that did not start
    empty) leaves its excess unmatched: returned as the second value, in shares.

    Returns
    -------
    (pd.DataFrame, int)
        One row per round trip with `ROUND_TRIP_COLUMNS`, and the unmatched closing shares.
    """
    need = ("date", "ticker", "action", "filled_qty", "fee")
    missing = [c for c in need if c not in trades.columns]
    if missing or ("price" not in trades and "notional" not in trades):
        raise WfsimError("trades", "missing columns", missing=",".join(missing) or "price")
    fills = trades[trades["filled_qty"] > 0]
    qty = fills["filled_qty"].to_numpy(dtype=np.int64)
    if "price" in fills:
        price = fills["price"].to_numpy(dtype=float)
    else:
        price = np.abs(fills["notional"].to_numpy(dtype=float)) / qty
    fee_per_share = fills["fee"].to_numpy(dtype=float) / np.maximum(qty, 1)
    dates = pd.DatetimeIndex(pd.to_datetime(fills["date"]))
    lots: dict[tuple[str, str], deque] = {}
    rows, unmatched = [], 0
    for i, (ticker, action) in enumerate(zip(fills["ticker"], fills["action"], strict=True)):
        if action in _OPENS:
            lot = [int(qty[i]), price[i], fee_per_share[i], dates[i]]
            lots.setdefault((ticker, _OPENS[action]), deque()).append(lot)
            continue
        if action not in _CLOSES:
            raise WfsimError(
                "trades", "unknown action", action=action, expected="buy|sell|short|cover"
            )
        side, left = _CLOSES[action], int(qty[i])
        queue = lots.setdefault((ticker, side), deque())
        while left and queue:
            lot = queue[0]
            q = min(left, lot[0])
            edge = (price[i] - lot[1]) if side == "long" else (lot[1] - price[i])
            pnl = q * edge - q * (lot[2] + fee_per_share[i])
            held = (dates[i] - lot[3]).days
            rows.append((ticker, side, q, lot[3], dates[i], lot[1], price[i], pnl, held))
            lot[0] -= q
            left -= q
            if lot[0] == 0:
                queue.popleft()
        unmatched += left
    return pd.DataFrame(rows, columns=list(ROUND_TRIP_COLUMNS)), unmatched


def trade_stats(trades: pd.DataFrame) -> dict[str, float]:
    """Round-trip statistics of `round_trips` (one trip = one FIFO lot match, unweighted).

    ``n_round_trips``; ``hit_rate`` = #{pnl > 0} / n; ``profit_factor`` = Σ pnl⁺ / |Σ pnl⁻|
    (NaN with no losing trip); ``avg_holding_days`` = mean calendar days held;
    ``unmatched_close_qty``: closing shares with no open lot. NaN when there is no round trip.

    Examples
    --------
    >>> t = pd.DataFrame({"date": ["2024-01-02", "2024-01-05", "2024-01-09"],
    ...                   "ticker": "A", "action": ["buy", "sell", "sell"],
    ...                   "filled_qty": [10, 4, 6], "price": [10.0, 11.0, 9.0], "fee": 0.0})
    >>> s = trade_stats(t)
    >>> s["n_round_trips"], s["hit_rate"], s["profit_factor"], s["avg_holding_days"]
    (2, 0.5, 0.6666666666666666, 5.0)
    """
    trips, unmatched = round_trips(trades)
    n = len(trips)
    out = {"n_round_trips": n, "unmatched_close_qty": unmatched}
    if n == 0:
        return out | dict.fromkeys(("hit_rate", "profit_factor", "avg_holding_days"), math.nan)
    pnl = trips["pnl"].to_numpy()
    loss = float(-pnl[pnl < 0].sum())
    out["hit_rate"] = float(np.mean(pnl > 0))
    out["profit_factor"] = float(pnl[pnl > 0].sum()) / loss if loss > 0 else math.nan
    out["avg_holding_days"] = float(trips["holding_days"].mean())
    return out
