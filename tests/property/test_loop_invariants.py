"""Replay invariants over random predictions: the cap, non-negative shares, risk and cash rules."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.lstm import LSTMDecisionMaker
from agents.null import RandomDecisionMaker
from models.infoset import InfoSet
from simulator.config import load_config
from simulator.kernels.records import BUY, R_CAP_REJECTED, R_REPLACEMENT, SHORT
from simulator.loop import risk_fractions, run_replay
from tests.stub_panel import make_panel

PANEL = make_panel(n_days=30, n_stocks=45, seed=11)


class RandomPredictor:
    """Random predictions for a random subset of the eligible tickers, seeded per day."""

    def __init__(self, seed: int, scale: float) -> None:
        self.seed, self.scale = seed, scale

    def __call__(self, t: int):
        rng = np.random.default_rng(self.seed * 1000 + t)
        k = np.flatnonzero(PANEL.eligible[t] & (rng.random(PANEL.n_tickers) < 0.7))
        return k.astype(np.int32), rng.normal(0, self.scale, len(k))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    max_positions=st.integers(1, 30),
    threshold=st.sampled_from([0.0, 0.005, 0.02]),
    sizing=st.sampled_from(["equal", "proportional"]),
    allow_short=st.booleans(),
    info_set=st.sampled_from(["strict", "recorded"]),
    use_random=st.booleans(),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([0.002, 0.02, 0.2]),
)
def test_replay_invariants(
    max_positions, threshold, sizing, allow_short, info_set, use_random, seed, scale
):
    cfg = load_config(
        overrides={
            "windows.initial": 3,
            "decision.max_positions": max_positions,
            "decision.threshold": threshold,
            "decision.sizing": sizing,
            "decision.allow_short": allow_short,
            "features.info_set": info_set,
        }
    )
    costs = {"fee_rate": cfg.replay.fee_rate, "margin_rate": cfg.replay.margin_rate}
    if use_random:
        res = run_replay(PANEL, RandomDecisionMaker(cfg.decision, seed, **costs), cfg)
    else:
        maker = LSTMDecisionMaker(cfg.decision, **costs)
        res = run_replay(PANEL, maker, cfg, predictor=RandomPredictor(seed, scale))
    f = res.fills
    # never more stock positions than the decision cap (<= 30), never negative shares
    assert (res.n_long + res.n_short <= max_positions).all()
    assert (f["long_after"] >= 0).all() and (f["short_after"] >= 0).all()
    if not allow_short:
        assert not ((f["action"] == SHORT) & ~PANEL.is_bond[f["k"]]).any()
    # the books' cap never had to reject or replace (the decision cap is tighter)
    assert not np.isin(f["reason"], (R_REPLACEMENT, R_CAP_REJECTED)).any()
    # every stock opening within the risk limit (close(t-1) notional vs fraction x NAV(t-1))
    prev = dict(zip(res.days.tolist(), np.r_[res.initial_nav, res.marks.nav[:-1]], strict=True))
    opening = np.isin(f["action"], (BUY, SHORT)) & ~PANEL.is_bond[f["k"]] & (f["qty"] > 0)
    for row in f[opening]:
        t, k = int(row["day"]), int(row["k"])
        limit = risk_fractions(PANEL, t, InfoSet.resolve(info_set))[k] * prev[t]
        assert row["qty"] * PANEL.close[t - 1, k] <= limit * (1 + 1e-12)
    # a buy never leaves cash negative; NAV stays finite
    assert (f["cash_after"][(f["action"] == BUY) & (f["qty"] > 0)] >= 0).all()
    assert np.isfinite(res.marks.nav).all()
