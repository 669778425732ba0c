"""The report's Risk section: the risk, regime and stress tables and the rolling-risk chart."""

from __future__ import annotations

import html
import io

from simulator.results.compare_risk import (
    RISK_LEGEND,
    RiskComparison,
    regime_caption,
    regime_cells,
    risk_cells,
    stress_cells,
)

__all__ = ["ROLLING_CHART", "risk_section"]

ROLLING_CHART = "rolling"
"""Chart name of the rolling Sharpe / volatility / beta panels (``<stem>-rolling.png``)."""


def risk_section(rc: RiskComparison, order: dict[str, int]) -> tuple[str, bytes]:
    """The section's HTML (tables, legend, notes, inline SVG chart) and the chart's PNG bytes.

    ``order`` gives each run's colour index, as in the other charts (others: black dashed).
    """
    svg, png = _draw_rolling(rc, order)
    parts = ['<h2 id="risk">Risk</h2>', _table(risk_cells(rc))]
    parts.append(f'<p class="legend">{_e(RISK_LEGEND)}</p>')
    if rc.regimes:
        parts += [f"<h3>{_e(regime_caption(rc))}</h3>", _table(regime_cells(rc))]
    stress = stress_cells(rc)
    if len(stress[0]) > 1:
        parts += ["<h3>Stress windows: return / max drawdown</h3>", _table(stress)]
    parts += [f'<p class="note">note: {_e(n)}</p>' for n in rc.notes]
    parts += [
        f"<h3>Rolling {rc.window}-day Sharpe, volatility and beta to SPY</h3>",
        f'<div class="chart">{svg}</div>',
    ]
    return "\n".join(parts), png


def _table(cells: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in cells[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in cells[1:]
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _draw_rolling(rc: RiskComparison, order: dict[str, int]) -> tuple[str, bytes]:
    """Three stacked panels (Sharpe, volatility %, beta) with one line per label."""
    import matplotlib
    from matplotlib.figure import Figure

    rc_params = {"svg.fonttype": "none", "svg.hashsalt": "wfsim-rolling", "font.size": 9}
    with matplotlib.rc_context(rc_params):
        fig = Figure(figsize=(10, 7.2), layout="constrained")
        axes = fig.subplots(3, 1, sharex=True)
        colors = matplotlib.colormaps["tab10"].colors
        panels = (("sharpe", "Sharpe (rf = 0)", 1.0), ("vol", "Volatility (%)", 100.0),
                  ("beta", "Beta to SPY", 1.0))  # fmt: skip
        for ax, (key, title, scale) in zip(axes, panels, strict=True):
            for label, frame in rc.rolling.items():
                if label in order:
                    style = {"color": colors[order[label] % len(colors)], "linewidth": 1.2}
                else:
                    style = {"color": "black", "linewidth": 1.0, "linestyle": "--"}
                s = frame[key] * scale
                ax.plot(s.index.to_numpy(), s.to_numpy(), label=label, **style)
            ax.set_title(title, loc="left")
            ax.grid(True, linewidth=0.3)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
        svg, png = io.BytesIO(), io.BytesIO()
        fig.savefig(svg, format="svg", metadata={"Date": None})
        fig.savefig(png, format="png", dpi=100, metadata={"Software": None})
    text = svg.getvalue().decode("utf-8")
    return text[text.index("<svg") :], png.getvalue()


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
