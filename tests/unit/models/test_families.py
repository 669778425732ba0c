"""The model-family seam: config, targets, and per family (lstm, ridge, gbm, embed-gbm)
determinism, no look-ahead after retraining, the manager's guard and saved predictions."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from models.config import ModelConfig
from models.families import get_family, load_predictor, model_section
from models.families.ridge import ridge_fit
from models.families.tabular import row_names, rows
from models.lstm import load_checkpoint
from models.manager import WalkForwardModelManager
from models.pretrain import pretrain
from models.registry import REGISTRY_FILE, Registry
from models.targets import fit_target
from simulator.config import load_config
from simulator.core.errors import ConfigError, LookaheadError, RegistryError
from simulator.loop import run_replay
from simulator.strategies import make_strategy, model_predictor
from tests.unit.models.panel_factory import make_panel
from tests.unit.simulator.test_loop import perturb

FAMS = ("lstm", "ridge", "gbm", "embed-gbm", "factor")
SMALL = {
    "windows.initial": 40, "windows.step": 15, "model.hidden": 4, "model.layers": 1,
    "model.embed_dim": 2, "train.max_epochs": 1, "train.warm_epochs": 1,
    "train.max_samples_per_epoch": 128, "features.seq_len": 5, "decision.max_positions": 8,
    "model.gbm.n_estimators": 30, "model.gbm.min_data_in_leaf": 20, "model.gbm.num_threads": 1,
    "model.ridge.lags": 2, "model.embed_gbm.embedding_size": 3,
}  # fmt: skip
PANEL = make_panel(n_days=70, n_stocks=30, seed=2)  # w000 serves 40..54, w001 55..69
# what happens at or after the open of day p (prices of p, episode p's agent outputs); the eligible
# screen of p is known before its open and moves day p's prediction points, so it stays
FIELDS = ("open", "close", "confidence", "risk_limit", "signal", "on_risk")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def cfg_of(family, **extra):
    return load_config(overrides={**SMALL, "model.family": family, **extra})


def digests(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "metadata.json" and not p.name.startswith(".")  # .lock
    }


@pytest.fixture(scope="module", params=FAMS)
def trained(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    pretrain(PANEL, root, cfg_of(request.param))
    return request.param, root


# --- config ---------------------------------------------------------------------------------


def test_family_and_target_are_checked_at_load():
    with pytest.raises(ConfigError, match="family='svm'"):
        load_config(overrides={"model.family": "svm"})
    with pytest.raises(ConfigError, match="target='zscore'"):
        load_config(overrides={"model.target": "zscore"})
    with pytest.raises(ConfigError, match=r"model\.gbm\.num_leafs: unknown key"):
        load_config(overrides={"model.gbm.num_leafs": 3})


def test_model_section_of_plain_lstm_is_the_pre_family_shape():
    assert model_section(ModelConfig()) == {
        "hidden": 128, "layers": 2, "dropout": 0.2, "embed_dim": 16, "attention": False,
    }  # fmt: skip
    ridge = model_section(ModelConfig(family="ridge"))
    assert ridge == {"family": "ridge", "target": "raw", "ridge": {"alpha": 1.0, "lags": 1}}
    assert model_section(ModelConfig(target="rank"))["lstm"]["hidden"] == 128


# --- targets (hand-computed) ----------------------------------------------------------------


def test_demeaned_target_subtracts_the_days_mean_over_its_sample_points():
    y = np.array([[0.01, 0.03, -0.01, 0.50], [0.02, np.nan, 0.04, 0.00]], dtype=np.float32)
    s = np.array([[True, True, True, False], [True, True, True, True]])
    got = fit_target(y, s, "demeaned")
    # day 0: mean of 0.01, 0.03, -0.01 = 0.01 (0.50 is not a sample point); day 1: mean 0.02
    want = [[0.0, 0.02, -0.02, np.nan], [0.0, np.nan, 0.02, -0.02]]
    np.testing.assert_allclose(got, want, atol=1e-7)


def test_rank_target_is_the_average_rank_in_minus_half_half():
    y = np.array([[0.05, -0.02, 0.05, 0.01, 9.0], [0.3, np.nan, np.nan, np.nan, np.nan]])
    s = np.array([[True, True, True, True, False], [True, True, True, True, True]])
    got = fit_target(y.astype(np.float32), s, "rank")
    # day 0 ranks: -0.02 -> 1, 0.01 -> 2, the two 0.05 tie at 3.5; (r - 1) / 3 - 0.5 (9.0: no point)
    want = [[1 / 3, -0.5, 1 / 3, -1 / 6, np.nan], [0.0, np.nan, np.nan, np.nan, np.nan]]
    np.testing.assert_allclose(got, want, atol=1e-7)
    assert fit_target(y, s, "raw") is y


def test_a_days_target_reads_only_that_days_returns():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(6, 8)).astype(np.float32)
    s = rng.random((6, 8)) > 0.3
    for kind in ("demeaned", "rank"):
        a = fit_target(y, s, kind)
        y2 = y.copy()
        y2[4:] *= 3.0
        b = fit_target(y2, s, kind)
        np.testing.assert_array_equal(a[:4], b[:4])


def test_target_changes_what_the_model_fits(tmp_path):
    a = pretrain(PANEL, tmp_path / "raw", cfg_of("ridge"))
    b = pretrain(PANEL, tmp_path / "rank", cfg_of("ridge", **{"model.target": "rank"}))
    assert a.entries[0].weights_hash != b.entries[0].weights_hash
    assert a.entries[0].config_hash != b.entries[0].config_hash
    info = json.loads((tmp_path / "rank" / REGISTRY_FILE).read_text())
    assert info["model"]["family"] == "ridge" and info["model"]["target"] == "rank"


# --- ridge and rows ---------------------------------------------------------------------------


def test_ridge_without_penalty_recovers_an_exact_linear_map():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    y = 0.5 + x @ np.array([2.0, -0.3, 7.0])
    mean, std, coef, icpt = ridge_fit(x, y, 0.0)
    np.testing.assert_allclose(coef / std, [2.0, -0.3, 7.0], rtol=1e-9)
    np.testing.assert_allclose(icpt - (mean / std) @ coef, 0.5, rtol=1e-9)
    _, _, shrunk, _ = ridge_fit(x, y, 1e4)
    assert np.linalg.norm(shrunk) < np.linalg.norm(coef)


def test_rows_put_day_t_first_then_older_steps_and_their_flags():
    from models.features import build_features

    fs = build_features(PANEL, load_config().features)
    k = np.flatnonzero(fs.sample[30])[:3]
    t = np.full(len(k), 30)
    r = rows(fs, t, k, 3)
    f = len(fs.names)
    assert r.shape == (3, 3 * f + 2) and len(row_names(fs.names, 3)) == r.shape[1]
    np.testing.assert_array_equal(r[:, :f], fs.x[30, k])
    np.testing.assert_array_equal(r[:, f : 2 * f], fs.x[29, k] * fs.has_data[29, k][:, None])
    np.testing.assert_array_equal(r[:, -2], fs.has_data[29, k])


# --- per family ------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMS)
def test_same_seed_gives_identical_artifacts(family, tmp_path):
    cfg = cfg_of(family)
    pretrain(PANEL, tmp_path / "a", cfg)
    pretrain(PANEL, tmp_path / "b", cfg)
    a, b = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert a == b and len(a) == 6  # registry.json, verified.json (the stamp), w000/ files
    other = dataclasses.replace(cfg, seed=7)
    pretrain(PANEL, tmp_path / "c", other)
    seedless = family in ("ridge", "factor")  # closed form; nothing fitted
    assert seedless or digests(tmp_path / "c")["w000/model.pt"] != a["w000/model.pt"]


def test_gbm_with_two_threads_is_deterministic(tmp_path):
    cfg = cfg_of("gbm", **{"model.gbm.num_threads": 2})
    pretrain(PANEL, tmp_path / "a", cfg)
    pretrain(PANEL, tmp_path / "b", cfg)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def _preds(root, window):
    import pandas as pd

    return pd.read_parquet(root / window / "predictions.parquet")


def assert_saved_equals_live(root, base):
    """Replay config ``base`` serves ``root`` the same points under ``replay.predictions`` saved
    and live, and the same predictions up to the batch's float rounding (days 40..69)."""
    got = {}
    for mode in ("saved", "live"):
        cfg = dataclasses.replace(base, replay=dataclasses.replace(base.replay, predictions=mode))
        pred = model_predictor(PANEL, root, cfg)
        got[mode] = [pred(t) for t in range(40, 70)]
    for (ks, ps), (kl, pl) in zip(got["saved"], got["live"], strict=True):
        np.testing.assert_array_equal(ks, kl)
        np.testing.assert_allclose(ps, pl, rtol=1e-5, atol=1e-7)


def assert_unmoved_until(root, moved, p):
    """Registries ``root`` and ``moved`` (retrained on a store changed from the open of day p
    on): both windows' weights and label ends are the same, their predictions of days <= p are
    the same, and w001's later predictions differ (the perturbation does reach day p)."""
    old_reg, new_reg = Registry.load(root), Registry.load(moved)
    for w in ("w000", "w001"):
        a, b = old_reg.entry(w), new_reg.entry(w)
        assert a.weights_hash == b.weights_hash and a.label_end_max == b.label_end_max < 55
        old, new = _preds(root, w), _preds(moved, w)
        cols = ["t", "ticker", "pred"]
        np.testing.assert_array_equal(old[old.t <= p][cols], new[new.t <= p][cols])
    old, new = _preds(root, "w001"), _preds(moved, "w001")
    assert not np.array_equal(old[old.t > p]["pred"], new[new.t > p]["pred"])


@pytest.mark.parametrize("p", [55, 60])
def test_inputs_at_or_after_day_p_leave_earlier_models_and_predictions_unchanged(
    trained, tmp_path, p
):
    """Retrain on a store whose prices and episodes change from the open of day p on (w001
    serves 55..69): every window's weights are unchanged (the data hash in model.pt and the
    outcome column ``y`` of day p-1, open(p)/open(p-1) - 1, may move), and so are the
    predictions of the days <= p (day p's decision is made before its open)."""
    family, root = trained
    moved = perturb(PANEL, p, FIELDS)
    pretrain(moved, tmp_path, cfg_of(family))
    assert_unmoved_until(root, tmp_path, p)
    old_reg, new_reg = Registry.load(root), Registry.load(tmp_path)
    for w in ("w000", "w001"):
        a, b = old_reg.entry(w), new_reg.entry(w)
        drop = ("oos",)  # scored on the serve days; validation metrics must not move
        assert {k: v for k, v in a.metrics.items() if k not in drop} == {
            k: v for k, v in b.metrics.items() if k not in drop
        }


def test_every_checkpoint_loads_to_its_family_predictor(trained):
    family, root = trained
    ckpt = load_checkpoint(root / "w000" / "model.pt")
    assert ckpt.get("family", "lstm") == family
    assert type(load_predictor(ckpt)) is type(get_family(family).load(ckpt))
    meta = json.loads((root / "w000" / "metadata.json").read_text())
    assert meta["family"] == family


def test_manager_guard_rejects_a_model_whose_labels_reach_the_day(trained, tmp_path):
    family, root = trained
    copy = shutil.copytree(root, tmp_path / "m")
    reg = Registry.load(copy)
    e = reg.entry("w001")
    reg.replace(dataclasses.replace(e, label_end_max=e.serve[0]))  # `<` vs `<=` at the boundary
    reg.save()
    man = WalkForwardModelManager(copy)
    with pytest.raises(LookaheadError, match="label_end_max=55"):
        man.window_for(55)
    assert man.window_for(56).id == "w001"  # 55 < 56: allowed
    assert man.window_for(54).id == "w000"


def test_replay_serves_every_family_saved_and_live_alike(trained):
    """`replay --strategy lstm --models M` with the default model section adopts M's family
    (an lstm registry records no section: its replay config names the LSTM shape, as before)."""
    family, root = trained
    plain = {k: v for k, v in SMALL.items() if not k.startswith("model.")}
    base = cfg_of("lstm") if family == "lstm" else load_config(overrides=plain)
    out = {}
    for mode in ("saved", "live"):
        cfg = dataclasses.replace(base, replay=dataclasses.replace(base.replay, predictions=mode))
        pred = model_predictor(PANEL, root, cfg)
        if family != "lstm":
            assert pred.manager.registry.info["model"]["family"] == family
        out[mode] = [pred(t) for t in range(40, 70)]
        res = run_replay(PANEL, make_strategy("lstm", cfg), cfg, predictor=pred)
        assert len(res.orders) > 0
    for (ks, ps), (kl, pl) in zip(out["saved"], out["live"], strict=True):
        np.testing.assert_array_equal(ks, kl)
        np.testing.assert_allclose(ps, pl, rtol=1e-5, atol=1e-7)


def test_replay_config_of_another_family_is_refused(trained):
    family, root = trained
    other = "gbm" if family != "gbm" else "ridge"
    with pytest.raises(RegistryError, match="other settings"):
        model_predictor(PANEL, root, cfg_of(other))


@pytest.mark.parametrize("family", ["ridge", "gbm", "embed-gbm", "factor"])
def test_resume_after_a_lost_window_gives_the_same_registry(family, tmp_path):
    pretrain(PANEL, tmp_path / "full", cfg_of(family))
    run = tmp_path / "run"
    pretrain(PANEL, run, cfg_of(family))
    reg = Registry.load(run)  # as if killed after w000: w001 never written
    e = reg.entry("w001")
    shutil.rmtree(run / "w001")
    reg.replace(type(e).from_dict({**e.to_dict(), "status": "planned", "files": {}}))
    reg.save()
    assert pretrain(PANEL, run, cfg_of(family)).trained == ("w001",)
    assert digests(run) == digests(tmp_path / "full")


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.parametrize("family", ["ridge", "gbm", "embed-gbm", "factor"])
def test_ray_backend_gives_the_local_artifacts(family, tmp_path, local_ray):
    pretrain(PANEL, tmp_path / "local", cfg_of(family))
    res = pretrain(PANEL, tmp_path / "ray", cfg_of(family), backend="ray", workers=2)
    assert res.trained == ("w000", "w001")
    assert digests(tmp_path / "ray") == digests(tmp_path / "local")


def test_a_store_with_other_dates_at_the_registry_s_days_is_refused(tmp_path):
    """The guard compares day indices: a registry pretrained on a store that started 10 days
    later served the full store's day 40 with a model trained on labels past it (look-ahead audit).
    Now every serving path refuses it; a store that only grew at the end still serves."""
    from episodes.panel import slice_panel
    from models.serve import served_predictions

    cfg = cfg_of("ridge")
    pretrain(slice_panel(PANEL, range(10, 70)), tmp_path / "late", cfg)
    for mode in ("saved", "live"):
        c = dataclasses.replace(cfg, replay=dataclasses.replace(cfg.replay, predictions=mode))
        with pytest.raises(LookaheadError, match="other dates in this store .*day=1, "):
            model_predictor(PANEL, tmp_path / "late", c)
    with pytest.raises(LookaheadError, match="other dates in this store"):
        served_predictions(PANEL, tmp_path / "late", cfg.pretrain_config(), "consensus")
    pretrain(slice_panel(PANEL, range(0, 62)), tmp_path / "early", cfg)  # the store grew after
    pred = model_predictor(PANEL, tmp_path / "early", cfg)
    assert pred.window_of(61) == "w001" and pred.window_of(62) == ""
    assert len(pred(61)[0]) > 0


def test_models_of_a_family_another_strategy_serves_are_refused(tmp_path):
    """``replay --strategy lstm-portfolio`` traded a return model's predictions as weights."""
    from simulator.strategies import replay_strategy

    cfg = cfg_of("ridge")
    pretrain(PANEL, tmp_path / "m", cfg)
    with pytest.raises(ConfigError, match="another strategy serves .*family=ridge.*expected lstm"):
        replay_strategy("lstm-portfolio", PANEL, cfg, tmp_path / "m")
    assert len(replay_strategy("lstm", PANEL, cfg, tmp_path / "m").orders) > 0
