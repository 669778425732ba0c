"""Test-only: a FeatureSet with a planted, learnable signal (no Panel needed).

``y[t, k] = beta * (x[t, k, 0] + 0.5 * x[t-1, k, 1]) + noise``: feature 0 of the day and feature 1
of the day before predict the next return, so an LSTM over the sequence can recover it.
"""

from __future__ import annotations

import numpy as np

from models.features import FeatureSet
from models.pretrain import PretrainData

NAMES = ("f0", "f1", "f2", "f3")


def planted(
    n_days: int = 120, n_tickers: int = 30, beta: float = 0.01, seed: int = 0
) -> PretrainData:
    """Prepared pretraining data: features, ticker names ``T00..``, business-day dates."""
    rng = np.random.default_rng(seed)
    t_n, k_n, f_n = n_days, n_tickers, len(NAMES)
    x = rng.normal(0.0, 1.0, (t_n, k_n, f_n)).astype(np.float32)
    x[:, :, 3] += 5.0  # a feature far from 0 (the scaler must centre it)
    has_data = rng.random((t_n, k_n)) > 0.05
    has_data[0] = False
    x[~has_data] = 0.0
    prev = np.zeros((t_n, k_n), dtype=np.float32)
    prev[1:] = x[:-1, :, 1]
    y = beta * (x[:, :, 0] + 0.5 * prev) + rng.normal(0.0, beta, (t_n, k_n))
    y = y.astype(np.float32)
    y[-1] = np.nan  # the last day's label is not known yet
    sample = has_data & (rng.random((t_n, k_n)) > 0.3)
    label_end = np.arange(t_n, dtype=np.int64) + 1
    fs = FeatureSet(NAMES, x, has_data, sample, y, label_end, 1)
    tickers = [f"T{k:02d}" for k in range(k_n)]
    dates = np.busday_offset("2022-04-01", np.arange(t_n), roll="forward").astype("datetime64[D]")
    return PretrainData(fs, tickers, dates)
