"""load_panel(store, days): the Panel of a day range, read from its row groups only, equals
slice_panel of the whole load array for array (dtype, shape, bytes); day-aligned row groups."""

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import episodes.row_groups as row_groups
from episodes.config import SynthConfig
from episodes.panel import slice_panel
from episodes.store import ingest, load_panel
from episodes.synth import write_episodes
from episodes.synth_store import write_synth_store
from episodes.tables import TABLES
from simulator.core.errors import StoreError
from tests.panel_equal import assert_same_panel

CFG = SynthConfig(days=50, tickers=12, new_listings=0.25, delistings=0.25)
SMALL = 120  # rows per row group in the tests: several groups per table


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """{kind: (store, whole Panel)}: synth and ingest with small groups, and one big group."""
    root = tmp_path_factory.mktemp("load_days")
    write_episodes(root / "eps", CFG, 7)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(row_groups, "ROW_GROUP_ROWS", SMALL)
        write_synth_store(root / "synth", CFG, 7, block=9)
        ingest(root / "eps", root / "ingest")
    ingest(root / "eps", root / "one_group")  # the default size: one group per table
    return {k: (root / k, load_panel(root / k)) for k in ("synth", "ingest", "one_group")}


def test_tables_are_in_day_aligned_bounded_groups_the_same_for_both_writers(stores):
    synth, ingested, one = (stores[k][0] for k in ("synth", "ingest", "one_group"))
    for name in TABLES:
        md = pq.read_metadata(synth / f"{name}.parquet")
        assert pq.read_metadata(one / f"{name}.parquet").num_row_groups == 1
        if name != "daily":  # daily.sha256: large_string in an ingest, string in the synth
            a = (synth / f"{name}.parquet").read_bytes()
            assert a == (ingested / f"{name}.parquet").read_bytes(), name
        t = pq.read_table(synth / f"{name}.parquet").to_pandas()
        days = t["t"].to_numpy() if "t" in t else np.arange(len(t))
        sizes = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        edges = np.cumsum(sizes)[:-1]
        assert all(days[e - 1] != days[e] for e in edges), name  # never splits a day
        per_day = np.bincount(days) if len(days) else np.zeros(1, int)
        assert max(sizes) <= max(SMALL, per_day.max()), name
        if len(days) > 3 * SMALL:
            assert md.num_row_groups >= 3, name
            assert min(sizes[:-1]) + per_day.max() > SMALL, name  # greedy: full groups


def _carried(panel) -> int:
    """A day whose before-state holds positions and cost bases carried from the day before."""
    held = np.flatnonzero(
        (panel.long_after[:-1] != 0).any(1) & (panel.rg_long_after[:-1] != 0).any(1)
    )
    return int(held[len(held) // 2]) + 1


@pytest.mark.parametrize("kind", ["synth", "ingest", "one_group"])
def test_edge_ranges_equal_slice_panel(stores, kind):
    store, full = stores[kind]
    T = full.n_days
    a = _carried(full)
    assert full.long_after[a - 1].any()
    for days in (range(0, 1), range(T - 1, T), range(0, T), range(1, 2), range(a, a + 5)):
        assert_same_panel(load_panel(store, days), slice_panel(full, days))
    for days in (range(0, 0), range(T, T)):
        assert load_panel(store, days).n_days == 0


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_ranges_equal_slice_panel(stores, data):
    kind = data.draw(st.sampled_from(["synth", "ingest", "one_group"]))
    store, full = stores[kind]
    a = data.draw(st.integers(0, full.n_days))
    b = data.draw(st.integers(a, full.n_days))
    assert_same_panel(load_panel(store, range(a, b)), slice_panel(full, range(a, b)))


def _overlapping(store, a: int, b: int) -> tuple[int, int]:
    """(row groups whose day span overlaps the days a table needs for a..b-1, all row groups)."""
    need, n_all = 0, 0
    for name in TABLES:
        tab = pq.read_table(store / f"{name}.parquet")
        md = pq.read_metadata(store / f"{name}.parquet")
        t = tab.column("t").to_numpy() if name != "daily" else np.arange(md.num_rows)
        lo = a - 1 if name == "positions" else a
        end = np.cumsum([md.row_group(i).num_rows for i in range(md.num_row_groups)])
        for s, e in zip([0, *end[:-1]], end, strict=True):
            need += bool(e > s and t[s:e].min() < b and t[s:e].max() >= lo)
        n_all += md.num_row_groups
    return need, n_all


def test_reads_only_the_row_groups_of_the_range(stores, monkeypatch):
    store, full = stores["synth"]
    calls = []
    orig = pq.ParquetFile.read_row_group
    monkeypatch.setattr(
        pq.ParquetFile,
        "read_row_group",
        lambda self, i, **kw: calls.append(i) or orig(self, i, **kw),
    )
    md = pq.read_metadata(store / "prices.parquet")
    t = pq.read_table(store / "prices.parquet", columns=["t"]).column("t").to_numpy()
    starts = [int(t[s]) for s in np.cumsum([0] + [md.row_group(i).num_rows for i in range(3)])]
    # ranges whose ends fall on the first day of a prices group, and inside groups
    for a, b in ((starts[1], starts[2]), (starts[1] + 1, starts[3]), (starts[2] - 1, starts[2])):
        calls.clear()
        assert_same_panel(load_panel(store, range(a, b)), slice_panel(full, range(a, b)))
        need, n_all = _overlapping(store, a, b)
        assert len(calls) == need < n_all, (a, b)


def test_bad_ranges_raise_store_errors_naming_the_store_and_range(stores):
    store, full = stores["synth"]
    T = full.n_days
    for bad in (range(-1, 3), range(0, T + 1), range(0, 10, 2), range(5, 3), [0, 1]):
        with pytest.raises(StoreError, match="day range outside the store") as exc:
            load_panel(store, bad)
        assert str(store) in str(exc.value) and f"days={bad}" in str(exc.value)
        assert f"0 <= a <= b <= {T}" in str(exc.value)


def test_group_bounds_split_whole_days_only():
    t = np.array([0, 0, 0, 1, 2, 2, 2, 2, 2, 3, 4, 4])
    assert row_groups.group_bounds(t, 4) == [0, 4, 9, 12]
    assert row_groups.group_bounds(t, 100) == [0, 12]
    assert row_groups.group_bounds(t, 1) == [0, 3, 4, 9, 10, 12]


def test_a_table_of_one_group_is_written_as_pq_write_table_writes_it(tmp_path, monkeypatch):
    import pyarrow as pa

    tab = pa.table({"t": pa.array([0, 0, 1, 2, 2], pa.int32()), "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    for name, table in (("some", tab), ("empty", tab.slice(0, 0))):
        pq.write_table(table, tmp_path / f"{name}_pq.parquet", compression="zstd")
        row_groups.write_day_groups(table, tmp_path / f"{name}.parquet", compression="zstd")
        want = (tmp_path / f"{name}_pq.parquet").read_bytes()
        assert (tmp_path / f"{name}.parquet").read_bytes() == want, name
    monkeypatch.setattr(row_groups, "ROW_GROUP_ROWS", 2)
    w = row_groups.DayGroupWriter(tmp_path / "pieces.parquet", tab.schema, compression="zstd")
    for s, e in ((0, 3), (3, 5)):  # pieces of whole days, cut elsewhere than the groups
        w.write(tab.slice(s, e - s))
    w.close()
    row_groups.write_day_groups(tab, tmp_path / "once.parquet", compression="zstd")
    md = pq.read_metadata(tmp_path / "once.parquet")
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [2, 1, 2]
    assert (tmp_path / "pieces.parquet").read_bytes() == (tmp_path / "once.parquet").read_bytes()
