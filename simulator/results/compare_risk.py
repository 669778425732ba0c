"""Risk analytics of every compared run on the common dates: the tables `compare` prints below
its metrics table and `report` shows in its Risk section."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.results.compare import Run
from simulator.results.metrics import compute_metrics
from simulator.results.risk import (
    RegimeRule,
    classify_regimes,
    daily_sharpe,
    deflated_sharpe,
    factor_regression,
    probabilistic_sharpe,
    regime_table,
    rolling_risk,
    stress_table,
    tail_risk,
)
from simulator.results.trade_stats import trade_stats

__all__ = ["RISK_COLUMNS", "RiskComparison", "compare_risk", "format_risk"]

RISK_COLUMNS = (
    ("var95", "VaR95", "pct"),
    ("cvar95", "CVaR95", "pct"),
    ("var99", "VaR99", "pct"),
    ("cvar99", "CVaR99", "pct"),
    ("beta", "Beta", "num"),
    ("ff3_alpha_ann", "FF3 alpha", "pct"),
    ("ff3_alpha_t", "(t)", "num"),
    ("ff5_alpha_ann", "FF5 alpha", "pct"),
    ("ff5_alpha_t", "(t)", "num"),
    ("psr", "PSR", "num"),
    ("dsr", "DSR", "num"),
    ("hit_rate", "Hit rate", "pct"),
    ("profit_factor", "PF", "num"),
    ("avg_holding_days", "Hold d", "num"),
)
"""(key, header, format) of the risk table; one row per run (seeds not aggregated) + SPY."""

RISK_LEGEND = (
    "VaR/CVaR: historical 1-day, losses as positive % (CVaR: mean of the worst "
    "floor((n-1)a)+1 days); Beta: OLS on SPY; FF3/FF5 alpha: OLS intercept of r - RF on the "
    "Fama-French factors x 252, (t) its classical t-stat; PSR: P(SR > 0) (Bailey & Lopez de "
    "Prado 2012); DSR: PSR against the expected max Sharpe of N trials = the N runs compared "
    "(2014); Hit rate, PF (profit factor), Hold d (mean calendar days): FIFO round trips per "
    "ticker from trades.csv"
)
REGIMES = ("bull", "bear", "sideways", "unknown")


@dataclass(frozen=True, slots=True, eq=False)
class RiskComparison:
    """Risk of each run (and the benchmark) over ``dates``; per-label tables and series."""

    dates: pd.DatetimeIndex
    rows: dict[str, dict]  # label -> RISK_COLUMNS keys (+ every FF beta)
    regimes: dict[str, pd.DataFrame]  # label -> regime_table; empty without a benchmark
    regime_days: dict[str, int]  # regime -> days of the common dates
    stress: dict[str, pd.DataFrame]  # label -> stress_table
    rolling: dict[str, pd.DataFrame]  # label -> rolling_risk
    rule: RegimeRule
    window: int  # days of the rolling series
    notes: tuple[str, ...]


def compare_risk(
    runs: Sequence[Run],
    dates: pd.DatetimeIndex,
    *,
    benchmark: pd.Series | None = None,
    factors: Mapping[str, pd.DataFrame] | None = None,
    benchmark_label: str = "SPY",
    rule: RegimeRule | None = None,
    window: int = 63,
) -> RiskComparison:
    """Risk analytics of every run on ``dates`` (the comparison's common dates).

    ``factors`` maps a model name (``ff3``, ``ff5``) to ``risk.load_factors`` output;
    absent models leave their columns NaN. DSR's trials are the runs given (the benchmark is not
    a trial). The benchmark gets a row when it covers every date; it also defines the regimes.
    ``window``: days of the rolling Sharpe / volatility / beta series.
    """
    rule = rule or RegimeRule()
    factors = dict(factors or {})
    series = {run.label: run.returns.loc[dates] for run in runs}
    trades = {run.label: run.trades for run in runs}
    bench = None
    notes: list[str] = []
    if benchmark is not None:
        b = pd.Series(benchmark.to_numpy(float), index=pd.DatetimeIndex(benchmark.index))
        if dates.isin(b.index).all():
            bench = b
            series[benchmark_label] = b.loc[dates]
        else:
            notes.append(f"risk: {benchmark_label} does not cover every date (no beta, regimes)")
    trials = np.array([daily_sharpe(series[run.label]) for run in runs])
    rows = {}
    for label, r in series.items():
        rows[label] = _row(r, bench, factors, trials if label != benchmark_label else None)
        rows[label].update(_trades_row(trades.get(label)))
    regimes, days = {}, {}
    if bench is not None:
        lab = classify_regimes(bench, dates, rule)
        days = {k: int((lab == k).sum()) for k in REGIMES if (lab == k).any()}
        regimes = {label: regime_table(r, lab) for label, r in series.items()}
    else:
        notes.append("risk: no benchmark, so no regimes and no beta")
    for name in ("ff3", "ff5"):
        if name not in factors:
            notes.append(f"risk: {name.upper()} factors not given: its alpha columns are omitted")
        elif not dates.isin(factors[name].index).all():
            notes.append(f"risk: {name.upper()} factors miss some common dates: alpha is NaN")
    if len(runs) < 2:
        notes.append("risk: DSR needs >= 2 runs (trials)")
    return RiskComparison(
        dates=dates,
        rows=rows,
        regimes=regimes,
        regime_days=days,
        stress={label: stress_table(r) for label, r in series.items()},
        rolling={label: rolling_risk(r, bench, window) for label, r in series.items()},
        rule=rule,
        window=window,
        notes=tuple(notes),
    )


def _row(r: pd.Series, bench, factors: dict, trials: np.ndarray | None) -> dict:
    out: dict = dict(tail_risk(r))
    out["beta"] = compute_metrics(r, benchmark=bench)["beta"] if bench is not None else math.nan
    for name in ("ff3", "ff5"):
        fit = factor_regression(r, factors[name]) if name in factors else {}
        out[f"{name}_alpha_ann"] = fit.get("alpha_ann", math.nan)
        out[f"{name}_alpha_t"] = fit.get("alpha_t", math.nan)
        out.update({f"{name}_{k}": v for k, v in fit.items() if k.startswith("beta_")})
    out["psr"] = probabilistic_sharpe(r)
    out["dsr"] = deflated_sharpe(r, trials) if trials is not None else math.nan
    return out


def _trades_row(trades: pd.DataFrame | None) -> dict:
    if trades is None:
        return dict.fromkeys(("hit_rate", "profit_factor", "avg_holding_days"), math.nan)
    return trade_stats(trades)


def format_risk(rc: RiskComparison) -> str:
    """The risk, regime and stress tables as aligned text, then the legend and notes."""
    lines = ["", "Risk (same common dates)", *_align(risk_cells(rc)), RISK_LEGEND]
    if rc.regimes:
        lines += ["", regime_caption(rc), *_align(regime_cells(rc))]
    stress = stress_cells(rc)
    if len(stress[0]) > 1:
        lines += ["", "Stress windows (return / max drawdown over the window's common days)"]
        lines += _align(stress)
    lines.extend(f"note: {n}" for n in rc.notes)
    return "\n".join(lines) + "\n"


def risk_cells(rc: RiskComparison) -> list[list[str]]:
    """Header row, then one row of formatted `RISK_COLUMNS` cells per label."""
    header = ["run", *(h for _, h, _ in RISK_COLUMNS)]
    body = [
        [label, *(_cell(row.get(k), f) for k, _, f in RISK_COLUMNS)]
        for label, row in rc.rows.items()
    ]
    return [header, *body]


def regime_caption(rc: RiskComparison) -> str:
    """The regime rule and the number of common dates in each regime."""
    r = rc.rule
    counts = ", ".join(f"{k} {n} d" for k, n in rc.regime_days.items())
    return (
        f"Regimes: SPY return over the {r.lookback_days} trading days before the day "
        f"> {r.bull_above:+.0%} bull, < {r.bear_below:+.0%} bear, else sideways ({counts})"
    )


def regime_cells(rc: RiskComparison) -> list[list[str]]:
    """Header row, then per label the annualised return and Sharpe in each regime."""
    regs = list(rc.regime_days)
    rows = [["run", *(f"{g} {h}" for g in regs for h in ("ann ret", "Sharpe"))]]
    for label, t in rc.regimes.items():
        cells = []
        for g in regs:
            cells += [_cell(t.loc[g, "ann_return"], "pct"), _cell(t.loc[g, "sharpe"], "num")]
        rows.append([label, *cells])
    return rows


def stress_cells(rc: RiskComparison) -> list[list[str]]:
    """Header row (the windows present), then per label ``return / max drawdown`` cells."""
    names = list(dict.fromkeys(w for t in rc.stress.values() for w in t["window"]))
    rows = [["run", *names]]
    for label, t in rc.stress.items():
        by = t.set_index("window")
        cells = [
            f"{_cell(by.loc[w, 'total_return'], 'pct')} / {_cell(by.loc[w, 'max_drawdown'], 'pct')}"
            for w in names
        ]
        rows.append([label, *cells])
    return rows


def _align(table: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return [
        "  ".join(
            [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        )
        for r in table
    ]


def _cell(value: object, fmt: str) -> str:
    """``-`` for a missing or NaN value, else pct (2 decimals, %), num (2 decimals)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{100 * float(value):.2f}%" if fmt == "pct" else f"{float(value):.2f}"
