"""The replay loop: no look-ahead, determinism, cap, risk and cash rules, skips, sleeve, sync."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import structlog

from agents.lstm import LSTMDecisionMaker
from agents.null import FlatDecisionMaker, RandomDecisionMaker
from models.features import build_features
from models.infoset import RECORDED, STRICT, InfoSet
from simulator.config import load_config
from simulator.core.errors import ConfigError, RegistryError
from simulator.kernels.records import BUY, R_CASH_LIMITED, R_DECISION, SHORT
from simulator.loop import risk_fractions, run_replay
from tests.stub_panel import make_panel

CFG = load_config(
    overrides={"windows.initial": 15, "windows.step": 10, "decision.max_positions": 8}
)
COSTS = {"fee_rate": CFG.replay.fee_rate, "margin_rate": CFG.replay.margin_rate}
PANEL = make_panel(n_days=50, n_stocks=30, seed=3)

# agent outputs and post-open fields of an episode (strict: none of episode t may matter for t)
EPISODE_FIELDS = (
    "signal", "confidence", "has_signal", "on_risk", "risk_limit", "risk_base", "risk_price",
    "strength", "macro_stock_alloc", "fwd_stock_alloc", "vix", "has_decision", "action",
    "quantity", "long_after", "short_after", "cash_after", "portfolio_return",
)  # fmt: skip


class FeaturePredictor:
    """A tiny fixed 'model': a linear map of the leakage-free features of day t."""

    def __init__(self, panel, cfg, seed=0):
        self.fs = build_features(panel, cfg.features)
        self.w = np.random.default_rng(seed).normal(0, 0.01, len(self.fs.names))

    def __call__(self, t):
        k = np.flatnonzero(self.fs.sample[t]).astype(np.int32)
        return k, self.fs.x[t, k].astype(np.float64) @ self.w

    def window_of(self, t):
        return f"w{(t - CFG.windows.initial) // CFG.windows.step:03d}"


def lstm_run(panel, cfg=CFG, **kw):
    return run_replay(panel, LSTMDecisionMaker(cfg.decision_config(), **COSTS), cfg,
                      predictor=FeaturePredictor(panel, cfg), **kw)  # fmt: skip


def perturb(panel, t, fields, seed=9):
    rng = np.random.default_rng(seed)
    out = {}
    for name in fields:
        a = getattr(panel, name).copy()
        sl = (slice(None), slice(t, None)) if a.ndim == 3 else slice(t, None)
        if a.dtype == bool:
            a[sl] = rng.random(a[sl].shape) < 0.5
        elif a.dtype.kind in "iu":
            a[sl] = rng.integers(0, 3, a[sl].shape)
        else:
            a[sl] = a[sl] * rng.uniform(0.5, 1.5, a[sl].shape)
        out[name] = a
    return dataclasses.replace(panel, **out)


def rec_bytes(a):
    """Bytes of a record array field by field (fill_dt is aligned: its padding is undefined)."""
    return b"".join(np.ascontiguousarray(a[n]).tobytes() for n in a.dtype.names)


def orders_upto(res, t):
    return res.orders[res.orders["day"] <= t].tobytes()


@pytest.mark.parametrize("t", [15, 23, 40])
@pytest.mark.parametrize("info_set", ["strict", "recorded"])
def test_prices_at_or_after_the_open_cannot_change_the_decisions(t, info_set):
    cfg = load_config(overrides={"windows.initial": 15, "decision.max_positions": 8,
                                 "features.info_set": info_set})  # fmt: skip
    base = lstm_run(PANEL, cfg)
    moved = lstm_run(perturb(PANEL, t, ("open", "close")), cfg)
    assert orders_upto(base, t) == orders_upto(moved, t)
    assert orders_upto(base, t + 1) != orders_upto(moved, t + 1)  # the test has teeth


@pytest.mark.parametrize("t", [16, 30])
def test_strict_agent_fields_of_episode_t_cannot_change_the_decisions(t):
    base = lstm_run(PANEL)
    moved = lstm_run(perturb(PANEL, t, EPISODE_FIELDS + ("open", "close")))
    assert orders_upto(base, t) == orders_upto(moved, t)
    rand = RandomDecisionMaker(CFG.decision_config(), seed=1, **COSTS)
    a = run_replay(PANEL, rand, CFG)
    b = run_replay(perturb(PANEL, t, EPISODE_FIELDS + ("open", "close")), rand, CFG)
    assert orders_upto(a, t) == orders_upto(b, t)


def test_strict_risk_fraction_is_the_previous_episodes():
    strict, rec = risk_fractions(PANEL, 20, STRICT), risk_fractions(PANEL, 20, RECORDED)
    np.testing.assert_array_equal(strict, risk_fractions(PANEL, 19, RECORDED))
    assert not np.array_equal(strict, rec, equal_nan=True)
    frac = PANEL.risk_limit[19] / PANEL.risk_base[19]
    np.testing.assert_array_equal(strict, np.where(PANEL.on_risk[19], frac, np.nan))
    assert np.isnan(risk_fractions(PANEL, 0, STRICT)).all()


def test_reruns_are_identical_and_seeds_matter():
    a, b = lstm_run(PANEL), lstm_run(PANEL)
    assert (
        rec_bytes(a.fills) == rec_bytes(b.fills) and a.marks.nav.tobytes() == b.marks.nav.tobytes()
    )
    r1 = run_replay(PANEL, RandomDecisionMaker(CFG.decision_config(), 1, **COSTS), CFG)
    r1b = run_replay(PANEL, RandomDecisionMaker(CFG.decision_config(), 1, **COSTS), CFG)
    r2 = run_replay(PANEL, RandomDecisionMaker(CFG.decision_config(), 2, **COSTS), CFG)
    assert rec_bytes(r1.fills) == rec_bytes(r1b.fills) != rec_bytes(r2.fills)


def test_cap_risk_limit_and_cash_rules_hold_on_every_fill():
    for res in (
        lstm_run(PANEL),
        run_replay(PANEL, RandomDecisionMaker(CFG.decision_config(), 5, **COSTS), CFG),
    ):
        assert (res.n_long + res.n_short).max() <= CFG.decision_config().max_positions
        assert (res.n_long + res.n_short).max() > 0
        check_fills(PANEL, res, CFG)


def check_fills(panel, res, cfg):
    """Every stock opening within the risk limit at close(t−1); no buy leaves cash negative."""
    prev = np.concatenate([[res.initial_nav], res.marks.nav[:-1]])
    nav_prev = dict(zip(res.days.tolist(), prev, strict=True))
    f = res.fills
    opening = np.isin(f["action"], (BUY, SHORT)) & ~panel.is_bond[f["k"]] & (f["qty"] > 0)
    assert set(f["reason"][opening].tolist()) <= {R_DECISION, R_CASH_LIMITED}
    for row in f[opening]:
        t, k = int(row["day"]), int(row["k"])
        limit = risk_fractions(panel, t, InfoSet.resolve(cfg.features.info_set))[k] * nav_prev[t]
        assert row["qty"] * panel.close[t - 1, k] <= limit * (1 + 1e-12)
    buys = f[(f["action"] == BUY) & (f["qty"] > 0)]
    assert (buys["cash_after"] >= 0).all()
    assert (f["long_after"] >= 0).all() and (f["short_after"] >= 0).all()


def test_flat_stays_in_cash():
    res = run_replay(PANEL, FlatDecisionMaker(), CFG)
    assert len(res.fills) == 0 and (res.marks.nav == CFG.replay.initial_cash).all()
    assert (res.marks.daily_return == 0).all() and res.days[0] == CFG.windows.initial
    assert len(res.days) == PANEL.n_days - CFG.windows.initial


def test_bond_sleeve_mirror_holds_bonds_and_none_does_not():
    bonds = np.flatnonzero(PANEL.is_bond)
    res = run_replay(PANEL, RandomDecisionMaker(CFG.decision_config(), 1, **COSTS), CFG)
    assert np.isin(res.fills["k"], bonds).any()
    cfg = load_config(overrides={"windows.initial": 15, "decision.max_positions": 8,
                                 "replay.bond_sleeve": "none"})  # fmt: skip
    res = run_replay(PANEL, RandomDecisionMaker(cfg.decision_config(), 1, **COSTS), cfg)
    assert not np.isin(res.fills["k"], bonds).any()


def test_universe_exits_are_synced_and_stale_closes_counted():
    res = run_replay(PANEL, RandomDecisionMaker(CFG.decision_config(), 1, **COSTS), CFG)
    assert res.sync.n_closes > 0 and res.sync.n_stale > 0
    assert res.sync.n_closes == res.sync.n_universe + res.sync.n_mirror
    assert np.isfinite(res.marks.nav).all() and len(res.stale) == res.sync.n_stale


def test_a_day_without_a_model_is_skipped_and_counted():
    inner = FeaturePredictor(PANEL, CFG)

    def pred(t):
        if t in (20, 21):
            raise RegistryError("w000", "no eligible model")
        return inner(t)

    res = run_replay(PANEL, LSTMDecisionMaker(CFG.decision_config(), **COSTS), CFG, predictor=pred)
    assert res.skipped == {"no_model": 2}
    o = res.orders[np.isin(res.orders["day"], (20, 21))]
    stock_decisions = (o["reason"] == R_DECISION) & ~PANEL.is_bond[o["k"]]
    assert not stock_decisions.any()  # positions held; only sync and the bond sleeve trade
    later = res.orders[res.orders["day"] > 21]
    assert ((later["reason"] == R_DECISION) & ~PANEL.is_bond[later["k"]]).any()


def test_model_swaps_are_logged_once_per_window():
    with structlog.testing.capture_logs() as logs:
        res = lstm_run(PANEL)
    swaps = [e for e in logs if e["event"] == "model_swapped"]
    assert [e["window"] for e in swaps] == ["w000", "w001", "w002", "w003"]
    assert res.model_swaps == 3 and list(dict.fromkeys(res.window)) == [
        "w000",
        "w001",
        "w002",
        "w003",
    ]


def test_config_errors():
    over = {"decision.max_positions": 30, "replay.max_positions": 10}
    with pytest.raises(ConfigError, match=r"decision.max_positions: exceeds the books' cap"):
        load_config(overrides=over)  # refused at load, before any work
    with pytest.raises(ConfigError, match="exceeds the books' cap"):  # replace checks it too
        replay, decision = CFG.replay, CFG.decision
        dataclasses.replace(CFG, replay=dataclasses.replace(replay, max_positions=10),
                            decision=dataclasses.replace(decision, max_positions=30))  # fmt: skip
    with pytest.raises(ConfigError, match="needs a predictor"):
        run_replay(PANEL, LSTMDecisionMaker(CFG.decision_config(), **COSTS), CFG)
    with pytest.raises(ConfigError, match="first_day out of range"):
        run_replay(PANEL, FlatDecisionMaker(), CFG, first_day=PANEL.n_days)


def test_ic_and_hits_are_recorded_for_model_predictions():
    res = lstm_run(PANEL)
    assert (res.n_pred > 0).all() and np.isfinite(res.ic[:-1]).mean() > 0.9
    assert np.isnan(res.ic[-1])  # the last day's open(t+1) is unknown
    assert (res.hits <= res.n_pred).all() and res.hits.sum() > 0
