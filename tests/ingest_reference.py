"""The store as the one-shot ingest wrote it before ingest streamed by blocks: every day's tables
built at once and each written with one call. The reference for ``tests/unit/episodes/
test_ingest_blocks.py`` (a streamed ingest must write these bytes, whatever its block size)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa

from episodes.reader import read_days
from episodes.row_groups import write_day_groups
from episodes.tables import episodes_to_tables, ticker_universe


def reference_store(src: Path, out: Path, *, with_reasoning: bool = False) -> Path:
    """The store of the (valid) days of ``src`` at ``out``, written in one shot."""
    days = read_days(src)
    eps = [d.episode for d in days]
    sha = [d.sha256 for d in days]
    tables = episodes_to_tables(eps, ticker_universe(eps), with_reasoning=with_reasoning)
    tables["daily"].insert(1, "sha256", sha)
    out.mkdir(parents=True)
    for name, df in tables.items():
        table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
        kw: dict = {"compression": "zstd", "compression_level": 3}
        if name in ("prices", "risk", "daily"):
            floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
            kw["use_byte_stream_split"] = floats
            kw["use_dictionary"] = [c for c in table.column_names if c not in floats]
        write_day_groups(table, out / f"{name}.parquet", **kw)
    content = hashlib.sha256(f"1 {with_reasoning}\n".encode())
    for e, h in zip(eps, sha, strict=True):
        content.update(f"{e.date} {h}\n".encode())
    manifest = {
        "schema_version": 1,
        "with_reasoning": with_reasoning,
        "n_days": len(eps),
        "first_date": eps[0].date,
        "last_date": eps[-1].date,
        "content_hash": content.hexdigest(),
        "tables": {name: len(df) for name, df in tables.items()},
        "tickers": ticker_universe(eps),
        "portfolio_tickers": list(eps[0].before.tickers),
        "dates": [e.date for e in eps],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return out


def store_bytes(store: Path) -> dict[str, bytes]:
    """Every file of a store directory (tables and manifest), by name."""
    return {p.name: p.read_bytes() for p in sorted(store.iterdir()) if p.is_file()}
