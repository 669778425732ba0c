"""Performance metrics of a daily return series, under one documented convention (252-day years).

Written with numpy/pandas only: the conventions (rf CSV, thesis Sharpe, fill-level win rate) are
wfsim's own, and empyrical-reloaded / quantstats would add scipy (and, for quantstats, yfinance and
seaborn) without covering them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.core.errors import WfsimError

__all__ = [
    "TRADING_DAYS",
    "METRIC_KEYS",
    "compute_metrics",
    "covers",
    "drawdown_series",
    "monthly_returns",
    "realized_from_fills",
]

TRADING_DAYS = 252
"""Trading days per year: every annualisation below uses it (CAGR, volatility, Sharpe, alpha)."""

METRIC_KEYS = (
    "alpha",
    "ann_vol",
    "avg_gross_exposure",
    "avg_net_exposure",
    "avg_positions",
    "beta",
    "cagr",
    "calmar",
    "daily_win_rate",
    "end",
    "fees_paid",
    "max_drawdown",
    "max_drawdown_peak",
    "max_drawdown_trough",
    "n_days",
    "n_trades",
    "sharpe",
    "sharpe_rf",
    "sharpe_thesis",
    "sortino",
    "start",
    "total_return",
    "trade_win_rate",
    "turnover",
    "turnover_annual",
)
"""Every key `compute_metrics` returns, sorted. A metric whose input is absent is NaN."""

_NAN = float("nan")
Metrics = dict[str, float | int | str | None]


def compute_metrics(
    returns: pd.Series,
    *,
    book: pd.DataFrame | None = None,
    trades: pd.DataFrame | None = None,
    rf: pd.Series | None = None,
    benchmark: pd.Series | None = None,
) -> Metrics:
    """Compute the performance metrics of one run over the dates of ``returns``.

    Conventions (n = number of daily returns, r_t simple daily returns, std uses ddof=1):

    * ``total_return`` = Π(1+r_t) − 1; ``cagr`` = (1+total_return)^(252/n) − 1.
    * ``ann_vol`` = std(r)·√252; ``sharpe`` (rf = 0) = mean(r)/std(r)·√252.
    * ``sharpe_rf`` = mean(e)/std(e)·√252 with excess e_t = r_t − rf_t. The rf CSV lists a value
      for every calendar day, but each value is already a rate *per trading day*
      ((1+y)^(1/252) − 1 of the 3-month T-bill yield y: its 2023 mean × 252 = 4.9 %, × 365 would
      be 7.2 %). So rf_t is the CSV value on trading date t as is (the last earlier value if t is
      absent, at most 4 calendar days past the series' end); weekends are not compounded into
      Monday.
    * ``sharpe_thesis`` = (cagr − rf_cagr)/(std(e)·√252), rf_cagr = Π(1+rf_t)^(252/n) − 1: the
      original project's convention, comparable with its published tables.
    * ``sortino`` = mean(r)/DD·√252, downside deviation DD = √(Σ min(r_t, 0)² / n) over all n
      days (target 0, full-sample denominator).
    * ``max_drawdown`` ≤ 0 = min_t W_t / max(1, max_{s≤t} W_s) − 1 with W_t = Π_{s≤t}(1+r_s): the
      initial capital counts as a high-water mark. ``max_drawdown_peak`` / ``_trough`` are ISO
      dates (peak None when the high-water mark was the initial capital; both None with no
      drawdown). ``calmar`` = cagr/|max_drawdown|.
    * ``daily_win_rate`` = #{r_t > 0}/n (flat days count as non-wins).
    * ``beta``, ``alpha``: OLS r_t = a + β·b_t against the benchmark's daily returns b_t (no rf);
      ``alpha`` = 252·a (arithmetic annualisation, as the thesis did).
    * ``avg_gross_exposure`` = mean_t((long_t + short_t)/nav_t), ``avg_net_exposure`` =
      mean_t((long_t − short_t)/nav_t), ``avg_positions`` = mean_t(n_long_t + n_short_t).
    * Trades count only fills with filled_qty > 0 on the dates of ``returns``: ``n_trades``,
      ``fees_paid`` = Σ fee, ``turnover`` = Σ|notional| / mean_t(nav_t), ``turnover_annual`` =
      turnover·252/n, ``trade_win_rate`` = #{closing fills (sell, cover) with realized > 0} /
      #{closing fills}. ``realized`` comes from the trades table, or, when it has no such column,
      from `realized_from_fills`.

    An external series (rf, benchmark) or book column must cover every date, else the metrics
    that need it are NaN: a metric is never computed over a different set of days.

    Parameters
    ----------
    returns : pd.Series
        Daily simple returns, indexed by date (strictly increasing, no NaN), length n ≥ 1.
    book : pd.DataFrame, optional
        Per-day book columns, indexed by date or with a ``date`` column: ``nav``,
        ``long_exposure``, ``short_exposure`` (money), ``n_long``, ``n_short``. The equity.csv
        table joined with positions.csv fits as is.
    trades : pd.DataFrame, optional
        One row per fill, in execution order: ``date, ticker, action, filled_qty, notional, fee``
        and optionally ``price`` and ``realized``. It must start from an empty book when
        ``realized`` is absent.
    rf : pd.Series, optional
        Risk-free rate per trading day, indexed by (calendar) date.
    benchmark : pd.Series, optional
        Benchmark daily simple returns (SPY), indexed by date.

    Returns
    -------
    dict
        The keys of `METRIC_KEYS`, sorted; floats (NaN when not computable), ints, ISO strings.

    Raises
    ------
    WfsimError
        ``returns`` is empty, has NaN, or its dates are not strictly increasing.
    """
    r = _clean_returns(returns)
    out: Metrics = {"start": _iso(r.index[0]), "end": _iso(r.index[-1]), "n_days": len(r)}
    out.update(_return_metrics(r))
    out.update(_drawdown_metrics(r, float(out["cagr"])))
    out.update(_rf_metrics(r, rf, float(out["cagr"])))
    out.update(_benchmark_metrics(r, benchmark))
    b = _book_on(book, r.index)
    out.update(_book_metrics(b))
    mean_nav = float(b["nav"].mean()) if b is not None and "nav" in b else _NAN
    out.update(_trade_metrics(trades, r.index, mean_nav))
    return dict(sorted(out.items()))


def drawdown_series(returns: pd.Series) -> pd.Series:
    """Drawdown per day: W_t / max(1, max_{s≤t} W_s) − 1 ≤ 0 (initial capital counts as a peak)."""
    wealth = (1.0 + returns.astype(float)).cumprod()
    hwm = np.maximum(wealth.cummax().to_numpy(), 1.0)
    return pd.Series(wealth.to_numpy() / hwm - 1.0, index=returns.index, name="drawdown")


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return per calendar month: rows = year, columns 1..12 and ``year``."""
    r = _clean_returns(returns)
    growth = 1.0 + r
    by_month = growth.groupby([r.index.year, r.index.month]).prod() - 1.0
    table = by_month.unstack().reindex(columns=range(1, 13))
    table["year"] = growth.groupby(r.index.year).prod() - 1.0
    table.index.name = "year"
    table.columns.name = None
    return table


def realized_from_fills(fills: pd.DataFrame) -> np.ndarray:
    """Realized gain of each fill under the recorded average-cost rule (README §5.3).

    A sell realizes (P − long_cost_basis)·q − fee, a cover (short_cost_basis − P)·q − fee; a buy
    or short realizes 0 and moves its side's average cost (fees not capitalised). The fills must
    be in execution order and start from an empty book. P = ``price`` (else notional/qty).
    """
    qty = fills["filled_qty"].to_numpy(dtype=np.int64)
    fee = fills["fee"].to_numpy(dtype=float)
    if "price" in fills:
        price = fills["price"].to_numpy(dtype=float)
    else:
        price = np.abs(fills["notional"].to_numpy(dtype=float)) / np.maximum(qty, 1)
    book: dict[tuple[str, str], tuple[int, float]] = {}
    out = np.zeros(len(fills))
    for i, (ticker, action) in enumerate(zip(fills["ticker"], fills["action"], strict=True)):
        q, p = int(qty[i]), float(price[i])
        if q <= 0:
            continue
        side = "long" if action in ("buy", "sell") else "short"
        held, basis = book.get((ticker, side), (0, 0.0))
        if action in ("buy", "short"):
            book[(ticker, side)] = (held + q, (basis * held + q * p) / (held + q))
            continue
        edge = (p - basis) if side == "long" else (basis - p)
        out[i] = edge * q - fee[i]
        held -= q
        book[(ticker, side)] = (held, basis if held > 0 else 0.0)
    return out


def _clean_returns(returns: pd.Series) -> pd.Series:
    r = pd.Series(returns.to_numpy(dtype=float), index=pd.DatetimeIndex(returns.index))
    if len(r) == 0:
        raise WfsimError("metrics", "no daily returns", n=0, expected="n >= 1")
    n_nan = int(r.isna().sum())
    if n_nan:
        raise WfsimError("metrics", "returns contain NaN", n_nan=n_nan, expected="none")
    if not (r.index.is_monotonic_increasing and r.index.is_unique):
        raise WfsimError(
            "metrics", "return dates are not strictly increasing", expected="sorted unique dates"
        )
    return r


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 and math.isfinite(den) else _NAN


def _return_metrics(r: pd.Series) -> Metrics:
    n = len(r)
    x = r.to_numpy()
    total = float(np.prod(1.0 + x) - 1.0)
    std = float(np.std(x, ddof=1)) if n > 1 else _NAN
    downside = math.sqrt(float(np.sum(np.minimum(x, 0.0) ** 2)) / n)
    root = math.sqrt(TRADING_DAYS)
    return {
        "total_return": total,
        "cagr": (1.0 + total) ** (TRADING_DAYS / n) - 1.0 if total > -1.0 else -1.0,
        "ann_vol": std * root,
        "sharpe": _ratio(float(np.mean(x)), std) * root,
        "sortino": _ratio(float(np.mean(x)), downside) * root,
        "daily_win_rate": float(np.mean(x > 0.0)),
    }


def _drawdown_metrics(r: pd.Series, cagr: float) -> Metrics:
    dd = drawdown_series(r).to_numpy()
    trough = int(np.argmin(dd))
    mdd = float(dd[trough])
    if mdd >= 0.0:
        none = {"max_drawdown_peak": None, "max_drawdown_trough": None}
        return {"max_drawdown": 0.0, "calmar": _NAN, **none}
    at_peak = np.flatnonzero(dd[: trough + 1] == 0.0)
    peak = _iso(r.index[at_peak[-1]]) if len(at_peak) else None
    return {
        "max_drawdown": mdd,
        "max_drawdown_peak": peak,
        "max_drawdown_trough": _iso(r.index[trough]),
        "calmar": cagr / abs(mdd),
    }


MAX_CARRY_DAYS = 4  # a value absent at a series' end is carried over a long weekend, no further


def covers(series: pd.Series | None, dates: pd.DatetimeIndex) -> bool:
    """Whether an external daily series (the rf rate) gives a value for every date of ``dates``
    under ``compute_metrics``' rule; if not, the metrics that need it are NaN."""
    return _on_dates(series, pd.DatetimeIndex(dates)) is not None


def _on_dates(series: pd.Series | None, dates: pd.DatetimeIndex) -> np.ndarray | None:
    """``series`` at ``dates`` (the last earlier value where a date is absent); None if not
    covered: a date before the series' first date, or more than ``MAX_CARRY_DAYS`` calendar days
    after its last (a CSV ending 2024-12-31 does not lend its last rate to 2025's days)."""
    if series is None or len(series) == 0:
        return None
    s = pd.Series(series.to_numpy(dtype=float), index=pd.DatetimeIndex(series.index)).sort_index()
    s = s[~s.index.duplicated(keep="last")]
    if len(dates) and (dates[0] < s.index[0] or (dates[-1] - s.index[-1]).days > MAX_CARRY_DAYS):
        return None
    vals = s.reindex(dates, method="ffill").to_numpy()
    return None if np.isnan(vals).any() else vals


def _rf_metrics(r: pd.Series, rf: pd.Series | None, cagr: float) -> Metrics:
    rfv = _on_dates(rf, r.index)
    if rfv is None or len(r) < 2:
        return {"sharpe_rf": _NAN, "sharpe_thesis": _NAN}
    excess = r.to_numpy() - rfv
    std = float(np.std(excess, ddof=1))
    rf_cagr = float(np.prod(1.0 + rfv)) ** (TRADING_DAYS / len(r)) - 1.0
    root = math.sqrt(TRADING_DAYS)
    return {
        "sharpe_rf": _ratio(float(np.mean(excess)), std) * root,
        "sharpe_thesis": _ratio(cagr - rf_cagr, std * root),
    }


def _benchmark_metrics(r: pd.Series, benchmark: pd.Series | None) -> Metrics:
    b = None
    if benchmark is not None:
        idx = pd.DatetimeIndex(benchmark.index)
        if r.index.isin(idx).all():  # returns are not carried forward: every date must be there
            b = pd.Series(benchmark.to_numpy(dtype=float), index=idx).reindex(r.index).to_numpy()
    if b is None or len(r) < 2 or np.isnan(b).any():
        return {"beta": _NAN, "alpha": _NAN}
    x = r.to_numpy()
    beta = _ratio(float(np.cov(x, b, ddof=1)[0, 1]), float(np.var(b, ddof=1)))
    return {"beta": beta, "alpha": (float(np.mean(x)) - beta * float(np.mean(b))) * TRADING_DAYS}


def _book_on(book: pd.DataFrame | None, dates: pd.DatetimeIndex) -> pd.DataFrame | None:
    """The book's rows at ``dates`` (indexed by date), or None when absent or not covering."""
    if book is None:
        return None
    b = book.set_index("date") if "date" in book.columns else book
    b = b.set_axis(pd.DatetimeIndex(b.index))
    return b.loc[dates] if dates.isin(b.index).all() else None


def _book_metrics(b: pd.DataFrame | None) -> Metrics:
    out: Metrics = dict.fromkeys(("avg_gross_exposure", "avg_net_exposure", "avg_positions"), _NAN)
    if b is None:
        return out
    if {"nav", "long_exposure", "short_exposure"} <= set(b.columns):
        nav, long_, short = (
            b[c].to_numpy(dtype=float) for c in ("nav", "long_exposure", "short_exposure")
        )
        out["avg_gross_exposure"] = float(np.mean((long_ + short) / nav))
        out["avg_net_exposure"] = float(np.mean((long_ - short) / nav))
    if {"n_long", "n_short"} <= set(b.columns):
        out["avg_positions"] = float(np.mean(b["n_long"] + b["n_short"]))
    return out


def _trade_metrics(
    trades: pd.DataFrame | None, dates: pd.DatetimeIndex, mean_nav: float
) -> Metrics:
    keys = ("fees_paid", "n_trades", "trade_win_rate", "turnover", "turnover_annual")
    if trades is None:
        return dict.fromkeys(keys, _NAN)
    fills = trades[trades["filled_qty"] > 0]
    realized = (
        fills["realized"].to_numpy(dtype=float)
        if "realized" in fills
        else realized_from_fills(fills)
    )
    keep = pd.DatetimeIndex(fills["date"]).isin(dates)
    fills, realized = fills[keep], realized[keep]
    closing = fills["action"].isin(("sell", "cover")).to_numpy()
    n_close = int(closing.sum())
    turnover = _ratio(float(np.abs(fills["notional"].to_numpy(dtype=float)).sum()), mean_nav)
    return {
        "fees_paid": float(fills["fee"].sum()),
        "n_trades": len(fills),
        "trade_win_rate": float((realized[closing] > 0).sum()) / n_close if n_close else _NAN,
        "turnover": turnover,
        "turnover_annual": turnover * TRADING_DAYS / len(dates),
    }
