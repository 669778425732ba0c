"""The target (open-to-open return) and purged training/validation samples.

Prediction points (the consensus tickers of a day) are a rule of the information set:
``models.infoset.InfoSet.prediction_points``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from episodes.panel import Panel
from models.windows import Window
from simulator.core.errors import LookaheadError

if TYPE_CHECKING:
    from models.features import FeatureSet

__all__ = [
    "target",
    "fit_target",
    "with_target",
    "check_window",
    "train_samples",
    "split_train_val",
]

IndexPair = tuple[np.ndarray, np.ndarray]


def target(panel: Panel, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """``y[t, k] = open(t+h)/open(t) - 1``: what a trade at the open of t earns by the open of t+h.

    NaN where either open is missing or ``t + h`` is past the last day. ``label_end[t] = t + h`` is
    the last day whose data the label of day t uses (it may exceed ``T - 1``).

    Returns
    -------
    y : np.ndarray
        [T, K] float32.
    label_end : np.ndarray
        [T] int64.
    """
    t_n = panel.n_days
    y = np.full(panel.open.shape, np.nan)
    if horizon < t_n:
        with np.errstate(invalid="ignore", divide="ignore"):
            y[: t_n - horizon] = panel.open[horizon:] / panel.open[: t_n - horizon] - 1.0
    y[~np.isfinite(y)] = np.nan
    label_end = np.arange(t_n, dtype=np.int64) + horizon
    return y.astype(np.float32), label_end


def fit_target(y: np.ndarray, sample: np.ndarray, kind: str) -> np.ndarray:
    """The training target of every (t, k) from the return ``y`` (``model.target``).

    ``raw``: ``y`` itself. The cross-sectional kinds use, per day t, the day's sample points with a
    known return (``sample[t] & isfinite(y[t])``: exactly the window's training or validation
    samples of that day, ``train_samples``) and are NaN elsewhere:

    * ``demeaned``: ``y[t, k]`` minus the mean of those returns;
    * ``rank``: the average rank among them scaled to [-0.5, 0.5] (one point: 0).

    Day t's target reads ``y[t]`` only, whose labels end at ``label_end[t] = t + h``; the purge
    keeps a training day only if ``t + h < serve.start``, so the target of a kept day uses nothing
    a served day's open does not already know.

    >>> y = np.array([[0.01, 0.03, -0.01, np.nan]], dtype=np.float32)
    >>> s = np.array([[True, True, True, True]])
    >>> [round(v, 3) for v in fit_target(y, s, "demeaned")[0].tolist()]
    [0.0, 0.02, -0.02, nan]
    >>> fit_target(y, s, "rank").tolist()
    [[0.0, 0.5, -0.5, nan]]
    """
    if kind == "raw":
        return y
    if kind not in ("demeaned", "rank"):
        raise ValueError(f"target={kind!r}, expected 'raw', 'demeaned' or 'rank'")
    ok = sample & np.isfinite(y)
    v = np.where(ok, y, np.nan).astype(np.float64)
    n = ok.sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "demeaned":
            out = v - np.nansum(v, axis=1, keepdims=True) / n
        else:
            r = _avg_rank(v)
            out = np.where(n > 1, (r - 1.0) / (n - 1.0) - 0.5, 0.0)
    return np.where(ok, out, np.nan).astype(np.float32)


def _avg_rank(v: np.ndarray) -> np.ndarray:
    """Row-wise average rank (1-based; ties share their mean rank) of the finite values."""
    import pandas as pd

    return pd.DataFrame(v).rank(axis=1, method="average").to_numpy()


def with_target(fs: FeatureSet, kind: str) -> FeatureSet:
    """``fs`` with ``y`` replaced by ``fit_target`` (the same object for ``raw``)."""
    if kind == "raw":
        return fs
    return dataclasses.replace(fs, y=fit_target(fs.y, fs.sample, kind))


def check_window(window: Window) -> int:
    """The window's first serve day; ``LookaheadError`` if its training range reaches it."""
    s = window.serve.start
    if window.train.stop > s:
        raise LookaheadError(
            window.id,
            "training range reaches the served days",
            train_stop=window.train.stop,
            serve_start=s,
            expected="train.stop <= serve.start",
        )
    return s


def train_samples(fs: FeatureSet, window: Window) -> IndexPair:
    """Purged training samples of a window: ``(t, k)`` index arrays, sorted by day then ticker.

    Purge rule: the model of a window first serves day ``s = window.serve.start`` and must be fixed
    before the open of s. The label of day t uses ``open(label_end[t]) = open(t + h)``, which is
    known only at the open of ``t + h``; so a sample is kept only if ``label_end[t] < s``
    (``t + h <= s - 1``). With h = 1 the last training day is ``s - 2``; day ``s - 1`` still
    enters as sequence context. Also kept only: ``t`` in ``window.train``, ``fs.sample[t, k]``,
    finite ``y``.

    Raises
    ------
    LookaheadError
        If the window serves a day inside its own training range.
    """
    s = check_window(window)
    days = np.arange(window.train.start, min(window.train.stop, fs.y.shape[0]), dtype=np.int64)
    days = days[fs.label_end[days] < s]
    ok = fs.sample[days] & np.isfinite(fs.y[days])
    ti, ki = np.nonzero(ok)
    return days[ti], ki.astype(np.int64)


def split_train_val(
    t_idx: np.ndarray, k_idx: np.ndarray, fs: FeatureSet, val_frac: float
) -> tuple[IndexPair, IndexPair]:
    """Temporal train/validation split of a window's samples, purged like train/serve.

    Validation = the samples on the last ``val_frac`` of the days the samples span
    (``n_val = max(1, round(val_frac * n_days))``, from ``v = t_max + 1 - n_val``). A training
    sample is kept only if its label is known before the open of the first validation day:
    ``label_end[t] < v`` (so the last h days before v are dropped).

    Returns
    -------
    ((train_t, train_k), (val_t, val_k)) : index arrays in the input order.
    """
    t_idx = np.asarray(t_idx, dtype=np.int64)
    k_idx = np.asarray(k_idx, dtype=np.int64)
    if not 0.0 < val_frac < 1.0:
        raise ValueError(f"split_train_val: val_frac={val_frac}, expected in (0, 1)")
    if t_idx.size == 0:
        raise ValueError("split_train_val: no samples (n=0, expected >= 1)")
    t_min, t_max = int(t_idx.min()), int(t_idx.max())
    n_days = t_max - t_min + 1
    n_val = max(1, int(round(val_frac * n_days)))
    if n_val >= n_days:
        raise ValueError(
            f"split_train_val: n_val={n_val} of n_days={n_days}, expected a non-empty training part"
        )
    v = t_max + 1 - n_val
    is_val = t_idx >= v
    is_train = ~is_val & (fs.label_end[t_idx] < v)
    return (t_idx[is_train], k_idx[is_train]), (t_idx[is_val], k_idx[is_val])
