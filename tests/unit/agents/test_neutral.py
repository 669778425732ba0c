"""decision.neutral: scores vs the day's median, equal names and equal gross per side."""

from __future__ import annotations

import numpy as np
import pytest

from agents.config import DecisionConfig
from agents.neutral import BAND, gross_sides, relative_scores
from simulator.kernels.records import BUY, COVER, SELL, SHORT
from tests.unit.agents.test_lstm import held, maker, rows, view


def neutral(**kw):
    return maker(**({"neutral": True, "max_positions": 4} | kw))


def book_after(v, o):
    """(long, short) share counts after the orders, as decided (no clipping)."""
    lo, sh = v.long.copy(), v.short.copy()
    for k, a, q in rows(o):
        lo[k] += q if a == BUY else -q if a == SELL else 0
        sh[k] += q if a == SHORT else -q if a == COVER else 0
    return lo, sh


ALL_UP = {0: 0.10, 1: 0.11, 2: 0.12, 3: 0.13, 4: 0.14, 5: 0.15}  # a common level of +0.1


def test_common_level_no_longer_makes_the_book_all_long():
    assert {a for _, a, _ in rows(maker(max_positions=4).decide(view(ALL_UP)))} == {BUY}
    o = neutral().decide(view(ALL_UP))
    # median 0.125: longs 5, 4 and shorts 0, 1, interleaved; 30_000 / 4 = 7500 = 750 shares
    assert rows(o) == [(5, BUY, 750), (0, SHORT, 750), (4, BUY, 750), (1, SHORT, 750)]
    shifted = {k: p - 0.3 for k, p in ALL_UP.items()}  # the same day, all predictions negative
    assert rows(neutral().decide(view(shifted))) == rows(o)


def test_relative_scores_use_the_median_of_all_the_days_predictions():
    s = relative_scores(6, np.array([0, 2, 5]), np.array([0.3, -0.1, 0.1]))
    np.testing.assert_allclose(s, [0.2, np.nan, -0.2, np.nan, np.nan, 0.0])
    assert np.isnan(relative_scores(3, np.empty(0, np.int64), np.empty(0))).all()


def test_flip_is_relative_to_the_median_and_hysteresis_holds():
    # ticker 2 predicts +0.11 but sits below the median 0.125: the held long is sold
    v = view(ALL_UP, **held({2: 100, 5: 200}, {0: 300}))
    o = neutral().decide(v)
    assert rows(o)[0] == (2, SELL, 100)
    assert (5, SELL, 200) not in rows(o) and all(k != 0 for k, _, _ in rows(o))  # kept


def test_cash_shortfall_on_longs_cuts_the_shorts_to_the_same_gross():
    v = view(ALL_UP, cash=10_000.0)
    o = neutral().decide(v)
    lo, sh = book_after(v, o)
    gl, gs = gross_sides(lo, sh, v.prev_close)
    assert gl < 15_000 and abs(gl - gs) < 10.0  # within one share at price 10
    assert {a for _, a, _ in rows(o)} == {BUY, SHORT}


def test_kept_excess_beyond_the_band_is_trimmed_weakest_first():
    # cap 2: one long, one short; the long is worth 20_000, the short 5_000 (excess 15_000)
    v = view({0: 0.05, 1: -0.05, 2: 0.0}, **held({0: 2000}, {1: 500}))
    o = neutral(max_positions=2).decide(v)
    assert rows(o) == [(0, SELL, 1500)]
    assert BAND * 30_000 / 2 < 15_000


def test_excess_within_the_band_is_left_alone():
    v = view({0: 0.05, 1: -0.05, 2: 0.0}, **held({0: 1000}, {1: 500}))  # excess 5000 < 7500
    assert rows(neutral(max_positions=2).decide(v)) == []


def test_unequal_risk_limits_are_balanced_by_the_openings():
    frac = np.full(12, 0.5)
    frac[5] = 0.05  # the strongest long may hold 1500 only
    v = view(ALL_UP, risk_frac=frac)
    lo, sh = book_after(v, neutral().decide(v))
    gl, gs = gross_sides(lo, sh, v.prev_close)
    assert gl == gs == 9000.0 and lo[5] == 150 and lo[4] == 750


def test_neutral_needs_shorts():
    with pytest.raises(ValueError, match="neutral=True needs allow_short=True"):
        DecisionConfig(neutral=True, allow_short=False)
