"""Benchmark series stored beside episodes: file names, the synthetic SPY and risk-free series
that `wfsim episodes synth` writes, and their copy into a store by `wfsim episodes ingest`.

A source directory (or a store) may hold ``benchmarks/`` with ``spy_returns.csv`` (``Date,SPY``:
daily simple returns) and ``daily_risk_free_rate.csv`` (``,risk_free_rate``: a rate per trading
day), the same format as the recorded data set's CSVs. ``wfsim compare``/``report`` read them from
the runs' store when no ``--benchmarks`` folder is given, so the demo's table is complete on a
clean machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from simulator.core.atomic import write_atomic

__all__ = [
    "BENCH_DIR",
    "SPY_FILE",
    "RF_FILE",
    "synthetic_series",
    "write_synthetic",
    "copy_benchmarks",
    "benchmark_files",
    "store_benchmarks",
]

if TYPE_CHECKING:  # numpy only where the series are made (`wfsim --help` imports the names)
    import numpy as np

BENCH_DIR = "benchmarks"
"""The folder beside the episodes (``EPISODES/benchmarks``) and inside a store."""
SPY_FILE = "spy_returns.csv"
"""SPY total daily return, ``Date,SPY``."""
RF_FILE = "daily_risk_free_rate.csv"
"""``,risk_free_rate``: one row per day, each value a rate per trading day."""


def synthetic_series(
    dates: np.ndarray, close: np.ndarray, open_: np.ndarray, fed_rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic market's SPY and risk-free rate, one value per date.

    SPY: the equal-weight mean over stocks of close(t)/close(t−1) − 1 (day 0: open→close), i.e.
    the market the synthetic tickers make. rf: ``(1 + fed_rate/100)^(1/252) − 1`` per trading day.

    >>> import numpy as np
    >>> spy, rf = synthetic_series(np.array(["2024-01-02", "2024-01-03"], "datetime64[D]"),
    ...     np.array([[10.0, 20.0], [11.0, 19.0]]), np.array([[10.0, 20.0]]), np.array([5.0, 5.0]))
    >>> [round(float(v), 6) for v in spy], round(float(rf[0]) * 252, 4)
    ([0.0, 0.025], 0.0488)
    """
    import numpy as np

    prev = np.vstack([open_[:1], close[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = close / prev - 1.0
    spy = np.nanmean(np.where(np.isfinite(ret), ret, np.nan), axis=1)
    rf = (1.0 + np.asarray(fed_rate, np.float64) / 100.0) ** (1.0 / 252.0) - 1.0
    return np.nan_to_num(spy), rf


def write_synthetic(folder: Path, dates: np.ndarray, spy: np.ndarray, rf: np.ndarray) -> list[Path]:
    """Write ``SPY_FILE`` and ``RF_FILE`` into ``folder`` (each atomically)."""
    import numpy as np

    iso = [str(d) for d in np.asarray(dates, "datetime64[D]")]
    spy_csv = "Date,SPY\n" + "".join(f"{d},{v:.10g}\n" for d, v in zip(iso, spy, strict=True))
    rf_csv = ",risk_free_rate\n" + "".join(f"{d},{v:.10g}\n" for d, v in zip(iso, rf, strict=True))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_atomic(folder / SPY_FILE, spy_csv), write_atomic(folder / RF_FILE, rf_csv)]


def copy_benchmarks(src: Path, store: Path) -> list[Path]:
    """Copy ``src/benchmarks/{SPY_FILE,RF_FILE}`` into ``store/benchmarks/`` (atomically each);
    nothing when ``src`` is not a directory or has none."""
    folder = Path(src) / BENCH_DIR
    if not folder.is_dir():
        return []
    out = []
    for name in (SPY_FILE, RF_FILE):
        if (folder / name).is_file():
            target = Path(store) / BENCH_DIR / name
            target.parent.mkdir(parents=True, exist_ok=True)
            out.append(write_atomic(target, (folder / name).read_bytes()))
    return out


def benchmark_files(store: Path) -> dict[str, bytes]:
    """``{"benchmarks/<file>": bytes}`` of a store's benchmark CSVs (for a run directory)."""
    folder = Path(store) / BENCH_DIR
    return {f"{BENCH_DIR}/{n}": (folder / n).read_bytes()
            for n in (SPY_FILE, RF_FILE) if (folder / n).is_file()}  # fmt: skip


def store_benchmarks(store: Path) -> Path | None:
    """``store/benchmarks`` when it holds the SPY series, else None."""
    folder = Path(store) / BENCH_DIR
    return folder if (folder / SPY_FILE).is_file() else None
