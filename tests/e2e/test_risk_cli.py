"""Risk tables of `wfsim compare` and the Risk section of `wfsim report`, on synthetic runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.results.compare import load_run
from simulator.results.risk import factor_regression, load_factors, tail_risk
from simulator.results.trade_stats import trade_stats
from tests.rundirs import make_run_dir

pytestmark = pytest.mark.e2e


@pytest.fixture
def setup(tmp_path):
    runs = [str(make_run_dir(tmp_path, f"s{s}", seed=s, n_days=120)) for s in range(2)]
    runs.append(str(make_run_dir(tmp_path, "bare", strategy="null", n_days=120, optional=())))
    bench = tmp_path / "bench"
    bench.mkdir()
    dates = pd.bdate_range("2023-06-01", "2024-08-30")
    rng = np.random.default_rng(0)
    day = dates.strftime("%Y-%m-%d")
    spy = rng.normal(0.0004, 0.01, len(dates))
    pd.DataFrame({"Date": day, "SPY": spy}).to_csv(bench / "spy_returns.csv", index=False)
    rf = pd.Series(1e-4, index=pd.date_range("2023-06-01", "2024-08-30").strftime("%Y-%m-%d"))
    rf.rename("risk_free_rate").to_csv(bench / "daily_risk_free_rate.csv")
    ff = {"Date": day, "Mkt-RF": spy - 1e-4, "SMB": rng.normal(0, 0.005, len(dates))}
    ff |= {"HML": rng.normal(0, 0.005, len(dates)), "RF": 1e-4}
    pd.DataFrame(ff).to_csv(bench / "ff_3factor_daily.csv", index=False)
    return tmp_path, runs, bench


def invoke(*args):
    return CliRunner().invoke(main, ["--log-level", "error", *args], catch_exceptions=False)


def section(output: str, title: str) -> list[str]:
    lines = output.splitlines()
    start = lines.index(title) + 1
    return lines[start : start + 4]


def test_compare_prints_risk_tables_with_values_of_the_runs(setup):
    tmp, runs, bench = setup
    res = invoke("compare", *runs, "--benchmarks", str(bench))
    assert res.exit_code == 0, res.output
    head, s0, s1, bare = section(res.output, "Risk (same common dates)")
    assert head.split()[:6] == ["run", "VaR95", "CVaR95", "VaR99", "CVaR99", "Beta"]
    assert "FF5 alpha" in head and "PSR" in head and "DSR" in head
    run = load_run(runs[0])
    ff3 = factor_regression(run.returns, load_factors(bench / "ff_3factor_daily.csv"))
    tr, trades = tail_risk(run.returns), trade_stats(run.trades)
    cells = s0.split()
    assert cells[0] == "s0" and cells[1] == f"{100 * tr['var95']:.2f}%"
    assert cells[6] == f"{100 * ff3['alpha_ann']:.2f}%" and cells[7] == f"{ff3['alpha_t']:.2f}"
    assert cells[8:10] == ["-", "-"]  # no FF5 file
    assert cells[12] == f"{100 * trades['hit_rate']:.2f}%" and trades["n_round_trips"] == 24
    assert bare.split()[-3:] == ["-", "-", "-"]  # no trades.csv
    assert "note: risk: FF5 factors not given: its alpha columns are omitted" in res.output
    assert any(
        ln.startswith("Regimes: SPY return over the 63 trading days")
        for ln in res.output.splitlines()
    )
    assert "Stress windows" not in res.output  # 2024-01..06: no declared window overlaps


def test_compare_lists_an_overlapping_stress_window(setup):
    tmp, _, bench = setup
    run = str(make_run_dir(tmp, "summer", n_days=60, start="2024-06-03"))
    res = invoke("compare", run, "--benchmarks", str(bench))
    assert res.exit_code == 0, res.output
    head, row, spy = section(
        res.output, "Stress windows (return / max drawdown over the window's common days)"
    )[:3]
    assert head.split("  ")[-1].strip() == "Aug 2024 volatility spike"
    r = load_run(tmp / "summer").returns
    part = r[(r.index >= "2024-07-16") & (r.index <= "2024-08-07")]
    assert row.split()[1] == f"{100 * ((1 + part).prod() - 1):.2f}%"


def test_percent_factor_file_is_a_clear_error(setup):
    tmp, runs, bench = setup
    ff = pd.read_csv(bench / "ff_3factor_daily.csv")
    ff[["Mkt-RF", "SMB", "HML", "RF"]] *= 100
    ff.to_csv(bench / "ff_3factor_daily.csv", index=False)
    res = invoke("compare", runs[0], "--benchmarks", str(bench))
    assert res.exit_code == 1 and "factors look like percent" in res.output


def test_report_has_a_risk_section_and_rolling_chart(setup):
    tmp, runs, bench = setup
    out = tmp / "r" / "report.html"
    res = invoke("report", *runs, "--benchmarks", str(bench), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert str(out.with_name("report-rolling.png")) in res.output.split()
    page = out.read_text(encoding="utf-8")
    risk = page.split('<h2 id="risk">Risk</h2>')[1].split("<h2")[0]
    assert "<th>CVaR99</th>" in risk and "<td>s1</td>" in risk and "<td>SPY</td>" in risk
    assert "Regimes: SPY return over the 63 trading days" in risk
    assert "Rolling 63-day Sharpe, volatility and beta to SPY" in risk and "<svg" in risk
