"""load_panel(store, days) on the real store (691 days, ingested in day-aligned row groups): every
array equal to slice_panel of the whole load, and the store's tables in several groups."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from episodes.panel import slice_panel
from episodes.store import load_panel
from tests.panel_equal import assert_same_panel

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def full(real_store):
    return load_panel(real_store)


def test_real_store_tables_are_in_several_day_aligned_groups(real_store):
    md = pq.read_metadata(real_store / "signals.parquet")
    assert md.num_row_groups >= 10  # 1,045,662 rows in groups of <= 65,536


@pytest.mark.parametrize(
    "a, b",
    [(0, 1), (690, 691), (0, 691), (100, 184), (691 - 84, 691), (333, 334), (250, 420)],
)
def test_real_ranges_equal_slice_panel(real_store, full, a, b):
    assert full.n_days == 691
    assert_same_panel(load_panel(real_store, range(a, b)), slice_panel(full, range(a, b)))
