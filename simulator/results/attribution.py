"""Anatomy of the gap: a run's P&L minus a baseline's on the same days, split into exact parts.

Read from two run directories (``trades.csv``, ``equity.csv``, ``summary.json``) and the store's
close prices; ``wfsim gap RUN --baseline BASE --store S`` prints it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulator.core.errors import WfsimError

__all__ = [
    "PARTS",
    "Prices",
    "RunTables",
    "Ledger",
    "Attribution",
    "read_run",
    "ledger",
    "attribute",
    "format_attribution",
    "marks",
]

PARTS = ("selection", "sizing", "timing", "sync", "bonds", "costs", "residual")
"""The parts of a P&L (and of a gap), in table order; they sum to the total exactly."""

SIGN = {"buy": 1, "cover": 1, "sell": -1, "short": -1}  # share change of a filled action
TRADE_COLUMNS = ("date", "ticker", "action", "filled_qty", "price", "fee", "position_after")


class Prices(NamedTuple):
    """The store's price axis: [T] dates, [K] tickers, [T, K] close (NaN: none), [K] bonds."""

    dates: np.ndarray  # datetime64[D]
    tickers: np.ndarray  # str
    close: np.ndarray  # float64 [T, K]
    is_bond: np.ndarray  # bool [K]


class RunTables(NamedTuple):
    """What the attribution reads of a run directory."""

    label: str
    dates: np.ndarray  # [n] datetime64[D], the equity rows
    nav: np.ndarray  # [n] NAV at each close
    initial_nav: float  # NAV before the first row
    trades: pd.DataFrame  # trades.csv (every fill record that is not a hold)


def read_run(path: Path) -> RunTables:
    """Read ``equity.csv``, ``trades.csv`` and ``summary.json`` of a run directory.

    Raises
    ------
    WfsimError
        A file is missing or lacks a column the attribution needs.
    """
    path = Path(path)
    for name in ("equity.csv", "trades.csv", "summary.json"):
        if not (path / name).is_file():
            raise WfsimError(f"{path}", f"no {name}", expected="a run directory (`wfsim replay`)")
    summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    eq = pd.read_csv(path / "equity.csv")
    tr = pd.read_csv(path / "trades.csv", keep_default_na=False, na_values=[""])
    for name, table, cols in (
        ("equity.csv", eq, ("date", "nav")),
        ("trades.csv", tr, TRADE_COLUMNS),
    ):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise WfsimError(f"{path / name}", "missing columns", missing=",".join(missing))
    if "initial_nav" not in summary:
        raise WfsimError(f"{path / 'summary.json'}", "no initial_nav")
    return RunTables(
        label=path.name,
        dates=eq["date"].to_numpy().astype("datetime64[D]"),
        nav=eq["nav"].to_numpy(np.float64),
        initial_nav=float(summary["initial_nav"]),
        trades=tr,
    )


def marks(prices: Prices) -> np.ndarray:
    """[T, K] the close each day marks a position at: close(t), else the last finite close
    before t (NaN before the first); the books' rule (``simulator.loop``)."""
    close = np.asarray(prices.close, np.float64)
    T = close.shape[0]
    idx = np.where(np.isfinite(close), np.arange(T)[:, None], -1)
    idx = np.maximum.accumulate(idx, axis=0)
    out = np.take_along_axis(close, np.maximum(idx, 0), axis=0)
    return np.where(idx >= 0, out, np.nan)


class Ledger(NamedTuple):
    """One run on the store's [T, K] axis: positions and fills, as the attribution needs them."""

    days: np.ndarray  # [n] int panel day of each equity row (contiguous)
    nav_prev: np.ndarray  # [n] NAV at the close before each day
    nav: np.ndarray  # [n]
    pos_before: np.ndarray  # [n, K] float64 signed shares (long − short) before the open
    fill_day: np.ndarray  # [m] row of ``days`` of each fill with filled_qty > 0
    fill_k: np.ndarray  # [m] ticker index
    fill_dq: np.ndarray  # [m] signed share change (buy/cover +, sell/short −)
    fill_price: np.ndarray  # [m]
    fill_sync: np.ndarray  # [m] bool: reason == "sync"
    fees: np.ndarray  # [n] fees paid each day (every fill record)


def ledger(run: RunTables, prices: Prices) -> Ledger:
    """Place ``run`` on the price axis and rebuild its signed positions before each day.

    Positions come from ``position_after`` of the fill records (the last record of a ticker on a
    day is its position after that day); a ticker's position before its first record is that
    record's ``position_after`` minus its signed fill, 0 for tickers never traded (a book that
    starts with positions it never trades is not seen: the ``residual`` part shows it).

    Raises
    ------
    WfsimError
        A date or ticker not in the store, or equity rows that skip store days.
    """
    where = f"gap: {run.label}"
    day_of = {d: t for t, d in enumerate(np.asarray(prices.dates, "datetime64[D]"))}
    k_of = {str(x): k for k, x in enumerate(prices.tickers)}
    days = _days(run.dates, day_of, where, "equity.csv")
    if len(days) and not np.array_equal(days, np.arange(days[0], days[0] + len(days))):
        raise WfsimError(where, "equity rows skip store days", expected="one row per store day")
    tr = run.trades
    t_fill = _days(tr["date"].to_numpy().astype("datetime64[D]"), day_of, where, "trades.csv")
    unknown = sorted(set(tr["ticker"].astype(str)) - set(k_of))
    if unknown:
        raise WfsimError(where, "tickers not in the store", tickers=",".join(unknown[:5]))
    k = tr["ticker"].astype(str).map(k_of).to_numpy(np.int64)
    dq = tr["action"].map(SIGN).fillna(0).to_numpy(np.float64) * tr["filled_qty"].to_numpy(float)
    after = tr["position_after"].to_numpy(np.float64)
    T, K = len(prices.dates), len(prices.tickers)
    pos_after = np.full((T, K), np.nan)
    order = np.lexsort((np.arange(len(tr)), k, t_fill))  # stable: file order within (day, k)
    last = np.r_[(np.diff(t_fill[order]) != 0) | (np.diff(k[order]) != 0), True][: len(tr)]
    pos_after[t_fill[order][last], k[order][last]] = after[order][last]
    first = np.unique(k, return_index=True)[1]  # the first record of each ticker, in file order
    start = np.zeros(K)
    start[k[first]] = after[first] - dq[first]
    pos_after = _ffill(pos_after, start)
    lo = int(days[0]) if len(days) else 0
    pos_before = np.vstack([start[None], pos_after[:-1]])[days] if len(days) else np.zeros((0, K))
    inside = (t_fill >= lo) & (t_fill < lo + len(days))
    filled = inside & (tr["filled_qty"].to_numpy() > 0)
    fees = np.bincount(t_fill[inside] - lo, tr["fee"].to_numpy(float)[inside], len(days))
    nav_prev = np.r_[run.initial_nav, run.nav[:-1]]
    return Ledger(
        days=days, nav_prev=nav_prev, nav=run.nav, pos_before=pos_before,
        fill_day=t_fill[filled] - lo, fill_k=k[filled], fill_dq=dq[filled],
        fill_price=tr["price"].to_numpy(float)[filled],
        fill_sync=(tr["reason"].to_numpy() == "sync")[filled] if "reason" in tr else
        np.zeros(int(filled.sum()), bool), fees=fees,
    )  # fmt: skip


def _days(dates: np.ndarray, day_of: dict, where: str, name: str) -> np.ndarray:
    out = np.array([day_of.get(d, -1) for d in np.asarray(dates, "datetime64[D]")], np.int64)
    if (out < 0).any():
        bad = np.asarray(dates)[out < 0][0]
        raise WfsimError(where, f"{name} date not in the store", date=str(bad)[:10])
    return out


def _ffill(a: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Forward-fill NaN rows of ``a`` [T, K] down the days, from ``start`` [K]."""
    a = np.vstack([start[None], a])
    idx = np.maximum.accumulate(np.where(np.isnan(a), 0, np.arange(len(a))[:, None]), axis=0)
    return np.take_along_axis(a, idx, axis=0)[1:]


@dataclass(frozen=True, eq=False)
class Attribution:
    """A run's P&L, the baseline's (scaled to the run's capital) and the gap, part by part.

    ``parts``: index ``PARTS + ("total",)``, columns ``run``, ``baseline``, ``gap`` (money).
    ``daily``: one row per common date, the gap's parts and total. ``overlap``: mean stock names a
    day held by both on the same side, by the run only, by the baseline only.
    """

    run: str
    baseline: str
    first_date: str
    last_date: str
    n_days: int
    scale: float
    parts: pd.DataFrame
    daily: pd.DataFrame
    overlap: dict[str, float]


def _part_days(
    led: Ledger, rows: np.ndarray, M: np.ndarray, is_bond, both
) -> dict[str, np.ndarray]:
    """Daily parts of one run over its ledger ``rows`` (the common days), before scaling."""
    n = len(rows)
    t = led.days[rows]
    pos = led.pos_before[rows]
    prev = np.where((t > 0)[:, None], M[np.maximum(t - 1, 0)], np.nan)  # no close before day 0
    with np.errstate(invalid="ignore"):
        hold = np.where(pos != 0, pos * (M[t] - prev), 0.0)  # [n, K] close(t−1) → close(t)
    hold = np.nan_to_num(hold, nan=0.0)  # an unmarkable position: left to the residual
    stock = ~is_bond
    where = np.full(len(led.days), -1)
    where[rows] = np.arange(n)
    f = where[led.fill_day] >= 0
    fd, fk = where[led.fill_day[f]], led.fill_k[f]
    fpnl = np.nan_to_num(led.fill_dq[f] * (M[led.days[led.fill_day[f]], fk] - led.fill_price[f]))
    fsync, fbond = led.fill_sync[f], is_bond[fk]
    return {
        "selection": (hold * (stock & ~both)).sum(axis=1),
        "sizing": (hold * (stock & both)).sum(axis=1),
        "timing": np.bincount(fd, fpnl * (~fbond & ~fsync), n),
        "sync": np.bincount(fd, fpnl * (~fbond & fsync), n),
        "bonds": (hold * is_bond).sum(axis=1) + np.bincount(fd, fpnl * fbond, n),
        "costs": -led.fees[rows],
        "total": led.nav[rows] - led.nav_prev[rows],
    }


def attribute(run: RunTables, baseline: RunTables, prices: Prices) -> Attribution:
    """Split ``P&L(run) − s · P&L(baseline)`` over their common days into ``PARTS``.

    Notation, per common day t (store days) and ticker k: ``x`` the signed shares held before the
    open of t (long − short), ``m(t)`` the close a position is marked at (``marks``), fills
    ``(dq, p, fee)`` at open(t) with ``dq`` the signed share change. For one run the NAV identity
    of the books (shared README §5: ``nav = cash + Σ long·m − Σ short·m + margin``; fees are the
    only cash that leaves) gives, exactly in real arithmetic::

        ΔNAV(t) = Σ_k x·(m(t) − m(t−1))  +  Σ_fills dq·(m(t) − p)  −  Σ_fills fee

    i.e. the book held from close(t−1) to close(t), plus each fill from its price to the close of
    its day, minus fees. The parts of one run's P&L are then, summed over the days:

    - ``selection``: the first term over the stocks only this run holds (on that side) that day;
    - ``sizing``: the first term over the stocks both runs hold on the same side that day;
    - ``timing``: the second term over the stock fills that are not sync closes (when it
      traded: what each day's trades made or lost from the open to the close of the trade day;
      the days a position is then held count in selection/sizing);
    - ``sync``: the second term over the sync closes (reason ``sync``: the ticker left the
      universe or the baseline's book, ``replay.sync``), i.e. minus what the closed position made
      from the open to the close that day (universe churn);
    - ``bonds``: both terms over the bond tickers (SHY, TLT);
    - ``costs``: minus the fees of every fill record;
    - ``residual``: ``ΔNAV − Σ`` of the above, defined so the parts sum exactly to the P&L:
      floating-point rounding (of the order of 1e-9 over years), plus anything the exports do not
      show (a first book with positions its run never trades; a held position without any close).

    The gap is ``part(run) − s · part(baseline)`` for every part, with ``s`` the run's NAV over
    the baseline's at the close before the first common day (the baseline scaled to the run's
    capital; 1 when both start from the same NAV), so
    ``Σ_parts gap = ΔNAV(run) − s · ΔNAV(baseline)`` over the common days, exactly.
    ``selection`` and ``sizing`` of the gap partition ``Σ_k (x_run − s·x_base)·Δm`` by name:
    sizing on names both hold on the same side (how much), selection on the rest (which names,
    including opposite sides). Sums over days use ``math.fsum``.

    Raises
    ------
    WfsimError
        The runs share no day, or a date/ticker of a run is not in the store.
    """
    la, lb = ledger(run, prices), ledger(baseline, prices)
    common = np.intersect1d(la.days, lb.days)
    if len(common) == 0:
        raise WfsimError("gap", "the runs share no day", run=run.label, baseline=baseline.label)
    ra, rb = np.searchsorted(la.days, common), np.searchsorted(lb.days, common)
    scale = float(la.nav_prev[ra[0]] / lb.nav_prev[rb[0]])
    M = marks(prices)
    is_bond = np.asarray(prices.is_bond, bool)
    xa, xb = np.sign(la.pos_before[ra]), np.sign(lb.pos_before[rb])
    both = (xa == xb) & (xa != 0) & ~is_bond
    da = _with_residual(_part_days(la, ra, M, is_bond, both))
    db = _with_residual(_part_days(lb, rb, M, is_bond, both))
    gap = {p: da[p] - scale * db[p] for p in da}
    names = (*PARTS, "total")
    parts = pd.DataFrame(
        {"run": [math.fsum(da[p]) for p in names],
         "baseline": [scale * math.fsum(db[p]) for p in names],
         "gap": [math.fsum(gap[p]) for p in names]},
        index=pd.Index(names, name="part"),
    )  # fmt: skip
    dates = pd.DatetimeIndex(np.asarray(prices.dates, "datetime64[ns]")[common], name="date")
    stock = ~is_bond
    overlap = {
        "both": float(both.sum(axis=1).mean()),
        "run_only": float(((xa != 0) & stock & ~both).sum(axis=1).mean()),
        "baseline_only": float(((xb != 0) & stock & ~both).sum(axis=1).mean()),
    }
    return Attribution(
        run=run.label, baseline=baseline.label, first_date=str(dates[0].date()),
        last_date=str(dates[-1].date()), n_days=len(common), scale=scale, parts=parts,
        daily=pd.DataFrame({p: gap[p] for p in names}, index=dates), overlap=overlap,
    )  # fmt: skip


def _with_residual(days: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The parts with ``residual = total − Σ others`` (non-finite cells count in the residual)."""
    out = {p: np.nan_to_num(days[p], nan=0.0, posinf=0.0, neginf=0.0) for p in PARTS[:-1]}
    out["residual"] = days["total"] - np.sum([out[p] for p in PARTS[:-1]], axis=0)
    out["total"] = days["total"]
    return out


def format_attribution(att: Attribution) -> str:
    """The parts as a fixed-width text table (money, 2 decimals) with the overlap below."""
    lines = [
        f"gap: {att.run} vs {att.baseline}, {att.n_days} days {att.first_date}..{att.last_date}"
        f" (baseline scaled x{att.scale:.6g} to the run's capital)",
        f"{'part':<10} {'run':>14} {'baseline':>14} {'gap':>14}",
    ]
    for name, row in att.parts.iterrows():
        lines.append(
            f"{name:<10} {row['run']:>14,.2f} {row['baseline']:>14,.2f} {row['gap']:>14,.2f}"
        )
    o = att.overlap
    lines.append(f"stock names a day (mean): both {o['both']:.1f}, run only {o['run_only']:.1f}, "
                 f"baseline only {o['baseline_only']:.1f}")  # fmt: skip
    return "\n".join(lines) + "\n"


def gap_json(att: Attribution, constraints: dict[str, pd.DataFrame], horizon_days: int) -> dict:
    """The attribution and constraint logs as plain JSON data (``wfsim gap --out``)."""
    daily = att.daily.reset_index()
    daily["date"] = daily["date"].dt.strftime("%Y-%m-%d")
    return {
        "run": att.run,
        "baseline": att.baseline,
        "first_date": att.first_date,
        "last_date": att.last_date,
        "days": att.n_days,
        "scale": att.scale,
        "parts": {p: att.parts.loc[p].to_dict() for p in att.parts.index},
        "overlap": att.overlap,
        "daily": daily.to_dict(orient="list"),
        "constraints": {
            "horizon_days": horizon_days,
            "runs": {k: t.to_dict(orient="index") for k, t in constraints.items()},
        },
    }
