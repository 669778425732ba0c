"""Daily information coefficients and the mean / t-statistic of a daily series: the one rule set.

Used by the model report (``models.evaluate``), the leakage audit (``models.audit``) and the
replay's evaluation (``simulator.loop``, ``simulator.strategies``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_NAMES_PER_DAY", "DailyIC", "daily_ic", "daily_ic_grid", "mean_t"]

MIN_NAMES_PER_DAY = 3  # a day has an IC only with >= 3 finite (pred, target) pairs


@dataclass(frozen=True, eq=False)
class DailyIC:
    """Per-day IC series (index = day); NaN where the day has no IC."""

    ic: np.ndarray  # [n_days] Pearson correlation of pred and target across the day's names
    rank_ic: np.ndarray  # [n_days] Spearman (Pearson of average ranks; ties share their rank)
    n: np.ndarray  # [n_days] int64 finite pairs of the day


def daily_ic(
    day: np.ndarray,
    pred: np.ndarray,
    target: np.ndarray,
    n_days: int | None = None,
    *,
    min_names: int = MIN_NAMES_PER_DAY,
) -> DailyIC:
    """Cross-sectional IC and rank IC of ``pred`` vs ``target`` within each ``day``.

    Only pairs where both values are finite count. A day has no IC (NaN) when it has fewer than
    ``min_names`` pairs, or when either side is constant that day (all its values equal). Rank IC
    uses average ranks for ties. Correlations are computed on day-centred values (two-pass).

    Parameters
    ----------
    day : np.ndarray
        [N] int day index of each pair, in ``[0, n_days)``.
    pred, target : np.ndarray
        [N] float.
    n_days : int, optional
        Length of the output series (default: ``max(day) + 1``).

    Examples
    --------
    >>> d = np.array([0, 0, 0, 1, 1, 1, 2])
    >>> r = daily_ic(d, np.array([1., 2, 3, 3, 2, 1, 5]), np.array([.1, .2, .4, .1, .2, .2, 1]))
    >>> r.rank_ic, r.n
    (array([ 1.       , -0.8660254,        nan]), array([3, 3, 1]))
    >>> r.ic.round(4)  # day 2: one pair, below MIN_NAMES_PER_DAY
    array([ 0.982, -0.866,    nan])
    """
    day = np.asarray(day)
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    if not (day.ndim == a.ndim == b.ndim == 1 and len(day) == len(a) == len(b)):
        raise ValueError(
            f"daily_ic: shapes day={day.shape}, pred={a.shape}, target={b.shape}, "
            "expected three 1-D arrays of one length"
        )
    day = day.astype(np.int64)
    ok = np.isfinite(a) & np.isfinite(b)
    day, a, b = day[ok], a[ok], b[ok]
    n_days = (int(day.max()) + 1 if len(day) else 0) if n_days is None else int(n_days)
    if len(day) and (day.min() < 0 or day.max() >= n_days):
        raise ValueError(
            f"daily_ic: day in [{day.min()}, {day.max()}], expected in [0, n_days={n_days})"
        )
    n = np.bincount(day, minlength=n_days)
    ra, dist_a = _day_ranks(day, a, n_days)
    rb, dist_b = _day_ranks(day, b, n_days)
    defined = (n >= min_names) & (dist_a > 1) & (dist_b > 1)
    ic = np.where(defined, _day_corr(day, a, b, n), np.nan)
    ric = np.where(defined, _day_corr(day, ra, rb, n), np.nan)
    return DailyIC(ic, ric, n.astype(np.int64))


def daily_ic_grid(
    pred: np.ndarray, target: np.ndarray, *, min_names: int = MIN_NAMES_PER_DAY
) -> DailyIC:
    """``daily_ic`` of two [T, K] grids: day t's cross-section is row t (NaN: no value)."""
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape or pred.ndim != 2:
        raise ValueError(
            f"daily_ic_grid: shapes {pred.shape} and {target.shape}, expected two equal [T, K]"
        )
    t, k = np.nonzero(np.isfinite(pred) & np.isfinite(target))
    return daily_ic(t, pred[t, k], target[t, k], pred.shape[0], min_names=min_names)


def mean_t(values: np.ndarray) -> tuple[float, float, int]:
    """Mean, t-statistic ``mean / (std / sqrt(n))`` (std with ddof = 1) and n of the finite values.

    Rules: n = 0 gives ``(nan, nan, 0)``; n = 1 gives ``(value, nan, 1)`` (a mean, no spread);
    zero spread gives ``(mean, nan, n)``.

    Examples
    --------
    >>> mean_t(np.array([1.0, np.nan, 3.0]))  # std = sqrt(2), t = 2 / (sqrt(2) / sqrt(2))
    (2.0, 2.0, 2)
    >>> mean_t(np.array([0.5, np.nan]))
    (0.5, nan, 1)
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    return mean, (mean / (sd / math.sqrt(n)) if sd > 0 else math.nan), n


def _day_ranks(day: np.ndarray, x: np.ndarray, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks of ``x`` within each day (0-based), and the distinct values per day."""
    order = np.lexsort((x, day))
    ds, xs = day[order], x[order]
    pos = np.arange(len(x)) - np.searchsorted(ds, ds, side="left")
    start = np.r_[True, (ds[1:] != ds[:-1]) | (xs[1:] != xs[:-1])] if len(x) else np.ones(0, bool)
    first = np.flatnonzero(start)
    last = np.r_[first[1:], len(x)] - 1
    out = np.empty(len(x))
    out[order] = ((pos[first] + pos[last]) / 2.0)[np.cumsum(start) - 1]
    return out, np.bincount(ds[first], minlength=n_days)


def _day_corr(day: np.ndarray, a: np.ndarray, b: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Pearson correlation of a and b within each day, from day-centred values; in [-1, 1]."""
    n_days = len(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = a - (np.bincount(day, a, n_days) / n)[day]
        bc = b - (np.bincount(day, b, n_days) / n)[day]
        va, vb = np.bincount(day, ac * ac, n_days), np.bincount(day, bc * bc, n_days)
        r = np.bincount(day, ac * bc, n_days) / np.sqrt(va * vb)
    return np.clip(np.where((va > 0) & (vb > 0), r, np.nan), -1.0, 1.0)
