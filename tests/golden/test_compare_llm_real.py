"""`compare` shows the LLM baseline, on any common days, exactly as its recorded returns."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.results.benchmarks import load_return_csv
from simulator.results.compare import compare_runs, load_run, series_run
from tests.conftest import BENCHMARKS

pytestmark = pytest.mark.golden

RECORDED = BENCHMARKS / "mas_hedge_fund_returns_20250731_233942.csv"
KEYS = ("total_return", "cagr", "ann_vol", "sharpe", "sortino", "max_drawdown", "daily_win_rate")


def test_llm_row_equals_the_recorded_returns_on_the_serving_days(real_store, tmp_path):
    res = CliRunner().invoke(main, ["replay", "--strategy", "llm", "--store", str(real_store),
                                    "--out", str(tmp_path / "llm")])  # fmt: skip
    assert res.exit_code == 0, res.output
    replay = load_run(tmp_path / "llm")
    recorded = load_return_csv(RECORDED)
    serving = recorded[recorded.index >= pd.Timestamp("2023-03-31")]  # the LSTM's 441 days
    assert len(serving) == 441
    cut = series_run("serving", serving)  # restricts the common dates to the serving days
    table = compare_runs([replay, series_run("recorded", recorded), cut])
    assert len(table.dates) == 441
    rows = {row.label: row.metrics for row in table.rows}
    for key in KEYS:
        ours, theirs = rows["llm"][key], rows["recorded"][key]
        assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12), (key, ours, theirs)
    assert rows["llm"]["total_return"] == pytest.approx((1 + serving).prod() - 1, rel=1e-12)
