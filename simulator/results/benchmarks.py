"""Load the benchmark CSVs shipped in ../shared/data/mas-hedge-fund/benchmarks as dated series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from episodes.benchmarks import RF_FILE, SPY_FILE
from simulator.core.errors import WfsimError

__all__ = [
    "SPY_FILE",
    "RF_FILE",
    "RECORDED_RUN_FILE",
    "load_return_csv",
    "load_spy",
    "load_risk_free",
    "load_mas_runs",
    "load_lstm_original",
]

# SPY total daily return ``Date,SPY``; ``,risk_free_rate``: each value a rate per trading day
# (declared with the synthetic series beside episodes; the real files: 2022-01-04 .. 2024-12-31)
RECORDED_RUN_FILE = "mas_hedge_fund_returns_20250731_233942.csv"
"""The recorded run's daily portfolio_return: the same run as the episodes (MAS2 in the thesis)."""
_MAS_GLOB = "mas_hedge_fund_returns_*.csv"
_LSTM_GLOB = "lstm_walkforward_returns_*.csv"


def load_return_csv(path: Path, *, name: str | None = None) -> pd.Series:
    """Read a two-column CSV (date, value) as a float64 series indexed by date.

    Parameters
    ----------
    path : Path
        The CSV; its first column holds ISO dates (header may be empty), its second the values.
    name : str, optional
        Name of the returned series (default: the value column's header).

    Raises
    ------
    WfsimError
        The file is missing, has no value column, non-numeric values or repeated dates.
    """
    path = Path(path)
    if not path.is_file():
        raise WfsimError(str(path), "benchmark file not found", fix="check the path")
    frame = pd.read_csv(path, index_col=0)
    if frame.shape[1] < 1:
        raise WfsimError(str(path), "no value column", columns=frame.shape[1], expected=">= 1")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(frame.index, format="%Y-%m-%d"), name="date")
        values = frame.iloc[:, 0].to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise WfsimError(
            str(path), f"unparseable row ({exc})", expected="ISO date, number"
        ) from None
    if index.has_duplicates:
        raise WfsimError(str(path), "repeated dates", n=int(index.duplicated().sum()), expected="0")
    series = pd.Series(values, index=index, name=name or str(frame.columns[0]))
    return series.sort_index()


def load_spy(path: Path) -> pd.Series:
    """SPY daily simple returns from ``spy_returns.csv`` (series named ``SPY``)."""
    return load_return_csv(path, name="SPY")


def load_risk_free(path: Path) -> pd.Series:
    """Risk-free rate per trading day from ``daily_risk_free_rate.csv``, indexed by calendar date.

    The file was built as (1 + y)^(1/252) − 1 of the 3-month T-bill yield y and repeated on every
    calendar day (its 2023 mean × 252 is 4.9 %): use the value on a trading date as is.
    """
    rf = load_return_csv(path, name="risk_free_rate")
    if (rf.abs() > 0.01).any():
        top = float(rf.abs().max())
        raise WfsimError(str(path), "not a daily rate", max=top, expected="|rf| <= 0.01 per day")
    return rf


def load_mas_runs(benchmarks_dir: Path) -> dict[str, pd.Series]:
    """The five recorded LLM runs' daily returns, keyed ``mas-<timestamp>``, in file-name order.

    ``mas-20250731_233942`` is the run recorded in the episodes; the others are separate runs of
    the same system (the LLM's run-to-run spread). Note: ``mas-20250726_064159`` has 690 days.
    """
    files = sorted(Path(benchmarks_dir).glob(_MAS_GLOB))
    if not files:
        raise WfsimError(str(benchmarks_dir), "no recorded MAS runs", expected=_MAS_GLOB)
    return {_label("mas", f): load_return_csv(f, name=_label("mas", f)) for f in files}


def load_lstm_original(benchmarks_dir: Path) -> dict[str, pd.Series]:
    """The original project's LSTM walk-forward returns (from 2023-03-31) as ``lstm-original``."""
    files = sorted(Path(benchmarks_dir).glob(_LSTM_GLOB))
    if not files:
        raise WfsimError(str(benchmarks_dir), "no original LSTM returns", expected=_LSTM_GLOB)
    return {"lstm-original": load_return_csv(files[-1], name="lstm-original")}


def _label(prefix: str, path: Path) -> str:
    return f"{prefix}-{path.stem.rsplit('_returns_', 1)[-1]}"
