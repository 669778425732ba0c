"""risk and trade_stats: hand-computed cases, and cross-checks against empyrical and scipy."""

from __future__ import annotations

import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulator.core.errors import WfsimError
from simulator.results import metrics, risk
from simulator.results.risk import (
    RegimeRule,
    classify_regimes,
    deflated_sharpe,
    factor_regression,
    load_factors,
    probabilistic_sharpe,
    regime_table,
    rolling_risk,
    stress_table,
    tail_risk,
    var_cvar,
)
from simulator.results.trade_stats import round_trips, trade_stats


def walk(n: int = 400, seed: int = 0, start: str = "2023-01-02") -> pd.Series:
    rng = np.random.default_rng(seed)
    x = rng.standard_t(4, n) * 0.008 + 0.0004
    return pd.Series(x, index=pd.bdate_range(start, periods=n))


def test_trading_days_is_the_metrics_convention():
    assert risk.TRADING_DAYS == metrics.TRADING_DAYS


@pytest.mark.parametrize(
    ("x", "level", "var", "cvar"),
    [
        ([-0.04, -0.02, 0.0, 0.01, 0.03], 0.75, 0.02, 0.03),  # q.25 = x(1); k = 2
        ([-0.04, -0.02, 0.0, 0.01, 0.03], 0.95, 0.036, 0.04),  # q.05 = -.04 + .2·.02; k = 1
        ([0.01, 0.02, 0.03], 0.5, -0.02, -0.015),  # no loss: VaR is a (negative) gain
    ],
)
def test_var_cvar_hand_computed(x, level, var, cvar):
    got = var_cvar(np.array(x), level)
    assert got == pytest.approx((var, cvar), abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_var_cvar_equal_minus_empyrical(seed):
    r = walk(seed=seed)
    out = tail_risk(r)
    for cutoff, tag in ((0.05, "95"), (0.01, "99")):
        assert out[f"var{tag}"] == pytest.approx(-ep.value_at_risk(r, cutoff), abs=1e-14)
        assert out[f"cvar{tag}"] == pytest.approx(
            -ep.conditional_value_at_risk(r, cutoff), abs=1e-14
        )
        assert out[f"cvar{tag}"] >= out[f"var{tag}"] > 0


@pytest.mark.parametrize(
    ("x", "level", "match"),
    [([0.01, np.nan], 0.95, "finite"), ([], 0.95, "non-empty"), ([0.01], 1.0, "level")],
)
def test_var_cvar_errors(x, level, match):
    with pytest.raises(WfsimError, match=match):
        var_cvar(np.array(x, dtype=float), level)


def test_rolling_risk_equals_empyrical_rolling():
    r, b = walk(seed=3), walk(seed=4)
    out = rolling_risk(r, b, window=63)
    assert out.iloc[:62].isna().all().all() and out.iloc[62:].notna().all().all()
    tail = out.iloc[62:]
    np.testing.assert_allclose(tail["sharpe"], ep.roll_sharpe_ratio(r, 63), rtol=1e-10)
    np.testing.assert_allclose(tail["vol"], ep.roll_annual_volatility(r, 63), rtol=1e-10)
    np.testing.assert_allclose(tail["beta"], ep.roll_beta(r, b, 63), rtol=1e-10)


def test_rolling_beta_is_nan_without_a_benchmark_day():
    r = walk(100)
    b = walk(100, seed=9).drop(r.index[70])
    out = rolling_risk(r, b, window=10)
    assert out["beta"].iloc[70:80].isna().all() and out["beta"].iloc[80:].notna().all()
    assert rolling_risk(r, None, window=10)["beta"].isna().all()


def test_regimes_hand_computed_and_strictly_before_the_day():
    idx = pd.bdate_range("2024-01-01", periods=6)
    spy = pd.Series([0.03, 0.03, -0.04, -0.04, 0.0, 0.01], index=idx)
    rule = RegimeRule(lookback_days=2, bull_above=0.05, bear_below=-0.05)
    # trailing 2-day return before day t: -, -, 1.03² − 1, 1.03·0.96 − 1, 0.96² − 1, 0.96 − 1
    got = classify_regimes(spy, idx, rule).tolist()
    assert got == ["unknown", "unknown", "bull", "sideways", "bear", "sideways"]
    shocked = spy.copy()
    shocked.iloc[3] = 0.5  # a shock on day 3 changes days 4, 5 only
    again = classify_regimes(shocked, idx, rule).tolist()
    assert again[:4] == got[:4] and again[4] == "bull"


def test_regime_of_a_date_missing_from_spy_uses_earlier_days():
    idx = pd.bdate_range("2024-01-01", periods=4)
    spy = pd.Series([0.1, 0.1, -0.3, 0.0], index=idx)
    holiday = pd.DatetimeIndex(["2024-01-03"])  # SPY has no 01-03 here: days 01-01, 01-02 count
    got = classify_regimes(spy.drop(holiday), holiday, RegimeRule(lookback_days=2))
    assert got.tolist() == ["bull"]


def test_regime_rule_checks():
    with pytest.raises(WfsimError, match="lookback_days=0"):
        RegimeRule(lookback_days=0)
    with pytest.raises(WfsimError, match="bear_below <= bull_above"):
        RegimeRule(bull_above=-0.1, bear_below=0.1)


def test_regime_table_hand_computed():
    idx = pd.bdate_range("2024-01-01", periods=4)
    r = pd.Series([0.01, -0.02, 0.03, 0.0], index=idx)
    lab = pd.Series(["bull", "bear", "bull", "unknown"], index=idx)
    t = regime_table(r, lab)
    assert list(t.index) == ["bull", "bear", "unknown"]
    assert t.loc["bull", "n_days"] == 2
    assert t.loc["bull", "total_return"] == pytest.approx(1.01 * 1.03 - 1, abs=1e-15)
    assert t.loc["bull", "ann_return"] == pytest.approx((1.01 * 1.03) ** 126 - 1, rel=1e-12)
    std = np.std([0.01, 0.03], ddof=1)
    assert t.loc["bull", "sharpe"] == pytest.approx(0.02 / std * math.sqrt(252), rel=1e-12)
    assert t.loc["bear", "total_return"] == pytest.approx(-0.02) and math.isnan(
        t.loc["bear", "sharpe"]
    )


def test_stress_windows_overlapping_only_with_drawdown():
    idx = pd.DatetimeIndex(["2023-03-07", "2023-03-08", "2023-03-09", "2023-03-10", "2023-04-03"])
    r = pd.Series([0.5, 0.1, -0.2, 0.05, 0.3], index=idx)
    t = stress_table(r)
    assert list(t["window"]) == ["2023 March banking stress"]
    row = t.iloc[0]
    assert row["n_days"] == 3 and (row["start"], row["end"]) == ("2023-03-08", "2023-03-31")
    assert row["total_return"] == pytest.approx(1.1 * 0.8 * 1.05 - 1, abs=1e-15)
    assert row["max_drawdown"] == pytest.approx(-0.2, abs=1e-15)  # peak 1.1 → 0.88
    first = pd.Series([-0.1, 0.05], index=pd.DatetimeIndex(["2024-08-05", "2024-08-06"]))
    assert stress_table(first)["max_drawdown"].iloc[0] == pytest.approx(-0.1)  # entry counts


def factors_frame(dates: pd.DatetimeIndex, seed: int = 5, k: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = ["Mkt-RF", "SMB", "HML", "RMW", "CMA"][:k]
    f = pd.DataFrame(rng.normal(0, 0.01, (len(dates), k)), index=dates, columns=names)
    f["RF"] = 0.0002
    return f


def test_factor_regression_recovers_exact_coefficients():
    dates = pd.bdate_range("2023-01-02", periods=300)
    f = factors_frame(dates)
    y = 0.0003 + f["Mkt-RF"] * 0.8 - f["SMB"] * 0.3 + f["HML"] * 0.1 + f["RF"]
    out = factor_regression(y, f)
    assert out["alpha"] == pytest.approx(0.0003, abs=1e-14)
    assert out["alpha_ann"] == pytest.approx(0.0003 * 252, abs=1e-12)
    assert (out["beta_Mkt-RF"], out["beta_SMB"], out["beta_HML"]) == pytest.approx((0.8, -0.3, 0.1))
    assert out["r2"] == pytest.approx(1.0)


def test_factor_regression_matches_normal_equations_and_linregress():
    dates = pd.bdate_range("2023-01-02", periods=300)
    f = factors_frame(dates, k=5)
    r = walk(300, seed=6).set_axis(dates)
    out = factor_regression(r, f)
    x = np.column_stack([np.ones(300), f.drop(columns="RF").to_numpy()])
    y = r.to_numpy() - 0.0002
    inv = np.linalg.inv(x.T @ x)
    coef = inv @ x.T @ y
    s2 = np.sum((y - x @ coef) ** 2) / (300 - 6)
    assert out["alpha"] == pytest.approx(coef[0], rel=1e-9)
    assert out["alpha_t"] == pytest.approx(coef[0] / math.sqrt(s2 * inv[0, 0]), rel=1e-9)
    assert out["beta_CMA"] == pytest.approx(coef[5], rel=1e-9)
    one = factor_regression(r, f[["Mkt-RF", "RF"]])
    lr = stats.linregress(f["Mkt-RF"], y)
    assert one["alpha"] == pytest.approx(lr.intercept, rel=1e-9)
    assert one["alpha_t"] == pytest.approx(lr.intercept / lr.intercept_stderr, rel=1e-9)
    assert one["beta_Mkt-RF"] == pytest.approx(lr.slope, rel=1e-9)


def test_single_factor_alpha_beta_match_empyrical():
    dates = pd.bdate_range("2023-01-02", periods=300)
    f = factors_frame(dates)
    r = walk(300, seed=7).set_axis(dates)
    one = factor_regression(r, f[["Mkt-RF", "RF"]])
    alpha, beta = ep.alpha_beta(r - f["RF"], f["Mkt-RF"])  # alpha: (1 + a)^252 − 1
    assert one["beta_Mkt-RF"] == pytest.approx(beta, rel=1e-9)
    assert (1 + one["alpha"]) ** 252 - 1 == pytest.approx(alpha, rel=1e-9)


def test_factor_regression_is_nan_when_a_date_is_missing():
    dates = pd.bdate_range("2023-01-02", periods=50)
    out = factor_regression(walk(50).set_axis(dates), factors_frame(dates).iloc[1:])
    assert out["n"] == 50 and math.isnan(out["alpha"]) and math.isnan(out["beta_SMB"])


def test_load_factors(tmp_path):
    good = tmp_path / "ff.csv"
    good.write_text("Date,Mkt-RF,SMB,HML,RF\n2024-01-03,0.01,0,0,0.0002\n2024-01-02,-0.02,0,0,0\n")
    f = load_factors(good)
    assert list(f.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]
    pct = tmp_path / "pct.csv"
    pct.write_text("Date,Mkt-RF,RF\n2024-01-02,0.72,0.02\n2024-01-03,-1.2,0.02\n")
    with pytest.raises(WfsimError, match="percent.*max_abs_mkt_rf=1.2"):
        load_factors(pct)
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,SMB\n2024-01-02,0.01\n")
    with pytest.raises(WfsimError, match="missing=Mkt-RF,RF"):
        load_factors(bad)
    with pytest.raises(WfsimError, match="not found"):
        load_factors(tmp_path / "nope.csv")


def psr_by_hand(x: np.ndarray, sr_star: float) -> float:
    sr = x.mean() / x.std(ddof=1)
    g3, g4 = stats.skew(x), stats.kurtosis(x, fisher=False)
    z = (sr - sr_star) * math.sqrt(len(x) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


@pytest.mark.parametrize(("seed", "sr_star"), [(0, 0.0), (1, 0.0), (2, 0.05), (3, -0.02)])
def test_psr_equals_the_formula_with_scipy(seed, sr_star):
    x = walk(seed=seed).to_numpy()
    assert probabilistic_sharpe(x, sr_star) == pytest.approx(psr_by_hand(x, sr_star), abs=1e-12)


def test_psr_hand_computed_small_case():
    # x = [-1, 0, 0, 3]·0.01: deviations [-1.5, -.5, -.5, 2.5]; m2 = 2.25, sample var 3, so
    # SR = .5/√3; m3 = 3 → skew 8/9; m4 = 11.0625 → kurt 59/27; var term = 1 − 8/9·SR + 32/27/4·SR²
    x = np.array([-0.01, 0.0, 0.0, 0.03])
    sr = 0.5 / math.sqrt(3)
    z = sr * math.sqrt(3) / math.sqrt(1 - 8 / 9 * sr + (59 / 27 - 1) / 4 * sr**2)
    assert z == pytest.approx(0.570510, abs=1e-6)
    want = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert probabilistic_sharpe(x) == pytest.approx(want, abs=1e-12)
    assert probabilistic_sharpe(x, x.mean() / x.std(ddof=1)) == pytest.approx(0.5)
    assert math.isnan(probabilistic_sharpe(np.full(10, 0.01)))


def test_dsr_equals_the_formula_with_scipy():
    x = walk(seed=8).to_numpy()
    trials = np.array([0.01, 0.05, -0.02, 0.08, 0.03])
    n, g = len(trials), 0.5772156649015329
    sr0 = trials.std(ddof=1) * (
        (1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    assert deflated_sharpe(x, trials) == pytest.approx(psr_by_hand(x, sr0), abs=1e-12)
    assert deflated_sharpe(x, trials) < probabilistic_sharpe(x)
    assert math.isnan(deflated_sharpe(x, trials[:1]))


def trades(rows):
    cols = ["date", "ticker", "action", "filled_qty", "price", "fee"]
    return pd.DataFrame(rows, columns=cols)


def test_round_trips_fifo_split_and_fees():
    t = trades(
        [
            ("2024-01-02", "A", "buy", 10, 10.0, 1.0),
            ("2024-01-03", "A", "buy", 10, 12.0, 1.0),
            ("2024-01-04", "B", "short", 5, 20.0, 0.5),
            ("2024-01-08", "A", "sell", 15, 11.0, 3.0),  # closes lot 1 (10) + 5 of lot 2
            ("2024-01-09", "B", "cover", 5, 18.0, 0.5),
            ("2024-01-10", "A", "sell", 0, 11.0, 0.0),  # rejected fill: ignored
        ]
    )
    trips, unmatched = round_trips(t)
    assert unmatched == 0
    assert list(zip(trips["ticker"], trips["qty"], trips["holding_days"], strict=True)) == [
        ("A", 10, 6),
        ("A", 5, 5),
        ("B", 5, 5),
    ]
    # A lot 1: 10·(11 − 10) − 1.0 − 10·0.2; A lot 2: 5·(11 − 12) − 0.5 − 5·0.2; B: 5·2 − 1
    np.testing.assert_allclose(trips["pnl"], [7.0, -6.5, 9.0])
    s = trade_stats(t)
    assert s["hit_rate"] == pytest.approx(2 / 3)
    assert s["profit_factor"] == pytest.approx(16.0 / 6.5)
    assert s["avg_holding_days"] == pytest.approx(16 / 3)


def test_round_trips_unmatched_close_and_errors():
    t = trades([("2024-01-02", "A", "sell", 4, 10.0, 0.0)])
    trips, unmatched = round_trips(t)
    assert len(trips) == 0 and unmatched == 4
    s = trade_stats(t)
    assert s["n_round_trips"] == 0 and math.isnan(s["hit_rate"])
    with pytest.raises(WfsimError, match="unknown action.*action=hold"):
        round_trips(trades([("2024-01-02", "A", "hold", 4, 10.0, 0.0)]))
    with pytest.raises(WfsimError, match="missing=fee"):
        round_trips(t.drop(columns="fee"))
