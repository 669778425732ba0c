"""Family lstm-universe: config, fine-tune strategies, determinism, no look-ahead after
retraining, the manager's guard, saved = live (the pattern of test_families.py)."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch

from models.config import ModelConfig
from models.families import get_family, model_section
from models.families.lstm_universe import universe_points
from models.features import build_features
from models.finetune import finetune, layer_groups, trainable_groups
from models.lstm import load_checkpoint
from models.manager import WalkForwardModelManager
from models.pretrain import pretrain
from models.registry import Registry
from models.train import train_window
from models.windows import from_config
from simulator.config import load_config
from simulator.core.errors import ConfigError, LookaheadError
from tests.unit.models.test_families import (
    FIELDS,
    PANEL,
    assert_saved_equals_live,
    assert_unmoved_until,
    cfg_of,
    digests,
)
from tests.unit.simulator.test_loop import perturb

FT = ("none", "progressive")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def ucfg(ft="none", **extra):
    return cfg_of("lstm-universe", **{"model.universe.finetune": ft, **extra})


@pytest.fixture(scope="module", params=FT)
def trained(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    pretrain(PANEL, root, ucfg(request.param))
    return request.param, root


def test_universe_section_is_checked_and_hashed():
    with pytest.raises(ConfigError, match="finetune"):
        load_config(overrides={"model.universe.finetune": "all"})
    sec = model_section(ModelConfig(family="lstm-universe"))
    assert sec["family"] == "lstm-universe" and sec["lstm-universe"]["hidden"] == 128
    assert sec["lstm-universe"]["universe"]["finetune"] == "none"
    from models.config import UniverseConfig

    frozen = UniverseConfig(finetune="frozen")
    other = model_section(ModelConfig(family="lstm-universe", universe=frozen))
    assert other != sec


def test_the_universe_model_trains_on_every_point_with_data():
    cfg = ucfg().pretrain_config()
    fs = build_features(PANEL, cfg.features)
    w = next(iter(from_config(cfg.windows).split(PANEL.n_days)))
    tickers = [str(x) for x in PANEL.tickers]
    fit = get_family("lstm-universe").fit(w, fs, tickers, cfg, 1)
    lstm = train_window(w, fs, tickers, cfg, 1)
    n_u = int(fs.has_data[w.train.start : w.serve.start - 1].sum())
    assert fit.metrics["n_train"] > 1.5 * len(lstm.split.train_t)
    assert fit.metrics["n_train"] + fit.metrics["n_val"] <= n_u
    assert universe_points(fs).sample is fs.has_data


def test_progressive_schedule_and_groups():
    assert [trainable_groups("progressive", e, 4, 4) for e in (1, 2, 3, 4)] == [2, 3, 4, 4]
    assert [trainable_groups("progressive", e, 1, 3) for e in (1,)] == [3]
    m = get_family("lstm").load(_bundle_ckpt())
    groups = layer_groups(m.model)
    n = sum(len(g) for g in groups)
    assert n == len(list(m.model.parameters()))  # every parameter in exactly one group
    assert groups[-1] == [m.model.embed.weight]


def _bundle_ckpt():
    cfg = ucfg().pretrain_config()
    fs = build_features(PANEL, cfg.features)
    w = next(iter(from_config(cfg.windows).split(PANEL.n_days)))
    return train_window(w, fs, [str(x) for x in PANEL.tickers], cfg, 3).bundle.to_checkpoint()


@pytest.mark.parametrize("ft", ["frozen", "progressive", "discriminative"])
def test_finetune_strategies_move_what_they_should(ft):
    """frozen: LSTM and embedding unchanged, head changed; the others change the LSTM; the
    universe model itself is never modified."""
    cfg = ucfg(ft, **{"model.universe.epochs": 2}).pretrain_config()
    fs = build_features(PANEL, cfg.features)
    w = next(iter(from_config(cfg.windows).split(PANEL.n_days)))
    base = get_family("lstm").load(_bundle_ckpt())
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    res = finetune(base, w, fs, [str(x) for x in PANEL.tickers], cfg, 5)
    after = res.bundle.model.state_dict()
    assert all(torch.equal(before[k], v) for k, v in base.model.state_dict().items())
    lstm_same = all(torch.equal(before[k], after[k]) for k in before if k.startswith("lstm."))
    head_same = all(torch.equal(before[k], after[k]) for k in before if k.startswith("head."))
    if ft == "frozen":
        assert lstm_same and torch.equal(before["embed.weight"], after["embed.weight"])
        assert not head_same
    elif res.best_epoch > 0:
        assert not lstm_same


@pytest.mark.parametrize("ft", FT)
def test_same_seed_gives_identical_artifacts(ft, tmp_path):
    pretrain(PANEL, tmp_path / "a", ucfg(ft))
    pretrain(PANEL, tmp_path / "b", ucfg(ft))
    a, b = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert a == b and len(a) == 6  # registry.json, verified.json (the stamp), w000/ + w001/ files
    pretrain(PANEL, tmp_path / "c", dataclasses.replace(ucfg(ft), seed=7))
    assert digests(tmp_path / "c")["w000/model.pt"] != a["w000/model.pt"]


@pytest.mark.parametrize("p", [55, 60])
def test_inputs_at_or_after_day_p_leave_earlier_models_and_predictions_unchanged(
    trained, tmp_path, p
):
    ft, root = trained
    pretrain(perturb(PANEL, p, FIELDS), tmp_path, ucfg(ft))
    assert_unmoved_until(root, tmp_path, p)


def test_checkpoint_carries_family_and_the_universe_model(trained):
    ft, root = trained
    ckpt = load_checkpoint(root / "w001" / "model.pt")
    assert ckpt["family"] == "lstm-universe" and ckpt["finetune"] == ft
    assert ("universe" in ckpt) == (ft != "none")


def test_manager_guard_rejects_a_model_whose_labels_reach_the_day(trained, tmp_path):
    _, root = trained
    copy = shutil.copytree(root, tmp_path / "m")
    reg = Registry.load(copy)
    e = reg.entry("w001")
    reg.replace(dataclasses.replace(e, label_end_max=e.serve[0]))
    reg.save()
    man = WalkForwardModelManager(copy)
    with pytest.raises(LookaheadError, match="label_end_max=55"):
        man.window_for(55)
    assert man.window_for(56).id == "w001"


def test_saved_and_live_predictions_agree(trained):
    _, root = trained
    base = load_config(overrides={k: v for k, v in _small().items() if not k.startswith("model.")})
    assert_saved_equals_live(root, base)


def _small():
    from tests.unit.models.test_families import SMALL

    return SMALL


def test_resume_after_a_lost_window_gives_the_same_registry(tmp_path):
    pretrain(PANEL, tmp_path / "full", ucfg("progressive"))
    run = tmp_path / "run"
    pretrain(PANEL, run, ucfg("progressive"))
    reg = Registry.load(run)
    e = reg.entry("w001")
    shutil.rmtree(run / "w001")
    reg.replace(type(e).from_dict({**e.to_dict(), "status": "planned", "files": {}}))
    reg.save()
    assert pretrain(PANEL, run, ucfg("progressive")).trained == ("w001",)
    assert digests(run) == digests(tmp_path / "full")


def _fit_universe(**extra):
    cfg = ucfg(**extra).pretrain_config()
    fs = build_features(PANEL, cfg.features)
    w = next(iter(from_config(cfg.windows).split(PANEL.n_days)))
    tickers = [str(x) for x in PANEL.tickers]
    return fs, w, get_family("lstm-universe").fit(w, fs, tickers, cfg, 1), tickers


@pytest.mark.parametrize("inputs", ["price", "all"])
def test_price_inputs_make_the_model_blind_to_the_analyst_block(inputs):
    """inputs=price: changing every analyst column leaves the served predictions unchanged (the
    saved scaler maps them to 0); inputs=all: they change."""
    from models.families.lstm_universe import price_columns

    fs, w, fit, tickers = _fit_universe(**{"model.universe.inputs": inputs})
    model = get_family("lstm-universe").load(fit.checkpoint)
    t, k = np.nonzero(fs.sample[w.serve.start : w.serve.stop])
    t = t + w.serve.start
    keep = price_columns(fs.names)
    assert keep.sum() == 19 and not keep[list(fs.names).index("strength")]
    noisy = dataclasses.replace(fs, x=np.where(keep, fs.x, fs.x + 3.0).astype(np.float32))
    same = np.array_equal(model.predict(fs, t, k, tickers), model.predict(noisy, t, k, tickers))
    assert same == (inputs == "price")


def test_train_points_consensus_trains_on_the_prediction_points_only():
    fs, w, fit, tickers = _fit_universe(**{"model.universe.train_points": "consensus"})
    cfg = ucfg().pretrain_config()
    lstm = train_window(w, fs, tickers, cfg, 1)
    assert fit.metrics["n_train"] == len(lstm.split.train_t)


def test_price_inputs_read_through_a_mask_equal_a_masked_copy(tmp_path, monkeypatch):
    """inputs=price zeroes the analyst columns as rows are read (models.mapped.ColumnMask): the
    same checkpoint as training on a zeroed copy of x, also when x is a spilled memmap."""
    import models.families.lstm_universe as lu
    from models.mapped import ColumnMask, take

    fs, w, fit, tickers = _fit_universe()
    copy = lambda fs, keep: dataclasses.replace(fs, x=fs.x * keep.astype(np.float32))  # noqa: E731
    with monkeypatch.context() as mp:
        mp.setattr(lu, "_price_only", copy)
        ref = get_family("lstm-universe").fit(w, fs, tickers, ucfg().pretrain_config(), 1)
    path = tmp_path / "x.f32"
    fs.x.tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=fs.x.shape)
    spilled = get_family("lstm-universe").fit(
        w, dataclasses.replace(fs, x=mapped), tickers, ucfg().pretrain_config(), 1
    )
    for got in (fit, spilled):
        a, b = got.checkpoint["state_dict"], ref.checkpoint["state_dict"]
        assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)
    keep = lu.price_columns(fs.names).astype(np.float32)
    t, k = np.array([5, 9, 30]), np.array([[1], [2], [0]])
    assert take(ColumnMask(mapped, keep), t, k).tobytes() == (fs.x * keep)[t, k].tobytes()
