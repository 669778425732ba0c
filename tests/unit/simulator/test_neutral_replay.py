"""decision.neutral on a replay: a common level in the predictions flips the directional book,
not the neutral one, whose gross long and short stay equal within one position every day."""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.lstm import LSTMDecisionMaker
from simulator.config import load_config
from simulator.loop import run_replay
from tests.stub_panel import make_panel
from tests.unit.simulator.test_loop import FeaturePredictor

PANEL = make_panel(n_days=80, n_stocks=40, seed=5)
CFG = load_config(overrides={"windows.initial": 15, "decision.max_positions": 10})


class CommonLevel:
    """A feature 'model' whose predictions share a strong day-level term (a market call): the
    day's common level (sd 0.05) dwarfs the cross-sectional spread (sd 0.01)."""

    def __init__(self, panel, cfg):
        self.inner = FeaturePredictor(panel, cfg)
        self.level = np.random.default_rng(11).normal(0.0, 0.05, panel.n_days)

    def __call__(self, t):
        k, pred = self.inner(t)
        z = (pred - pred.mean()) / (pred.std() + 1e-12)
        return k, 0.01 * z + self.level[t]

    def window_of(self, t):
        return self.inner.window_of(t)


def replay(neutral: bool):
    cfg = dataclasses.replace(CFG, decision=dataclasses.replace(CFG.decision, neutral=neutral))
    maker = LSTMDecisionMaker(cfg.decision_config(), fee_rate=cfg.replay.fee_rate,
                              margin_rate=cfg.replay.margin_rate)  # fmt: skip
    return run_replay(PANEL, maker, cfg, predictor=CommonLevel(PANEL, cfg))


def holdings(res):
    """[n, K] long and short shares after each replayed day (from the fills)."""
    lo = np.zeros((len(res.days), PANEL.n_tickers), np.int64)
    sh = np.zeros_like(lo)
    cur_l, cur_s = np.zeros(PANEL.n_tickers, np.int64), np.zeros(PANEL.n_tickers, np.int64)
    for i, t in enumerate(res.days):
        f = res.fills[res.fills["day"] == t]
        cur_l[f["k"]], cur_s[f["k"]] = f["long_after"], f["short_after"]
        lo[i], sh[i] = cur_l, cur_s
    return lo, sh


def gross(res, prices):
    """[n] (gross long, gross short) stock value of each day's book at ``prices`` [n, K]."""
    lo, sh = holdings(res)
    p, stock = np.nan_to_num(prices), ~PANEL.is_bond
    return (lo * p)[:, stock].sum(axis=1), (sh * p)[:, stock].sum(axis=1)


def sign_flips(res, slot: float) -> int:
    """Days whose net stock exposure (at the close) changes sign, |net| above one position on
    both days (a balanced book's noise around 0 is no flip)."""
    gl, gs = gross(res, PANEL.close[res.days])
    net = gl - gs
    big = np.abs(net) > slot
    return int(np.sum(big[1:] & big[:-1] & (np.sign(net[1:]) != np.sign(net[:-1]))))


def test_neutral_removes_the_flips_and_balances_the_gross():
    slot = CFG.replay.initial_cash / CFG.decision_config().max_positions
    plain, neutral = replay(False), replay(True)
    # the common level turns the directional book all-long / all-short again and again
    assert sign_flips(plain, slot) >= 5
    assert sign_flips(neutral, slot) == 0
    # at the decision prices close(t-1), each day's book after the open: |gross L - gross S|
    # <= one position (nav / max_positions): the rule keeps it within half a position (BAND)
    # plus one share, and fills at the open may differ from the estimate by a little
    gl, gs = gross(neutral, PANEL.close[neutral.days - 1])
    nav_prev = np.r_[neutral.initial_nav, neutral.marks.nav[:-1]]
    assert (gl > 0).mean() > 0.9 and (gs > 0).mean() > 0.9
    assert np.all(np.abs(gl - gs) <= nav_prev / CFG.decision_config().max_positions)
    # the directional book is far from balanced on the same days
    lp, sp = gross(plain, PANEL.close[plain.days - 1])
    assert np.median(np.abs(lp - sp)) > slot  # neutral: <= one position on every day


def test_the_neutral_book_ignores_the_common_level():
    """Neutral scores are relative to the day's median, so adding any day-level term to every
    prediction leaves the orders exactly as they were (equal sizing)."""
    with_level = replay(True)
    cfg = dataclasses.replace(CFG, decision=dataclasses.replace(CFG.decision, neutral=True))
    pred = CommonLevel(PANEL, cfg)
    pred.level[:] = 0.0
    maker = LSTMDecisionMaker(cfg.decision_config(), fee_rate=cfg.replay.fee_rate,
                              margin_rate=cfg.replay.margin_rate)  # fmt: skip
    without = run_replay(PANEL, maker, cfg, predictor=pred)
    assert with_level.orders.tobytes() == without.orders.tobytes()
