"""Family ``ridge``: closed-form ridge regression, numpy only, deterministic.

Inputs: the rows of ``models.families.tabular`` (the raw features of the last ``model.ridge.lags``
steps, default 1 = the features of day t), standardised with the mean and standard deviation of
the window's training rows (a constant column gets std 1). Fit on the purged training part:
``coef = (Z'Z + alpha I)^-1 Z'(y - mean(y))``, intercept ``mean(y)`` (not penalised); the
validation part is only scored. No warm start: each window is fitted from its own data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from models.families import FamilyBase, header, split_sizes
from models.families.tabular import check_names, row_reader, rows, tabular_targets
from models.features import FeatureSet
from models.moments import Reader, column_moments, normal_equations, spans

__all__ = ["FAMILY", "RidgeFamily", "RidgePredictor", "ridge_fit", "ridge_fit_rows"]

FORMAT = 1


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    """``(mean, std, coef, intercept)`` of ridge on standardised ``x`` [n, p] (float64)."""
    x = np.asarray(x)
    return ridge_fit_rows(lambda lo, hi: x[lo:hi], len(x), y, alpha)


def ridge_fit_rows(read: Reader, n: int, y: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    """``ridge_fit`` on the ``n`` rows ``read(lo, hi)`` returns, read ``CHUNK_ROWS`` at a time.

    Mean and std are carried exactly across chunks; ``Z'Z`` and ``Z'y`` are the one-shot
    products up to ``CHUNK_ROWS`` rows and fixed-chunk sums above (``models.moments``), so what
    a fit holds is a chunk of rows and ``p x p``, not the window's ``n x p`` design matrix.
    """
    y = np.asarray(y, dtype=np.float64)
    mean, std = column_moments(read, n)
    std = np.where(std > 1e-12, std, 1.0)
    intercept = float(y.mean())
    gram, zty = normal_equations(read, n, y - intercept, mean, std)
    coef = np.linalg.solve(gram + alpha * np.eye(len(mean)), zty)
    return mean, std, coef, np.float64(intercept)


@dataclass(frozen=True, eq=False)
class RidgePredictor:
    feature_names: tuple[str, ...]
    lags: int
    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(
        self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray, tickers: Sequence[str]
    ) -> np.ndarray:
        check_names("RidgePredictor.predict", fs, self.feature_names)
        x = rows(fs, np.asarray(t_idx, np.int64), np.asarray(k_idx, np.int64), self.lags)
        z = (x.astype(np.float64) - self.mean) / self.std
        return (z @ self.coef + self.intercept).astype(np.float32)

    def score(self, read: Reader, n: int) -> np.ndarray:
        """float64 predictions of the ``n`` rows ``read`` returns, a chunk at a time."""
        out = np.empty(n, dtype=np.float64)
        for lo, hi in spans(n):
            z = (np.asarray(read(lo, hi), dtype=np.float64) - self.mean) / self.std
            out[lo:hi] = z @ self.coef + self.intercept
        return out


class RidgeFamily(FamilyBase):
    name = "ridge"
    warm_start = False

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        rc = cfg.model.ridge
        split, y_train, y_val = tabular_targets(window, fs, cfg)
        train = row_reader(fs, split.train_t, split.train_k, rc.lags)
        mean, std, coef, intercept = ridge_fit_rows(train, len(y_train), y_train, rc.alpha)
        pred = RidgePredictor(tuple(fs.names), rc.lags, mean, std, coef, float(intercept))
        val = row_reader(fs, split.val_t, split.val_k, rc.lags)
        val_mse = float(np.mean((pred.score(val, len(y_val)) - y_val) ** 2))
        ckpt = {
            **header(FORMAT, self.name, window, dataclasses.asdict(rc), fs),
            "lags": rc.lags,
            "state_dict": {
                "mean": torch.from_numpy(mean.copy()),
                "std": torch.from_numpy(std.copy()),
                "coef": torch.from_numpy(coef.copy()),
                "intercept": torch.tensor([float(intercept)], dtype=torch.float64),
            },
        }
        return ckpt, pred, {"val_mse": val_mse, **split_sizes(len(y_train), len(y_val))}

    def load(self, checkpoint: dict[str, Any]) -> RidgePredictor:
        if checkpoint.get("format") != FORMAT:
            raise ValueError(f"ridge checkpoint format={checkpoint.get('format')}, expected 1")
        sd = {k: v.numpy() for k, v in checkpoint["state_dict"].items()}
        return RidgePredictor(
            tuple(checkpoint["feature_names"]),
            int(checkpoint["lags"]),
            sd["mean"],
            sd["std"],
            sd["coef"],
            float(sd["intercept"][0]),
        )


FAMILY = RidgeFamily()
