"""report: a self-contained, deterministic HTML page with its charts, tables and notes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from simulator.results.compare import compare_runs, load_run
from simulator.results.report import render_report, write_report
from tests.rundirs import make_run_dir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs = [load_run(make_run_dir(root, f"lstm-s{s}", seed=s, n_days=45)) for s in range(2)]
    runs.append(load_run(make_run_dir(root, "null", strategy="null", n_days=45, optional=())))
    dates = runs[0].returns.index
    spy = pd.Series(np.random.default_rng(3).normal(0, 0.01, len(dates)), index=dates)
    comp = compare_runs(runs, benchmark=spy)
    page, pngs = render_report(runs, comp, benchmark=spy)
    return runs, comp, spy, page, pngs


def test_sections_and_charts(full):
    _, _, _, page, pngs = full
    for section in ("comparison", "equity", "drawdown", "monthly", "positions", "windows"):
        assert f'<h2 id="{section}">' in page
    assert page.count("<svg") == 3 and set(pngs) == {"equity", "drawdown", "positions"}
    assert all(data.startswith(PNG_MAGIC) and len(data) > 10_000 for data in pngs.values())
    equity_svg = page.split('<h2 id="equity">')[1].split("</svg>")[0]
    assert equity_svg.count("<path") > 4  # axes, grid and one line per run + SPY
    for label in ("lstm-s0", "lstm-s1", "null", "SPY"):
        assert f">{label}</text>" in equity_svg  # legend entries (svg.fonttype none: real text)


def test_self_contained(full):
    page = full[3]
    assert "<script" not in page.lower() and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(http" not in page and "<link" not in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_tables_and_notes(full):
    runs, comp, _, page, _ = full
    assert "<td>lstm (x2)</td>" in page and "<td>SPY</td>" in page
    assert page.count("<h3>") == len(runs) + 2  # a monthly table per run + 2 windows tables
    heat = re.findall(r'<td style="background:rgb\((\d+),(\d+),(\d+)\)', page)
    assert len(heat) >= 3 * 3 and any(int(g) > int(r) for r, g, _ in heat)  # some green month
    assert "note: null: no windows.csv (model quality omitted)" in page
    assert "<th>direction_accuracy</th>" in page and "<th>mean</th>" in page


def test_monthly_cell_matches_the_returns(full):
    runs, comp, _, page, _ = full
    r = runs[0].returns.loc[comp.dates]
    jan = float(np.prod(1.0 + r[r.index.month == 1].to_numpy()) - 1.0)
    table = page.split("<h3>lstm-s0</h3>")[1].split("</table>")[0]
    first_cell = re.search(r"<td>2024</td><td[^>]*>(-?\d+\.\d)</td>", table).group(1)
    assert first_cell == f"{100 * jan:.1f}"


def test_deterministic(full):
    runs, comp, spy, page, pngs = full
    page2, pngs2 = render_report(runs, comp, benchmark=spy)
    assert page2 == page and pngs2 == pngs


def test_missing_sections_are_noted(tmp_path):
    run = load_run(make_run_dir(tmp_path, "bare", n_days=25, optional=()))
    page, pngs = render_report([run], compare_runs([run]))
    assert set(pngs) == {"equity", "drawdown"}
    assert "no run has positions.csv: section omitted" in page
    assert "no run has windows.csv: section omitted" in page


def test_write_report_files(tmp_path):
    run = load_run(make_run_dir(tmp_path, "a", n_days=25))
    out = tmp_path / "out" / "r.html"
    paths = write_report(out, [run], compare_runs([run]))
    names = sorted(p.name for p in paths)
    assert names == ["r-drawdown.png", "r-equity.png", "r-positions.png", "r.html"]
    assert sorted(p.name for p in out.parent.iterdir()) == names  # no temp files left
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
