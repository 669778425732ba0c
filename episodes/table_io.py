"""The store's table files and manifest, written block by block (ingest and ``synth --store``).

One ``TableWriters`` appends each table's rows, in day order and in pieces of whole days, to one
zstd Parquet file per table (``episodes.row_groups``: the groups, hence the bytes, do not depend on
how the rows were cut into pieces). ``to_arrow`` gives every piece the same schema whatever its
values (an empty piece included), and ``manifest`` is the one place the manifest is composed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from episodes.row_groups import DayGroupWriter
from episodes.tables import TABLES

__all__ = [
    "SCHEMA_VERSION",
    "MANIFEST",
    "K_COLUMNS",
    "TableWriters",
    "manifest",
    "to_arrow",
    "remap",
]

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ZSTD_LEVEL = 3
SPLIT_FLOATS = frozenset({"prices", "risk", "daily"})
K_COLUMNS = ("k", "new_k", "victim_k")  # columns holding indices into the store's ticker list


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """``df`` as an Arrow table without pandas metadata, with the same schema for any piece of a
    table: a text column without values (an empty piece) is ``large_string`` as when it has some."""
    inferred = pa.Schema.from_pandas(df, preserve_index=False)
    schema = pa.schema(
        [f.with_type(pa.large_string()) if pa.types.is_null(f.type) else f for f in inferred]
    )
    tab = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    return tab.replace_schema_metadata(None)


def remap(tab: pa.Table, codes: np.ndarray, t0: int, lo: int = 0) -> pa.Table:
    """``tab`` with its ticker indices ``k -> codes[k]`` and its days ``t -> t - lo + t0``."""
    for name in tab.column_names:
        j = tab.schema.get_field_index(name)
        typ = tab.schema.field(j).type
        if name in K_COLUMNS:
            k = tab.column(j).to_numpy()
            tab = tab.set_column(j, name, pa.array(codes[k], typ))
        elif name == "t" and t0 != lo:
            t = tab.column(j).to_numpy().astype(np.int64)
            tab = tab.set_column(j, name, pa.array(t - lo + t0, typ))
    return tab


class TableWriters:
    """One Parquet writer per store table in ``root``; ``append`` in day order, then ``close``.

    Float columns of the price-like tables use BYTE_STREAM_SPLIT (about 20 % smaller and faster to
    write there); the other tables compress better with dictionary encoding. The first piece of a
    table fixes its schema; later pieces are cast to it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows = dict.fromkeys(TABLES, 0)
        self._w: dict[str, DayGroupWriter] = {}

    def append(self, name: str, tab: pa.Table) -> None:
        w = self._w.get(name)
        if w is None:
            kw: dict = {"compression": "zstd", "compression_level": ZSTD_LEVEL}
            if name in SPLIT_FLOATS:
                floats = [f.name for f in tab.schema if pa.types.is_floating(f.type)]
                kw["use_byte_stream_split"] = floats
                kw["use_dictionary"] = [c for c in tab.column_names if c not in floats]
            w = self._w[name] = DayGroupWriter(self.root / f"{name}.parquet", tab.schema, **kw)
        w.write(tab.cast(w.schema))
        self.rows[name] += tab.num_rows

    def close(self) -> None:
        """Close every writer (the last row groups are written here); the first error wins."""
        writers, self._w = list(self._w.values()), {}
        err: BaseException | None = None
        for w in writers:
            try:
                w.close()
            except BaseException as exc:  # noqa: BLE001 (re-raised below, after the others close)
                err = err or exc
        if err is not None:
            raise err


def manifest(
    dates: Sequence[str],
    sha: Sequence[str],
    rows: dict[str, int],
    tickers: Sequence[str],
    keys: Sequence[str],
    with_reasoning: bool,
) -> dict:
    """The manifest of a store of ``dates`` (their files' ``sha``), ``rows`` per table."""
    content = hashlib.sha256()
    content.update(f"{SCHEMA_VERSION} {with_reasoning}\n".encode())
    for d, h in zip(dates, sha, strict=True):
        content.update(f"{d} {h}\n".encode())
    return {
        "schema_version": SCHEMA_VERSION,
        "with_reasoning": with_reasoning,
        "n_days": len(dates),
        "first_date": dates[0],
        "last_date": dates[-1],
        "content_hash": content.hexdigest(),
        "tables": dict(rows),
        "tickers": list(tickers),
        "portfolio_tickers": list(keys),
        "dates": list(dates),
    }
