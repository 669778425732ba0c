"""The anatomy of the gap and the constraint log on two hand-made runs (every number by hand)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.core.errors import WfsimError
from simulator.kernels.records import REASON_NAMES
from simulator.results.attribution import PARTS, Prices, attribute, marks, read_run
from simulator.results.constraints import CONSTRAINTS, constraint_summary

DATES = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], "datetime64[D]")
# closes by day (rows) of AAA, BBB (stocks) and SHY (a bond)
CLOSE = np.array(
    [[10.0, 20.0, 100.0], [11.0, 19.0, 100.0], [12.0, 21.0, 101.0], [12.5, 22.0, 101.0]]
)
PRICES = Prices(DATES, np.array(["AAA", "BBB", "SHY"]), CLOSE, np.array([False, False, True]))

# date, ticker, action, requested_qty, filled_qty, price, fee, position_after, reason
# Run A: buy 10 AAA at 10.5 (day 1), a cash-limited buy of BBB that filled nothing (day 2), sell
# 12 AAA at 12.2 clipped to the 10 held (day 3). NAV: 1000, 1004.9, 1014.9, 1016.8.
RUN_A = [
    ("2024-01-03", "AAA", "buy", 10, 10, 10.5, 0.1, 10, "decision"),
    ("2024-01-04", "BBB", "buy", 2, 0, 20.5, 0.0, 0, "cash-limited"),
    ("2024-01-05", "AAA", "sell", 12, 10, 12.2, 0.1, 0, "clipped-holding"),
]
NAV_A = [1000.0, 1004.9, 1014.9, 1016.8]
# Run B: buy 5 AAA at 10.5, short 2 BBB at 19.5 (margin 0), a cap-rejected buy of 3 BBB (day 1);
# buy 1 SHY at 100 (day 2); a sync close of the 5 AAA at 12.2 (day 3). NAV: 1000, 1003.4, 1004.4,
# 1004.4.
RUN_B = [
    ("2024-01-03", "AAA", "buy", 5, 5, 10.5, 0.05, 5, "decision"),
    ("2024-01-03", "BBB", "short", 2, 2, 19.5, 0.05, -2, "decision"),
    ("2024-01-03", "BBB", "buy", 3, 0, 19.5, 0.0, -2, "cap-rejected"),
    ("2024-01-04", "SHY", "buy", 1, 1, 100.0, 0.0, 1, "decision"),
    ("2024-01-05", "AAA", "sell", 5, 5, 12.2, 0.0, 0, "sync"),
]
NAV_B = [1000.0, 1003.4, 1004.4, 1004.4]

# By hand (see the docstring of attribute): A holds AAA on days 2-3 (+10, +5), trades AAA on day 1
# (10·(11 − 10.5) = 5) and day 3 (−10·(12.5 − 12.2) = −3), pays 0.2. B holds AAA (+5, +2.5, both
# runs long: sizing) and short BBB (−4, −2: only B, selection), trades AAA and BBB on day 1
# (2.5 + 1), SHY on day 2 (0) and holds it on day 3 (+1: bonds), sync-closes AAA on day 3
# (−5·(12.5 − 12.2) = −1.5), pays 0.1.
EXPECTED = {  # part: (run, baseline, gap)
    "selection": (0.0, -6.0, 6.0),
    "sizing": (15.0, 7.5, 7.5),
    "timing": (2.0, 3.5, -1.5),
    "sync": (0.0, -1.5, 1.5),
    "bonds": (0.0, 1.0, -1.0),
    "costs": (-0.2, -0.1, -0.1),
    "residual": (0.0, 0.0, 0.0),
    "total": (16.8, 4.4, 12.4),
}


def write_run(root: Path, name: str, rows: list, nav: list, initial_nav: float = 1000.0) -> Path:
    """A run directory as simulator/results/export.py writes it (the columns gap reads)."""
    out = Path(root) / name
    out.mkdir(parents=True)
    cols = ["date", "ticker", "action", "requested_qty", "filled_qty", "price", "fee",
            "position_after", "reason"]  # fmt: skip
    tr = pd.DataFrame(rows, columns=cols)
    tr.insert(6, "notional", tr["filled_qty"] * tr["price"])
    tr.to_csv(out / "trades.csv", index=False)
    eq = pd.DataFrame({"date": [str(d) for d in DATES[: len(nav)]], "nav": nav})
    eq.to_csv(out / "equity.csv", index=False)
    summary = {"strategy": name, "initial_nav": initial_nav}
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return out


@pytest.fixture
def runs(tmp_path):
    return read_run(write_run(tmp_path, "a", RUN_A, NAV_A)), read_run(
        write_run(tmp_path, "b", RUN_B, NAV_B)
    )


def test_hand_made_parts(runs):
    att = attribute(*runs, PRICES)
    assert (att.n_days, att.first_date, att.last_date, att.scale) == (
        4,
        "2024-01-02",
        "2024-01-05",
        1.0,
    )
    assert list(att.parts.index) == [*PARTS, "total"]
    for part, want in EXPECTED.items():
        got = tuple(att.parts.loc[part, ["run", "baseline", "gap"]])
        np.testing.assert_allclose(got, want, atol=1e-9, err_msg=part)
    assert att.overlap == {"both": 0.5, "run_only": 0.0, "baseline_only": 0.5}


def test_parts_sum_to_the_total_every_day_and_overall(runs):
    att = attribute(*runs, PRICES)
    for col in ("run", "baseline", "gap"):
        assert abs(math.fsum(att.parts.loc[list(PARTS), col]) - att.parts.loc["total", col]) < 1e-9
    np.testing.assert_allclose(att.daily[list(PARTS)].sum(axis=1), att.daily["total"], atol=1e-9)
    np.testing.assert_allclose(
        att.daily["total"], np.diff(np.r_[1000.0, NAV_A]) - np.diff(np.r_[1000.0, NAV_B])
    )


def test_baseline_is_scaled_to_the_runs_capital(tmp_path, runs):
    """The baseline at twice the capital (every share and NAV doubled) is scaled by 1/2."""
    rows = [
        (d, k, a, 2 * r, 2 * f, p, 2 * fee, 2 * pos, why)
        for d, k, a, r, f, p, fee, pos, why in RUN_B
    ]
    big = read_run(write_run(tmp_path, "big", rows, [2 * v for v in NAV_B], initial_nav=2000.0))
    att = attribute(runs[0], big, PRICES)
    assert att.scale == 0.5
    for part, (_, base, gap) in EXPECTED.items():
        assert att.parts.loc[part, "baseline"] == pytest.approx(base, abs=1e-9)
        assert att.parts.loc[part, "gap"] == pytest.approx(gap, abs=1e-9)


def test_a_book_the_exports_do_not_explain_lands_in_the_residual(tmp_path, runs):
    """A NAV that moves without a trade or a position (here +7 on the last day) is residual."""
    nav = [*NAV_A[:-1], NAV_A[-1] + 7.0]
    att = attribute(read_run(write_run(tmp_path, "odd", RUN_A, nav)), runs[1], PRICES)
    assert att.parts.loc["residual", "run"] == pytest.approx(7.0)
    assert att.parts.loc["sizing", "run"] == pytest.approx(15.0)


def test_only_common_days_count(tmp_path, runs):
    """A run that starts on day 2 (flat, NAV 1000 before it) is compared on days 2-3 only."""
    late = [("2024-01-04", "AAA", "buy", 10, 10, 11.5, 0.1, 10, "decision")]
    eq_dates = DATES[2:]
    out = write_run(tmp_path, "late", late, [1004.9, 1009.9])
    pd.DataFrame({"date": [str(d) for d in eq_dates], "nav": [1004.9, 1009.9]}).to_csv(
        out / "equity.csv", index=False
    )
    att = attribute(read_run(out), runs[1], PRICES)
    assert (att.n_days, att.first_date) == (2, "2024-01-04")
    assert att.scale == pytest.approx(1000.0 / 1003.4)
    assert att.parts.loc["total", "baseline"] == pytest.approx((1004.4 - 1003.4) * 1000.0 / 1003.4)
    # B on days 2-3: AAA +5 +2.5 (both long on day 3 only: the late run holds AAA after day 2)
    assert att.parts.loc["sizing", "baseline"] == pytest.approx(2.5 * att.scale)


def test_marks_carry_the_last_close_forward():
    close = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan]])
    got = marks(Prices(DATES[:3], np.array(["X", "Y"]), close, np.zeros(2, bool)))
    np.testing.assert_array_equal(got, [[np.nan, 1.0], [2.0, 1.0], [2.0, 1.0]])


def test_constraint_log_by_hand(runs):
    a = constraint_summary(runs[0], PRICES)
    b = constraint_summary(runs[1], PRICES)
    b2 = constraint_summary(runs[1], PRICES, horizon_days=2)
    assert list(a.index) == list(CONSTRAINTS)
    assert set(CONSTRAINTS) == set(REASON_NAMES) - {"decision"}
    # A: the cash-limited buy of 2 BBB at 20.5 would have closed at 21 (+1); the clipped sell has
    # no counterfactual (nothing to sell)
    assert tuple(a.loc["cash-limited"]) == (1, 2.0, 41.0, 1.0)
    assert a.loc["clipped-holding", "records"] == 1 and a.loc["clipped-holding", "shares"] == 2.0
    assert np.isnan(a.loc["clipped-holding", "pnl_foregone"])
    # B: the rejected buy of 3 BBB at 19.5: 3·(19 − 19.5) the same day, 3·(21 − 19.5) a day later;
    # the sync close of 5 AAA at 12.2 gave up 5·(12.5 − 12.2) (the last day caps the horizon)
    assert tuple(b.loc["cap-rejected"]) == (1, 3.0, 58.5, pytest.approx(-1.5))
    assert b2.loc["cap-rejected", "pnl_foregone"] == pytest.approx(4.5)
    assert tuple(b.loc["sync"])[:3] == (1, 5.0, 61.0)
    assert b.loc["sync", "pnl_foregone"] == pytest.approx(1.5)
    assert b2.loc["sync", "pnl_foregone"] == pytest.approx(1.5)
    assert b.loc["replacement", "records"] == 0 and b.loc["replacement", "pnl_foregone"] == 0.0
    only_day3 = constraint_summary(runs[1], PRICES, first_date="2024-01-05")
    assert only_day3["records"].to_dict() == {n: int(n == "sync") for n in CONSTRAINTS}


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda p: (p / "trades.csv").unlink(), "no trades.csv"),
        (
            lambda p: (
                pd.read_csv(p / "trades.csv")
                .drop(columns="position_after")
                .to_csv(p / "trades.csv", index=False)
            ),
            "missing columns",
        ),  # fmt: skip
        (
            lambda p: pd.DataFrame({"date": ["2023-01-02"], "nav": [1.0]}).to_csv(
                p / "equity.csv", index=False
            ),
            "equity.csv date not in the store",
        ),  # fmt: skip
        (
            lambda p: (
                pd.read_csv(p / "trades.csv")
                .replace("AAA", "ZZZ")
                .to_csv(p / "trades.csv", index=False)
            ),
            "tickers not in the store",
        ),  # fmt: skip
    ],
)
def test_bad_run_directories_are_refused(tmp_path, runs, edit, match):
    path = write_run(tmp_path, "bad", RUN_A, NAV_A)
    edit(path)
    with pytest.raises(WfsimError, match=match):
        attribute(read_run(path), runs[1], PRICES)


def test_runs_without_a_common_day_are_refused(tmp_path, runs):
    out = write_run(tmp_path, "late", [], [1000.0])
    pd.DataFrame({"date": ["2024-01-05"], "nav": [1000.0]}).to_csv(out / "equity.csv", index=False)
    early = write_run(tmp_path, "early", [], [1000.0])
    with pytest.raises(WfsimError, match="share no day"):
        attribute(read_run(out), read_run(early), PRICES)
