"""Self-supervised pretraining (models/ssl.py): the unlabeled sequences end before the serve days,
both losses fall, ``none`` changes nothing, SSL runs are deterministic and blind to the future."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from models.config import ModelConfig, SSLConfig
from models.families import model_section
from models.features import FeatureSet
from models.lstm import TickerLSTMModel
from models.pretrain import pretrain
from models.registry import Registry
from models.ssl import augment, nt_xent, ssl_pretrain, ssl_samples
from models.windows import Window
from simulator.config import load_config
from simulator.core.errors import ConfigError, LookaheadError
from tests.unit.models.test_families import FIELDS, PANEL, cfg_of, digests
from tests.unit.simulator.test_loop import perturb

SSL = {"model.ssl.epochs": 2, "model.ssl.max_samples_per_epoch": 256, "train.warm_start": False}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def ar_features(n_days=60, n_tickers=20, seed=0) -> FeatureSet:
    """Features with memory (AR(1), phi 0.9): a step can be told from its neighbours."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n_days, n_tickers, 3), np.float32)
    for t in range(1, n_days):
        x[t] = 0.9 * x[t - 1] + rng.normal(0, 0.45, (n_tickers, 3))
    has = rng.random((n_days, n_tickers)) > 0.03
    has[0] = False
    x[~has] = 0.0
    y = np.full((n_days, n_tickers), np.nan, np.float32)
    label_end = np.arange(n_days, dtype=np.int64) + 1
    return FeatureSet(("a", "b", "c"), x, has, has.copy(), y, label_end, 1)


# --- the unlabeled sequences ---------------------------------------------------------------


def test_ssl_samples_are_the_full_sequences_inside_the_training_range():
    fs = ar_features()
    w = Window("w000", range(5, 40), range(40, 50))
    t, k = ssl_samples(fs, w, 4)
    want = {(d, j) for d in range(8, 40) for j in range(20) if fs.has_data[d - 3 : d + 1, j].all()}
    assert set(zip(t.tolist(), k.tolist(), strict=True)) == want
    assert t.max() == 39 < w.serve.start and t.min() == 8  # 8 - 3 = 5 = train.start


def test_ssl_samples_stop_before_the_first_serve_day():
    fs = ar_features()
    fs.has_data[:] = True
    w = Window("w000", range(0, 30), range(30, 40))
    t, _ = ssl_samples(fs, w, 5)
    assert t.max() == 29  # day 29's sequence is known before the open of 29 < 30; 30 never
    with pytest.raises(LookaheadError, match="train_stop=31"):
        ssl_samples(fs, Window("w000", range(0, 31), range(30, 40)), 5)


# --- losses -----------------------------------------------------------------------------------


def test_nt_xent_prefers_views_that_match():
    a = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    same = nt_xent(a, a, 0.1)
    shuffled = nt_xent(a, a[torch.randperm(8, generator=torch.Generator().manual_seed(1))], 0.1)
    assert float(same) < 0.1 < float(shuffled)


def test_augment_crops_a_contiguous_run_of_at_least_crop_min():
    sc = SSLConfig(method="contrastive", crop_min=0.6, jitter=0.0, feature_drop=0.0)
    x = np.ones((200, 10, 3), np.float32)
    v, m = augment(x, np.ones((200, 10), bool), sc, np.random.default_rng(0))
    kept = m.numpy()
    assert kept.sum(axis=1).min() == 6 and kept.sum(axis=1).max() == 10
    first, last = kept.argmax(axis=1), 9 - kept[:, ::-1].argmax(axis=1)
    assert np.array_equal(kept.sum(axis=1), last - first + 1)  # contiguous
    assert torch.equal(v, torch.from_numpy(x))


@pytest.mark.parametrize("method", ["masked", "contrastive"])
def test_ssl_loss_falls(method):
    fs = ar_features()
    over = {"model.hidden": 16, "model.layers": 1, "features.seq_len": 8, "model.ssl.lr": 0.01,
            "model.ssl.method": method, "model.ssl.epochs": 6, "train.batch_size": 64}  # fmt: skip
    cfg = load_config(overrides=over).pretrain_config()
    model = TickerLSTMModel(3, 2, cfg.model, seed=0)
    scale = (np.zeros(3, np.float32), np.ones(3, np.float32))
    w = Window("w000", range(0, 50), range(50, 60))
    losses = ssl_pretrain(model, fs, w, scale, cfg, seed=1)
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0], losses


# --- config and the lstm family ----------------------------------------------------------------


def test_ssl_config_is_checked_and_hashed():
    with pytest.raises(ConfigError, match="method='bert'"):
        load_config(overrides={"model.ssl.method": "bert"})
    with pytest.raises(ConfigError, match="mask_frac=0.0"):
        load_config(overrides={"model.ssl.mask_frac": 0.0})
    assert "ssl" not in model_section(ModelConfig())  # none: the pre-family section
    on = model_section(ModelConfig(ssl=SSLConfig(method="masked")))
    assert on["family"] == "lstm" and on["ssl"]["method"] == "masked"
    assert "ssl" not in model_section(ModelConfig(family="gbm", ssl=SSLConfig(method="masked")))


@pytest.mark.parametrize("method", ["masked", "contrastive"])
def test_ssl_changes_the_model_and_is_deterministic(method, tmp_path):
    cfg = cfg_of("lstm", **SSL, **{"model.ssl.method": method})
    pretrain(PANEL, tmp_path / "a", cfg)
    pretrain(PANEL, tmp_path / "b", cfg)
    pretrain(PANEL, tmp_path / "none", cfg_of("lstm", **SSL))
    a, b, none = (digests(tmp_path / n) for n in ("a", "b", "none"))
    assert a == b and a["w000/model.pt"] != none["w000/model.pt"]
    losses = Registry.load(tmp_path / "a").entry("w001").metrics["ssl_loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert "ssl_loss" not in Registry.load(tmp_path / "none").entry("w001").metrics


def test_ssl_runs_only_on_a_cold_start(tmp_path):
    cfg = cfg_of("lstm", **{**SSL, "train.warm_start": True, "model.ssl.method": "masked"})
    reg = pretrain(PANEL, tmp_path, cfg)
    assert "ssl_loss" in reg.entries[0].metrics and "ssl_loss" not in reg.entries[1].metrics


@pytest.mark.parametrize("method", ["masked", "contrastive"])
def test_ssl_model_is_blind_to_the_serve_days(method, tmp_path):
    """Retrain on a store changed from the open of day 55 (w001's first serve day): every window's
    weights and the predictions of days <= 55 are unchanged."""
    cfg = cfg_of("lstm", **SSL, **{"model.ssl.method": method})
    a = pretrain(PANEL, tmp_path / "a", cfg)
    b = pretrain(perturb(PANEL, 55, FIELDS), tmp_path / "b", cfg)
    assert [e.weights_hash for e in a.entries] == [e.weights_hash for e in b.entries]
    pa = pd.read_parquet(tmp_path / "a" / "w001" / "predictions.parquet")
    pb = pd.read_parquet(tmp_path / "b" / "w001" / "predictions.parquet")
    cols = ["t", "ticker", "pred"]
    np.testing.assert_array_equal(pa[pa.t <= 55][cols], pb[pb.t <= 55][cols])
    assert not np.array_equal(pa[pa.t > 55]["pred"], pb[pb.t > 55]["pred"])


def test_ssl_none_leaves_the_trainer_untouched(tmp_path):
    """``method: none`` with other ssl values set: the same weights as the default config."""
    a = pretrain(PANEL, tmp_path / "a", cfg_of("lstm"))
    other = cfg_of("lstm", **{"model.ssl.epochs": 9, "model.ssl.mask_frac": 0.5})
    assert dataclasses.asdict(other.model.ssl)["method"] == "none"
    b = pretrain(PANEL, tmp_path / "b", other)
    assert [e.weights_hash for e in a.entries] == [e.weights_hash for e in b.entries]
