"""Store tables written in row groups of whole days, so that a day range reads only its groups.

Every store table has its rows grouped by day (a ``t`` column, or one row per day for ``daily``).
A table is written as consecutive row groups, each of whole days and at most ``ROW_GROUP_ROWS``
rows (a single day larger than that gets a group of its own, never split), chosen greedily: a
group is closed when the next day would not fit. The Parquet footer's ``t`` statistics of each
group then tell a day-range reader (``episodes.store_days``) which groups to read.

Why 65,536 rows: a 1,695-ticker synthetic day has ~1.5 k price rows and ~4.4 k signal rows, so a
group holds ~44 days of prices or ~15 days of signals: a 63 + 21-day block reads 3-4 groups of
prices and 6-7 of signals, and the part of a group read beyond the range costs at most ~5 MB of
Arrow buffers (the widest table: 10 columns of <= 8 bytes), freed before the next group is read.
Smaller groups cost store size: the real store (691 days) is 7.12 MB in one group per table,
7.27 MB at 131,072 rows, 7.49 MB at 65,536 (+5 %), 7.66 MB at 32,768; 65,536 halves the rows read
beyond a block's ends against 131,072 for 3 % of size. A table of at most ``ROW_GROUP_ROWS`` rows
(the test stores) stays one group, byte for byte as a plain ``pq.write_table`` writes it. The
bytes are a function of the rows alone: the same frame gives the same file, whether written at
once or appended block by block (ingest and synth, ``episodes.table_io``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ROW_GROUP_ROWS", "DayGroupWriter", "group_bounds", "write_day_groups"]

ROW_GROUP_ROWS = 65_536  # at most this many rows per group (a larger day is a group alone)


def group_bounds(t: np.ndarray, max_rows: int) -> list[int]:
    """Row offsets ``[0, ..., n]`` of the groups of whole days of ``t`` (day per row), greedy.

    >>> group_bounds(np.array([0, 0, 1, 1, 1, 2, 3, 3]), 4)
    [0, 2, 6, 8]
    >>> group_bounds(np.array([0, 0, 0, 0, 0, 1]), 4)  # a day of 5 rows is a group alone
    [0, 5, 6]
    >>> group_bounds(np.array([], np.int32), 4)
    [0]
    """
    n = len(t)
    if n == 0:
        return [0]
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    bounds = [0]
    for s, e in zip(starts.tolist(), [*starts[1:].tolist(), n], strict=True):
        if e - bounds[-1] > max_rows and s > bounds[-1]:
            bounds.append(s)
    bounds.append(n)
    return bounds


def _days(tab: pa.Table) -> np.ndarray:
    if "t" in tab.column_names:
        return tab.column("t").to_numpy()
    return np.arange(tab.num_rows)  # daily: one row per day


class DayGroupWriter:
    """A Parquet writer that takes a table's rows in day order, in any number of pieces of whole
    days, and writes them as the greedy groups of ``group_bounds`` over all the rows: the file is
    the same however the rows were cut into pieces. Holds at most one open group between writes."""

    def __init__(self, path: Path, schema: pa.Schema, **kw) -> None:
        self._w = pq.ParquetWriter(path, schema, **kw)
        self._pending: pa.Table | None = None
        self._written = False

    @property
    def schema(self) -> pa.Schema:
        return self._w.schema

    def write(self, tab: pa.Table) -> None:
        buf = tab if self._pending is None else pa.concat_tables([self._pending, tab])
        bounds = group_bounds(_days(buf), ROW_GROUP_ROWS)
        for lo, hi in zip(bounds[:-2], bounds[1:-1], strict=True):
            self._group(buf.slice(lo, hi - lo))
        self._pending = buf.slice(bounds[-2]) if len(bounds) > 1 else buf

    def _group(self, tab: pa.Table) -> None:
        self._w.write_table(tab, row_group_size=max(tab.num_rows, 1))
        self._written = True

    def close(self) -> None:
        try:
            if self._pending is not None and (self._pending.num_rows or not self._written):
                self._group(self._pending)
            self._pending = None
        finally:
            self._w.close()


def write_day_groups(table: pa.Table, path: Path, **kw) -> None:
    """``table`` (rows in day order) as one Parquet file of day-aligned row groups."""
    w = DayGroupWriter(path, table.schema, **kw)
    try:
        w.write(table)
    finally:
        w.close()
