"""Leakage audit: rank IC of every feature and recorded field with same-day and next-day returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from episodes.panel import ANALYSTS, Panel
from models.features import FeatureSet
from models.ic import day_corr, day_ranks, mean_t

__all__ = [
    "audit_table",
    "recorded_fields",
    "RETURNS",
    "LEAK_RATIO",
    "LEAK_T",
]

RETURNS = ("same_oc", "same_oo", "next_oc", "next_oo")
LEAK_RATIO = 3.0  # same-day |IC| over the larger next-day |IC|
LEAK_T = 3.0  # same-day t-stat
# direction of each action code, in simulator.kernels.records order (hold, buy, sell, short, cover);
# models/ may not import the kernels, a unit test checks the order
ACTION_SIGN = np.array([0.0, 1.0, -1.0, -1.0, 1.0])
GROUPS = {"same": ("same_oc", "same_oo"), "next": ("next_oc", "next_oo")}


def audit_table(panel: Panel, fs: FeatureSet) -> pd.DataFrame:
    """Rank IC of each feature and each recorded field with the same day's and next day's returns.

    Returns of day t: ``same_oc = close(t)/open(t) - 1``, ``same_oo = open(t+1)/open(t) - 1`` (the
    target with h = 1), ``next_oc`` and ``next_oo`` the same one day later. A *feature* row uses
    ``x[t]`` (built before the open of t) where ``has_data``; a *recorded* row uses the value of
    episode t (see ``recorded_fields``). Day t's cross-section: stocks with a value and both
    returns of the group (``same_*`` or ``next_*``).

    ``kind = "cross-section"``: mean over days of the daily Spearman correlation across tickers
    (``models.ic.day_corr`` of ``day_ranks``, the rules of ``models.ic.daily_ic``: days with fewer
    than ``MIN_NAMES_PER_DAY`` tickers skipped), t-stat = mean / (std / sqrt(days))
    (``models.ic.mean_t``; NaN below 2 days). A field equal for every ticker of a day
    (allocations, VIX) has no cross-section: ``kind = "time-series"`` is
    the Spearman correlation over days with the equal-weight mean return, t-stat
    ``r * sqrt((n - 2) / (1 - r^2))`` (ignores autocorrelation).

    ``same_day_leak`` flags ``|ic_same_oc| > LEAK_RATIO * max(|ic_next_oc|, |ic_next_oo|)`` and
    ``|t_same_oc| > LEAK_T``: the field knows much more about the day it was recorded on than about
    the next one, the signature of a value computed after the open (README §6). For a feature
    built before the open, a same-day IC is tradable and the flag asks for a timing check only.

    Returns
    -------
    pandas.DataFrame
        One row per field (index ``field``): ``source``, ``kind``, ``n_days``, ``ic_<r>`` and
        ``t_<r>`` for r in ``RETURNS``, ``ratio``, ``same_day_leak``.
    """
    cache = _ReturnRanks(_returns(panel))
    rows = []
    for name, values in recorded_fields(panel).items():
        rows.append(_row(name, "recorded", values, cache))
    for j, name in enumerate(fs.names):
        values = np.where(fs.has_data, fs.x[:, :, j].astype(np.float64), np.nan)
        rows.append(_row(f"x.{name}", "feature", values, cache))
    table = pd.DataFrame(rows).set_index("field")
    with np.errstate(divide="ignore", invalid="ignore"):
        nxt = np.maximum(table["ic_next_oc"].abs(), table["ic_next_oo"].abs())
        table["ratio"] = table["ic_same_oc"].abs() / nxt
    table["same_day_leak"] = (table["ratio"] > LEAK_RATIO) & (table["t_same_oc"].abs() > LEAK_T)
    return table


def recorded_fields(panel: Panel) -> dict[str, np.ndarray]:
    """Recorded values of episode t on [t, k] (NaN = absent), as the audit reads them.

    ``risk_price`` enters as ``risk_price(t)/close(t-1) - 1`` (a price level has no cross-sectional
    meaning); daily fields are [T].
    """
    out: dict[str, np.ndarray] = {}
    for a, name in enumerate(ANALYSTS):
        has = panel.has_signal[a]
        out[f"{name}.signal"] = np.where(has, panel.signal[a], np.nan)
        out[f"{name}.confidence"] = np.where(has, panel.confidence[a], np.nan)
    prev_close = np.full(panel.close.shape, np.nan)
    prev_close[1:] = panel.close[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["risk.price"] = np.where(panel.on_risk, panel.risk_price / prev_close - 1.0, np.nan)
        out["risk.limit_frac"] = np.where(
            panel.on_risk, panel.risk_limit / panel.risk_base[:, None], np.nan
        )
    out["strength"] = np.where(panel.eligible, panel.strength, np.nan)
    out["macro.stock_allocation"] = np.asarray(panel.macro_stock_alloc, dtype=np.float64)
    out["forward_looking.stock_allocation"] = np.asarray(panel.fwd_stock_alloc, dtype=np.float64)
    out["forward_looking.vix"] = np.asarray(panel.vix, dtype=np.float64)
    sign = ACTION_SIGN[panel.action.astype(np.int64)]
    out["llm.decision"] = np.where(panel.has_decision, sign, np.nan)
    return out


def _returns(panel: Panel) -> dict[str, np.ndarray]:
    """The four returns of day t on [t, k]; NaN where not finite or not a stock."""
    with np.errstate(divide="ignore", invalid="ignore"):
        oc = panel.close / panel.open - 1.0
        oo = np.full(oc.shape, np.nan)
        oo[:-1] = panel.open[1:] / panel.open[:-1] - 1.0
    out = {"same_oc": oc, "same_oo": oo}
    for n in ("oc", "oo"):
        nxt = np.full(oc.shape, np.nan)
        nxt[:-1] = out[f"same_{n}"][1:]
        out[f"next_{n}"] = nxt
    stock = ~panel.is_bond[None, :]
    return {n: np.where(np.isfinite(v) & stock, v, np.nan) for n, v in out.items()}


class _ReturnRanks:
    """The pairs of a group's cross-section mask and the day ranks of its returns there, kept for
    the last mask of each group (consecutive feature rows share the mask ``has_data``)."""

    def __init__(self, rets: dict[str, np.ndarray]) -> None:
        self.rets = rets
        self.group_ok = {
            g: np.isfinite(rets[a]) & np.isfinite(rets[b]) for g, (a, b) in GROUPS.items()
        }
        self._last: dict[str, tuple[bytes, tuple]] = {}

    def get(self, group: str, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        key = ok.tobytes()
        hit = self._last.get(group)
        if hit is None or hit[0] != key:
            t, k = np.nonzero(ok)
            n_days = ok.shape[0]
            ranks = {r: day_ranks(t, self.rets[r][t, k], n_days) for r in GROUPS[group]}
            hit = (key, (t, k, ranks))
            self._last[group] = hit
        return hit[1]


def _row(name: str, source: str, values: np.ndarray, cache: _ReturnRanks) -> dict:
    values = np.where(np.isfinite(values), values, np.nan)
    if values.ndim == 2 and _is_daily(values):
        values = _first_finite(values)
    row: dict = {"field": name, "source": source}
    row["kind"] = "cross-section" if values.ndim == 2 else "time-series"
    for group, names in GROUPS.items():
        if values.ndim == 1:
            for r in names:
                row["n_days"], row[f"ic_{r}"], row[f"t_{r}"] = _ts_rank_corr(values, cache.rets[r])
            continue
        t, k, ret_ranks = cache.get(group, np.isfinite(values) & cache.group_ok[group])
        n_days = values.shape[0]
        ranks = day_ranks(t, values[t, k], n_days)
        for r in names:
            ic, _ = day_corr(t, ranks, ret_ranks[r], n_days)  # rank IC: Pearson of day ranks
            row[f"ic_{r}"], row[f"t_{r}"], row["n_days"] = mean_t(ic)
    return row


def _is_daily(values: np.ndarray) -> bool:
    """The field is the same for every ticker on every day (NaN ignored)."""
    with np.errstate(invalid="ignore"):
        finite_rows = np.isfinite(values).any(axis=1)
        if not finite_rows.any():
            return False
        lo = np.nanmin(values[finite_rows], axis=1)
        hi = np.nanmax(values[finite_rows], axis=1)
    return bool(np.all(lo == hi))


def _first_finite(values: np.ndarray) -> np.ndarray:
    """[T, K] -> [T]: each day's first finite value (NaN if none)."""
    ok = np.isfinite(values)
    out = values[np.arange(values.shape[0]), ok.argmax(axis=1)]
    return np.where(ok.any(axis=1), out, np.nan)


def _ts_rank_corr(daily: np.ndarray, ret: np.ndarray) -> tuple[int, float, float]:
    cnt = np.isfinite(ret).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mkt = np.nansum(ret, axis=1) / cnt
    ok = np.isfinite(daily) & np.isfinite(mkt)
    n = int(ok.sum())
    if n < 3:
        return n, float("nan"), float("nan")
    r = pd.Series(daily[ok]).rank().corr(pd.Series(mkt[ok]).rank())
    if not np.isfinite(r):
        return n, float("nan"), float("nan")
    t = r * np.sqrt((n - 2) / max(1.0 - r * r, 1e-12))
    return n, float(r), float(t)
