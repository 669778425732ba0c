"""Seed ensembles (models.ensemble) and the serving universe (replay.universe) on real registries
of a tiny LSTM pretrained on a stub panel."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import structlog
import torch

from agents.lstm import LSTMDecisionMaker
from models.ensemble import EnsemblePredictor
from models.infoset import STRICT
from models.pretrain import pretrain
from models.serve import served_predictions
from simulator.config import load_config
from simulator.core.errors import RegistryError
from simulator.kernels.records import BUY, SHORT
from simulator.loop import consensus_tickers, run_replay
from simulator.strategies import model_predictor
from tests.property.test_no_lookahead_teeth import perturb_future
from tests.stub_panel import make_panel
from tests.unit.simulator.test_loop import EPISODE_FIELDS, orders_upto, perturb, rec_bytes

PANEL = make_panel(n_days=50, n_stocks=30, seed=3)
CFG = load_config(
    overrides={
        "windows.initial": 20, "windows.step": 15, "features.seq_len": 5, "model.hidden": 4,
        "model.layers": 1, "model.embed_dim": 2, "model.dropout": 0.0, "train.max_epochs": 1,
        "train.warm_epochs": 1, "train.max_samples_per_epoch": 256, "train.max_val_samples": 128,
        "decision.max_positions": 8, "replay.predictions": "live",
    }
)  # fmt: skip


def cfg_with(**replay):
    return dataclasses.replace(CFG, replay=dataclasses.replace(CFG.replay, **replay))


@pytest.fixture(scope="module")
def registries(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("ens")
    out = []
    for seed in (1, 2):
        pretrain(PANEL, root / f"m{seed}", dataclasses.replace(CFG, seed=seed).pretrain_config())
        out.append(root / f"m{seed}")
    return out


def run(panel, cfg, models):
    maker = LSTMDecisionMaker(cfg.decision_config(), fee_rate=cfg.replay.fee_rate,
                              margin_rate=cfg.replay.margin_rate)  # fmt: skip
    return run_replay(panel, maker, cfg, predictor=model_predictor(panel, models, cfg))


def test_ensemble_of_one_is_the_registry_byte_for_byte(registries):
    one, ens = run(PANEL, CFG, registries[0]), run(PANEL, CFG, registries[:1])
    assert rec_bytes(one.fills) == rec_bytes(ens.fills) and len(one.fills)
    assert one.orders.tobytes() == ens.orders.tobytes()
    assert one.marks.nav.tobytes() == ens.marks.nav.tobytes()


def test_ensemble_of_two_is_the_mean_day_by_day(registries):
    a, b = (model_predictor(PANEL, m, CFG) for m in registries)
    ens = model_predictor(PANEL, registries, CFG)
    assert isinstance(ens, EnsemblePredictor) and ens.describe()["n"] == 2
    differ = 0
    for t in range(CFG.windows.initial, PANEL.n_days):
        (ka, pa), (kb, pb), (ke, pe) = a(t), b(t), ens(t)
        np.testing.assert_array_equal(ka, kb)
        np.testing.assert_array_equal(ke, ka)
        np.testing.assert_array_equal(pe, (pa + pb) / 2)
        differ += not np.array_equal(pa, pb)
        assert ens.window_of(t) == a.window_of(t)
    assert differ > 20  # the seeds give other predictions: the mean is not trivially a member


def test_ensemble_members_must_serve_the_same_points(registries):
    cons = model_predictor(PANEL, registries[0], CFG)
    wide = model_predictor(PANEL, registries[1], cfg_with(universe="eligible"))
    with pytest.raises(RegistryError, match="ensemble members serve different points") as err:
        EnsemblePredictor([cons, wide], registries)(CFG.windows.initial)
    assert err.value.abort


def test_eligible_serves_the_screened_universe_and_fills_uncovered_limits(registries):
    cons, wide = (
        run(PANEL, CFG, registries[0]),
        run(PANEL, cfg_with(universe="eligible"), registries[0]),
    )
    assert wide.n_pred.sum() > 1.5 * cons.n_pred.sum()
    # openings on tickers the risk manager of episode t-1 did not cover (median limit rule)
    o = wide.orders[np.isin(wide.orders["action"], (BUY, SHORT))]
    o = o[~PANEL.is_bond[o["k"]]]  # the bond sleeve's buys are no openings of the strategy
    covered = consensus_tickers(PANEL, STRICT)[o["day"], o["k"]]
    assert (~covered).sum() > 0 and covered.sum() > 0


def test_eligible_saved_mode_serves_live_with_a_warning(registries):
    with structlog.testing.capture_logs() as logs:
        p = model_predictor(
            PANEL, registries[0], cfg_with(universe="eligible", predictions="saved")
        )
    assert p.mode == "live"
    assert [e for e in logs if e["event"] == "predictions_live_universe"]


@pytest.mark.parametrize("t", [25, 38])
def test_eligible_run_does_not_look_ahead(registries, t):
    """Closes and every agent/after-book field of episode t (and later) move; the orders of days
    <= t stay. No retraining is needed: every window serving a day <= t was trained on days
    before its first serve day <= t, so the perturbation cannot reach its training data."""
    cfg = cfg_with(universe="eligible")
    base = run(PANEL, cfg, registries[0])
    moved = run(perturb(PANEL, t, EPISODE_FIELDS + ("open", "close")), cfg, registries[0])
    assert orders_upto(base, t) == orders_upto(moved, t)
    assert orders_upto(base, t + 1) != orders_upto(moved, t + 1)  # the test has teeth


@pytest.mark.parametrize("t", [25, 38])
def test_eligible_points_and_orders_ignore_a_future_with_prices_and_tickers_removed(registries, t):
    """``perturb_future`` also removes closes of day t and later prices, and drops tickers from
    the universe after t: the served points of every day <= t (day t itself included) and the
    orders of days <= t stay; both change later."""
    cfg = cfg_with(universe="eligible")
    moved_panel = perturb_future(PANEL, t, "strict", seed=t)
    a, b = (
        model_predictor(PANEL, registries[0], cfg),
        model_predictor(moved_panel, registries[0], cfg),
    )
    served = [(a(d)[0], b(d)[0]) for d in range(CFG.windows.initial, PANEL.n_days)]
    for d, (ka, kb) in enumerate(served, start=CFG.windows.initial):
        if d <= t:
            np.testing.assert_array_equal(ka, kb, err_msg=f"day {d}")
    assert any(not np.array_equal(ka, kb) for ka, kb in served[t + 1 - CFG.windows.initial :])
    base, moved = run(PANEL, cfg, registries[0]), run(moved_panel, cfg, registries[0])
    assert orders_upto(base, t) == orders_upto(moved, t)
    assert orders_upto(base, t + 2) != orders_upto(moved, t + 2)  # teeth


@pytest.mark.parametrize("universe", ["consensus", "eligible"])
def test_served_predictions_are_what_the_replay_is_given_with_the_raw_return(registries, universe):
    """``models.serve.served_predictions`` (the study's IC under ``eligible``): day by day the
    points and predictions a replay's predictor returns, and y = open(t+1)/open(t) - 1."""
    cfg = cfg_with(universe=universe)
    got = served_predictions(PANEL, registries[0], cfg.pretrain_config(), universe)
    live = model_predictor(PANEL, registries[0], cfg)
    days = range(CFG.windows.initial, PANEL.n_days)
    assert np.array_equal(np.unique(got["t"]), np.array(days))
    for t in days:
        at = got["t"] == t
        k, pred = live(t)
        np.testing.assert_array_equal(got["k"][at], k)
        np.testing.assert_array_equal(got["pred"][at], pred)
    k, t = got["k"], got["t"]
    nxt = np.minimum(t + 1, PANEL.n_days - 1)
    y = np.where(t + 1 < PANEL.n_days, PANEL.open[nxt, k] / PANEL.open[t, k] - 1.0, np.nan)
    np.testing.assert_allclose(got["y"], y.astype(np.float32), rtol=1e-6, equal_nan=True)
    assert np.isfinite(got["y"]).mean() > 0.9


def test_served_predictions_on_eligible_extend_the_registrys_consensus_points(registries):
    """Under ``consensus`` the served points are the registry's saved ones (same predictions up
    to the batch's float rounding); under ``eligible`` a superset, the consensus points' values
    unchanged (each sequence is computed on its own)."""
    pc = CFG.pretrain_config()
    cons = served_predictions(PANEL, registries[0], pc, "consensus")
    wide = served_predictions(PANEL, registries[0], pc, "eligible")
    saved = pd.concat(
        [pd.read_parquet(p) for p in sorted(registries[0].glob("w*/predictions.parquet"))]
    )
    pos = {name: k for k, name in enumerate(PANEL.tickers)}
    assert list(zip(cons["t"], cons["k"], strict=True)) == list(
        zip(saved["t"], [pos[n] for n in saved["ticker"]], strict=True)
    )
    np.testing.assert_allclose(cons["pred"], saved["pred"], rtol=1e-5, atol=1e-7)
    key = {(t, k): p for t, k, p in zip(wide["t"], wide["k"], wide["pred"], strict=True)}
    assert len(key) > 1.5 * len(cons["t"])
    np.testing.assert_allclose(
        [key[(t, k)] for t, k in zip(cons["t"], cons["k"], strict=True)], cons["pred"], rtol=1e-5
    )


def test_served_predictions_of_a_registry_with_no_done_window_is_a_registry_error(
    registries, tmp_path
):
    reg = json.loads((registries[0] / "registry.json").read_text(encoding="utf-8"))
    for w in reg["windows"]:
        w["status"] = "planned"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "registry.json").write_text(json.dumps(reg), encoding="utf-8")
    with pytest.raises(RegistryError, match="no done window serves a day"):
        served_predictions(PANEL, tmp_path / "m", CFG.pretrain_config(), "eligible")
