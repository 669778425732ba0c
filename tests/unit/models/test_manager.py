"""WalkForwardModelManager: window choice, look-ahead guard, LRU cache, batched day prediction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from models.manager import WalkForwardModelManager
from models.pretrain import pretrain
from models.registry import Registry
from simulator.core.errors import LookaheadError, RegistryError
from tests.unit.models.planted import planted
from tests.unit.models.test_pretrain import tiny


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    data = planted()
    root = tmp_path_factory.mktemp("models")
    pretrain(data, root, tiny(**{"train.max_epochs": 1, "train.warm_epochs": 1}))
    return data, root


@pytest.mark.parametrize(
    ("day", "window"), [(60, "w000"), (79, "w000"), (80, "w001"), (119, "w002")]
)
def test_the_window_whose_serve_range_holds_the_day(trained, day, window):
    _, root = trained
    assert WalkForwardModelManager(root).model_for(day).window == window


@pytest.mark.parametrize("day", [0, 59, 120])
def test_no_window_for_the_day_is_a_registry_error(trained, day):
    _, root = trained
    with pytest.raises(
        RegistryError, match=f"no window serves this day \\(day={day}, served_days=60..119"
    ):
        WalkForwardModelManager(root).model_for(day)


def test_training_labels_reaching_the_day_is_lookahead(trained, tmp_path):
    _, root = trained
    reg = Registry.load(root)
    bad = dataclasses.replace(reg.entries[1], label_end_max=90)  # a label known only on day 90
    reg.replace(bad)
    reg.root = tmp_path
    reg.save()
    with pytest.raises(LookaheadError, match="w001: model trained on data not known.*day=85"):
        WalkForwardModelManager(tmp_path).model_for(85)


def test_a_planned_window_is_not_served(trained, tmp_path):
    _, root = trained
    reg = Registry.load(root)
    reg.replace(dataclasses.replace(reg.entries[2], status="planned"))
    reg.root = tmp_path
    reg.save()
    with pytest.raises(RegistryError, match="not trained.*window=w002"):
        WalkForwardModelManager(tmp_path).model_for(100)


def test_lru_cache_loads_each_window_once_and_evicts_the_oldest(trained):
    _, root = trained
    mgr = WalkForwardModelManager(root, cache_size=2)
    for day in (60, 61, 80, 81, 60):
        mgr.model_for(day)
    assert mgr.loads == 2
    mgr.model_for(100)  # evicts w001 (least recently used), keeps w000
    mgr.model_for(60)
    assert mgr.loads == 3
    mgr.model_for(80)
    assert mgr.loads == 4


def test_predict_matches_the_saved_oos_predictions(trained):
    data, root = trained
    mgr = WalkForwardModelManager(root)
    saved = pd.read_parquet(root / "w001" / "predictions.parquet")
    day = 85
    k_idx, preds = mgr.predict(day, data.fs)
    np.testing.assert_array_equal(k_idx, np.flatnonzero(data.fs.sample[day]))
    rows = saved[saved["t"] == day]
    assert list(rows["ticker"]) == [data.tickers[k] for k in k_idx]
    np.testing.assert_allclose(preds, rows["pred"].to_numpy(), rtol=1e-6, atol=1e-9)


def test_predict_refuses_a_foreign_ticker_axis(trained):
    data, root = trained
    small = dataclasses.replace(data.fs, x=data.fs.x[:, :5])
    with pytest.raises(RegistryError, match="ticker axis differs"):
        WalkForwardModelManager(root).predict(85, small)


def test_bad_cache_size():
    with pytest.raises(ValueError, match="cache_size=0"):
        WalkForwardModelManager("unused", cache_size=0)
