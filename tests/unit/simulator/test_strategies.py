"""Strategy wiring: the model predictor over a tiny registry, factories, export tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.pretrain import pretrain
from simulator.config import load_config
from simulator.core.errors import ConfigError, RegistryError
from simulator.loop import run_replay
from simulator.strategies import (
    STRATEGY_NAMES,
    make_strategy,
    model_predictor,
    replay_strategy,
    run_extra,
    run_output,
    windows_table,
)
from tests.stub_panel import make_panel
from tests.unit.simulator.test_loop import orders_upto, perturb

TINY = {
    "windows.initial": 40, "windows.step": 15, "model.hidden": 4, "model.layers": 1,
    "model.embed_dim": 2, "train.max_epochs": 1, "train.warm_epochs": 1,
    "train.max_samples_per_epoch": 128, "features.seq_len": 5, "decision.max_positions": 8,
}  # fmt: skip
CFG = load_config(overrides=TINY)
LIVE = load_config(overrides=TINY | {"replay.predictions": "live"})  # saved: test_saved_predictions
PANEL = make_panel(n_days=70, n_stocks=30, seed=2)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    path = tmp_path_factory.mktemp("models")
    pretrain(PANEL, path, CFG)
    return path


def test_predictor_serves_the_managers_per_day_predictions(models):
    pred = model_predictor(PANEL, models, LIVE)
    k, p = pred(45)
    k2, p2 = pred.manager.predict(45, pred.fs, list(PANEL.tickers))
    assert k.dtype == np.int32 and p.dtype == np.float64
    np.testing.assert_array_equal(k, k2)
    np.testing.assert_array_equal(p, p2.astype(np.float64))
    np.testing.assert_array_equal(k, np.flatnonzero(pred.fs.sample[45]))
    assert (pred.window_of(45), pred.window_of(60), pred.window_of(10)) == ("w000", "w001", "")


def test_predictor_refuses_models_pretrained_with_other_settings(models):
    other = load_config(overrides=TINY | {"model.hidden": 5})
    with pytest.raises(RegistryError, match="pretrained with other settings"):
        model_predictor(PANEL, models, other)
    model_predictor(PANEL, models, dataclasses.replace(CFG, seed=7))  # the replay seed may differ


def test_lstm_replay_with_models(models):
    res = replay_strategy("lstm", PANEL, CFG, models)
    assert res.days[0] == 40 and len(res.days) == 30 and res.model_swaps == 1
    assert (res.n_pred > 0).all() and res.skipped == {}
    assert (res.n_long + res.n_short).max() <= CFG.decision_config().max_positions
    table = windows_table(res)
    assert table.column("window").to_pylist() == ["w000", "w001"]
    assert table.column("days").to_pylist() == [15, 15]
    assert table.column("predictions").to_pylist() == [int(res.n_pred[:15].sum()),
                                                      int(res.n_pred[15:].sum())]  # fmt: skip
    extra = run_extra(res, PANEL)["replay"]
    assert extra["first_day"] == 40 and extra["model_swaps"] == 1
    assert extra["predictions"] == int(res.n_pred.sum()) and extra["mean_ic"] is not None
    out = run_output(res, PANEL)
    assert out.strategy == "lstm" and len(out.dates) == len(out.marks.nav) == 30


def test_live_models_see_nothing_at_or_after_the_open(models):
    t = 50

    def replay(p):
        return run_replay(p, make_strategy("lstm", LIVE), LIVE,
                          predictor=model_predictor(p, models, LIVE))  # fmt: skip

    moved = perturb(PANEL, t, ("open", "close", "signal", "confidence", "on_risk", "risk_limit"))
    assert orders_upto(replay(PANEL), t) == orders_upto(replay(moved), t)


def test_days_no_model_serves_are_skipped_and_counted(models):
    pred = model_predictor(PANEL, models, CFG)
    res = run_replay(PANEL, make_strategy("lstm", CFG), CFG, predictor=pred, first_day=35)
    assert res.skipped == {"no_model": 5} and res.days[0] == 35


def test_strategy_factory():
    assert [make_strategy(n, CFG).name for n in STRATEGY_NAMES] == list(STRATEGY_NAMES)
    assert make_strategy("random", CFG).seed == CFG.seed
    with pytest.raises(ConfigError, match="unknown strategy"):
        make_strategy("oracle", CFG)
    with pytest.raises(ConfigError, match="needs pretrained models"):
        replay_strategy("lstm", PANEL, CFG)
    flat = replay_strategy("flat", PANEL, CFG)
    assert run_extra(flat, PANEL)["replay"]["mean_ic"] is None
    assert np.isnan(windows_table(flat).column("rank_ic").to_numpy()).all()
