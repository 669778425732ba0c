"""compare: loading run directories, common dates, seed aggregation, the table and its files."""

from __future__ import annotations

import io
import json
import math
import statistics

import numpy as np
import pandas as pd
import pytest

from simulator.core.errors import WfsimError
from simulator.results.compare import (
    common_dates,
    compare_runs,
    comparison_csv,
    comparison_json,
    format_table,
    load_run,
    series_run,
)
from simulator.results.metrics import compute_metrics
from tests.rundirs import make_run_dir


def spy_over(dates: pd.DatetimeIndex, seed: int = 7) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.normal(0.0005, 0.01, len(dates)), index=dates, name="SPY")


def test_load_run_reads_every_table(tmp_path):
    run = load_run(make_run_dir(tmp_path, "a", strategy="lstm", seed=3, n_days=30))
    assert (run.label, run.strategy, run.seed) == ("a", "lstm", 3)
    assert len(run.returns) == 30 and run.returns.index[0] == pd.Timestamp("2024-01-02")
    assert {"nav", "n_long", "n_short"} <= set(run.book.columns)
    assert len(run.trades) > 0 and len(run.windows) == 1
    assert run.notes == ()


def test_load_run_notes_missing_optional_files(tmp_path):
    run = load_run(make_run_dir(tmp_path, "bare", optional=()))
    assert run.trades is None and run.windows is None and "n_long" not in run.book
    assert [n.split(":")[1].strip()[:15] for n in run.notes] == [
        "no trades.csv (",
        "no positions.cs",
        "no windows.csv ",
    ]


def test_load_run_errors(tmp_path):
    with pytest.raises(WfsimError, match="run summary not found"):
        load_run(tmp_path)
    path = make_run_dir(tmp_path, "x", optional=())
    eq = pd.read_csv(path / "equity.csv").drop(columns=["daily_return"])
    eq.to_csv(path / "equity.csv", index=False)
    with pytest.raises(WfsimError, match=r"missing columns \(missing=daily_return\)"):
        load_run(path)


def test_common_dates_is_the_intersection(tmp_path):
    a = load_run(make_run_dir(tmp_path, "a", n_days=30))
    b = load_run(make_run_dir(tmp_path, "b", n_days=30, start="2024-01-16"))
    dates = common_dates([a, b])
    assert (dates[0], dates[-1], len(dates)) == (b.returns.index[0], a.returns.index[-1], 20)
    c = load_run(make_run_dir(tmp_path, "c", n_days=5, start="2030-01-01"))
    with pytest.raises(WfsimError, match="share no date"):
        common_dates([a, c])


def test_rows_use_only_the_common_dates(tmp_path):
    a = load_run(make_run_dir(tmp_path, "a", strategy="lstm", n_days=30))
    b = load_run(make_run_dir(tmp_path, "b", strategy="null", n_days=30, start="2024-01-16"))
    comp = compare_runs([a, b])
    row_a = comp.rows[0].metrics
    assert row_a["n_days"] == 20 and row_a["start"] == "2024-01-16"
    assert comp.notes[:2] == (
        "a: 10 of its 30 days are not common",
        "b: 10 of its 30 days are not common",
    )
    expected = float(np.prod(1.0 + a.returns.to_numpy()[10:])) - 1.0
    assert row_a["total_return"] == pytest.approx(expected, rel=1e-12)
    # trades and fees count only the common dates
    trades = a.trades[pd.to_datetime(a.trades["date"]) >= pd.Timestamp("2024-01-16")]
    assert row_a["fees_paid"] == pytest.approx(trades["fee"].sum())


def test_seeds_of_a_strategy_are_aggregated(tmp_path):
    runs = [load_run(make_run_dir(tmp_path, f"s{s}", strategy="lstm", seed=s)) for s in range(3)]
    runs.append(load_run(make_run_dir(tmp_path, "n", strategy="null", seed=0)))
    comp = compare_runs(runs)
    assert [r.label for r in comp.rows] == ["lstm (x3)", "n"]
    agg = comp.rows[0]
    assert agg.members == ("s0", "s1", "s2")
    single = [compute_metrics(r.returns, book=r.book, trades=r.trades) for r in runs[:3]]
    for key in ("sharpe", "total_return", "max_drawdown", "n_trades"):
        values = [m[key] for m in single]
        assert agg.metrics[key] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert agg.std[key] == pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-15)
    assert agg.metrics["max_drawdown_peak"] is None  # dates differ across seeds


def test_same_seed_twice_is_not_aggregated(tmp_path):
    runs = [load_run(make_run_dir(tmp_path, f"r{i}", strategy="lstm", seed=1)) for i in range(2)]
    comp = compare_runs(runs)
    assert [r.label for r in comp.rows] == ["r0", "r1"] and comp.rows[0].std is None


def test_benchmark_row_and_omission(tmp_path):
    run = load_run(make_run_dir(tmp_path, "a", n_days=30))
    spy = spy_over(run.returns.index)
    comp = compare_runs([run], benchmark=spy)
    assert comp.rows[-1].label == "SPY" and comp.rows[-1].metrics["beta"] == pytest.approx(1.0)
    assert not math.isnan(comp.rows[0].metrics["beta"])
    # issue 13.8: a benchmark missing a few dates is aligned on its dates, with a note
    comp = compare_runs([run], benchmark=spy.iloc[1:], notes=("first note",))
    assert [r.label for r in comp.rows] == ["a", "SPY"]
    assert comp.notes[0] == "first note"
    day0 = str(run.returns.index[0].date())
    assert f"SPY row on its 29 of 30 common dates (missing {day0})" in comp.notes
    full = compare_runs([run], benchmark=spy.iloc[1:].reindex(spy.index, fill_value=0.0))
    assert comp.rows[1].metrics["total_return"] == pytest.approx(
        full.rows[1].metrics["total_return"]
    )  # the missing day contributes nothing
    assert "(SPY: on fewer, see the notes)" in format_table(comp).splitlines()[0]
    comp = compare_runs([run], benchmark=spy.iloc[20:])
    assert [r.label for r in comp.rows] == ["a"]
    first, last = (str(d.date()) for d in spy.index[[20, -1]])
    span = f"(its series spans {first} .. {last})"
    assert f"SPY omitted: it covers 10 of 30 dates {span}" in comp.notes
    # a series that ends before the runs (benchmarks to 2024-12-31, episodes into 2025): past 5 %
    # of the dates missing, no row (it was kept down to half the dates, over other days)
    assert [r.label for r in compare_runs([run], benchmark=spy.iloc[:29]).rows] == ["a", "SPY"]
    assert [r.label for r in compare_runs([run], benchmark=spy.iloc[:28]).rows] == ["a"]
    assert (
        "every row is computed on the dates that all runs share\n"
        in format_table(compare_runs([run], benchmark=spy)).split("run ")[0] + "\n"
    )


def test_a_risk_free_rate_ending_before_the_runs_is_named_in_a_note(tmp_path):
    """The rf CSV ends 2024-12-31 while the recorded episodes run into 2025: the Sharpe rf
    columns are NaN (not the last rate carried for months), and a note says why."""
    run = load_run(make_run_dir(tmp_path, "a", n_days=30))
    days = run.returns.index
    rf = pd.Series(0.0001, index=pd.date_range(days[0], days[19]))
    comp = compare_runs([run], rf=rf)
    assert math.isnan(comp.rows[0].metrics["sharpe_rf"])
    assert any("does not cover the common dates" in n and "Sharpe rf" in n for n in comp.notes)
    full = compare_runs([run], rf=pd.Series(0.0001, index=pd.date_range(days[0], days[-1])))
    assert not math.isnan(full.rows[0].metrics["sharpe_rf"])
    assert not any("does not cover" in n for n in full.notes)


def test_duplicate_labels_are_refused(tmp_path):
    run = load_run(make_run_dir(tmp_path, "a", n_days=10))
    with pytest.raises(WfsimError, match="two runs share a label"):
        compare_runs([run, series_run("a", run.returns)])


def test_format_table(tmp_path):
    runs = [load_run(make_run_dir(tmp_path, f"s{s}", seed=s, n_days=30)) for s in range(2)]
    runs.append(load_run(make_run_dir(tmp_path, "bare", strategy="null", n_days=30, optional=())))
    comp = compare_runs(runs, benchmark=spy_over(runs[0].returns.index))
    text = format_table(comp)
    lines = text.splitlines()
    assert lines[0].startswith("30 common dates 2024-01-02 .. 2024-02-12: every row is computed")
    header = lines[1].split()
    assert header[:3] == ["run", "Total", "ret"] and header[-2:] == ["Avg", "pos"]
    assert lines[2].startswith("lstm (x2)") and "±" in lines[2]
    assert lines[3].startswith("bare") and lines[3].rstrip().endswith("-")  # no positions
    assert lines[4].startswith("SPY")
    assert len({len(line) for line in lines[1:5]}) == 1  # aligned columns
    assert "note: bare: no trades.csv (trades omitted)" in lines


def test_csv_and_json_outputs(tmp_path):
    runs = [load_run(make_run_dir(tmp_path, f"s{s}", seed=s, n_days=30)) for s in range(2)]
    rf = pd.Series(1e-4, index=pd.bdate_range("2023-12-01", "2024-03-01"))
    comp = compare_runs(runs, rf=rf)
    frame = pd.read_csv(io.StringIO(comparison_csv(comp)))
    assert list(frame["label"]) == ["lstm (x2)"] and frame.loc[0, "n_runs"] == 2
    assert frame.loc[0, "sharpe_rf"] == pytest.approx(comp.rows[0].metrics["sharpe_rf"], rel=1e-9)
    assert "sharpe_std" in frame.columns
    doc = json.loads(comparison_json(comp))
    assert doc["dates"] == {"n": 30, "start": "2024-01-02", "end": "2024-02-12"}
    assert doc["rows"][0]["members"] == "s0 s1"
    assert doc["rows"][0]["beta"] is None  # NaN → null
    assert comparison_json(comp) == comparison_json(compare_runs(runs, rf=rf))  # deterministic


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ({"strategy": "lstm", "config": {"features": {"info_set": "strict"}}}, "lstm[strict]"),
        ({"strategy": "lstm", "config": {"features": {"info_set": "recorded"}}}, "lstm[recorded]"),
        ({"strategy": "random", "config": {"features": {"info_set": "strict"}}}, "random"),
        ({}, "dirname"),
    ],
)
def test_lstm_runs_are_named_by_information_set(summary, expected):
    from pathlib import Path

    from simulator.results.compare import _strategy_name

    assert _strategy_name(summary, Path("x/dirname")) == expected
