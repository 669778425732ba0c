"""Family ``factor``: one classical pre-open price factor, no training.

The prediction of the point (t, k) is ``model.factor.sign * feature[t, k]`` for one price feature
of ``models.features`` (default ``-ret5``: the 5-day reversal, close(t-1) against close(t-6);
every price feature of day t is known before its open). Nothing is fitted, so nothing can
overfit and no seed matters: the baseline a learned family has to beat on the same days, books
and costs. A window's artifact records the feature and the sign; its metrics are the validation
part's IC (the factor against the window's training target) and the split sizes, so the
registry reads like every other family's.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from models.families import FamilyBase, header, split_sizes
from models.families.tabular import check_names, rows
from models.features import FeatureSet
from models.train import split_window

__all__ = ["FAMILY", "FactorFamily", "FactorPredictor"]

FORMAT = 1


@dataclass(frozen=True, eq=False)
class FactorPredictor:
    feature_names: tuple[str, ...]
    feature: str
    sign: int

    def predict(
        self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray, tickers: Sequence[str]
    ) -> np.ndarray:
        check_names("FactorPredictor.predict", fs, self.feature_names)
        col = self.feature_names.index(self.feature)
        x = rows(fs, np.asarray(t_idx, np.int64), np.asarray(k_idx, np.int64), 1)
        return (self.sign * x[:, col]).astype(np.float32)


class FactorFamily(FamilyBase):
    name = "factor"
    warm_start = False

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        fc = cfg.model.factor
        pred = FactorPredictor(tuple(fs.names), fc.feature, fc.sign)
        split = split_window(window, fs, cfg.train.val_frac)
        val = pred.predict(fs, split.val_t, split.val_k, tickers).astype(np.float64)
        y = np.asarray(fs.y[split.val_t, split.val_k], dtype=np.float64)
        ok = np.isfinite(y)
        ic = float(np.corrcoef(val[ok], y[ok])[0, 1]) if ok.sum() > 2 and val[ok].std() else 0.0
        ckpt = {
            **header(FORMAT, self.name, window, dataclasses.asdict(fc), fs),
            "state_dict": {"sign": torch.tensor([fc.sign], dtype=torch.int64)},
        }
        # the feature's name is also in feature_names: one interned object for both, so the
        # pickle's memo (and the file's bytes) do not depend on whether the config crossed a
        # process boundary (a Ray task gets its own copy of the string)
        ckpt["feature_names"] = [sys.intern(str(n)) for n in ckpt["feature_names"]]
        ckpt["config"]["feature"] = sys.intern(str(fc.feature))
        return ckpt, pred, {"val_ic": ic, **split_sizes(len(split.train_t), len(split.val_t))}

    def load(self, checkpoint: dict[str, Any]) -> FactorPredictor:
        if checkpoint.get("format") != FORMAT:
            raise ValueError(f"factor checkpoint format={checkpoint.get('format')}, expected 1")
        config = checkpoint["config"]
        sign = int(checkpoint["state_dict"]["sign"][0])
        return FactorPredictor(tuple(checkpoint["feature_names"]), str(config["feature"]), sign)


FAMILY = FactorFamily()
