"""The HTML report: one self-contained file (inline SVG charts, inline CSS) plus PNG copies.

Charts are drawn once with matplotlib (the Agg and SVG backends, no pyplot, no display) and saved
twice: as SVG inlined in the HTML and as PNG beside it. No URL is fetched, no script runs.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from simulator.core.atomic import write_atomic
from simulator.results.compare import COLUMNS, LEGEND, Comparison, Run, format_cell
from simulator.results.compare_risk import RiskComparison
from simulator.results.metrics import drawdown_series, monthly_returns
from simulator.results.report_risk import ROLLING_CHART, risk_section

__all__ = ["CHARTS", "render_report", "write_report"]

CHARTS = ("equity", "drawdown", "positions")
"""Chart names: the HTML section ids and the PNG suffixes (``<stem>-<name>.png``)."""

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
.chart svg{width:100%;height:auto}
.scroll{overflow-x:auto}
.note{color:#8a5a00}
.legend{color:#555;font-size:.85em}
"""
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WINDOW_FLOATS = ("ic", "rank_ic", "direction_accuracy", "accuracy", "precision", "recall", "f1")
_WINDOW_FLOATS += ("return",)
_WINDOW_LEGEND = (
    "From the predictions the run was served, per window: rank_ic: mean daily rank IC; "
    "direction_accuracy: share of matching signs; accuracy, precision, recall, f1: direction "
    "classification of the up class (prediction > 0 vs open-to-open return > 0), as in "
    "`wfsim models report`; return: the run's return over the window"
)


def write_report(
    out: Path,
    runs: Sequence[Run],
    comp: Comparison,
    *,
    benchmark: pd.Series | None = None,
    risk: RiskComparison | None = None,
    sections: Sequence[str] = (),
) -> list[Path]:
    """Write ``out`` (HTML) and ``<stem>-<chart>.png`` beside it, atomically; return the paths."""
    out = Path(out)
    page, pngs = render_report(runs, comp, benchmark=benchmark, risk=risk, sections=sections)
    paths = [write_atomic(out, page)]
    for name, data in pngs.items():
        paths.append(write_atomic(out.with_name(f"{out.stem}-{name}.png"), data))
    return paths


def render_report(
    runs: Sequence[Run],
    comp: Comparison,
    *,
    benchmark: pd.Series | None = None,
    risk: RiskComparison | None = None,
    sections: Sequence[str] = (),
) -> tuple[str, dict[str, bytes]]:
    """The HTML page and the PNG bytes of each chart drawn (same inputs → same bytes).

    Every series is restricted to ``comp.dates``. Sections whose inputs are missing (no
    positions.csv, no windows.csv) are replaced by a note. With ``risk`` (`compare_risk` on
    ``comp.dates``) a Risk section and its ``rolling`` chart follow the comparison. ``sections``:
    the caller's HTML sections (e.g. the study table), placed right after the comparison.
    """
    curves = {run.label: run.returns.loc[comp.dates] for run in runs}
    if benchmark is not None and any(row.strategy == "benchmark" for row in comp.rows):
        bench_row = next(row for row in comp.rows if row.strategy == "benchmark")
        curves[bench_row.label] = benchmark.set_axis(pd.DatetimeIndex(benchmark.index)).loc[
            comp.dates
        ]
    order = {run.label: i for i, run in enumerate(runs)}
    charts = {
        "equity": {k: (1.0 + r).cumprod() for k, r in curves.items()},
        "drawdown": {k: 100.0 * drawdown_series(r) for k, r in curves.items()},
        "positions": _positions(runs, comp.dates),
    }
    titles = {
        "equity": "Growth of 1 over the common dates",
        "drawdown": "Drawdown from the running peak (%)",
        "positions": "Open positions per day (solid: long, dashed: short)",
    }
    svgs, pngs = {}, {}
    for name in CHARTS:
        if charts[name]:
            svgs[name], pngs[name] = _draw(name, charts[name], titles[name], order)
    risk_html = ""
    if risk is not None:
        risk_html, pngs[ROLLING_CHART] = risk_section(risk, order)
    if sections:  # the caller's sections right after the comparison, before the risk section
        risk_html = "\n".join([*sections, *([risk_html] if risk_html else [])])
    page = _page(runs, comp, svgs, risk_html)
    return page, pngs


def _positions(runs: Sequence[Run], dates: pd.DatetimeIndex) -> dict[str, pd.Series]:
    out = {}
    for run in runs:
        book = run.book
        if book is not None and {"n_long", "n_short"} <= set(book.columns):
            out[f"{run.label} long"] = book["n_long"].reindex(dates).astype(float)
            out[f"{run.label} short"] = book["n_short"].reindex(dates).astype(float)
    return out


def _draw(
    name: str, series: dict[str, pd.Series], title: str, order: dict[str, int]
) -> tuple[str, bytes]:
    """Draw one line chart (run i in colour i, the benchmark black dashed): SVG text, PNG bytes."""
    import matplotlib
    from matplotlib.figure import Figure

    rc = {"svg.fonttype": "none", "svg.hashsalt": f"wfsim-{name}", "font.size": 9}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(10, 3.6), layout="constrained")
        ax = fig.add_subplot()
        colors = matplotlib.colormaps["tab10"].colors
        for label, s in series.items():
            run = label.rsplit(" ", 1)[0] if name == "positions" else label
            style = {"color": colors[order.get(run, 0) % len(colors)], "linewidth": 1.2}
            if name == "positions":
                style["linestyle"] = "--" if label.endswith(" short") else "-"
            elif run not in order:  # the benchmark
                style = {"color": "black", "linewidth": 1.0, "linestyle": "--"}
            ax.plot(s.index.to_numpy(), s.to_numpy(), label=label, **style)
        ax.set_title(title, loc="left")
        ax.grid(True, linewidth=0.3)
        fig.legend(loc="outside right upper", fontsize=8, frameon=False)
        svg, png = io.BytesIO(), io.BytesIO()
        fig.savefig(svg, format="svg", metadata={"Date": None})
        fig.savefig(png, format="png", dpi=100, metadata={"Software": None})
    text = svg.getvalue().decode("utf-8")
    return text[text.index("<svg") :], png.getvalue()


def _page(runs: Sequence[Run], comp: Comparison, svgs: dict[str, str], risk_html: str) -> str:
    d = comp.dates
    span = f"{len(d)} common dates, {d[0]:%Y-%m-%d} .. {d[-1]:%Y-%m-%d}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>wfsim report</title>',
        f"<style>{_CSS}</style></head><body>",
        "<h1>wfsim report</h1>",
        f"<p>{_e(span)}: every series and metric is restricted to the dates all runs share.</p>",
        _runs_table(runs),
        '<h2 id="comparison">Comparison</h2>',
        _comparison_table(comp),
        f'<p class="legend">{_e(LEGEND)}</p>',
        *(f'<p class="note">note: {_e(n)}</p>' for n in comp.notes),
        *([risk_html] if risk_html else []),
    ]
    headings = {"equity": "Equity curves", "drawdown": "Drawdowns"}
    for name in ("equity", "drawdown"):
        parts += [
            f'<h2 id="{name}">{headings[name]}</h2>',
            f'<div class="chart">{svgs[name]}</div>',
        ]
    parts.append('<h2 id="monthly">Monthly returns (%)</h2>')
    parts += [_monthly_table(run.label, run.returns.loc[d]) for run in runs]
    parts.append('<h2 id="positions">Positions</h2>')
    if "positions" in svgs:
        parts.append(f'<div class="chart">{svgs["positions"]}</div>')
    else:
        parts.append('<p class="note">no run has positions.csv: section omitted</p>')
    parts += ['<h2 id="windows">Model quality per window</h2>', _windows_section(runs)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _runs_table(runs: Sequence[Run]) -> str:
    rows = [
        f"<tr><td>{_e(r.label)}</td><td>{_e(r.strategy)}</td><td>{_e(_text(r.seed))}</td>"
        f"<td>{_e(_text(r.config_hash)[:12])}</td><td>{len(r.returns)}</td></tr>"
        for r in runs
    ]
    head = "<tr><th>run</th><th>strategy</th><th>seed</th><th>config</th><th>days</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _comparison_table(comp: Comparison) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in ("run", *(h for _, h, _ in COLUMNS)))
    body = []
    for row in comp.rows:
        cells = "".join(f"<td>{_e(format_cell(row, k, f))}</td>" for k, _, f in COLUMNS)
        body.append(f"<tr><td>{_e(row.label)}</td>{cells}</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _monthly_table(label: str, returns: pd.Series) -> str:
    table = monthly_returns(returns)
    head = "".join(f"<th>{m}</th>" for m in ("Year", *_MONTHS, "Year total"))
    body = []
    for year, row in table.iterrows():
        cells = "".join(_heat_cell(row[m]) for m in (*range(1, 13), "year"))
        body.append(f"<tr><td>{year}</td>{cells}</tr>")
    return f"<h3>{_e(label)}</h3><table><tr>{head}</tr>{''.join(body)}</table>"


def _heat_cell(value: float) -> str:
    """A cell coloured green (gain) or red (loss), saturating at ±5 % a month."""
    if value is None or math.isnan(value):
        return "<td></td>"
    weight = min(abs(value) / 0.05, 1.0)
    base = (46, 125, 50) if value >= 0 else (198, 40, 40)
    r, g, b = (round(255 + (c - 255) * weight) for c in base)
    ink = "#fff" if weight > 0.6 else "#222"
    text = f"{round(100 * value, 1) + 0.0:.1f}"  # + 0.0 turns -0.0 into 0.0
    return f'<td style="background:rgb({r},{g},{b});color:{ink}">{text}</td>'


def _windows_section(runs: Sequence[Run]) -> str:
    parts = []
    for run in runs:
        if run.windows is None:
            continue
        w = run.windows
        cols = [c for c in ("window", "serve_start", "serve_end", *_WINDOW_FLOATS) if c in w]
        head = "".join(f"<th>{_e(c)}</th>" for c in cols)
        body = [
            "<tr>" + "".join(f"<td>{_e(_fmt(row[c]))}</td>" for c in cols) + "</tr>"
            for _, row in w.iterrows()
        ]
        means = "".join(
            f"<td>{_e(_fmt(w[c].mean()) if c in _WINDOW_FLOATS else '')}</td>" for c in cols[1:]
        )
        body.append(f"<tr><th>mean</th>{means}</tr>")
        parts.append(f"<h3>{_e(run.label)}</h3><table><tr>{head}</tr>{''.join(body)}</table>")
    if not parts:
        return '<p class="note">no run has windows.csv: section omitted</p>'
    return "\n".join([*parts, f'<p class="legend">{_e(_WINDOW_LEGEND)}</p>'])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    return _text(value)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
