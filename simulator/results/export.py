"""Run exports: trades and equity as CSV and Parquet, plus summary.json; atomic and byte-stable.

Every strategy writes the same files. Floats are written as their shortest round-trip repr
(exact and stable), NaN as an empty CSV field / Parquet null, JSON with sorted keys, no
timestamps anywhere: the same run writes the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulator.core.atomic import atomic_dir, atomic_path, write_atomic
from simulator.core.errors import WfsimError
from simulator.core.hashing import sha256_file
from simulator.core.memory import give_back
from simulator.core.versions import library_versions
from simulator.kernels.records import ACTION_NAMES, HOLD, REASON_NAMES
from simulator.runs import Marks, RunOutput

__all__ = [
    "MANIFEST",
    "export_run",
    "verify_run",
    "positions_table",
    "run_metrics",
    "trades_table",
    "equity_table",
    "Streamed",
    "write_csv",
    "write_parquet",
    "write_json",
    "run_summary",
]


def fill_dates(day: np.ndarray, days: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Dates (``datetime64[D]``) of fill records whose ``day`` are panel day indices among
    ``days`` (the run's days; ``dates`` theirs)."""
    return np.asarray(dates, "datetime64[D]")[np.searchsorted(days, day)]


def trades_table(
    fills: np.ndarray, days: np.ndarray, dates: np.ndarray, tickers: np.ndarray
) -> pa.Table:
    """One row per fill record that is not a hold (rejected, clipped and zero fills included).

    ``fills["day"]`` are panel day indices among ``days``; ``dates`` are their dates.
    ``position_after`` is signed (long − short); ``notional = filled_qty · price``; ``reason`` is
    the record's reason name; ``newcomer`` is the ticker a replacement close made room for.
    """
    rows = np.flatnonzero(fills["action"] != HOLD)

    def f(name: str) -> np.ndarray:  # one column of the kept rows (no copy of whole records)
        return fills[name][rows]

    tk = pa.array(np.asarray(tickers, dtype=object).tolist(), pa.string())
    victim = f("victim_of")
    newcomer = _names(np.maximum(victim, 0), tk, null=victim < 0).fill_null("")
    del victim
    qty, price = f("qty"), f("price")
    return pa.table(
        {
            "date": pa.array(fill_dates(f("day"), days, dates)),
            "ticker": _names(f("k"), tk),
            "action": _names(f("action"), pa.array(ACTION_NAMES)),
            "requested_qty": pa.array(f("req_qty")),
            "filled_qty": pa.array(qty),
            "price": pa.array(price),
            "notional": pa.array(qty * price),
            "fee": pa.array(f("fee")),
            "cash_after": pa.array(f("cash_after")),
            "position_after": pa.array(f("long_after") - f("short_after")),
            "reason": _names(f("reason"), pa.array(REASON_NAMES)),
            "realized": pa.array(f("realized")),
            "newcomer": newcomer,
        }
    )


def _names(idx: np.ndarray, names: pa.Array, null: np.ndarray | None = None) -> pa.Array:
    """``names[idx]`` as a plain string array (nulls where ``null``)."""
    indices = pa.array(np.asarray(idx, np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, names).dictionary_decode()


def equity_table(dates: np.ndarray, marks: Marks, initial_nav: float) -> pa.Table:
    """Daily NAV, cash, exposures, return and drawdown (``nav / running peak − 1``).

    The running peak starts at ``initial_nav``, the NAV before the first day.
    """
    peak = np.maximum.accumulate(np.concatenate([[initial_nav], marks.nav]))[1:]
    return pa.table(
        {
            "date": pa.array(np.asarray(dates, "datetime64[D]")),
            "nav": pa.array(marks.nav),
            "cash": pa.array(marks.cash),
            "long_exposure": pa.array(marks.long_exposure),
            "short_exposure": pa.array(marks.short_exposure),
            "gross_exposure": pa.array(marks.gross_exposure),
            "daily_return": pa.array(marks.daily_return),
            "drawdown": pa.array(marks.nav / peak - 1.0),
        }
    )


def positions_table(dates: np.ndarray, n_long: np.ndarray, n_short: np.ndarray) -> pa.Table:
    """Open stock positions per side after the close of each day."""
    return pa.table(
        {
            "date": pa.array(np.asarray(dates, "datetime64[D]")),
            "n_long": pa.array(np.asarray(n_long, np.int64)),
            "n_short": pa.array(np.asarray(n_short, np.int64)),
        }
    )


CSV_ROWS = 65_536  # rows of a table converted and written at a time by write_csv


def _nan_as_null(table: pa.Table) -> pa.Table:
    cols = []
    for col in table.columns:
        if pa.types.is_floating(col.type):
            a = col.to_numpy()
            col = pa.array(a, mask=np.isnan(a))
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _needs_quotes(table: pa.Table) -> bool:
    strings = [pc.unique(c) for c in table.columns if pa.types.is_string(c.type)]
    return any(pc.any(pc.match_substring_regex(u, r'[,"\n\r]')).as_py() for u in strings)


@dataclass(frozen=True, eq=False)
class Streamed:
    """A table that ``write_csv`` writes block by block, never whole: its column names and a
    function that yields its consecutive row blocks as tables (called once per file written).
    Its columns hold no strings (no quoting is needed)."""

    names: tuple[str, ...]
    blocks: Callable[[], Iterator[pa.Table]]


def write_csv(path: Path, table: pa.Table | Streamed) -> Path:
    """CSV with a bare header, '\\n' line ends, shortest round-trip floats, NaN as ''. Atomic.

    Strings are quoted only when some cell needs it (a comma, quote or line break). Streamed to
    the file ``CSV_ROWS`` rows at a time (each value's text does not depend on its batch): the
    memory it adds is one batch, not the whole text (a 1,695-ticker x 6,000-day llm run exports
    1.6 M trade rows); a ``Streamed`` table, one of its blocks at a time (the same bytes as the
    whole table's).
    """
    if isinstance(table, Streamed):
        names, parts, style = table.names, table.blocks(), "none"
    else:
        names, style = table.column_names, "needed" if _needs_quotes(table) else "none"
        parts = (pa.Table.from_batches([b]) for b in table.to_batches(max_chunksize=CSV_ROWS))
    opts = pacsv.WriteOptions(include_header=False, quoting_style=style)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write((",".join(names) + "\n").encode())
        for part in parts:
            pacsv.write_csv(_nan_as_null(part), fh, opts)
    return path


def write_parquet(path: Path, table: pa.Table) -> Path:
    """Parquet (zstd) of ``table``, NaN floats stored as null. Atomic."""
    with atomic_path(path) as tmp:
        pq.write_table(_nan_as_null(table), tmp, compression="zstd")
    return path


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """JSON: sorted keys, indent 2, non-finite floats as null, numpy scalars as Python. Atomic."""
    text = json.dumps(_plain(data), sort_keys=True, indent=2, allow_nan=False)
    return write_atomic(path, text + "\n")


RUN_VERSIONS = ("wfsim", "numpy", "numba", "pandas", "pyarrow")  # recorded in summary.json


def run_metrics(run: RunOutput) -> dict[str, Any]:
    """``compute_metrics`` of a run (no rf or benchmark: see `wfsim report`)."""
    from simulator.results.metrics import compute_metrics

    idx = pd.DatetimeIndex(np.asarray(run.dates, "datetime64[ns]"), name="date")
    m = run.marks
    book = pd.DataFrame(
        {"nav": m.nav, "long_exposure": m.long_exposure, "short_exposure": m.short_exposure,
         "n_long": run.n_long, "n_short": run.n_short},
        index=idx,
    )  # fmt: skip
    # the trade metrics read the filled rows of the trades table (``trades_table``'s rows with
    # filled_qty > 0): their action, quantities and money, taken from the records column by
    # column (a 1.6 M-row run's table is neither filtered nor turned into pandas)
    f = run.fills
    rows = np.flatnonzero((f["action"] != HOLD) & (f["qty"] > 0))
    qty, price = f["qty"][rows], f["price"][rows]
    tr = pd.DataFrame(
        {
            "date": fill_dates(f["day"][rows], run.days, run.dates).astype("datetime64[ns]"),
            "action": np.asarray(ACTION_NAMES, dtype=object)[f["action"][rows]],
            "filled_qty": qty,
            "price": price,
            "notional": qty * price,
            "fee": f["fee"][rows],
            "realized": f["realized"][rows],
        }
    )
    return compute_metrics(pd.Series(m.daily_return, index=idx), book=book, trades=tr)


def run_summary(run: RunOutput, metrics: dict[str, Any]) -> dict[str, Any]:
    """The run-level facts every strategy reports; callers add config, config_hash and extras."""
    f = run.fills  # the filled rows' columns, not a copy of the whole records (1.6 M at scale)
    mask = f["qty"] > 0
    qty, price = f["qty"][mask], f["price"][mask]
    nav = run.marks.nav
    return {
        "strategy": run.strategy,
        "days": len(run.dates),
        "first_date": str(run.dates[0]) if len(run.dates) else None,
        "last_date": str(run.dates[-1]) if len(run.dates) else None,
        "initial_nav": float(run.initial_nav),
        "final_nav": float(nav[-1]) if len(nav) else float(run.initial_nav),
        "fees_paid": float(f["fee"][mask].sum()),
        "notional_traded": float((qty * price).sum()),
        "fills": len(qty),
        "metrics": dict(metrics),
        "versions": library_versions(RUN_VERSIONS),
    }


MANIFEST = "manifest.json"


def refuse_foreign_dir(out: Path) -> None:
    """A run replaces ``out`` whole: refuse when it is something else (a store, a registry, a
    user's folder) — only a missing or empty path or an earlier run (its ``summary.json`` and
    ``manifest.json``) is replaced."""
    if out.is_dir() and any(out.iterdir()):
        if not ((out / "summary.json").is_file() and (out / MANIFEST).is_file()):
            raise WfsimError(str(out), "exists and is not a run directory: not replaced",
                             expected="a new path, an empty directory or an earlier run",
                             fix="choose another --out")  # fmt: skip
    elif out.exists() and not out.is_dir():
        raise WfsimError(str(out), "exists and is a file", expected="a directory for the run")


def export_run(
    out: Path,
    run: RunOutput,
    extra: dict[str, Any],
    tables: dict[str, pa.Table] | None = None,
    documents: dict[str, dict[str, Any]] | None = None,
    files: dict[str, bytes] | None = None,
) -> dict[str, Path]:
    """Write a run's exports into ``out``, whole, and return their paths by file name.

    Files: trades, equity and positions as .csv and .parquet, summary.json (``run_summary`` with
    the metrics, updated with ``extra`` — the caller's config, config_hash, seed and
    strategy-specific facts), the caller's extra CSV ``tables`` (name -> table; written first and
    emptied as written, so that a large run's tables are freed early), extra JSON
    ``documents`` (name -> dict), raw ``files`` (relative path -> bytes, e.g.
    ``benchmarks/spy_returns.csv``) and ``manifest.json`` (sha256 and size of every other file).
    Written like a model window (``simulator.core.atomic.atomic_dir``): into a hidden temp
    directory renamed over ``out`` at the end, so a kill or a full disk leaves the previous run
    or the new one, never a mix.
    """
    out = Path(out)
    refuse_foreign_dir(out)
    names: list[str] = []
    with atomic_dir(out) as tmp:
        # the caller's tables first, each dropped from ``tables`` once written: a large run's
        # holdings are gone before its trades table is built (the file set does not change)
        for name in list(tables or {}):
            write_csv(tmp / name, tables.pop(name))
            names.append(name)
            give_back()
        summary = run_summary(run, run_metrics(run) if len(run.dates) else {}) | extra
        give_back()  # the metrics' frames: a large run's pages back before the tables are built
        frames = {
            "trades": trades_table(run.fills, run.days, run.dates, run.tickers),
            "equity": equity_table(run.dates, run.marks, run.initial_nav),
            "positions": positions_table(run.dates, run.n_long, run.n_short),
        }
        for name in list(frames):
            table = frames.pop(name)
            write_csv(tmp / f"{name}.csv", table)
            write_parquet(tmp / f"{name}.parquet", table)
            names += [f"{name}.csv", f"{name}.parquet"]
            del table
            give_back()
        write_json(tmp / "summary.json", summary)
        names.append("summary.json")
        for name, doc in (documents or {}).items():
            write_json(tmp / name, doc)
            names.append(name)
        for name, data in (files or {}).items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
            names.append(name)
        write_json(tmp / MANIFEST, {"files": {n: _file_entry(tmp / n) for n in names}})
    return {n: out / n for n in [*names, MANIFEST]}


def _file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def verify_run(out: Path) -> list[str]:
    """Files of a run directory that differ from its manifest (missing, changed, unlisted)."""
    out = Path(out)
    listed = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    bad = [n for n, e in listed.items() if not (out / n).is_file() or _file_entry(out / n) != e]
    extra = {p.name for p in out.iterdir()} - {n.split("/")[0] for n in listed} - {MANIFEST}
    return sorted(bad) + sorted(extra)
