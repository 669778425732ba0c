"""What a replay hands to the results layer: daily close marks and one strategy's run."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Marks", "RunOutput"]


class Marks(NamedTuple):
    """Daily close marks of a run, [T] float64 each; ``daily_return`` against the previous NAV."""

    nav: np.ndarray
    cash: np.ndarray
    long_exposure: np.ndarray
    short_exposure: np.ndarray
    gross_exposure: np.ndarray
    net_exposure: np.ndarray
    daily_return: np.ndarray


class RunOutput(NamedTuple):
    """One strategy's run over ``dates``, as every strategy hands it to ``export_run``."""

    strategy: str
    days: np.ndarray  # [n] int panel day indices (increasing), the ``day`` field of the fills
    dates: np.ndarray  # [n] datetime64[D] of those days
    tickers: np.ndarray  # [K] str, the ticker axis of ``fills["k"]``
    fills: np.ndarray  # fill_dt rows of every day, in execution sequence
    marks: Marks  # [n] daily close marks
    initial_nav: float  # NAV before the first day
    n_long: np.ndarray  # [n] open long stock positions after the close
    n_short: np.ndarray  # [n] open short stock positions after the close
