"""``model.train_points: universe`` (lstm, ridge, gbm, embed-gbm learn from every ticker priced
before the open, and still predict the served points): config and hash, the fit view, no
look-ahead after retraining, determinism, saved = live. Its synthetic defence (the transfer bed)
is in ``test_transfer.py``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models.config import ModelConfig
from models.families import fit_view, model_section
from models.features import build_features
from models.pretrain import pretrain
from models.registry import Registry
from simulator.config import config_hash, load_config
from simulator.core.errors import ConfigError
from tests.unit.models.test_families import (
    FIELDS,
    PANEL,
    _preds,
    assert_saved_equals_live,
    assert_unmoved_until,
    cfg_of,
    digests,
)
from tests.unit.simulator.test_loop import perturb

WIDE = {"model.train_points": "universe"}
FAMS = ("lstm", "ridge", "gbm", "embed-gbm")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module", params=FAMS)
def trained(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    pretrain(PANEL, root / "wide", cfg_of(request.param, **WIDE))
    pretrain(PANEL, root / "narrow", cfg_of(request.param))
    return request.param, root / "wide", root / "narrow"


def test_train_points_is_checked_and_names_its_key():
    with pytest.raises(ConfigError, match=r"model.*train_points='all'"):
        load_config(overrides={"model.train_points": "all"})
    with pytest.raises(ConfigError, match="does not fit family='lstm-portfolio'"):
        load_config(overrides={**WIDE, "model.family": "lstm-portfolio"})
    with pytest.raises(ConfigError, match="does not fit family='lstm-universe'"):
        load_config(overrides={**WIDE, "model.family": "lstm-universe",
                               "model.universe.train_points": "consensus"})  # fmt: skip
    load_config(overrides={**WIDE, "model.family": "lstm-universe"})  # agrees with its own key


def test_hashed_once_set_and_left_out_at_its_default():
    assert config_hash(load_config()) == config_hash(load_config(overrides={
        "model.train_points": "prediction"}))  # fmt: skip
    assert config_hash(load_config(overrides=WIDE)) != config_hash(load_config())
    plain, wide = ModelConfig(), ModelConfig(train_points="universe")
    assert set(model_section(plain)) == {"hidden", "layers", "dropout", "embed_dim", "attention"}
    assert model_section(wide)["train_points"] == "universe" and "family" in model_section(wide)
    for fam in ("ridge", "gbm", "embed-gbm"):
        assert "train_points" not in model_section(ModelConfig(family=fam))
        assert model_section(ModelConfig(family=fam, train_points="universe"))["train_points"]
    u = model_section(ModelConfig(family="lstm-universe", train_points="universe"))
    assert u == model_section(ModelConfig(family="lstm-universe"))  # its own key decides


def test_the_fit_view_learns_from_every_priced_point_with_its_days_target():
    cfg = cfg_of("ridge", **WIDE, **{"model.target": "demeaned"}).pretrain_config()
    fs = build_features(PANEL, cfg.features)
    view = fit_view(fs, cfg.model)
    assert view.sample is fs.has_data and fs.has_data.sum() > 1.5 * fs.sample.sum()
    ok = view.sample & np.isfinite(fs.y)
    assert np.isfinite(view.y[ok]).all() and np.isnan(view.y[~ok]).all()
    days = np.flatnonzero(ok.sum(axis=1) > 1)
    means = [view.y[t][ok[t]].astype(np.float64).mean() for t in days]
    np.testing.assert_allclose(means, 0.0, atol=1e-6)
    narrow = fit_view(fs, dataclasses.replace(cfg.model, train_points="prediction"))
    assert narrow.sample is fs.sample


def test_the_wide_model_trains_on_more_points_and_predicts_the_same_points(trained):
    family, wide, narrow = trained
    w, n = Registry.load(wide).entry("w000"), Registry.load(narrow).entry("w000")
    assert w.metrics["n_train"] > 1.5 * n.metrics["n_train"]
    a, b = _preds(wide, "w000"), _preds(narrow, "w000")
    assert a[["t", "ticker"]].equals(b[["t", "ticker"]])  # served points: the prediction points
    assert not np.array_equal(a["pred"], b["pred"])


def test_same_seed_gives_identical_artifacts(trained, tmp_path):
    family, wide, _ = trained
    pretrain(PANEL, tmp_path, cfg_of(family, **WIDE))
    assert digests(tmp_path) == digests(wide)


@pytest.mark.parametrize("p", [55, 60])
def test_inputs_at_or_after_day_p_leave_earlier_models_and_predictions_unchanged(
    trained, tmp_path, p
):
    """As ``test_families``' test, with the universe's points: the extra training points (every
    ticker priced before the open) bring no day-p information into a window."""
    family, wide, _ = trained
    pretrain(perturb(PANEL, p, FIELDS), tmp_path, cfg_of(family, **WIDE))
    assert_unmoved_until(wide, tmp_path, p)


def test_saved_and_live_serve_alike(trained):
    family, wide, _ = trained
    assert_saved_equals_live(wide, cfg_of(family, **WIDE))
