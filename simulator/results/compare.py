"""Run directories side by side: load them, align them on their common dates, tabulate metrics."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from simulator.core.errors import WfsimError
from simulator.results.metrics import METRIC_KEYS, compute_metrics, covers

__all__ = [
    "COLUMNS",
    "Run",
    "Row",
    "Comparison",
    "load_run",
    "series_run",
    "common_dates",
    "compare_runs",
    "format_table",
    "format_cell",
    "comparison_records",
    "comparison_csv",
    "comparison_json",
]

COLUMNS = (
    ("total_return", "Total ret", "pct"),
    ("cagr", "CAGR", "pct"),
    ("ann_vol", "Vol", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sharpe_rf", "Sharpe rf", "num"),
    ("sharpe_thesis", "Sharpe th", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "Max DD", "pct"),
    ("calmar", "Calmar", "num"),
    ("daily_win_rate", "Win rate", "pct"),
    ("turnover", "Turnover", "num"),
    ("fees_paid", "Fees", "money"),
    ("n_trades", "Trades", "int"),
    ("avg_positions", "Avg pos", "num"),
)
"""(metric key, header, format) of the printed table; CSV/JSON carry every key of METRIC_KEYS."""

LEGEND = (
    "Sharpe: rf = 0; Sharpe rf: excess over the rf CSV; Sharpe th: (CAGR - rf CAGR) / "
    "(std of daily excess returns x sqrt 252), the original thesis; Win rate: days with r > 0; "
    "Turnover: traded notional / mean NAV; 'a±b': mean ± std (ddof=1) over the N runs "
    "(seeds) of one strategy, shown as 'strategy (xN)'"
)


COUNTERFACTUAL_TAG = "[counterfactual]"
"""Suffix of a counterfactual strategy name (``llm[counterfactual]``); rows always show it."""


@dataclass(frozen=True, slots=True, eq=False)
class Run:
    """One strategy's daily results: a run directory, or a bare return series (a reference)."""

    label: str
    strategy: str
    seed: int | None
    returns: pd.Series  # daily_return by date
    book: pd.DataFrame | None = None  # equity.csv (+ positions.csv) by date
    trades: pd.DataFrame | None = None
    windows: pd.DataFrame | None = None
    config_hash: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Row:
    """One line of the table: a run, or the mean and std over the seeds of one strategy."""

    label: str
    strategy: str
    members: tuple[str, ...]
    metrics: dict  # value, or mean over members for numeric metrics
    std: dict | None = None  # std (ddof=1) over members, None for a single run


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    """Every row computed over the same ``dates``; ``notes`` say what was left out and why."""

    dates: pd.DatetimeIndex
    rows: tuple[Row, ...]
    notes: tuple[str, ...]


def load_run(path: Path) -> Run:
    """Read a run directory written by simulator/results/export.py.

    ``equity.csv`` and ``summary.json`` are required; ``trades.csv``, ``positions.csv`` and
    ``windows.csv`` are optional and their absence is recorded in ``Run.notes``.

    Raises
    ------
    WfsimError
        A required file is missing or a table lacks its key columns.
    """
    path = Path(path)
    summary = _read_summary(path / "summary.json")
    book = _read_table(path / "equity.csv", required=("date", "daily_return"))
    notes: list[str] = []
    optional = {}
    for name, cols, lost in (
        ("trades.csv", ("date", "ticker", "action", "filled_qty", "notional", "fee"), "trades"),
        ("positions.csv", ("date", "n_long", "n_short"), "average positions"),
        ("windows.csv", ("window", "serve_start", "serve_end"), "model quality"),
    ):
        if (path / name).is_file():
            optional[name] = _read_table(path / name, required=cols)
        else:
            optional[name] = None
            notes.append(f"{path.name}: no {name} ({lost} omitted)")
    book = book.set_index(pd.DatetimeIndex(book.pop("date"), name="date"))
    if optional["positions.csv"] is not None:
        pos = optional["positions.csv"]
        pos = pos.set_index(pd.DatetimeIndex(pos.pop("date"), name="date"))
        book = book.join(pos[["n_long", "n_short"]], how="left")
    notes += _counterfactual_notes(summary, path)
    notes += coverage_notes(summary, path.name)
    seed = summary.get("seed")
    return Run(
        label=path.name,
        strategy=_strategy_name(summary, path),
        seed=None if seed is None else int(seed),
        returns=book["daily_return"].astype(float),
        book=book,
        trades=optional["trades.csv"],
        windows=optional["windows.csv"],
        config_hash=summary.get("config_hash"),
        notes=tuple(notes),
    )


def coverage_notes(summary: dict, label: str) -> list[str]:
    """The note of an incomplete run (`wfsim replay --allow-gaps`): days no model served."""
    cov = summary.get("coverage")
    if not isinstance(cov, dict):
        return []
    return [f"{label}: INCOMPLETE, coverage {cov.get('served_days')}/{cov.get('days')} days "
            f"served by a model ({cov.get('note', '')})"]  # fmt: skip


def _counterfactual_notes(summary: dict, path: Path) -> list[str]:
    """The label of a counterfactual run (`wfsim replay --strategy llm-counterfactual`) and of an
    llm run whose config's account differs from the recording's rules it was replayed under."""
    cf = summary.get("counterfactual")
    if isinstance(cf, dict):
        ours, recorded = _rules(cf.get("account")), _rules(cf.get("recorded_account"))
        return [
            f"{path.name}: counterfactual, the recorded LLM decisions executed under {ours} "
            f"instead of the recording's {recorded}; not the recording, never reconciled"
        ]
    if summary.get("account_note"):
        return [f"{path.name}: under the recording's rules {_rules(summary.get('account'))}, "
                "not its config's replay section"]  # fmt: skip
    return []


def _rules(rules: object) -> str:
    if not isinstance(rules, dict):
        return "?"
    return "(" + ", ".join(f"{k}={v}" for k, v in rules.items()) + ")"


def _strategy_name(summary: dict, path: Path) -> str:
    """The strategy a run belongs to; an lstm run is named by its information set, e.g.
    ``lstm[strict]`` and ``lstm[recorded]``, so the two are never averaged together."""
    name = str(summary.get("strategy") or path.name)
    info_set = ((summary.get("config") or {}).get("features") or {}).get("info_set")
    return f"{name}[{info_set}]" if name == "lstm" and info_set else name


def series_run(label: str, returns: pd.Series, *, strategy: str | None = None, seed=None) -> Run:
    """A reference strategy known only by its daily returns (SPY, a recorded run, the old LSTM)."""
    r = pd.Series(returns.to_numpy(dtype=float), index=pd.DatetimeIndex(returns.index, name="date"))
    return Run(label=label, strategy=strategy or label, seed=seed, returns=r)


def common_dates(runs: Sequence[Run]) -> pd.DatetimeIndex:
    """The dates every run has, sorted; raises WfsimError when there are none."""
    dates = runs[0].returns.index
    for run in runs[1:]:
        dates = dates.intersection(run.returns.index)
    if len(dates) == 0:
        spans = {r.label: f"{_day(r.returns.index[0])}..{_day(r.returns.index[-1])}" for r in runs}
        raise WfsimError("compare", "the runs share no date", **spans, expected=">= 1 common date")
    return dates.sort_values()


BENCHMARK_MISSING = 0.05  # a benchmark row is kept (aligned, with a note) missing <= 5 % of dates


def compare_runs(
    runs: Sequence[Run],
    *,
    rf: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    benchmark_label: str = "SPY",
    notes: Sequence[str] = (),
) -> Comparison:
    """Metrics of every run over the runs' common dates, seeds of a strategy aggregated.

    Runs sharing a strategy name but with distinct seeds become one row, mean ± std (ddof=1) of
    every numeric metric. The benchmark gets its own row when it covers every common date.
    ``notes`` (the caller's, e.g. a missing benchmark file) come first in ``Comparison.notes``.
    """
    if not runs:
        raise WfsimError("compare", "no runs given", expected=">= 1 run directory")
    labels = [run.label for run in runs]
    if len(set(labels)) != len(labels):
        twice = sorted({x for x in labels if labels.count(x) > 1})
        raise WfsimError("compare", "two runs share a label", label=twice[0], fix="rename one")
    dates = common_dates(runs)
    notes = [*notes, *(n for run in runs for n in run.notes)]
    for run in runs:
        dropped = len(run.returns) - len(dates)
        if dropped:
            notes.append(f"{run.label}: {dropped} of its {len(run.returns)} days are not common")
    per_run = {
        run.label: compute_metrics(
            run.returns.loc[dates], book=run.book, trades=run.trades, rf=rf, benchmark=benchmark
        )
        for run in runs
    }
    rows = [_row(group, per_run) for group in _groups(runs)]
    if benchmark is not None:
        idx = pd.DatetimeIndex(benchmark.index)
        have = dates.isin(idx)
        covered = int(have.sum())
        few = len(dates) - covered <= BENCHMARK_MISSING * len(dates)
        if covered < 2 or not few:  # a row over other days would read as the runs' days
            span = f" (its series spans {_day(idx.min())} .. {_day(idx.max())})" if len(idx) else ""
            notes.append(f"{benchmark_label} omitted: it covers {covered} of {len(dates)} "
                         f"dates{span}")  # fmt: skip
        else:  # a few missing dates: align, say so
            b = series_run(benchmark_label, benchmark).returns.loc[dates[have]]
            m = compute_metrics(b, rf=rf, benchmark=benchmark)
            rows.append(Row(benchmark_label, "benchmark", (benchmark_label,), m))
            if covered < len(dates):
                miss = ", ".join(_day(d) for d in dates[~have][:3])
                more = ", ..." if len(dates) - covered > 3 else ""
                notes.append(f"{benchmark_label} row on its {covered} of {len(dates)} common "
                             f"dates (missing {miss}{more})")  # fmt: skip
    if rf is None:
        notes.append("no risk-free rate: Sharpe rf and Sharpe th are NaN")
    elif not covers(rf, dates):
        span = f"{_day(rf.index.min())} .. {_day(rf.index.max())}" if len(rf) else "no dates"
        notes.append(f"the risk-free rate ({span}) does not cover the common dates "
                     f"{_day(dates[0])} .. {_day(dates[-1])}: Sharpe rf and Sharpe th are NaN "
                     "(give a longer daily_risk_free_rate.csv in --benchmarks)")  # fmt: skip
    return Comparison(dates=dates, rows=tuple(rows), notes=tuple(notes))


def format_table(comp: Comparison) -> str:
    """The comparison as aligned text: a header line on the dates, the table, legend and notes."""
    d = comp.dates
    fewer = [r.label for r in comp.rows if r.metrics.get("n_days", len(d)) < len(d)]
    lines = [
        f"{len(d)} common dates {_day(d[0])} .. {_day(d[-1])}: every row is computed on the "
        "dates that all runs share"
        + (f" ({', '.join(fewer)}: on fewer, see the notes)" if fewer else ""),
    ]
    header = ["run", *(h for _, h, _ in COLUMNS)]
    body = [[row.label, *(format_cell(row, k, f) for k, _, f in COLUMNS)] for row in comp.rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    for cells in [header, *body]:
        padded = [c.rjust(w) for c, w in zip(cells, widths, strict=True)]
        lines.append("  ".join([cells[0].ljust(widths[0]), *padded[1:]]))
    lines.append(LEGEND)
    lines.extend(f"note: {n}" for n in comp.notes)
    return "\n".join(lines) + "\n"


def comparison_records(comp: Comparison) -> list[dict]:
    """One flat dict per row: label, strategy, n_runs, members, every metric and ``<key>_std``."""
    out = []
    for row in comp.rows:
        rec: dict = {"label": row.label, "strategy": row.strategy, "n_runs": len(row.members)}
        rec["members"] = " ".join(row.members)
        for key in METRIC_KEYS:
            rec[key] = row.metrics.get(key)
            if row.std is not None and key in row.std:
                rec[f"{key}_std"] = row.std[key]
        out.append(rec)
    return out


def comparison_csv(comp: Comparison) -> str:
    """The records as CSV (NaN as an empty cell), columns in a fixed order."""
    frame = pd.DataFrame(comparison_records(comp))
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.10g", lineterminator="\n")
    return buf.getvalue()


def comparison_json(comp: Comparison) -> bytes:
    """The records plus dates and notes as JSON (NaN as null), sorted keys."""
    d = comp.dates
    doc = {
        "dates": {"n": len(d), "start": _day(d[0]), "end": _day(d[-1])},
        "alignment": "every row is computed on the dates that all runs share",
        "notes": list(comp.notes),
        "rows": comparison_records(comp),
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _groups(runs: Sequence[Run]) -> list[list[Run]]:
    """Runs grouped by strategy when their seeds are all distinct, else one group per run."""
    by_strategy: dict[str, list[Run]] = {}
    for run in runs:
        by_strategy.setdefault(run.strategy, []).append(run)
    groups = []
    for members in by_strategy.values():
        seeds = [m.seed for m in members]
        if len(members) > 1 and None not in seeds and len(set(seeds)) == len(seeds):
            groups.append(members)
        else:
            groups.extend([m] for m in members)
    return groups


def _row(group: list[Run], per_run: dict[str, dict]) -> Row:
    first = group[0]
    if len(group) == 1:
        label = first.label
        if first.strategy.endswith(COUNTERFACTUAL_TAG) and "counterfactual" not in label:
            label = f"{label} {COUNTERFACTUAL_TAG}"
        return Row(label, first.strategy, (first.label,), per_run[first.label])
    mean, std = {}, {}
    for key in METRIC_KEYS:
        values = [per_run[r.label][key] for r in group]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            arr = np.asarray(values, dtype=float)
            mean[key], std[key] = float(np.mean(arr)), float(np.std(arr, ddof=1))
        else:
            mean[key] = values[0] if len(set(values)) == 1 else None
    label = f"{first.strategy} (x{len(group)})"
    return Row(label, first.strategy, tuple(r.label for r in group), mean, std)


def format_cell(row: Row, key: str, fmt: str) -> str:
    """One table cell: ``fmt`` is pct, num, money or int; ``-`` for NaN; ``a±b`` over seeds."""
    value = row.metrics.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    std = None if row.std is None else row.std.get(key)
    if fmt == "pct":
        text, spread = f"{100 * value:.2f}", None if std is None else f"{100 * std:.2f}"
        return f"{text}±{spread}%" if spread else f"{text}%"
    spec = {"num": ".2f", "money": ",.0f", "int": ".0f"}[fmt]
    return f"{value:{spec}}" + ("" if std is None else f"±{std:{spec}}")


def _day(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _read_summary(path: Path) -> dict:
    if not path.is_file():
        raise WfsimError(str(path), "run summary not found", fix="is this a run directory?")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise WfsimError(str(path), "not a JSON object", expected="summary dict")
    return doc


def _read_table(path: Path, *, required: Sequence[str]) -> pd.DataFrame:
    if not path.is_file():
        raise WfsimError(str(path), "file not found", fix="is this a run directory?")
    frame = pd.read_csv(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise WfsimError(str(path), "missing columns", missing=",".join(missing))
    return frame
