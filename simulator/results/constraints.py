"""The constraint log of a run: how often the books clipped, rejected or forced orders, and at what
cost, read from the reason codes of ``trades.csv`` (``simulator.kernels.records.REASONS``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.results.attribution import SIGN, Prices, RunTables, marks

__all__ = ["CONSTRAINTS", "constraint_summary", "format_constraints", "RISK_LIMIT_NOTE"]

FORCED = ("replacement", "sync")  # the books closed a position nobody decided to close
UNFILLED = ("cap-rejected", "cash-limited")  # the books filled less than the order asked
NO_COUNTERFACTUAL = ("clipped-holding", "no-price")  # nothing that could have been traded
CONSTRAINTS = (*FORCED, *UNFILLED, *NO_COUNTERFACTUAL)

RISK_LIMIT_NOTE = (
    "risk limits size orders before the books (agents), so trades.csv holds no reason for them; "
    "their effect is inside the gap's sizing part"
)


def constraint_summary(
    run: RunTables,
    prices: Prices,
    *,
    horizon_days: int = 1,
    first_date: str | None = None,
    last_date: str | None = None,
) -> pd.DataFrame:
    """One row per constraint reason: records, shares, notional and the P&L foregone.

    The constrained quantity ``c`` (signed shares) of a record at open(t), price ``p``:

    - ``replacement``, ``sync`` (forced closes): the shares closed, with the sign of the position
      they were (``c = −dq``);
    - ``cap-rejected``, ``cash-limited`` (unfilled openings): ``c = sign(action)·(requested −
      filled)``, + for buy, − for short;
    - ``clipped-holding`` (a sell/cover of more than was held) and ``no-price``: counted, but with
      no cost: there were no shares (or no price) to trade.

    ``shares = Σ|c|``, ``notional = Σ|c|·p`` (the foregone notional) and ``pnl_foregone = Σ
    c·(m(t + horizon_days − 1) − p)``: what ``c`` would have made from its fill price to the close
    ``horizon_days − 1`` days later (1: the close of the same day; the last store day caps it;
    ``m`` as in ``attribution.marks``), before fees. Positive = the constraint cost the run
    money; negative = it saved money. It is a fixed-horizon estimate, not the P&L to when the
    position would have been closed (that decision was never made). Rows cover the dates in
    ``[first_date, last_date]`` (default: all the run's trades).
    """
    if horizon_days < 1:
        raise ValueError(f"horizon_days={horizon_days}, expected >= 1")
    tr = run.trades
    d = tr["date"].to_numpy().astype("datetime64[D]")
    keep = np.ones(len(tr), bool)
    if first_date is not None:
        keep &= d >= np.datetime64(first_date, "D")
    if last_date is not None:
        keep &= d <= np.datetime64(last_date, "D")
    tr, d = tr[keep], d[keep]
    t = np.searchsorted(np.asarray(prices.dates, "datetime64[D]"), d)
    k_of = {str(x): k for k, x in enumerate(prices.tickers)}
    k = tr["ticker"].astype(str).map(k_of).to_numpy()
    sign = tr["action"].map(SIGN).fillna(0).to_numpy(float)
    req, filled = tr["requested_qty"].to_numpy(float), tr["filled_qty"].to_numpy(float)
    reason = tr["reason"].to_numpy().astype(str)
    c = np.where(np.isin(reason, FORCED), -sign * filled, sign * (req - filled))
    p = tr["price"].to_numpy(float)
    M = marks(prices)
    later = np.minimum(t + horizon_days - 1, len(prices.dates) - 1)
    with np.errstate(invalid="ignore"):
        pnl = c * (M[later, k] - p) if len(tr) else np.zeros(0)
    rows = []
    for name in CONSTRAINTS:
        sel = reason == name
        costed = name not in NO_COUNTERFACTUAL
        rows.append(
            {
                "reason": name,
                "records": int(sel.sum()),
                "shares": float(np.abs(c[sel]).sum()),
                "notional": float(np.nansum(np.abs(c[sel]) * p[sel])) if costed else np.nan,
                "pnl_foregone": float(np.nansum(pnl[sel])) if costed else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("reason")


def format_constraints(label: str, table: pd.DataFrame, horizon_days: int) -> str:
    """The summary as a fixed-width text table (``–`` where a reason has no cost)."""
    when = "fill day" if horizon_days == 1 else f"fill day + {horizon_days - 1} days"
    lines = [
        f"constraints: {label} (P&L foregone from the fill price to the close of the {when}, "
        "before fees; + = cost the run money)",
        f"{'reason':<16} {'records':>8} {'shares':>12} {'notional':>14} {'pnl_foregone':>14}",
    ]
    for name, r in table.iterrows():
        money = [("–" if np.isnan(v) else f"{v:,.2f}") for v in (r["notional"], r["pnl_foregone"])]
        lines.append(
            f"{name:<16} {int(r['records']):>8} {r['shares']:>12,.0f} {money[0]:>14} {money[1]:>14}"
        )
    return "\n".join(lines) + "\n"
