"""Metrics of the recorded run (benchmarks CSV, 2022-04-01 .. 2024-12-31), pinned."""

from __future__ import annotations

import pytest

from simulator.results.benchmarks import (
    RECORDED_RUN_FILE,
    RF_FILE,
    SPY_FILE,
    load_mas_runs,
    load_return_csv,
    load_risk_free,
    load_spy,
)
from simulator.results.metrics import compute_metrics
from tests.conftest import BENCHMARKS

pytestmark = [
    pytest.mark.golden,
    pytest.mark.skipif(not BENCHMARKS.is_dir(), reason=f"benchmarks not found at {BENCHMARKS}"),
]


@pytest.fixture(scope="module")
def recorded():
    r = load_return_csv(BENCHMARKS / RECORDED_RUN_FILE)
    rf, spy = load_risk_free(BENCHMARKS / RF_FILE), load_spy(BENCHMARKS / SPY_FILE)
    return compute_metrics(r, rf=rf, benchmark=spy)


def test_recorded_run_total_return_and_nav(recorded):
    # 691 days; NAV_0 = 100,000 → 104,241.91 on 2024-12-31, equal to cash + longs − shorts at
    # the close in episode_2024-12-31.json (the 813-day run ends at 101,737.90 in 2025-06).
    assert recorded["n_days"] == 691
    assert (recorded["start"], recorded["end"]) == ("2022-04-01", "2024-12-31")
    assert recorded["total_return"] == pytest.approx(0.0424190661724095, abs=1e-12)
    assert 100_000 * (1 + recorded["total_return"]) == pytest.approx(104_241.9066, abs=1e-3)


def test_recorded_run_max_drawdown(recorded):
    # NAV 105,131.43 at the 2022-05-11 close → 75,791.87 on 2022-09-26 (README: NAV minimum)
    assert recorded["max_drawdown"] == pytest.approx(-0.2790750795297722, abs=1e-12)
    assert recorded["max_drawdown_peak"] == "2022-05-11"
    assert recorded["max_drawdown_trough"] == "2022-09-26"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("cagr", 0.0152660),
        ("ann_vol", 0.1279218),
        ("sharpe", 0.1825581),
        ("sharpe_rf", -0.1504751),
        ("sharpe_thesis", -0.2208970),
        ("sortino", 0.2464496),
        ("beta", 0.3185279),
        ("alpha", -0.0163226),
        ("daily_win_rate", 363 / 691),
    ],
)
def test_recorded_run_other_metrics(recorded, key, expected):
    assert recorded[key] == pytest.approx(expected, abs=5e-7)


def test_five_recorded_runs_load():
    runs = load_mas_runs(BENCHMARKS)
    assert sorted(len(s) for s in runs.values()) == [690, 691, 691, 691, 691]
