"""Family ``gbm``: a LightGBM regressor on the raw features, trained per window, deterministic.

Inputs: the rows of ``models.families.tabular`` (raw, unscaled features of the last
``model.gbm.lags`` steps). Fit on the window's purged training part with ``deterministic=True``,
``force_row_wise=True``, ``num_threads`` and ``seed`` = the window seed; early stopping on the
validation part keeps the best round. The artifact is the booster's text model (as uint8 bytes in
the checkpoint's ``state_dict``: no pickle). No warm start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from models.families import FamilyBase, header, split_sizes
from models.families.tabular import TabularData, check_names, row_names, rows, tabular_data
from models.features import FeatureSet

__all__ = ["FAMILY", "GBMFamily", "GBMPredictor", "lgb_params", "train_booster", "text_tensor"]

FORMAT = 1


def lgb_params(gc: Any, seed: int) -> dict[str, Any]:
    """LightGBM parameters of ``model.gbm`` (``gc``) with the window seed: deterministic."""
    return {
        "objective": "regression",
        "learning_rate": gc.learning_rate,
        "num_leaves": gc.num_leaves,
        "min_data_in_leaf": gc.min_data_in_leaf,
        "feature_fraction": gc.feature_fraction,
        "bagging_fraction": gc.bagging_fraction,
        "bagging_freq": 1 if gc.bagging_fraction < 1.0 else 0,
        "lambda_l2": gc.lambda_l2,
        "num_threads": gc.num_threads,
        "deterministic": True,
        "force_row_wise": True,
        "seed": int(seed),
        "verbosity": -1,
    }


def train_booster(gc: Any, seed: int, data: TabularData, cols: Sequence[str]) -> tuple[str, int]:
    """Fit the ``model.gbm`` booster on ``data``'s rows; its text model at the best round."""
    import lightgbm as lgb

    train = lgb.Dataset(data.x_train, data.y_train, feature_name=list(cols), free_raw_data=False)
    val = lgb.Dataset(data.x_val, data.y_val, reference=train, free_raw_data=False)
    stop = [lgb.early_stopping(gc.early_stopping, verbose=False)] if gc.early_stopping else []
    booster = lgb.train(
        lgb_params(gc, seed), train, gc.n_estimators, valid_sets=[val], callbacks=stop
    )
    rounds = int(booster.best_iteration or booster.current_iteration())
    return booster.model_to_string(num_iteration=rounds), rounds


class GBMPredictor:
    def __init__(self, text: str, feature_names: Sequence[str], lags: int, threads: int) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_str=text)
        self.feature_names = tuple(feature_names)
        self.lags = lags
        self.threads = threads

    def predict(
        self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray, tickers: Sequence[str]
    ) -> np.ndarray:
        check_names("GBMPredictor.predict", fs, self.feature_names)
        x = rows(fs, np.asarray(t_idx, np.int64), np.asarray(k_idx, np.int64), self.lags)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.booster.predict(x, num_threads=self.threads).astype(np.float32)


def text_tensor(text: str) -> torch.Tensor:
    return torch.tensor(np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy())


class GBMFamily(FamilyBase):
    name = "gbm"
    warm_start = False

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        gc = cfg.model.gbm
        data = tabular_data(window, fs, cfg, gc.lags)
        cols = list(row_names(fs.names, gc.lags))
        text, rounds = train_booster(gc, seed, data, cols)
        pred = GBMPredictor(text, fs.names, gc.lags, gc.num_threads)
        val_pred = pred.predict(fs, data.split.val_t, data.split.val_k, tickers)
        ckpt = {
            **header(FORMAT, self.name, window, dataclasses.asdict(gc), fs),
            "lags": gc.lags,
            "state_dict": {"booster": text_tensor(text)},
        }
        metrics = {
            "val_mse": float(np.mean((val_pred.astype(np.float64) - data.y_val) ** 2)),
            "rounds": rounds,
            **split_sizes(len(data.y_train), len(data.y_val)),
        }
        return ckpt, pred, metrics

    def load(self, checkpoint: dict[str, Any]) -> GBMPredictor:
        if checkpoint.get("format") != FORMAT:
            raise ValueError(f"gbm checkpoint format={checkpoint.get('format')}, expected 1")
        text = bytes(checkpoint["state_dict"]["booster"].numpy()).decode("utf-8")
        threads = int(checkpoint["config"]["num_threads"])
        return GBMPredictor(text, checkpoint["feature_names"], int(checkpoint["lags"]), threads)


FAMILY = GBMFamily()
