"""Leakage-free model inputs: per-(day, ticker) features known before the open, sequences, scaling.

The target and the purge live in ``models.targets`` (re-exported here); the information set's
rules (agent lag, prediction points) in ``models.infoset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from episodes.panel import ANALYSTS, Panel
from models.config import FeatureConfig
from models.infoset import InfoSet
from models.targets import split_train_val, target, train_samples

__all__ = [
    "FeatureSet",
    "build_features",
    "feature_names",
    "gather_sequences",
    "Scaler",
    "train_samples",
    "split_train_val",
    "PRICE_FEATURES",
    "AGENT_SHORT",
]

# price features ranked cross-sectionally when cfg.ranks is on
PRICE_FEATURES = ("ret1", "ret5", "ret20", "vol20", "gap", "intraday", "ma5_dist", "ma20_dist")
_PX20 = ("ret20", "vol20", "ma20_dist")  # features needing 20 days of history (flag px20_missing)
AGENT_SHORT = dict(zip(ANALYSTS, ("tech", "sent", "fund", "val", "buffett", "ackman"), strict=True))
_ANALYST_PARTS = ("dir", "conf", "has", "conf_missing")
_DAILY = ("macro_alloc", "fwd_alloc", "vix")


@dataclass(frozen=True, eq=False)
class FeatureSet:
    """Model inputs on the panel's ``[t, k]`` grid (see ``build_features`` for the rules).

    ``x`` is raw (unscaled) float32 and finite: a missing value is 0 and raises a ``*_missing``
    flag feature. Rows with ``has_data`` False are all zero.
    """

    names: tuple[str, ...]  # F feature names (stable order)
    x: np.ndarray  # [T, K, F] float32
    has_data: np.ndarray  # [T, K] bool: the ticker has a feature row on day t (sequence mask)
    sample: np.ndarray  # [T, K] bool: prediction point (consensus ticker of day t)
    y: np.ndarray  # [T, K] float32 open(t+h)/open(t) - 1, NaN when unknown
    label_end: np.ndarray  # [T] int64: last day whose data the label of day t uses (= t + h)
    horizon: int


def feature_names(cfg: FeatureConfig) -> tuple[str, ...]:
    """The feature names ``build_features`` produces for ``cfg``, in column order."""
    names = [*PRICE_FEATURES, "px_stale20", "px_missing", "px20_missing"]
    if cfg.ranks:
        names += [f"{n}_rank" for n in PRICE_FEATURES]
    names += [f"{s}_{p}" for s in AGENT_SHORT.values() for p in _ANALYST_PARTS]
    names += ["strength", "risk_limit_frac", "risk_missing", *_DAILY, "portfolio_missing"]
    return tuple(names)


def build_features(panel: Panel, cfg: FeatureConfig) -> FeatureSet:
    """Features for every (day t, ticker k), built only from what exists before the open of t.

    Rules
    -----
    * Prices: only ``open``/``close`` of days ``<= t-1`` (never ``open(t)``): close-to-close returns
      over 1/5/20 days ending at ``close(t-1)``, 20-day realised vol, the overnight gap
      ``open(t-1)/close(t-2) - 1``, the intraday move ``close(t-1)/open(t-1) - 1``, distance of
      ``close(t-1)`` from its 5/20-day means, and ``px_stale20`` (share of the last 20 days
      without a price). Closes are carried forward over unpriced days, so a ticker's history
      spans days it was not eligible. ``*_rank``: cross-sectional rank in [-0.5, 0.5] among the
      day's ``has_data`` tickers (no calendar features).
    * Agents (six analysts: direction, confidence clipped to [0, 100] / 100, coverage,
      NaN-confidence flag; consensus strength; risk limit as a fraction of its base, never
      ``risk_price`` = close of t; macro and forward-looking stock allocation; VIX).
      Information set ``cfg.info_set`` (``models.infoset.InfoSet``): row t holds the values of
      episode ``agent_episode(t)``: t-1 under ``strict``, so nothing of episode t enters ``x[t]``;
      t under ``recorded``, as the LLM saw them (leaky: shared README §6, the agents ran with
      ``end_date = t``).
    * ``has_data[t, k]``: stock k has a close on day t-1 (known before the open of t).
    * ``sample[t, k]`` (prediction points, the consensus tickers): ``InfoSet.prediction_points``
      (strict: ``on_risk[t-1] & eligible[t]``; recorded: ``on_risk[t]``; both ``& has_data``).
    * ``y[t, k] = open(t+h)/open(t) - 1`` (h = ``cfg.horizon``): what a trade at the open of t
      earns by the open of t+h; ``label_end[t] = t + h``. The purge:
      ``models.targets.train_samples``.

    Parameters
    ----------
    panel : Panel
        The store as dense arrays.
    cfg : FeatureConfig
        Information set, horizon, ranks on/off.

    Returns
    -------
    FeatureSet
    """
    info = InfoSet.resolve(cfg.info_set)
    has_data = _has_data(panel)
    cols: dict[str, np.ndarray] = _price_block(panel)
    if cfg.ranks:
        for n in PRICE_FEATURES:
            cols[f"{n}_rank"] = _xs_rank(cols[n], has_data)
    cols.update({n: info.agent_rows(a) for n, a in _agent_block(panel).items()})
    names = feature_names(cfg)
    x = _assemble(cols, names, has_data)
    y, label_end = target(panel, cfg.horizon)
    sample = info.prediction_points(panel, has_data)
    return FeatureSet(names, x, has_data, sample, y, label_end, cfg.horizon)


def _has_data(panel: Panel) -> np.ndarray:
    out = np.zeros((panel.n_days, panel.n_tickers), dtype=bool)
    out[1:] = np.isfinite(panel.close[:-1]) & np.isfinite(panel.open[:-1])
    out &= ~panel.is_bond[None, :]
    return out


def _lag1(a: np.ndarray) -> np.ndarray:
    """Day t gets day t-1's value (day 0: NaN)."""
    out = np.full(a.shape, np.nan)
    out[1:] = a[:-1]
    return out


def _price_block(panel: Panel) -> dict[str, np.ndarray]:
    """Price features of day t from data up to close(t-1): values at close(s), lagged one day."""
    priced = np.isfinite(panel.close) & np.isfinite(panel.open)
    o = np.where(priced, panel.open, np.nan)
    c_raw = np.where(priced, panel.close, np.nan)
    c = pd.DataFrame(c_raw).ffill().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        r1 = c / _shift(c, 1) - 1.0
        s1, s2, n = _rolling_sums(r1, 20)
        at_close = {
            "ret1": r1,
            "ret5": c / _shift(c, 5) - 1.0,
            "ret20": c / _shift(c, 20) - 1.0,
            "vol20": np.where(n == 20, np.sqrt(np.maximum(s2 - s1 * s1 / 20, 0) / 19), np.nan),
            "gap": o / _shift(c, 1) - 1.0,
            "intraday": c_raw / o - 1.0,
            "ma5_dist": c / _rolling_mean(c, 5) - 1.0,
            "ma20_dist": c / _rolling_mean(c, 20) - 1.0,
        }
    cols = {n: _lag1(v) for n, v in at_close.items()}
    window = np.minimum(np.arange(1, len(c) + 1), 20)[:, None]
    cols["px_stale20"] = _lag1(1.0 - _window_sum(priced.astype(np.float64), 20) / window)
    short = [n for n in PRICE_FEATURES if n not in _PX20]
    cols["px_missing"] = np.any([~np.isfinite(cols[n]) for n in short], axis=0).astype(np.float64)
    cols["px20_missing"] = np.any([~np.isfinite(cols[n]) for n in _PX20], axis=0).astype(np.float64)
    return cols


def _shift(a: np.ndarray, n: int) -> np.ndarray:
    """Row t gets row t-n (NaN for t < n)."""
    out = np.full(a.shape, np.nan)
    out[n:] = a[:-n]
    return out


def _window_sum(a: np.ndarray, w: int) -> np.ndarray:
    """Sum of rows t-w+1 .. t (fewer at the start), by cumulative sums: causal."""
    cs = np.cumsum(a, axis=0)
    cs[w:] = cs[w:] - cs[:-w].copy()
    return cs


def _rolling_sums(a: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window sum, sum of squares and count of finite values over the last w rows."""
    ok = np.isfinite(a)
    z = np.where(ok, a, 0.0)
    return _window_sum(z, w), _window_sum(z * z, w), _window_sum(ok.astype(np.float64), w)


def _rolling_mean(a: np.ndarray, w: int) -> np.ndarray:
    """Mean of the last w rows; NaN unless all w are finite (pandas ``min_periods=w``)."""
    s1, _, n = _rolling_sums(a, w)
    return np.where(n == w, s1 / w, np.nan)


def _xs_rank(v: np.ndarray, has_data: np.ndarray) -> np.ndarray:
    """Cross-sectional rank per day in [-0.5, 0.5] among has_data tickers with a finite value."""
    frame = pd.DataFrame(np.where(has_data & np.isfinite(v), v, np.nan))
    r = frame.rank(axis=1, method="average").to_numpy()
    n = frame.notna().sum(axis=1).to_numpy()[:, None].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 1, (r - 1.0) / (n - 1.0) - 0.5, 0.0)
    return out


def _agent_block(panel: Panel) -> dict[str, np.ndarray]:
    """Agent-derived values of episode s on [s, k] (NaN = missing; the InfoSet re-indexes them)."""
    cols: dict[str, np.ndarray] = {}
    for a, short in enumerate(AGENT_SHORT.values()):
        has = panel.has_signal[a]
        conf = panel.confidence[a]
        cols[f"{short}_dir"] = np.where(has, panel.signal[a], 0).astype(np.float64)
        cols[f"{short}_conf"] = np.where(has & np.isfinite(conf), np.clip(conf, 0, 100) / 100, 0.0)
        cols[f"{short}_has"] = has.astype(np.float64)
        cols[f"{short}_conf_missing"] = (has & ~np.isfinite(conf)).astype(np.float64)
    cols["strength"] = np.asarray(panel.strength, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = panel.risk_limit / panel.risk_base[:, None]
    ok = panel.on_risk & np.isfinite(frac)
    cols["risk_limit_frac"] = np.where(ok, frac, 0.0)
    cols["risk_missing"] = (~ok).astype(np.float64)
    shape = panel.open.shape
    daily = {"macro_alloc": panel.macro_stock_alloc, "fwd_alloc": panel.fwd_stock_alloc}
    daily["vix"] = panel.vix
    miss = np.zeros(shape[0], dtype=bool)
    for n, v in daily.items():
        v = np.asarray(v, dtype=np.float64)
        miss |= ~np.isfinite(v)
        cols[n] = np.broadcast_to(np.nan_to_num(v, nan=0.0)[:, None], shape)
    cols["portfolio_missing"] = np.broadcast_to(miss[:, None].astype(np.float64), shape)
    return cols


def _assemble(
    cols: dict[str, np.ndarray], names: tuple[str, ...], has_data: np.ndarray
) -> np.ndarray:
    """Stack into [T, K, F] float32: NaN/inf -> 0 (flags carry the gap), rows without data -> 0."""
    stacked = np.empty((len(names), *has_data.shape), dtype=np.float32)  # [F, T, K]: fast writes
    for j, n in enumerate(names):
        np.copyto(stacked[j], cols[n], casting="unsafe")
    np.nan_to_num(stacked, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    stacked[:, ~has_data] = 0.0
    return np.ascontiguousarray(stacked.transpose(1, 2, 0))


def gather_sequences(
    fs: FeatureSet, t: np.ndarray, k: np.ndarray, seq_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Input sequences of the prediction points ``(t[i], k[i])``: days ``t-L+1 .. t`` of ticker k.

    Steps are consecutive episodes (a ticker may lack data on some of them); step ``L-1`` is day t.
    Steps before day 0 or without ``has_data`` are masked and zero.

    Returns
    -------
    X : np.ndarray
        [N, L, F] float32.
    mask : np.ndarray
        [N, L] bool.
    """
    t = np.asarray(t, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    days = t[:, None] + np.arange(1 - seq_len, 1, dtype=np.int64)[None, :]
    valid = days >= 0
    days_c = np.where(valid, days, 0)
    mask = valid & fs.has_data[days_c, k[:, None]]
    x = fs.x[days_c, k[:, None]]
    x[~mask] = 0.0
    return x, mask


class Scaler:
    """Per-feature standardisation ``(x - mean) / std``, fitted on training rows only.

    A feature with zero spread in the training rows gets ``std = 1`` (it is only centred).
    """

    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self.names = tuple(names)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def __repr__(self) -> str:
        state = "fitted" if self.mean_ is not None else "unfitted"
        return f"Scaler(n_features={len(self.names) or '?'}, {state})"

    def fit(self, x_rows: np.ndarray) -> Scaler:
        """Fit on ``x_rows`` [n, F] (the window's training rows; never validation or serve days)."""
        rows = np.asarray(x_rows, dtype=np.float64).reshape(-1, np.shape(x_rows)[-1])
        if rows.shape[0] == 0:
            raise ValueError("Scaler.fit: no rows (n=0, expected >= 1)")
        if self.names and len(self.names) != rows.shape[1]:
            raise ValueError(f"Scaler.fit: F={rows.shape[1]}, expected {len(self.names)} names")
        self.mean_ = rows.mean(axis=0)
        std = rows.std(axis=0)
        self.std_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale an array whose last axis is the F features; returns float32."""
        if self.mean_ is None or self.std_ is None:
            raise ValueError("Scaler.transform: not fitted (call fit on the training rows first)")
        return ((np.asarray(x, dtype=np.float64) - self.mean_) / self.std_).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (exact float round trip)."""
        if self.mean_ is None or self.std_ is None:
            raise ValueError("Scaler.to_dict: not fitted")
        return {
            "names": list(self.names),
            "mean": [float(v) for v in self.mean_],
            "std": [float(v) for v in self.std_],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scaler:
        s = cls(tuple(d.get("names", ())))
        s.mean_ = np.asarray(d["mean"], dtype=np.float64)
        s.std_ = np.asarray(d["std"], dtype=np.float64)
        return s
