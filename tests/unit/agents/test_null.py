"""Null strategies: seeded random picks through the LSTM rule, and flat."""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.base import DecisionMaker
from agents.config import DecisionConfig
from agents.lstm import LSTMDecisionMaker
from agents.null import RANDOM_PRED_SCALE, FlatDecisionMaker, RandomDecisionMaker
from tests.unit.agents.test_lstm import COSTS, K, held, rows, view

CFG = DecisionConfig(max_positions=4)


def test_random_is_the_lstm_rule_on_seeded_draws():
    v = view({}, candidates=np.array([1, 3, 4, 8], np.int32), **held({3: 10}))
    o = RandomDecisionMaker(CFG, seed=7, **COSTS).decide(v)
    draws = np.random.default_rng(7 + v.t).normal(0.0, RANDOM_PRED_SCALE, K)
    k = v.candidates
    expect = LSTMDecisionMaker(CFG, **COSTS).decide(dataclasses.replace(v, k_idx=k, pred=draws[k]))
    assert rows(o) == rows(expect)
    assert set(o.k.tolist()) <= set(k.tolist())


def test_random_draw_of_a_ticker_does_not_depend_on_the_other_candidates():
    r = RandomDecisionMaker(CFG, seed=3, **COSTS)
    np.testing.assert_array_equal(r.draw(10, K), r.draw(10, K))
    assert not np.array_equal(r.draw(10, K), r.draw(11, K))
    assert not np.array_equal(r.draw(10, K), RandomDecisionMaker(CFG, seed=4, **COSTS).draw(10, K))


def test_random_is_deterministic_and_seed_dependent():
    v = view({}, candidates=np.arange(10, dtype=np.int32))
    a = rows(RandomDecisionMaker(CFG, seed=1, **COSTS).decide(v))
    assert a == rows(RandomDecisionMaker(CFG, seed=1, **COSTS).decide(v))
    others = [rows(RandomDecisionMaker(CFG, seed=s, **COSTS).decide(v)) for s in range(2, 6)]
    assert any(o != a for o in others)
    assert len(a) == CFG.max_positions


def test_flat_does_nothing_not_even_bonds():
    f = FlatDecisionMaker()
    o = f.decide(view({0: 0.5}, **held({0: 3})))
    assert len(o.k) == 0 and not f.trades_bonds and not f.needs_predictions


def test_every_strategy_satisfies_the_protocol():
    for s in (
        LSTMDecisionMaker(CFG, **COSTS),
        RandomDecisionMaker(CFG, 0, **COSTS),
        FlatDecisionMaker(),
    ):
        assert isinstance(s, DecisionMaker)
    assert {s.name for s in (LSTMDecisionMaker(CFG, **COSTS), FlatDecisionMaker())} == {
        "lstm",
        "flat",
    }
