"""Every metric against a small example computed by hand (explicit arithmetic, not the code)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from simulator.core.errors import WfsimError
from simulator.results.metrics import (
    METRIC_KEYS,
    compute_metrics,
    drawdown_series,
    monthly_returns,
    realized_from_fills,
)

ROOT252 = math.sqrt(252)
R4 = [0.10, -0.05, 0.02, -0.01]


def series(values, start="2024-01-02", dates=None) -> pd.Series:
    index = pd.DatetimeIndex(dates) if dates else pd.bdate_range(start, periods=len(values))
    return pd.Series(values, index=index, dtype=float)


@pytest.fixture
def m4():
    return compute_metrics(series(R4))


def test_keys_are_sorted_and_complete(m4):
    assert list(m4) == sorted(METRIC_KEYS)
    assert (m4["start"], m4["end"], m4["n_days"]) == ("2024-01-02", "2024-01-05", 4)


# Hand computation for R4: wealth 1.1, 1.045, 1.0659, 1.055241; mean 0.015;
# squared deviations 0.007225 + 0.004225 + 0.000025 + 0.000625 = 0.0121 (ddof=1: / 3);
# downside squares 0.0025 + 0.0001 = 0.0026 (/ n = 4).
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("total_return", 0.055241),
        ("cagr", 1.055241**63 - 1),
        ("ann_vol", math.sqrt(0.0121 / 3) * ROOT252),
        ("sharpe", 0.015 / math.sqrt(0.0121 / 3) * ROOT252),
        ("sortino", 0.015 / math.sqrt(0.0026 / 4) * ROOT252),
        ("max_drawdown", 1.045 / 1.1 - 1),
        ("calmar", (1.055241**63 - 1) / 0.05),
        ("daily_win_rate", 0.5),
    ],
)
def test_return_metrics_by_hand(m4, key, expected):
    assert m4[key] == pytest.approx(expected, rel=1e-12)


def test_drawdown_dates(m4):
    assert (m4["max_drawdown_peak"], m4["max_drawdown_trough"]) == ("2024-01-02", "2024-01-03")


def test_initial_capital_is_a_peak():
    m = compute_metrics(series([-0.1, 0.05]))
    assert m["max_drawdown"] == pytest.approx(-0.1)
    assert (m["max_drawdown_peak"], m["max_drawdown_trough"]) == (None, "2024-01-02")
    dd = drawdown_series(series([-0.1, 0.05]))
    assert dd.to_numpy() == pytest.approx([-0.1, 0.945 - 1.0])


def test_no_drawdown():
    m = compute_metrics(series([0.01, 0.02]))
    assert m["max_drawdown"] == 0.0
    assert m["max_drawdown_peak"] is None and m["max_drawdown_trough"] is None
    assert math.isnan(m["calmar"])


def test_flat_returns_give_nan_ratios():
    m = compute_metrics(series([0.0, 0.0, 0.0]))
    assert m["total_return"] == 0.0 and m["daily_win_rate"] == 0.0
    assert math.isnan(m["sharpe"]) and math.isnan(m["sortino"])


# --- risk-free rate: a per-trading-day rate listed on calendar days ---------------------------
RF_DATES = ["2024-01-04", "2024-01-05", "2024-01-08"]  # Thu, Fri, Mon
R3 = [0.011, -0.008, 0.005]


def rf_calendar(**override) -> pd.Series:
    values = {"2024-01-04": 0.001, "2024-01-05": 0.001, "2024-01-06": 0.9, "2024-01-07": 0.9}
    values["2024-01-08"] = 0.002
    values.update(override)
    values = {k: v for k, v in values.items() if v is not None}
    return pd.Series(list(values.values()), index=pd.DatetimeIndex(list(values)))


def test_sharpe_rf_uses_the_trading_date_value_and_ignores_weekends():
    m = compute_metrics(series(R3, dates=RF_DATES), rf=rf_calendar())
    excess = [0.011 - 0.001, -0.008 - 0.001, 0.005 - 0.002]  # the weekend's 0.9 never enters
    sd = statistics.stdev(excess)
    assert m["sharpe_rf"] == pytest.approx(statistics.fmean(excess) / sd * ROOT252, rel=1e-12)
    cagr = (1.011 * 0.992 * 1.005) ** (252 / 3) - 1
    rf_cagr = (1.001 * 1.001 * 1.002) ** (252 / 3) - 1
    assert m["sharpe_thesis"] == pytest.approx((cagr - rf_cagr) / (sd * ROOT252), rel=1e-12)


def test_rf_missing_on_a_trading_date_takes_the_last_earlier_value():
    m = compute_metrics(series(R3, dates=RF_DATES), rf=rf_calendar(**{"2024-01-08": None}))
    excess = [0.011 - 0.001, -0.008 - 0.001, 0.005 - 0.9]  # Monday falls back to Sunday's value
    expected = statistics.fmean(excess) / statistics.stdev(excess) * ROOT252
    assert m["sharpe_rf"] == pytest.approx(expected, rel=1e-12)


def test_rf_ending_before_the_run_is_not_carried_forward():
    """An rf CSV that ends (2024-12-31) before the episodes do (2025) must not lend its last rate
    to the later days: the rf metrics are NaN, as the docstring promises (found by an audit)."""
    r = series([0.001 * (i % 5 - 2) for i in range(20)], start="2024-12-23")  # .. 2025-01-17
    rf = pd.Series(0.0002, index=pd.date_range("2024-01-01", "2024-12-31"))
    m = compute_metrics(r, rf=rf)
    assert math.isnan(m["sharpe_rf"]) and math.isnan(m["sharpe_thesis"])
    assert not math.isnan(compute_metrics(r.loc[:"2025-01-03"], rf=rf)["sharpe_rf"])  # 3 days


def test_rf_starting_after_the_first_date_gives_nan():
    m = compute_metrics(series(R3, dates=RF_DATES), rf=rf_calendar(**{"2024-01-04": None}))
    assert math.isnan(m["sharpe_rf"]) and math.isnan(m["sharpe_thesis"])
    assert not math.isnan(m["sharpe"])


# --- beta and alpha against the benchmark -------------------------------------------------------
def test_beta_alpha_by_hand():
    # mean r = mean b = 0.005; Σ dr·db = 0.0008, Σ db² = 0.0005 → beta 1.6;
    # alpha = (0.005 − 1.6·0.005)·252 = −0.756
    r, b = series([0.01, 0.03, -0.02, 0.0]), series([0.01, 0.02, -0.01, 0.0])
    m = compute_metrics(r, benchmark=b)
    assert m["beta"] == pytest.approx(1.6, rel=1e-12)
    assert m["alpha"] == pytest.approx(-0.756, rel=1e-12)


def test_benchmark_missing_a_date_gives_nan():
    r, b = series([0.01, 0.03, -0.02, 0.0]), series([0.01, 0.02, -0.01, 0.0])
    m = compute_metrics(r, benchmark=b.iloc[[0, 1, 3]])
    assert math.isnan(m["beta"]) and math.isnan(m["alpha"])


# --- book: exposures and positions --------------------------------------------------------------
def test_book_metrics_by_hand():
    r = series([0.0, 0.1])
    book = pd.DataFrame(
        {
            "date": ["2024-01-02", "2024-01-03"],
            "nav": [100.0, 110.0],
            "long_exposure": [60.0, 77.0],
            "short_exposure": [20.0, 11.0],
            "n_long": [3, 4],
            "n_short": [1, 2],
        }
    )
    m = compute_metrics(r, book=book)
    assert m["avg_gross_exposure"] == pytest.approx((80 / 100 + 88 / 110) / 2)
    assert m["avg_net_exposure"] == pytest.approx((40 / 100 + 66 / 110) / 2)
    assert m["avg_positions"] == pytest.approx((4 + 6) / 2)


def test_book_not_covering_every_date_gives_nan():
    book = pd.DataFrame({"nav": [100.0], "long_exposure": [50.0], "short_exposure": [0.0]})
    m = compute_metrics(series([0.0, 0.1]), book=book.set_axis(pd.DatetimeIndex(["2024-01-02"])))
    assert math.isnan(m["avg_gross_exposure"]) and math.isnan(m["avg_net_exposure"])


# --- trades -------------------------------------------------------------------------------------
def trades_table(realized=None) -> pd.DataFrame:
    rows = [  # date, ticker, action, filled_qty, price
        ("2024-01-02", "AAA", "buy", 10, 10.0),
        ("2024-01-02", "AAA", "buy", 10, 12.0),  # long basis (100 + 120) / 20 = 11
        ("2024-01-03", "AAA", "sell", 5, 13.0),  # (13 − 11)·5 − 0.0325 = 9.9675: a win
        ("2024-01-03", "BBB", "short", 4, 50.0),
        ("2024-01-03", "BBB", "cover", 4, 51.0),  # (50 − 51)·4 − 0.102 = −4.102
        ("2024-01-03", "CCC", "sell", 0, 20.0),  # not filled: not a trade
        ("2024-01-03", "AAA", "sell", 15, 11.0),  # (11 − 11)·15 − 0.0825 = −0.0825: not a win
        ("2024-01-08", "AAA", "buy", 1, 10.0),  # outside the return dates
    ]
    t = pd.DataFrame(rows, columns=["date", "ticker", "action", "filled_qty", "price"])
    t["notional"] = t["filled_qty"] * t["price"]
    t["fee"] = t["notional"] * 0.0005
    if realized is not None:
        t["realized"] = realized
    return t


def test_realized_from_fills_average_cost():
    t = trades_table()
    got = realized_from_fills(t[t["filled_qty"] > 0])
    assert got == pytest.approx([0.0, 0.0, 9.9675, 0.0, -4.102, -0.0825, 0.0], abs=1e-12)


def test_trade_metrics_by_hand():
    r = series([0.0, 0.1])
    book = pd.DataFrame({"nav": [100.0, 110.0]}, index=r.index)
    m = compute_metrics(r, book=book, trades=trades_table())
    assert m["n_trades"] == 6
    assert m["fees_paid"] == pytest.approx(0.05 + 0.06 + 0.0325 + 0.1 + 0.102 + 0.0825)
    notional = 100 + 120 + 65 + 200 + 204 + 165
    assert m["turnover"] == pytest.approx(notional / 105)
    assert m["turnover_annual"] == pytest.approx(notional / 105 * 252 / 2)
    assert m["trade_win_rate"] == pytest.approx(1 / 3)


def test_realized_column_is_used_when_present():
    realized = [0.0, 0.0, 1.0, 0.0, 2.0, 0.0, -3.0, 0.0]
    m = compute_metrics(series([0.0, 0.1]), trades=trades_table(realized))
    assert m["trade_win_rate"] == pytest.approx(2 / 3)
    assert math.isnan(m["turnover"])  # no NAV, no turnover


def test_absent_inputs_give_nan():
    m = compute_metrics(series(R4))
    for key in ("sharpe_rf", "beta", "avg_positions", "turnover", "trade_win_rate", "n_trades"):
        assert math.isnan(m[key]), key


# --- monthly table and input errors -------------------------------------------------------------
def test_monthly_returns_compound_within_months():
    t = monthly_returns(series([0.1, -0.1, 0.05], dates=["2024-01-30", "2024-01-31", "2024-02-01"]))
    assert list(t.index) == [2024]
    assert t.loc[2024, 1] == pytest.approx(1.1 * 0.9 - 1)
    assert t.loc[2024, 2] == pytest.approx(0.05)
    assert t.loc[2024, "year"] == pytest.approx(0.99 * 1.05 - 1)
    assert np.isnan(t.loc[2024, 3])


@pytest.mark.parametrize(
    ("returns", "match"),
    [
        (series([0.01, float("nan")]), "NaN"),
        (series([0.01, 0.02], dates=["2024-01-03", "2024-01-02"]), "strictly increasing"),
        (series([0.01, 0.02], dates=["2024-01-03", "2024-01-03"]), "strictly increasing"),
        (pd.Series([], dtype=float, index=pd.DatetimeIndex([])), "no daily returns"),
    ],
)
def test_bad_returns_raise(returns, match):
    with pytest.raises(WfsimError, match=match):
        compute_metrics(returns)
