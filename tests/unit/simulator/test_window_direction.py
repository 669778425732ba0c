"""Per-window direction metrics of a run (windows.csv: accuracy, precision, recall, F1 of the up
class) on a hand-computed case, and their place in the report's per-window table."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from models.evaluate import direction_metrics, oos_metrics
from simulator.loop import _Acc
from simulator.strategies import windows_table

# day -> (tickers, predictions, realised open(t) -> open(t+1) returns); days 0, 1: w000; day 2: w001
DAYS = {
    0: ([0, 1, 2, 3], [0.5, 0.2, -0.1, -0.3], [0.01, -0.02, 0.03, -0.01]),
    1: ([0, 1, 2], [0.4, 0.3, 0.2], [0.02, 0.01, -0.01]),
    2: ([0, 1], [-0.1, -0.2], [0.05, -0.04]),
}
# by hand, up class = return > 0, predicted up = prediction > 0:
# w000: 7 pairs; agree: d0 k0, k3; d1 k0, k1 -> 4; both up: d0 k0, d1 k0, k1 -> 3;
#       predicted up: 2 + 3 = 5; realised up: 2 + 2 = 4
#       accuracy 4/7, precision 3/5, recall 3/4, F1 = 2 * .6 * .75 / 1.35 = 2/3
# w001: 2 pairs; agree: d2 k1 -> 1; none predicted up: precision and F1 undefined; recall 0/1
EXPECTED = {
    "accuracy": [4 / 7, 0.5],
    "precision": [0.6, math.nan],
    "recall": [0.75, 0.0],
    "f1": [2 / 3, math.nan],
}


def _panel() -> SimpleNamespace:
    """Opens whose day-to-day changes are the returns of ``DAYS`` (4 tickers, 4 days)."""
    opens = np.full((4, 4), 100.0)
    for t, (ks, _, ys) in DAYS.items():
        opens[t + 1] = opens[t]
        opens[t + 1, ks] = opens[t, ks] * (1 + np.array(ys))
    return SimpleNamespace(open=opens, n_days=4)


def _run() -> SimpleNamespace:
    acc = _Acc(3)
    for t, (ks, preds, _) in DAYS.items():
        acc.i8[2, t] = len(ks)
        acc.preds(t, np.array(ks), np.array(preds))
    acc.evaluate(_panel(), first=0, horizon=1)
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], "datetime64[D]")
    return SimpleNamespace(
        initial_nav=100.0, marks=SimpleNamespace(nav=np.array([101.0, 102.0, 100.0])),
        window=np.array(["w000", "w000", "w001"], object), dates=dates, n_pred=acc.i8[2],
        ic=acc.f8[6], hits=np.nan_to_num(acc.f8[7]).astype(np.int64), direction=acc.direction,
    )  # fmt: skip


def test_direction_metrics_from_counts_by_hand():
    m = direction_metrics(n=7, agree=4, tp=3, pred_up=5, up=4)
    assert m == pytest.approx({"accuracy": 4 / 7, "precision": 0.6, "recall": 0.75, "f1": 2 / 3})
    none_up = direction_metrics(n=2, agree=1, tp=0, pred_up=0, up=1)
    assert math.isnan(none_up["precision"]) and math.isnan(none_up["f1"])
    assert none_up["recall"] == 0.0 and none_up["accuracy"] == 0.5
    assert all(math.isnan(v) for v in direction_metrics(0, 0, 0, 0, 0).values())


def test_windows_table_has_the_hand_computed_direction_metrics_per_window():
    table = windows_table(_run()).to_pandas()
    assert list(table["window"]) == ["w000", "w001"]
    for key, want in EXPECTED.items():
        np.testing.assert_allclose(table[key].to_numpy(), want, rtol=0, atol=1e-12, err_msg=key)
    # the same definitions as `wfsim models report` (models.evaluate.oos_metrics) on the pairs
    t = np.concatenate([np.full(len(ks), d) for d, (ks, _, _) in DAYS.items() if d < 2])
    pred = np.concatenate([p for d, (_, p, _) in DAYS.items() if d < 2])
    y = np.concatenate([y for d, (_, _, y) in DAYS.items() if d < 2])
    m = oos_metrics(t, pred, y)
    assert table.loc[0, list(EXPECTED)].to_dict() == pytest.approx({k: m[k] for k in EXPECTED})


def test_report_shows_them_beside_the_window_ic(tmp_path):
    from simulator.results.compare import compare_runs, load_run
    from simulator.results.report import render_report
    from tests.rundirs import make_run_dir

    path = make_run_dir(tmp_path, "lstm-0", seed=0, n_days=40)
    windows = pd.read_csv(path / "windows.csv")
    windows["precision"], windows["recall"], windows["f1"] = 0.625, 0.4375, 0.5147
    windows.to_csv(path / "windows.csv", index=False)
    run = load_run(path)
    page, _ = render_report([run], compare_runs([run]))
    section = page[page.index('<h2 id="windows">') :]
    for col in ("rank_ic", "direction_accuracy", "precision", "recall", "f1"):
        assert f"<th>{col}</th>" in section, col
    assert "<td>0.625</td>" in section and "<td>0.438</td>" in section
    assert "precision, recall, f1: direction classification of the up class" in section
