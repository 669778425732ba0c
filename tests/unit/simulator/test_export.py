"""Exports: table contents, CSV/JSON formatting rules, byte-identical reruns."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simulator.kernels.records import (
    BUY,
    COVER,
    HOLD,
    R_CAP_REJECTED,
    R_DECISION,
    R_REPLACEMENT,
    SELL,
    SHORT,
    fill_dt,
)
from simulator.results.export import (
    Marks,
    RunOutput,
    equity_table,
    export_run,
    trades_table,
    write_csv,
    write_json,
)

TICKERS = np.array(["AAA", "BBB", "CCC"], dtype=object)
DAYS = np.array([4, 5])  # panel day indices of the run
DATES = np.array(["2024-01-04", "2024-01-05"], dtype="datetime64[D]")


def fills() -> np.ndarray:
    rows = [  # day, k, action, reason, req, qty, price, fee, long_after, short_after, victim_of
        (4, 0, BUY, R_DECISION, 10, 10, 20.0, 0.1, 10, 0, -1),
        (4, 1, HOLD, R_DECISION, 0, 0, np.nan, 0.0, 0, 0, -1),
        (5, 0, SELL, R_REPLACEMENT, 10, 10, 21.0, 0.105, 0, 0, 2),
        (5, 2, SHORT, R_DECISION, 3, 3, 5.0, 0.0075, 0, 3, -1),
        (5, 1, COVER, R_CAP_REJECTED, 2, 0, 7.0, 0.0, 4, 0, -1),
    ]
    f = np.zeros(len(rows), fill_dt)
    for i, r in enumerate(rows):
        for name, v in zip(("day", "k", "action", "reason", "req_qty", "qty", "price", "fee",
                            "long_after", "short_after", "victim_of"), r, strict=True):  # fmt: skip
            f[i][name] = v
    f["cash_after"] = [800.0, 800.0, 1009.9, 1024.9, 1024.9]
    return f


def marks() -> Marks:
    nav = np.array([1010.0, 990.0])
    return Marks(nav, nav - 5, np.array([200.0, 0.0]), np.array([0.0, 15.0]),
                 np.array([200.0, 15.0]), np.array([200.0, -15.0]),
                 np.array([0.01, 990 / 1010 - 1]))  # fmt: skip


def test_trades_table_drops_holds_and_names_everything():
    t = trades_table(fills(), DAYS, DATES, TICKERS).to_pydict()
    assert [str(d) for d in t["date"]] == ["2024-01-04", "2024-01-05", "2024-01-05", "2024-01-05"]
    assert t["ticker"] == ["AAA", "AAA", "CCC", "BBB"]
    assert t["action"] == ["buy", "sell", "short", "cover"]
    assert t["reason"] == ["decision", "replacement", "decision", "cap-rejected"]
    assert t["position_after"] == [10, 0, -3, 4]  # signed long - short
    assert t["notional"] == [200.0, 210.0, 15.0, 0.0]
    assert t["newcomer"] == ["", "CCC", "", ""]
    assert t["requested_qty"] == [10, 10, 3, 2] and t["filled_qty"] == [10, 10, 3, 0]


def test_equity_drawdown_counts_the_initial_nav_as_a_peak():
    t = equity_table(DATES, marks(), initial_nav=1000.0).to_pydict()
    assert t["drawdown"] == [0.0, pytest.approx(990 / 1010 - 1)]
    t = equity_table(DATES, marks(), initial_nav=2000.0).to_pydict()
    assert t["drawdown"] == [pytest.approx(-0.495), pytest.approx(-0.505)]


def test_csv_format(tmp_path):
    x = [0.1, 1 / 3, np.nan, 1e-300]
    path = write_csv(
        tmp_path / "a.csv", pa.table({"d": DATES.repeat(2), "x": x, "s": list("abcd")})
    )
    lines = path.read_text().split("\n")
    assert lines[0] == "d,x,s" and lines[-1] == ""
    assert lines[1] == "2024-01-04,0.1,a" and lines[3] == "2024-01-05,,c"  # NaN -> ''
    assert float(lines[2].split(",")[1]) == 1 / 3 and float(lines[4].split(",")[1]) == 1e-300
    quoted = write_csv(tmp_path / "b.csv", pa.table({"s": ["a,b", "c"]})).read_text()
    assert quoted == 's\n"a,b"\n"c"\n'


def _one_shot_csv(table: pa.Table) -> bytes:
    """The whole table's text at once (write_csv before it streamed by batches)."""
    import io

    import pyarrow.csv as pacsv

    from simulator.results.export import _nan_as_null, _needs_quotes

    buf = io.BytesIO()
    buf.write((",".join(table.column_names) + "\n").encode())
    style = "needed" if _needs_quotes(table) else "none"
    opts = pacsv.WriteOptions(include_header=False, quoting_style=style)
    pacsv.write_csv(_nan_as_null(table), buf, opts)
    return buf.getvalue()


@pytest.mark.parametrize("rows", [1, 3, 7, 64, 65_536])
def test_csv_streamed_by_batches_is_the_one_shot_text(tmp_path, monkeypatch, rows):
    import simulator.results.export as export

    monkeypatch.setattr(export, "CSV_ROWS", rows)
    rng = np.random.default_rng(rows)
    x = rng.normal(size=50)
    x[rng.random(50) < 0.2] = np.nan
    chunks = [pa.table({"x": x[a : a + 9], "s": [f"t{i}" for i in range(a, min(a + 9, 50))],
                        "n": np.arange(a, min(a + 9, 50))}) for a in range(0, 50, 9)]  # fmt: skip
    for table in (pa.concat_tables(chunks), pa.table({"s": ["a,b", "c", 'd"e'] * 5}),
                  pa.table({"x": pa.array([], pa.float64())})):  # fmt: skip
        path = write_csv(tmp_path / "t.csv", table)
        assert path.read_bytes() == _one_shot_csv(table)


def test_json_is_sorted_and_strict(tmp_path):
    path = write_json(
        tmp_path / "s.json", {"b": np.float64(np.nan), "a": {"z": np.int64(3), "y": (1,)}}
    )
    assert (
        path.read_text()
        == '{\n  "a": {\n    "y": [\n      1\n    ],\n    "z": 3\n  },\n  "b": null\n}\n'
    )


def test_export_run_writes_every_file_and_reruns_byte_identical(tmp_path):
    run = RunOutput("test", DAYS, DATES, TICKERS, fills(), marks(), 1000.0,
                    np.array([1, 0]), np.array([0, 1]))  # fmt: skip
    a = export_run(tmp_path / "a", run, {"config_hash": "abc"})
    b = export_run(tmp_path / "b", run, {"config_hash": "abc"})
    assert sorted(a) == sorted(
        ["trades.csv", "trades.parquet", "equity.csv", "equity.parquet", "positions.csv",
         "positions.parquet", "summary.json", "manifest.json"]
    )  # fmt: skip
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    s = json.loads(a["summary.json"].read_text())
    assert (s["strategy"], s["days"], s["config_hash"], s["fills"]) == ("test", 2, "abc", 3)
    assert s["fees_paid"] == pytest.approx(0.2125) and s["final_nav"] == 990.0
    assert s["metrics"]["n_days"] == 2 and s["metrics"]["avg_positions"] == 1.0
    assert set(s["versions"]) == {"python", "wfsim", "numpy", "numba", "pandas", "pyarrow"}
    eq = pq.read_table(a["equity.parquet"]).to_pydict()
    assert eq["nav"] == [1010.0, 990.0]
    assert (tmp_path / "a" / "positions.csv").read_text() == (
        "date,n_long,n_short\n2024-01-04,1,0\n2024-01-05,0,1\n"
    )


def test_a_run_never_replaces_a_folder_that_is_not_a_run(tmp_path):
    """``replay --out STORE`` replaced the whole store (exit 0; a CLI audit found it)."""
    from simulator.core.errors import WfsimError

    run = RunOutput("test", DAYS, DATES, TICKERS, fills(), marks(), 1000.0,
                    np.array([1, 0]), np.array([0, 1]))  # fmt: skip
    store = tmp_path / "store"
    store.mkdir()
    (store / "manifest.json").write_text("{}")  # a store: a manifest, no summary.json
    (store / "notes.txt").write_text("mine")
    with pytest.raises(WfsimError, match="exists and is not a run directory: not replaced"):
        export_run(store, run, {})
    assert sorted(p.name for p in store.iterdir()) == ["manifest.json", "notes.txt"]
    (tmp_path / "f").write_text("x")
    with pytest.raises(WfsimError, match="exists and is a file"):
        export_run(tmp_path / "f", run, {})
    (tmp_path / "empty").mkdir()
    export_run(tmp_path / "empty", run, {})  # an empty folder, then the earlier run: replaced
    first = (tmp_path / "empty" / "summary.json").read_bytes()
    export_run(tmp_path / "empty", run, {})
    assert (tmp_path / "empty" / "summary.json").read_bytes() == first


def test_run_metrics_from_the_records_equal_those_of_the_trades_table():
    """run_metrics reads the filled records column by column; the reference is compute_metrics
    on the trades table's filled rows (what it read before), equal key by key."""
    import pandas as pd
    import pyarrow.compute as pc

    from simulator.results.export import run_metrics
    from simulator.results.metrics import compute_metrics

    f = fills()
    f["realized"] = [0.0, 0.0, 9.5, 0.0, 0.0]
    f = np.concatenate([f, f[2:4]])  # more filled rows, one more closing
    f["day"][-2:] = 5
    run = RunOutput("test", DAYS, DATES, TICKERS, f, marks(), 1000.0,
                    np.array([1, 0]), np.array([0, 1]))  # fmt: skip
    trades = trades_table(f, DAYS, DATES, TICKERS)
    filled = trades.filter(pc.greater(trades.column("filled_qty"), 0))
    tr = filled.select(["action", "filled_qty", "price", "notional", "fee", "realized"])
    tr = tr.to_pandas()
    tr.insert(0, "date", filled.column("date").to_numpy().astype("datetime64[ns]"))
    idx = pd.DatetimeIndex(DATES.astype("datetime64[ns]"), name="date")
    m = run.marks
    book = pd.DataFrame({"nav": m.nav, "long_exposure": m.long_exposure,
                         "short_exposure": m.short_exposure, "n_long": run.n_long,
                         "n_short": run.n_short}, index=idx)  # fmt: skip
    want = compute_metrics(pd.Series(m.daily_return, index=idx), book=book, trades=tr)
    got = run_metrics(run)
    assert got.keys() == want.keys() and got["n_trades"] == 5
    for k in want:
        assert got[k] == want[k] or (np.isnan(got[k]) and np.isnan(want[k])), k
