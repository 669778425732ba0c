"""`wfsim compare` and `wfsim report` through the CLI, on synthetic run directories."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.cli import main
from tests.conftest import BENCHMARKS
from tests.rundirs import make_run_dir

pytestmark = pytest.mark.e2e


@pytest.fixture
def setup(tmp_path):
    runs = [str(make_run_dir(tmp_path, f"s{s}", seed=s, n_days=40)) for s in range(2)]
    runs.append(str(make_run_dir(tmp_path, "bare", strategy="null", n_days=40, optional=())))
    bench = tmp_path / "bench"
    bench.mkdir()
    dates = pd.bdate_range("2023-12-01", "2024-04-01")
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {"Date": dates.strftime("%Y-%m-%d"), "SPY": rng.normal(0, 0.01, len(dates))}
    ).to_csv(bench / "spy_returns.csv", index=False)
    rf = pd.Series(1e-4, index=pd.date_range("2023-12-01", "2024-04-01").strftime("%Y-%m-%d"))
    rf.rename("risk_free_rate").to_csv(bench / "daily_risk_free_rate.csv")
    return tmp_path, runs, bench


def invoke(*args):
    return CliRunner().invoke(main, ["--log-level", "error", *args], catch_exceptions=False)


def test_compare_prints_the_table_and_writes_csv(setup):
    tmp, runs, bench = setup
    res = invoke("compare", *runs, "--benchmarks", str(bench), "--table", str(tmp / "c.csv"))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("40 common dates 2024-01-02 .. 2024-02-26")
    assert [ln.split()[0] for ln in lines[2:5]] == ["lstm", "bare", "SPY"]
    assert "note: bare: no trades.csv (trades omitted)" in lines
    frame = pd.read_csv(tmp / "c.csv")
    assert list(frame["label"]) == ["lstm (x2)", "bare", "SPY"]
    assert frame["sharpe_rf"].notna().all()


def test_compare_says_when_the_benchmark_file_is_missing(setup):
    tmp, runs, _ = setup
    empty = tmp / "empty"
    empty.mkdir()
    res = invoke("compare", *runs, "--benchmarks", str(empty))
    assert res.exit_code == 0
    assert f"note: SPY benchmark omitted: {empty / 'spy_returns.csv'} not found" in res.output
    assert "(pass --benchmarks DIR)" in res.output
    assert "note: risk-free rate omitted" in res.output
    res = invoke("compare", *runs, "--benchmark-csv", str(tmp / "nope.csv"))
    assert res.exit_code == 2 and "does not exist" in res.output


def test_compare_usage_and_data_errors(setup):
    tmp, runs, bench = setup
    res = invoke("compare", *runs, "--benchmarks", str(bench), "--table", str(tmp / "c.txt"))
    assert res.exit_code == 2 and "expected a .csv or .json file" in res.output
    res = invoke("compare", str(bench))  # not a run directory
    assert res.exit_code == 1 and "run summary not found" in res.output


def test_compare_json_and_benchmark_none(setup):
    tmp, runs, bench = setup
    out = tmp / "c.json"
    res = invoke(
        "compare", runs[0], "--benchmark", "none", "--benchmarks", str(bench), "--table", str(out)
    )
    assert res.exit_code == 0
    doc = json.loads(out.read_text())
    assert [r["label"] for r in doc["rows"]] == ["s0"] and doc["dates"]["n"] == 40


def test_report_writes_html_and_pngs_deterministically(setup):
    tmp, runs, bench = setup
    digests = []
    for name in ("a", "b"):
        out = tmp / name / "report.html"
        res = invoke("report", *runs, "--benchmarks", str(bench), "--html", str(out))
        assert res.exit_code == 0, res.output
        written = res.output.split()
        assert written[0] == str(out) and len(written) == 6  # html + 4 charts + tearsheet
        assert written[-1] == str(out.with_name("report-tearsheet.html"))
        digests.append([hashlib.sha256(open(p, "rb").read()).hexdigest() for p in written])
    assert digests[0] == digests[1]


@pytest.mark.golden
@pytest.mark.skipif(not BENCHMARKS.is_dir(), reason=f"benchmarks not found at {BENCHMARKS}")
def test_compare_with_the_recorded_references(setup):
    _, runs, _ = setup
    res = invoke("compare", runs[0], "--benchmarks", str(BENCHMARKS), "--reference", "mas-runs")
    assert res.exit_code == 0, res.output
    labels = [ln.split()[0] for ln in res.output.splitlines()[2:5]]
    assert labels == ["s0", "llm-recorded", "SPY"]
    assert "llm-recorded (x5)" in res.output
