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
from models.config import PRICE_FEATURES, FeatureConfig
from models.infoset import InfoSet
from models.infoset import has_data as infoset_has_data
from models.mapped import take
from models.moments import column_moments
from models.targets import split_train_val, target, train_samples

__all__ = [
    "FeatureSet",
    "build_features",
    "feature_names",
    "feature_rows",
    "PriceStream",
    "gather_sequences",
    "Scaler",
    "train_samples",
    "split_train_val",
    "PRICE_FEATURES",
    "AGENT_SHORT",
]

# price features ranked cross-sectionally when cfg.ranks is on
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


def build_features(panel: Panel, cfg: FeatureConfig, *, block: int | None = None) -> FeatureSet:
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
        Information set, horizon, ranks on/off, and ``memory_mb``: with a budget the rows are
        built in blocks of ``block_days`` days (the price sums carried from block to block), so
        the working arrays are bounded by what the budget leaves beside the Panel and ``x``
        (held throughout); every output byte is the same as in one block
        (``test_features_blocks``).
    block : int, optional
        Days per block, overriding the one ``block_days`` derives from ``cfg.memory_mb``.

    Returns
    -------
    FeatureSet
    """
    info = InfoSet.resolve(cfg.info_set)
    has_data = infoset_has_data(panel)
    names = feature_names(cfg)
    t_n, k_n = panel.open.shape
    x = np.empty((t_n, k_n, len(names)), dtype=np.float32)
    stream = PriceStream(k_n)
    step = block or block_days(_left_mb(cfg.memory_mb, panel, x), k_n, len(names), t_n)
    for a in range(0, t_n, step):
        b = min(a + step, t_n)
        x[a:b] = feature_rows(panel, a, b, stream, cfg, has_data)
    y, label_end = target(panel, cfg.horizon)
    sample = info.prediction_points(panel, has_data)
    return FeatureSet(names, x, has_data, sample, y, label_end, cfg.horizon)


def feature_rows(
    panel: Panel, a: int, b: int, stream: PriceStream, cfg: FeatureConfig, has_data: np.ndarray
) -> np.ndarray:
    """``x`` rows ``[a, b)`` of ``panel`` ([b - a, K, F] float32), the price sums carried by
    ``stream`` (fed every earlier row of the same run, in order); ``has_data`` of ``panel``."""
    info = InfoSet.resolve(cfg.info_set)
    cols = stream.lagged(panel, a, b)
    if cfg.ranks:
        for n in PRICE_FEATURES:
            cols[f"{n}_rank"] = _xs_rank(cols[n], has_data[a:b])
    cols.update(_agent_rows(panel, info.agent_lag, a, b))
    return _assemble(cols, feature_names(cfg), has_data[a:b])


def _left_mb(memory_mb: int, panel: Panel, x: np.ndarray) -> int:
    """The budget left for the blocks' working arrays beside the Panel and ``x`` (at least 1 MB;
    0 stays 0: no budget)."""
    if memory_mb <= 0:
        return 0
    held = x.nbytes + sum(
        a.nbytes for a in vars(panel).values() if isinstance(a, np.ndarray) and a.dtype != object
    )
    return max(memory_mb - (held >> 20), 1)


# bytes of working arrays per ticker-day and feature in one block (float64 columns, their
# float32 stack and its transposed copy), plus the price stream's own (~30 float64 arrays)
_BLOCK_BYTES_PER_FEATURE, _BLOCK_BYTES_PRICES = 16, 240


def block_days(memory_mb: int, n_tickers: int, n_features: int, n_days: int) -> int:
    """Days per block of ``build_features`` for a budget of ``memory_mb`` MB (0: all days at once).

    >>> block_days(0, 1695, 51, 6000), block_days(100, 1695, 51, 6000), block_days(1, 1695, 51, 9)
    (6000, 58, 1)
    """
    if memory_mb <= 0:
        return max(n_days, 1)
    per_day = n_tickers * (n_features * _BLOCK_BYTES_PER_FEATURE + _BLOCK_BYTES_PRICES)
    return int(min(max(memory_mb * 2**20 // max(per_day, 1), 1), max(n_days, 1)))


_CTX = 20  # at-close rows of history a price value reads (ret20, the 20-day sums)


class PriceStream:
    """Price values at close(s), block after block of days, each the same float as in one pass.

    Carries the last ``_CTX`` forward-filled closes (shifts, ffill) and the last ``_CTX`` rows of
    each running sum (a block's cumulative sum continues from the carried row: the same additions
    in the same order), so the rolling sums ``cs[t] - cs[t-w]`` are those of one pass.
    """

    def __init__(self, n_tickers: int) -> None:
        self.k = n_tickers
        self.s = 0  # first at-close row of the next block
        self.c_tail = np.empty((0, n_tickers))
        self.cs_tail: dict[str, np.ndarray] = {}

    def lagged(self, panel: Panel, a: int, b: int) -> dict[str, np.ndarray]:
        """Price features of days ``[a, b)``: the values at close(t-1) (day 0: NaN)."""
        s, e = max(a - 1, 0), b - 1
        at_close = self.at_close(panel.open[s:e], panel.close[s:e]) if e > s else {}
        cols = {}
        for n in (*PRICE_FEATURES, "px_stale20"):
            v = at_close[n] if at_close else np.empty((0, self.k))
            cols[n] = np.vstack([np.full((1, self.k), np.nan), v]) if a == 0 else v
        short = [n for n in PRICE_FEATURES if n not in _PX20]
        cols["px_missing"] = np.any([~np.isfinite(cols[n]) for n in short], axis=0).astype(float)
        cols["px20_missing"] = np.any([~np.isfinite(cols[n]) for n in _PX20], axis=0).astype(float)
        return cols

    def at_close(self, o_raw: np.ndarray, c_in: np.ndarray) -> dict[str, np.ndarray]:
        """The values at close of the next rows ``[s, s + len(o_raw))``."""
        priced = np.isfinite(c_in) & np.isfinite(o_raw)
        o = np.where(priced, o_raw, np.nan)
        c_raw = np.where(priced, c_in, np.nan)
        n_tail = len(self.c_tail)
        ext = pd.DataFrame(np.vstack([self.c_tail, c_raw])).ffill().to_numpy()
        c = ext[n_tail:]
        with np.errstate(invalid="ignore", divide="ignore"):
            r1 = c / self._shift(ext, n_tail, 1) - 1.0
            ok = np.isfinite(r1)
            z = np.where(ok, r1, 0.0)
            s1, s2 = self._wsum("r1", z, 20), self._wsum("r1sq", z * z, 20)
            n = self._wsum("r1n", ok.astype(np.float64), 20)
            out = {
                "ret1": r1,
                "ret5": c / self._shift(ext, n_tail, 5) - 1.0,
                "ret20": c / self._shift(ext, n_tail, 20) - 1.0,
                "vol20": np.where(n == 20, np.sqrt(np.maximum(s2 - s1 * s1 / 20, 0) / 19), np.nan),
                "gap": o / self._shift(ext, n_tail, 1) - 1.0,
                "intraday": c_raw / o - 1.0,
                "ma5_dist": c / self._mean("c", c, 5) - 1.0,
                "ma20_dist": c / self._mean("c", c, 20) - 1.0,
            }
        window = np.minimum(np.arange(self.s + 1, self.s + len(c) + 1), 20)[:, None]
        out["px_stale20"] = 1.0 - self._wsum("priced", priced.astype(np.float64), 20) / window
        self.c_tail = ext[-_CTX:]
        self.s += len(c)
        self.cs_tail = {key: v[-_CTX:] for key, v in self.cs_tail.items()}
        return out

    def _shift(self, ext: np.ndarray, n_tail: int, n: int) -> np.ndarray:
        """Row i gets the close of row i-n (NaN before day 0)."""
        rows = len(ext) - n_tail
        out = np.full((rows, self.k), np.nan)
        first = max(0, n - n_tail)
        if first < rows:
            out[first:] = ext[n_tail + first - n : len(ext) - n]
        return out

    def _wsum(self, key: str, a: np.ndarray, w: int) -> np.ndarray:
        """Sum of rows t-w+1 .. t (fewer at the start) by running sums carried across blocks."""
        tail = self.cs_tail.get(key, np.empty((0, self.k)))
        cs = np.cumsum(np.vstack([tail[-1:], a]), axis=0)[len(tail[-1:]) :]
        ext = np.vstack([tail, cs])
        first = max(0, w - len(tail))  # rows before it have fewer than w rows behind them
        out = cs.copy()
        if first < len(cs):
            out[first:] = cs[first:] - ext[len(tail) + first - w : len(ext) - w]
        self.cs_tail[key] = ext  # trimmed to the last _CTX rows after the block
        return out

    def _mean(self, key: str, a: np.ndarray, w: int) -> np.ndarray:
        """Mean of the last w rows; NaN unless all w are finite (pandas ``min_periods=w``)."""
        ok = np.isfinite(a)
        s1 = self._wsum(f"{key}{w}", np.where(ok, a, 0.0), w)
        n = self._wsum(f"{key}{w}n", ok.astype(np.float64), w)
        return np.where(n == w, s1 / w, np.nan)


def _xs_rank(v: np.ndarray, has_data: np.ndarray) -> np.ndarray:
    """Cross-sectional rank per day in [-0.5, 0.5] among has_data tickers with a finite value."""
    frame = pd.DataFrame(np.where(has_data & np.isfinite(v), v, np.nan))
    r = frame.rank(axis=1, method="average").to_numpy()
    n = frame.notna().sum(axis=1).to_numpy()[:, None].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 1, (r - 1.0) / (n - 1.0) - 0.5, 0.0)
    return out


def _agent_rows(panel: Panel, lag: int, a: int, b: int) -> dict[str, np.ndarray]:
    """Agent values of days ``[a, b)``: row t holds episode ``t - lag`` (NaN before episode 0),
    as ``InfoSet.agent_rows`` over all days (with no lag: the episode's own values)."""
    s, e = max(a - lag, 0), max(b - lag, 0)
    cols = _agent_block(panel, slice(s, e))
    pad = (b - a) - (e - s)
    if pad == 0:
        return cols
    nan = np.full((pad, panel.n_tickers), np.nan)
    return {n: np.vstack([nan, v]) for n, v in cols.items()}


def _agent_block(panel: Panel, rows: slice) -> dict[str, np.ndarray]:
    """Agent-derived values of episodes ``rows`` on [s, k] (NaN = missing)."""
    cols: dict[str, np.ndarray] = {}
    for a, short in enumerate(AGENT_SHORT.values()):
        has = panel.has_signal[a, rows]
        conf = panel.confidence[a, rows]
        cols[f"{short}_dir"] = np.where(has, panel.signal[a, rows], 0).astype(np.float64)
        cols[f"{short}_conf"] = np.where(has & np.isfinite(conf), np.clip(conf, 0, 100) / 100, 0.0)
        cols[f"{short}_has"] = has.astype(np.float64)
        cols[f"{short}_conf_missing"] = (has & ~np.isfinite(conf)).astype(np.float64)
    cols["strength"] = np.asarray(panel.strength[rows], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = panel.risk_limit[rows] / panel.risk_base[rows, None]
    ok = panel.on_risk[rows] & np.isfinite(frac)
    cols["risk_limit_frac"] = np.where(ok, frac, 0.0)
    cols["risk_missing"] = (~ok).astype(np.float64)
    shape = panel.open[rows].shape
    daily = {"macro_alloc": panel.macro_stock_alloc, "fwd_alloc": panel.fwd_stock_alloc}
    daily["vix"] = panel.vix
    miss = np.zeros(shape[0], dtype=bool)
    for n, v in daily.items():
        v = np.asarray(v, dtype=np.float64)[rows]
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
    x = take(fs.x, days_c, k[:, None])  # a mapped x: read in day chunks (models.mapped)
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
        rows = np.asarray(x_rows).reshape(-1, np.shape(x_rows)[-1])
        return self._fit(lambda lo, hi: rows[lo:hi], rows.shape)

    def fit_points(self, x: Any, t: np.ndarray, k: np.ndarray) -> Scaler:
        """Fit on the rows ``x[t, k]`` without gathering them: ``models.moments.CHUNK_ROWS`` points
        at a time (``take``: paged on a mapped ``x``); the bytes of ``fit(take(x, t, k))``."""
        return self._fit(lambda lo, hi: take(x, t[lo:hi], k[lo:hi]), (len(t), x.shape[-1]))

    def _fit(self, read: Any, shape: tuple[int, int]) -> Scaler:
        if shape[0] == 0:
            raise ValueError("Scaler.fit: no rows (n=0, expected >= 1)")
        if self.names and len(self.names) != shape[1]:
            raise ValueError(f"Scaler.fit: F={shape[1]}, expected {len(self.names)} names")
        self.mean_, std = column_moments(read, shape[0])
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
