"""Rows for the tabular families (``ridge``, ``gbm``): a flattened short lag window per point.

Row of the point (t, k) with ``lags = L``: the raw features of days ``t, t-1, .., t-L+1`` of ticker
k (``gather_sequences``: a step without data is zeros), then, for ``L > 1``, the has-data flags of
the ``L-1`` earlier steps (day t always has data at a prediction point). Everything in it is known
before the open of t (the features' own rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.features import FeatureSet, gather_sequences
from models.moments import Reader
from models.train import TARGET_CLIP, WindowSplit, split_window
from models.windows import Window

__all__ = [
    "row_names",
    "rows",
    "check_names",
    "TabularData",
    "tabular_targets",
    "row_reader",
    "tabular_data",
]


def row_names(names: Sequence[str], lags: int) -> tuple[str, ...]:
    """Column names of ``rows``: ``<feature>_l<j>`` (j = 0 is day t), then ``has_l<j>``."""
    out = [f"{n}_l{j}" for j in range(lags) for n in names]
    return (*out, *(f"has_l{j}" for j in range(1, lags)))


def rows(fs: FeatureSet, t: np.ndarray, k: np.ndarray, lags: int) -> np.ndarray:
    """``[N, lags * F + lags - 1]`` float32 rows of the points ``(t[i], k[i])`` (module doc)."""
    x, mask = gather_sequences(fs, t, k, lags)  # step lags-1 is day t
    n = len(x)
    x = x[:, ::-1]  # lag 0 first
    cols = [x.reshape(n, -1)]
    if lags > 1:
        cols.append(mask[:, ::-1][:, 1:].astype(np.float32))
    return np.ascontiguousarray(np.concatenate(cols, axis=1), dtype=np.float32)


def check_names(where: str, fs: FeatureSet, names: Sequence[str]) -> None:
    if tuple(fs.names) != tuple(names):
        raise ValueError(
            f"{where}: feature names differ from the model's "
            f"(F={len(fs.names)}, expected {len(names)} as trained)"
        )


@dataclass(frozen=True, eq=False)
class TabularData:
    """A window's training and validation rows and targets (training targets clipped)."""

    split: WindowSplit
    x_train: np.ndarray
    y_train: np.ndarray  # float64, clipped at +-TARGET_CLIP training standard deviations
    x_val: np.ndarray
    y_val: np.ndarray  # float64, unclipped


def tabular_targets(
    window: Window, fs: FeatureSet, cfg: Any
) -> tuple[WindowSplit, np.ndarray, np.ndarray]:
    """Purged train/validation split of the window (as the LSTM's) and its targets, no rows.

    Training targets are winsorised like the LSTM's: at ``TARGET_CLIP`` standard deviations of
    the training targets (a few outliers would dominate the squared loss); validation targets
    are raw. Both float64.
    """
    split = split_window(window, fs, cfg.train.val_frac)
    y_tr = fs.y[split.train_t, split.train_k].astype(np.float64)
    scale = float(max(y_tr.std(), 1e-6))
    y_tr = np.clip(y_tr, -TARGET_CLIP * scale, TARGET_CLIP * scale)
    return split, y_tr, fs.y[split.val_t, split.val_k].astype(np.float64)


def row_reader(fs: FeatureSet, t: np.ndarray, k: np.ndarray, lags: int) -> Reader:
    """``read(lo, hi)``: the ``rows`` of the points ``lo:hi`` (``models.moments``: a window's
    rows read a chunk at a time instead of gathered)."""
    return lambda lo, hi: rows(fs, t[lo:hi], k[lo:hi], lags)


def tabular_data(window: Window, fs: FeatureSet, cfg: Any, lags: int) -> TabularData:
    """``tabular_targets`` plus every training and validation row, gathered (for LightGBM,
    which needs its matrix in memory: O(window points), not bounded by ``features.memory_mb``)."""
    split, y_tr, y_val = tabular_targets(window, fs, cfg)
    x_tr = rows(fs, split.train_t, split.train_k, lags)
    return TabularData(split, x_tr, y_tr, rows(fs, split.val_t, split.val_k, lags), y_val)
