"""Family embed-gbm (models/families/embed_gbm.py): off is the gbm family, the embedding is the
encoder's state (or its fixed projection), the artifact reloads to the same predictions.
Determinism, look-ahead, guard, resume and Ray: tests/unit/models/test_families.py (FAMS)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from models.config import EmbedGBMConfig, ModelConfig
from models.families import get_family, load_predictor, model_section
from models.families.embed_gbm import embeddings, projection
from models.features import build_features, gather_sequences
from models.lstm import load_checkpoint
from models.pretrain import pretrain
from models.windows import Window
from simulator.config import load_config
from simulator.core.errors import ConfigError
from tests.unit.models.test_families import PANEL, cfg_of

OFF = {"model.embed_gbm.embeddings": False}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fs():
    return build_features(PANEL, load_config().features)


def test_embeddings_off_is_the_gbm_family(tmp_path):
    pretrain(PANEL, tmp_path / "gbm", cfg_of("gbm"))
    pretrain(PANEL, tmp_path / "off", cfg_of("embed-gbm", **OFF))
    for w in ("w000", "w001"):
        a = pd.read_parquet(tmp_path / "gbm" / w / "predictions.parquet")
        b = pd.read_parquet(tmp_path / "off" / w / "predictions.parquet")
        pd.testing.assert_frame_equal(a, b)
        ga, gb = (load_checkpoint(tmp_path / d / w / "model.pt") for d in ("gbm", "off"))
        assert torch.equal(ga["state_dict"]["booster"], gb["state_dict"]["booster"])
        assert gb["family"] == "embed-gbm" and gb["encoder"] is None and gb["vocab"] == []


def test_embeddings_on_move_the_predictions(tmp_path):
    pretrain(PANEL, tmp_path / "off", cfg_of("embed-gbm", **OFF))
    pretrain(PANEL, tmp_path / "on", cfg_of("embed-gbm"))
    a = pd.read_parquet(tmp_path / "off" / "w001" / "predictions.parquet")
    b = pd.read_parquet(tmp_path / "on" / "w001" / "predictions.parquet")
    assert not np.array_equal(a["pred"], b["pred"])
    ckpt = load_checkpoint(tmp_path / "on" / "w001" / "model.pt")
    assert ckpt["state_dict"]["projection"].shape == (4, 3)  # hidden 4 -> embedding_size 3
    assert any(k.startswith("encoder.lstm.") for k in ckpt["state_dict"])


@pytest.mark.parametrize("size", [4, 3])
def test_embedding_is_the_state_or_its_projection(size, fs, tmp_path):
    cfg = cfg_of("embed-gbm", **{"model.embed_gbm.embedding_size": size})
    pretrain(PANEL, tmp_path, cfg)
    ckpt = load_checkpoint(tmp_path / "w000" / "model.pt")
    pred = load_predictor(ckpt)
    t = np.full(5, 45)
    k = np.flatnonzero(fs.sample[45])[:5]
    emb = embeddings(pred.encoder, pred.proj, fs, t, k)
    x, mask = gather_sequences(fs, t, k, pred.encoder.seq_len)
    x = torch.from_numpy(pred.encoder.scaler.transform(x))
    with torch.inference_mode():
        state = pred.encoder.model.summary(x, torch.from_numpy(mask)).numpy()
    want = state if size == 4 else state @ projection(4, 3, ckpt["seed"])
    np.testing.assert_array_equal(emb, want)
    assert (size == 4) == ("projection" not in ckpt["state_dict"])


def test_reloaded_artifact_predicts_what_the_fit_returned(fs):
    cfg = cfg_of("embed-gbm").pretrain_config()
    w = Window("w000", range(0, 40), range(40, 55))
    tickers = [str(x) for x in PANEL.tickers]
    fitted = get_family("embed-gbm").fit(w, fs, tickers, cfg, seed=5)
    tt, kk = np.nonzero(fs.sample[40:55])
    a = fitted.predictor.predict(fs, tt + 40, kk, tickers)
    b = load_predictor(fitted.checkpoint).predict(fs, tt + 40, kk, tickers)
    np.testing.assert_array_equal(a, b)
    assert fitted.metrics["n_train"] > 0 and np.isfinite(fitted.metrics["encoder_val_mse"])


def test_embed_gbm_config_and_section():
    with pytest.raises(ConfigError, match="embedding_size=0"):
        load_config(overrides={"model.embed_gbm.embedding_size": 0})
    with pytest.raises(ConfigError, match="wrong type"):
        load_config(overrides={"model.embed_gbm.embeddings": "yes"})
    on = model_section(ModelConfig(family="embed-gbm"))
    assert set(on) == {"family", "target", "embed-gbm", "gbm", "lstm"}
    off = model_section(ModelConfig(family="embed-gbm", embed_gbm=EmbedGBMConfig(embeddings=False)))
    assert set(off) == {"family", "target", "embed-gbm", "gbm"}


def test_yaml_on_off_reads_as_the_switch(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: {family: embed-gbm, embed_gbm: {embeddings: off}}\n")
    assert load_config(path).model.embed_gbm.embeddings is False
