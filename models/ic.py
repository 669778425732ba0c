"""Daily information coefficients and the mean / t-statistic of a daily series: the one rule set.

Used by the model report (``models.evaluate``), the leakage audit (``models.audit``) and the
replay's evaluation (``simulator.loop``, ``simulator.strategies``). ``daily_ic`` is the entry
point; it is ``day_corr`` (the rules: finite pairs, ``MIN_NAMES_PER_DAY``, no constant side) of
the values and of their ``day_ranks``. The audit calls the two parts itself to reuse the return
ranks across fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MIN_NAMES_PER_DAY",
    "DailyIC",
    "daily_ic",
    "daily_ic_grid",
    "day_corr",
    "day_ranks",
    "mean_t",
]

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
    ic, n = day_corr(day, a, b, n_days, min_names=min_names)
    ric, _ = day_corr(day, day_ranks(day, a, n_days), day_ranks(day, b, n_days), n_days,
                      min_names=min_names)  # fmt: skip
    return DailyIC(ic, ric, n)


def day_corr(
    day: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    n_days: int,
    *,
    min_names: int = MIN_NAMES_PER_DAY,
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of ``a`` and ``b`` within each day, under the IC rules.

    ``day`` ints in ``[0, n_days)``. Only finite pairs count; a day with fewer than ``min_names``
    of them, or with either side constant, gets NaN. Computed from day-centred values (two-pass),
    clipped to [-1, 1]. Returns ``(r [n_days], n [n_days] int64 finite pairs)``.
    """
    ok = np.isfinite(a) & np.isfinite(b)
    day, a, b = day[ok], a[ok], b[ok]
    n = np.bincount(day, minlength=n_days).astype(np.int64)
    defined = (n >= min_names) & _varies(day, a, n_days) & _varies(day, b, n_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = a - (np.bincount(day, a, n_days) / n)[day]
        bc = b - (np.bincount(day, b, n_days) / n)[day]
        va, vb = np.bincount(day, ac * ac, n_days), np.bincount(day, bc * bc, n_days)
        r = np.bincount(day, ac * bc, n_days) / np.sqrt(va * vb)
    return np.clip(np.where(defined & (va > 0) & (vb > 0), r, np.nan), -1.0, 1.0), n


def day_ranks(day: np.ndarray, x: np.ndarray, n_days: int) -> np.ndarray:
    """Average ranks (0-based) of ``x`` within each day; ties share their mean rank; NaN stays NaN.

    >>> day_ranks(np.array([0, 0, 0, 1, 1]), np.array([5.0, 1, 5, 2, np.nan]), 2)
    array([1.5, 0. , 1.5, 0. , nan])
    """
    out = np.full(len(x), np.nan)
    ok = np.flatnonzero(np.isfinite(x))
    d, v = day[ok], x[ok]
    small = np.uint16 if n_days <= 1 << 16 else np.int64  # uint16: numpy's stable sort is a radix
    order = np.argsort(v)
    order = order[np.argsort(d[order].astype(small), kind="stable")]  # by day, then value
    ds, vs = d[order], v[order]
    start = np.ones(len(v), dtype=bool)
    start[1:] = (ds[1:] != ds[:-1]) | (vs[1:] != vs[:-1])  # a new run of equal values
    first = np.flatnonzero(start)
    last = np.r_[first[1:], len(v)] - 1
    n = np.bincount(d, minlength=n_days)
    day_start = (np.cumsum(n) - n)[ds[first]]
    ranks = np.empty(len(v))
    ranks[order] = ((first + last) / 2.0 - day_start)[np.cumsum(start) - 1]
    out[ok] = ranks
    return out


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


def mean_t(values: np.ndarray, lag: int = 0) -> tuple[float, float, int]:
    """Mean, t-statistic ``mean / (std / sqrt(n))`` (std with ddof = 1) and n of the finite values.

    ``lag`` > 0: the t-statistic with an overlap-robust standard error instead: Hansen-Hodrick's
    (the autocovariances of lags 1..``lag``, each over n, of the finite values in their order, at
    full weight), or Newey-West's Bartlett weights ``1 - j / (lag + 1)`` when that variance is not
    positive. A horizon-h target's daily ICs share h - 1 days of returns, so their plain t
    overstates (by ~sqrt(h)); callers pass ``lag = h - 1`` (0 at the default horizon 1: the plain
    t). Uniform weights because the overlap's correlations fall linearly to 0 at lag h: Bartlett's
    at lag h - 1 under-correct them (tests/unit/models/test_ic_overlap.py).

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
    if lag > 0 and n > 1:
        e = v - mean
        gam = [float(e[j:] @ e[: n - j]) / n for j in range(min(lag, n - 1) + 1)]
        var = gam[0] + 2.0 * sum(gam[1:])  # Hansen-Hodrick
        if not var > 0:
            var = gam[0] + 2.0 * sum((1.0 - j / (lag + 1)) * g for j, g in enumerate(gam) if j)
        return mean, (mean / math.sqrt(var / n) if var > 0 else math.nan), n
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    return mean, (mean / (sd / math.sqrt(n)) if sd > 0 else math.nan), n


def _varies(day: np.ndarray, x: np.ndarray, n_days: int) -> np.ndarray:
    """[n_days] the day has at least two different values of ``x``."""
    ref = np.zeros(n_days)
    ref[day] = x  # one of the day's values (which one does not matter)
    return np.bincount(day, x != ref[day], n_days) > 0
