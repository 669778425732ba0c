"""The interactive tearsheet: one offline HTML file with plotly charts (plotly.js inlined).

Nothing is fetched: plotly.js (the pinned ``plotly`` package's bundle) is inlined once, figures are
JSON specs drawn by ``Plotly.newPlot``, tables are plain HTML (the trade list sorts on a click
of its header). The only ``http(s)://`` strings in the file are inside the inlined library (XML
namespaces, and links of features switched off here: the logo, geo/mapbox tiles).

Sections: comparison table, equity (with the benchmark), drawdown, rolling Sharpe / volatility /
beta, gross and net exposure, turnover, return distribution, worst drawdowns, per-window IC and
rank IC with t-stats, trade list.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.core.atomic import write_atomic
from simulator.results.compare import Comparison, Run
from simulator.results.compare_risk import RiskComparison
from simulator.results.metrics import drawdown_series
from simulator.results.report import _comparison_table
from simulator.results.tearsheet import (
    exposures,
    trade_list,
    turnover_series,
    window_ic,
    worst_drawdowns,
)

__all__ = ["FIGURES", "render_interactive", "write_interactive"]

FIGURES = ("equity", "drawdown", "rolling", "exposure", "turnover", "distribution")
"""Ids of the chart elements (``<div id="fig-<name>" class="fig">``), in page order."""

LIB_START, LIB_END = "/*plotly.js:start*/", "/*plotly.js:end*/"
_CONFIG = {"displaylogo": False, "showLink": False, "responsive": True, "staticPlot": False}
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
table.sortable th{cursor:pointer;background:#f4f4f4}
.fig{width:100%;height:340px}.scroll{overflow:auto;max-height:420px}.note{color:#8a5a00}
"""
_JS = """
function sortTable(th){
  const table=th.closest('table'), i=[...th.parentNode.children].indexOf(th);
  const asc=th.dataset.dir!=='asc'; th.dataset.dir=asc?'asc':'desc';
  const rows=[...table.tBodies[0].rows];
  const key=r=>{const t=r.cells[i].textContent, n=parseFloat(t); return isNaN(n)?t:n;};
  rows.sort((a,b)=>{const x=key(a),y=key(b); return (x>y?1:x<y?-1:0)*(asc?1:-1);});
  rows.forEach(r=>table.tBodies[0].appendChild(r)); table.dataset.sortedBy=th.textContent;
}
document.querySelectorAll('table.sortable th').forEach(th=>th.onclick=()=>sortTable(th));
const rects={};
for(const [id,fig] of Object.entries(FIGS)){
  Plotly.newPlot(id,fig.data,fig.layout,CONFIG);
  const r=document.getElementById(id).getBoundingClientRect();
  rects[id]=[r.left+window.scrollX,r.top+window.scrollY,r.width,r.height].map(Math.round);
}
document.body.dataset.figures=JSON.stringify(rects);
const m=location.hash.match(/^#sort=(.+)$/);
if(m){const th=[...document.querySelectorAll('table.sortable th')]
  .find(h=>h.textContent===decodeURIComponent(m[1])); if(th) sortTable(th);}
"""


def write_interactive(
    out: Path,
    runs: Sequence[Run],
    comp: Comparison,
    *,
    benchmark: pd.Series | None = None,
    risk: RiskComparison | None = None,
) -> Path:
    """Write the interactive tearsheet to ``out`` atomically; return ``out``."""
    return write_atomic(Path(out), render_interactive(runs, comp, benchmark=benchmark, risk=risk))


def render_interactive(
    runs: Sequence[Run],
    comp: Comparison,
    *,
    benchmark: pd.Series | None = None,
    risk: RiskComparison | None = None,
) -> str:
    """The page (same inputs, same plotly version → same text). Series use ``comp.dates``."""
    from plotly.offline import get_plotlyjs  # the pinned plotly's bundled plotly.js

    figs = figures(runs, comp, benchmark=benchmark, risk=risk)
    d = comp.dates
    span = f"{len(d)} common dates, {d[0]:%Y-%m-%d} .. {d[-1]:%Y-%m-%d}"
    titles = {
        "equity": "Growth of 1", "drawdown": "Drawdown (%)",
        "rolling": f"Rolling {risk.window if risk else ''}-day Sharpe, volatility and beta",
        "exposure": "Gross and net exposure (fraction of NAV)",
        "turnover": "Turnover: traded notional over 21 days / NAV (not annualised)",
        "distribution": "Distribution of daily returns (%)",
    }  # fmt: skip
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>wfsim tearsheet</title>',
        f"<style>{_CSS}</style>",
        f"<script>{LIB_START}{get_plotlyjs()}{LIB_END}</script></head><body>",
        "<h1>wfsim tearsheet</h1>",
        f"<p>{_e(span)}. Drag to zoom, double-click to reset, click a legend entry to hide it.</p>",
        '<h2 id="comparison">Comparison</h2>',
        _comparison_table(comp),
        *(f'<p class="note">note: {_e(n)}</p>' for n in comp.notes),
    ]
    for name in FIGURES:
        parts.append(f'<h2 id="{name}">{_e(titles[name])}</h2>')
        if name in figs:
            parts.append(f'<div id="fig-{name}" class="fig"></div>')
        else:
            parts.append('<p class="note">no data for this chart: section omitted</p>')
    parts += ['<h2 id="drawdowns">Worst drawdowns</h2>', _drawdowns(runs, d)]
    parts += ['<h2 id="ic">Model quality per window: IC and rank IC</h2>', _ic(runs)]
    parts += ['<h2 id="trades">Trades (click a header to sort)</h2>', _trades(runs)]
    specs = {f"fig-{k}": v for k, v in figs.items()}
    parts.append(
        f"<script>const FIGS={json.dumps(specs, allow_nan=False)};"
        f"const CONFIG={json.dumps(_CONFIG)};{_JS}</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def figures(
    runs: Sequence[Run],
    comp: Comparison,
    *,
    benchmark: pd.Series | None = None,
    risk: RiskComparison | None = None,
) -> dict[str, dict]:
    """Plotly figure specs (``{"data": [...], "layout": {...}}``) by name; the app uses them too."""
    d = comp.dates
    curves = {run.label: run.returns.loc[d] for run in runs}
    if benchmark is not None and d.isin(pd.DatetimeIndex(benchmark.index)).all():
        b = benchmark.set_axis(pd.DatetimeIndex(benchmark.index))
        curves["benchmark"] = b[~b.index.duplicated(keep="last")].loc[d]
    out = {
        "equity": _lines({k: (1 + r).cumprod() for k, r in curves.items()}),
        "drawdown": _lines({k: 100 * drawdown_series(r) for k, r in curves.items()}),
    }
    if risk is not None and risk.rolling:
        rolling = {}
        for label, df in risk.rolling.items():
            for col in ("sharpe", "vol", "beta"):
                if df[col].notna().any():
                    rolling[f"{label} {col}"] = df[col]
        if rolling:
            out["rolling"] = _lines(rolling)
    expo = {}
    for run in runs:
        e = exposures(run, d)
        if e is not None:
            expo |= {f"{run.label} gross": e["gross"], f"{run.label} net": e["net"]}
    turn = {r.label: s for r in runs if (s := turnover_series(r, d)) is not None}
    for name, series in (("exposure", expo), ("turnover", turn)):
        if series:
            out[name] = _lines(series)
    out["distribution"] = {
        "data": [{"type": "histogram", "name": k, "x": _num(100 * r), "opacity": 0.6,
                  "nbinsx": 60} for k, r in curves.items()],
        "layout": _layout() | {"barmode": "overlay"},
    }  # fmt: skip
    return out


def _layout() -> dict:
    return {
        "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
        "legend": {"orientation": "h"},
        "hovermode": "x unified",
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "xaxis": {"gridcolor": "#eee"},
        "yaxis": {"gridcolor": "#eee"},
    }


def _lines(series: dict[str, pd.Series]) -> dict:
    data = []
    for name, s in series.items():
        style = {"dash": "dash", "color": "black"} if name == "benchmark" else {}
        x = [f"{t:%Y-%m-%d}" for t in pd.DatetimeIndex(s.index)]
        data.append({"type": "scatter", "mode": "lines", "name": name, "x": x, "y": _num(s),
                     "line": {"width": 1.5, **style}})  # fmt: skip
    return {"data": data, "layout": _layout()}


def _num(s: pd.Series) -> list[float | None]:
    """JSON numbers (NaN/inf as null), rounded to 8 significant digits for a smaller page."""
    return [None if not math.isfinite(v) else float(f"{v:.8g}") for v in np.asarray(s, float)]


def _drawdowns(runs: Sequence[Run], dates: pd.DatetimeIndex) -> str:
    parts = []
    for run in runs:
        w = worst_drawdowns(run.returns.loc[dates])
        w["depth"] = (100 * w["depth"]).map(lambda v: f"{v:.2f}%")
        parts.append(f"<h3>{_e(run.label)}</h3>{_table(w, sortable=False)}")
    return "\n".join(parts)


def _ic(runs: Sequence[Run]) -> str:
    parts = [
        f"<h3>{_e(r.label)}</h3>{_table(t)}"
        for r in runs
        if (t := window_ic(r.windows)) is not None
    ]
    return "\n".join(parts) or '<p class="note">no run has per-window IC: section omitted</p>'


def _trades(runs: Sequence[Run]) -> str:
    parts = []
    for run in runs:
        t, left_out = trade_list(run)
        if t.empty:
            continue
        note = f'<p class="note">the first {left_out} trades are left out</p>' if left_out else ""
        parts.append(f'<h3>{_e(run.label)}</h3>{note}<div class="scroll">{_table(t, True)}</div>')
    return "\n".join(parts) or '<p class="note">no run has trades.csv: section omitted</p>'


def _table(df: pd.DataFrame, sortable: bool = False) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    cls = ' class="sortable"' if sortable else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    if isinstance(v, float | np.floating):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.2f}"
    return str(v)


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
