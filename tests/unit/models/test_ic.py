"""models.ic: daily IC / rank IC and mean / t-stat, by hand and against pandas."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.ic import MIN_NAMES_PER_DAY, daily_ic, daily_ic_grid, day_ranks, mean_t

ROOT = Path(__file__).resolve().parents[3]


def test_hand_computed_days():
    # day 0: pred 1,2,3 vs y .1,.2,.4  -> Pearson 0.3 / sqrt(2 * 0.046667) = 0.98198, rank IC 1
    # day 1: pred 3,2,1 vs y .1,.2,.2  -> y ranks 0, 1.5, 1.5 (a tie): rank IC -1.5 / sqrt(3)
    # day 2: one pair (n = 1 < MIN_NAMES_PER_DAY); day 3: pred constant; day 4: no pairs
    day = np.array([0, 0, 0, 1, 1, 1, 2, 3, 3, 3, 0])
    pred = np.array([1.0, 2, 3, 3, 2, 1, 5, 7, 7, 7, np.nan])
    y = np.array([0.1, 0.2, 0.4, 0.1, 0.2, 0.2, 1, 0.1, 0.2, 0.3, 0.5])
    r = daily_ic(day, pred, y, 5)
    np.testing.assert_allclose(r.ic[:2], [0.3 / math.sqrt(2 * 0.14 / 3), -math.sqrt(3) / 2])
    np.testing.assert_allclose(r.rank_ic[:2], [1.0, -math.sqrt(3) / 2])
    assert np.isnan(r.ic[2:]).all() and np.isnan(r.rank_ic[2:]).all()
    assert r.n.tolist() == [3, 3, 1, 3, 0]  # the NaN pred of day 0 is left out


def test_a_constant_side_has_no_ic_even_when_its_mean_is_inexact():
    # mean(0.1, 0.1, 0.1) = 0.10000000000000002: centred values are ~1e-17, not 0
    day, y = np.zeros(3, int), np.array([1.0, 2.0, 4.0])
    for pred in (np.full(3, 0.1), np.full(3, 7.0)):
        r = daily_ic(day, pred, y)
        assert np.isnan(r.ic[0]) and np.isnan(r.rank_ic[0]) and r.n[0] == 3
        r = daily_ic(day, y, pred)
        assert np.isnan(r.ic[0]) and np.isnan(r.rank_ic[0])


def test_day_ranks_by_hand():
    day = np.array([1, 0, 1, 1, 0, 1])
    x = np.array([2.0, 9.0, 2.0, -1.0, np.nan, 5.0])
    np.testing.assert_array_equal(day_ranks(day, x, 3), [1.5, 0.0, 1.5, 0.0, np.nan, 3.0])


def test_min_names_is_one_constant_and_a_parameter():
    assert MIN_NAMES_PER_DAY == 3
    day, a, b = np.zeros(3, int), np.array([1.0, 2, 3]), np.array([3.0, 1, 2])
    assert daily_ic(day, a, b).rank_ic[0] == pytest.approx(-0.5)
    assert np.isnan(daily_ic(day, a, b, min_names=4).rank_ic[0])
    assert np.isnan(daily_ic(day[:2], a[:2], b[:2]).rank_ic[0])  # 2 names < 3


@pytest.mark.parametrize("seed", range(4))
def test_matches_pandas_pearson_and_spearman_with_ties(seed):
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(6), 9)
    a = rng.normal(size=day.size)
    b = np.round(a + rng.normal(size=day.size), 1)  # ties in b
    a[::7] = np.round(a[::7])
    frame = pd.DataFrame({"d": day, "a": a, "b": b})
    r = daily_ic(day, a, b, 7)
    g = list(frame.groupby("d"))
    np.testing.assert_allclose(r.ic[:6], [x["a"].corr(x["b"]) for _, x in g], rtol=1e-12)
    np.testing.assert_allclose(
        r.rank_ic[:6], [x["a"].rank().corr(x["b"].rank()) for _, x in g], rtol=1e-12
    )
    assert np.isnan(r.ic[6]) and r.n[6] == 0


def test_grid_is_the_flattened_series():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, 6)), rng.normal(size=(8, 6))
    a[rng.random(a.shape) < 0.3] = np.nan
    g = daily_ic_grid(a, b)
    t = np.repeat(np.arange(8), 6)
    f = daily_ic(t, a.ravel(), b.ravel(), 8)
    np.testing.assert_array_equal(g.rank_ic, f.rank_ic)
    np.testing.assert_array_equal(g.ic, f.ic)


def test_bad_input():
    with pytest.raises(ValueError, match="expected three 1-D arrays"):
        daily_ic(np.zeros(3, int), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="expected in"):
        daily_ic(np.array([0, 5]), np.zeros(2), np.zeros(2), 3)
    with pytest.raises(ValueError, match="expected two equal"):
        daily_ic_grid(np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (math.nan, math.nan, 0)),
        ([np.nan], (math.nan, math.nan, 0)),
        ([0.5], (0.5, math.nan, 1)),  # one day: a mean, no t
        ([np.nan, 0.5], (0.5, math.nan, 1)),
        ([0.2, 0.2], (0.2, math.nan, 2)),  # zero spread: no t
        ([1.0, 3.0], (2.0, 2.0, 2)),
        ([1.0, 2, 3, 4], (2.5, 2.5 / (math.sqrt(5 / 3) / 2), 4)),  # std(ddof=1) = sqrt(5/3)
    ],
)
def test_mean_t_by_hand(values, expected):
    m, t, n = mean_t(np.array(values, dtype=float))
    assert n == expected[2]
    for got, want in ((m, expected[0]), (t, expected[1])):
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12)


def test_no_other_module_declares_a_minimum_names_constant():
    """The minimum names per day is declared once, in models/ic.py."""
    bad = []
    for pkg in ("simulator", "models", "agents", "episodes"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() == "models/ic.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Assign):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    own = [n for n in names if n.startswith(("MIN_NAMES", "MIN_TICK"))]
                    bad += [f"{path.name}:{node.lineno}: {n}" for n in own]
    assert not bad
