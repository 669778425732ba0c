"""SPY buy-and-hold: a benchmark series over the replayed days, from the benchmark CSV returns.

Why a series and not a DecisionMaker: SPY is not in the episodes (no open or close of SPY in any
Panel), so the books cannot fill it. Its recorded daily total return, close(d−1) → close(d), is
the same close-to-close span as a replayed day's NAV change, so compounding it over the replayed
dates gives the buy-and-hold account on the same days (bought at the close before the first day).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from simulator.core.errors import WfsimError

__all__ = ["load_spy_returns", "spy_equity"]


def load_spy_returns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(dates datetime64[D], daily total returns float64) from a ``Date,SPY`` CSV, date-sorted."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [(r["Date"], r["SPY"]) for r in csv.DictReader(fh)]
    except FileNotFoundError:
        raise WfsimError(str(path), "SPY returns file not found") from None
    except KeyError as exc:
        raise WfsimError(
            str(path), "missing column", column=exc.args[0], expected="Date,SPY"
        ) from None
    dates = np.array([d for d, _ in rows], dtype="datetime64[D]")
    ret = np.array([float(r) for _, r in rows], dtype=np.float64)
    order = np.argsort(dates, kind="stable")
    return dates[order], ret[order]


def spy_equity(
    dates: np.ndarray,
    spy_dates: np.ndarray,
    spy_ret: np.ndarray,
    initial_cash: float,
    *,
    fee_rate: float = 0.0,
) -> np.ndarray:
    """NAV of SPY bought with ``initial_cash`` at the close before ``dates[0]`` and held.

    ``nav[i] = initial_cash * (1 − fee_rate) * Π_{j ≤ i} (1 + r[dates[j]])``: one entry fee,
    returns compounded on the replayed dates only (the replay has no other days).

    Raises
    ------
    WfsimError
        A replayed date has no SPY return.

    Examples
    --------
    >>> d = np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    >>> spy_equity(d, d, np.array([0.1, -0.5]), 100.0).round(6).tolist()
    [110.0, 55.0]
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    pos = np.searchsorted(spy_dates, dates)
    pos_c = np.minimum(pos, len(spy_dates) - 1)
    missing = (pos >= len(spy_dates)) | (spy_dates[pos_c] != dates)
    if missing.any():
        first = dates[np.flatnonzero(missing)[0]]
        raise WfsimError(
            "spy_equity", "no SPY return for a replayed date", date=str(first),
            n_missing=int(missing.sum()), expected="one SPY row per replayed day",
        )  # fmt: skip
    return float(initial_cash) * (1.0 - fee_rate) * np.cumprod(1.0 + spy_ret[pos_c])
