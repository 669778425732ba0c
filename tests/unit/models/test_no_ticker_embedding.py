"""``model.embed_dim: 0``: the LSTM families without a ticker embedding (one shared model, no
per-ticker identity): accepted, trained and served by every family that builds the LSTM."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models.config import ModelConfig
from models.lstm import TickerLSTMModel
from models.pretrain import pretrain
from models.registry import Registry
from simulator.config import load_config
from simulator.core.errors import ConfigError
from simulator.strategies import model_predictor
from tests.unit.models.test_families import PANEL, SMALL, digests


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_zero_is_accepted_and_a_negative_size_names_the_key():
    assert ModelConfig(embed_dim=0).embed_dim == 0
    with pytest.raises(ConfigError, match=r"embed_dim=-1.*embed_dim >= 0"):
        load_config(overrides={"model.embed_dim": -1})


def test_without_an_embedding_the_ticker_cannot_move_a_prediction():
    model = TickerLSTMModel(6, 9, ModelConfig(hidden=8, layers=2, embed_dim=0), seed=0).eval()
    assert model.embed.weight.numel() == 0
    x = torch.randn(5, 7, 6)
    mask = torch.ones(5, 7, dtype=torch.bool)
    a = model(x, mask, torch.zeros(5, dtype=torch.int64))
    b = model(x, mask, torch.arange(5, dtype=torch.int64) + 3)
    assert torch.equal(a, b)
    with_embed = TickerLSTMModel(6, 9, ModelConfig(hidden=8, layers=2, embed_dim=2), seed=0).eval()
    a = with_embed(x, mask, torch.zeros(5, dtype=torch.int64))
    assert not torch.equal(a, with_embed(x, mask, torch.arange(5, dtype=torch.int64) + 3))


@pytest.mark.parametrize(
    "extra",
    [
        {"model.family": "lstm"},  # warm-started windows (the new vocabulary's rows: none)
        {"model.family": "lstm-universe", "model.universe.finetune": "discriminative"},
        {"model.family": "embed-gbm"},
    ],
)
def test_families_train_and_serve_without_an_embedding(extra, tmp_path):
    cfg = load_config(overrides={**SMALL, "model.embed_dim": 0, **extra})
    pretrain(PANEL, tmp_path / "a", cfg)
    pretrain(PANEL, tmp_path / "b", cfg)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")  # same seed, same bytes
    assert [e.status for e in Registry.load(tmp_path / "a").entries] == ["done", "done"]
    served = {}
    for mode in ("saved", "live"):
        c = dataclasses.replace(cfg, replay=dataclasses.replace(cfg.replay, predictions=mode))
        pred = model_predictor(PANEL, tmp_path / "a", c)
        served[mode] = [pred(t) for t in range(40, 70)]
    for (ks, ps), (kl, pl) in zip(served["saved"], served["live"], strict=True):
        np.testing.assert_array_equal(ks, kl)
        np.testing.assert_allclose(ps, pl, rtol=1e-5, atol=1e-7)
        assert np.isfinite(pl).all()
