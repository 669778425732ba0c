"""``episodes.panel_io.read_parquet``: ``pq.read_table``'s result without its dataset layer."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from episodes.panel_io import read_parquet


@pytest.fixture
def path(tmp_path):
    t = pa.table(
        {"t": pa.array([0, 0, 1], pa.int32()), "x": [1.5, None, 2.0], "s": ["a", "b", "c"]}
    )
    p = tmp_path / "x.parquet"
    pq.write_table(t.replace_schema_metadata({"k": "v"}), p, row_group_size=2)
    return p


@pytest.mark.parametrize("columns", [None, ["x", "t"], ["s"]])
def test_same_table_as_read_table(path, columns):
    got, want = read_parquet(path, columns), pq.read_table(path, columns=columns)
    assert got.equals(want) and got.schema.equals(want.schema, check_metadata=True)


def test_missing_column_raises_like_read_table(path):
    with pytest.raises(pa.ArrowInvalid):
        pq.read_table(path, columns=["nope"])
    with pytest.raises(pa.ArrowInvalid, match="nope"):
        read_parquet(path, ["t", "nope"])


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        read_parquet(tmp_path / "absent.parquet")
