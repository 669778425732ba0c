"""The store tables of a day range, read row group by row group (``load_panel(store, days)``).

For days ``a..b-1`` each table is read only in the row groups whose ``t`` statistics (Parquet
footer; row offsets for ``daily``, one row per day) overlap the days needed, and inside a group
only the rows of those days are kept (a copy: the group's buffers are freed before the next is
read), so memory is bounded by the rows of the range plus one row group, not by the store. Days
are rebased to ``t - a``, and the book state before day ``a`` comes from the after-rows of day
``a - 1`` (``positions`` state 0), turned into the before-rows (state 1) that a store of the days
alone would hold. ``panel_from_tables`` then builds the Panel from these tables exactly as from a
whole store, so the result equals ``slice_panel(load_panel(store), days)`` array for array
(``tests/unit/episodes/test_load_days.py``). A store written in one big group per table (before
``episodes.row_groups``) loads the same, reading more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from episodes.panel_io import PANEL_COLUMNS
from simulator.core.errors import StoreError

__all__ = ["check_days", "days_manifest", "DayTables", "read_day_rows"]


def check_days(path: Path, days: object, n_days: int) -> range:
    """``days`` if it is a step-1 ``range`` inside the store's ``0..n_days`` (as ``slice_panel``
    accepts: ``0 <= start <= stop <= n_days``), else a ``StoreError`` naming the store and range."""
    if not (isinstance(days, range) and days.step == 1 and 0 <= days.start <= days.stop <= n_days):
        raise StoreError(
            str(path),
            "day range outside the store",
            days=days,
            n_days=n_days,
            expected=f"a step-1 range(a, b) with 0 <= a <= b <= {n_days}",
        )
    return days


def days_manifest(manifest: dict, days: range) -> dict:
    """What ``panel_from_tables`` reads of the manifest, for the days ``days``."""
    return {"dates": manifest["dates"][days.start : days.stop], "tickers": manifest["tickers"]}


class DayTables(Mapping[str, pa.Table]):
    """The Panel's tables of ``days`` (``PANEL_COLUMNS`` only, ``t`` rebased), each read when
    ``panel_from_tables`` asks for it (one table's buffers are freed before the next is read)."""

    def __init__(self, read: Callable[[str, Sequence[str], int, int], pa.Table], days: range):
        self.read, self.days = read, days  # read(name, columns, lo, hi) -> the rows of lo..hi-1

    def __getitem__(self, name: str) -> pa.Table:
        pa.default_memory_pool().release_unused()  # pages of the tables already converted
        a, b = self.days.start, self.days.stop
        if name != "positions":
            return _rebase(self.read(name, PANEL_COLUMNS[name], a, b), a)
        tab = self.read(name, PANEL_COLUMNS[name], max(a - 1, 0), b)
        if a == 0:  # the store's own before-rows of day 0 (state 1)
            return tab
        tab = tab.filter(pc.equal(tab.column("state"), 0))  # after-rows of a-1..b-1
        t = tab.column("t")
        state = pc.cast(pc.equal(t, pa.scalar(a - 1, t.type)), pa.int8())  # a-1 -> before-rows
        tab = tab.set_column(tab.schema.get_field_index("state"), "state", state)
        return _rebase(tab, a, clip=True)

    def __iter__(self) -> Iterator[str]:
        return iter(PANEL_COLUMNS)

    def __len__(self) -> int:
        return len(PANEL_COLUMNS)


def _rebase(tab: pa.Table, a: int, *, clip: bool = False) -> pa.Table:
    """``t - a`` (day a-1 -> 0 with ``clip``: the before-rows are day 0's); no-op without ``t``."""
    if "t" not in tab.column_names or a == 0:
        return tab
    t = tab.column("t")
    new = pc.subtract(t, pa.scalar(a, t.type))
    if clip:
        new = pc.max_element_wise(new, pa.scalar(0, t.type))
    return tab.set_column(tab.schema.get_field_index("t"), "t", new)


def read_day_rows(path: Path, columns: Sequence[str], lo: int, hi: int) -> pa.Table:
    """The rows of days ``lo <= t < hi`` of one table (``columns``, which hold ``t`` unless the
    table has none; ``t`` not rebased), read from the row groups that overlap them only. A missing
    column raises ``ArrowInvalid`` (as ``panel_io.read_parquet``)."""
    with pq.ParquetFile(path) as pf:
        missing = [c for c in columns if c not in set(pf.schema_arrow.names)]
        if missing:
            raise pa.ArrowInvalid(f"no column {missing[0]!r} in {path}")
        parts = list(_parts(pf, list(columns), lo, hi))
        schema = pa.schema([pf.schema_arrow.field(c) for c in columns])
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _parts(pf: pq.ParquetFile, columns: list[str], lo: int, hi: int) -> Iterator[pa.Table]:
    md = pf.metadata
    names = [md.schema.column(j).path for j in range(md.num_columns)]
    j = names.index("t") if "t" in names else None
    offset = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        first, n = offset, rg.num_rows
        offset += n
        if n == 0:
            continue
        if j is None:  # daily: row r is day r
            if first < hi and first + n > lo:
                g = pf.read_row_group(i, columns=columns)
                start = max(lo - first, 0)
                yield g.slice(start, min(hi - first, n) - start)
            continue
        st = rg.column(j).statistics
        if st is not None and st.has_min_max and (st.max < lo or st.min >= hi):
            continue  # no day of the range in this group
        g = pf.read_row_group(i, columns=columns)
        t = g.column("t")
        lo_t, hi_t = pa.scalar(lo, t.type), pa.scalar(hi, t.type)
        part = g.filter(pc.and_(pc.greater_equal(t, lo_t), pc.less(t, hi_t)))  # a copy
        del g, t  # the group's buffers go before the next group is read
        yield part
