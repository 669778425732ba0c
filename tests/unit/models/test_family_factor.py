"""Family factor: its prediction is the configured price feature times the sign, its section is
checked and hashed, and nothing in it depends on a seed (the generic family checks, look-ahead
after retraining included, run in test_families.py)."""

from __future__ import annotations

import numpy as np
import pytest

from models.config import ModelConfig
from models.families import model_section
from models.features import build_features
from models.pretrain import pretrain
from models.registry import Registry
from simulator.config import config_hash, load_config
from simulator.core.errors import ConfigError
from tests.unit.models.test_families import PANEL, _preds, cfg_of


@pytest.mark.parametrize(("feature", "sign"), [("ret5", -1), ("ret20", 1)])
def test_the_prediction_is_the_signed_price_feature_of_day_t(tmp_path, feature, sign):
    cfg = cfg_of("factor", **{"model.factor.feature": feature, "model.factor.sign": sign})
    pretrain(PANEL, tmp_path, cfg)
    fs = build_features(PANEL, cfg.pretrain_config().features)
    col = list(fs.names).index(feature)
    pos = {name: k for k, name in enumerate(PANEL.tickers)}
    for e in Registry.load(tmp_path).entries:
        p = _preds(tmp_path, e.id)
        k = np.array([pos[n] for n in p["ticker"]])
        want = (sign * np.asarray(fs.x[p["t"].to_numpy(), k, col])).astype(np.float32)
        np.testing.assert_array_equal(p["pred"].to_numpy(), want)
        assert np.std(want) > 0 and np.isfinite(e.metrics["val_ic"])


def test_the_factor_section_is_checked_and_hashed_once_set():
    with pytest.raises(ConfigError, match=r"model\.factor.*feature='ret7'"):
        load_config(overrides={"model.factor.feature": "ret7"})
    with pytest.raises(ConfigError, match=r"model\.factor.*sign=2"):
        load_config(overrides={"model.factor.sign": 2})
    assert config_hash(load_config()) == config_hash(
        load_config(overrides={"model.factor.feature": "ret5"})
    )  # the default section is left out: earlier configs keep their hashes
    assert config_hash(load_config(overrides={"model.factor.sign": 1})) != config_hash(
        load_config()
    )
    sec = model_section(ModelConfig(family="factor"))
    assert sec == {"family": "factor", "target": "raw", "factor": {"feature": "ret5", "sign": -1}}
