"""``wfsim episodes synth --store S``: a synthetic run written straight into a Parquet store.

At 1,695 tickers a day's JSON is ~1.8 MB, so 6,000 days would be ~11 GB of files written only to
be parsed again. Here each day's episode is serialised to the recorded bytes in memory and read
back through the ingest's own ``read_day`` (the same parse, per-day rules and sha256 as a file),
the cross-day rules run across block boundaries, and the tables (``episodes.tables``) are appended
block by block to one Parquet writer per table, so memory is bounded by ``block`` days of
episodes, not by the run. The result equals ``synth --out D`` + ``ingest D --store S`` table by
table, manifest included (``tests/unit/episodes/test_synth_store.py``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import structlog

from episodes.benchmarks import BENCH_DIR, synthetic_series, write_synthetic
from episodes.config import SynthConfig
from episodes.panel import BONDS
from episodes.reader import DayFile, read_day
from episodes.row_groups import DayGroupWriter
from episodes.rules import check_sequence
from episodes.schema import Episode
from episodes.store import _SPLIT_FLOATS, _ZSTD_LEVEL, MANIFEST, SCHEMA_VERSION, open_store
from episodes.store_fs import store_lock, swap_dir
from episodes.synth import dumps_episode, generate_episodes
from episodes.synth_market import SynthMarket, generate_market
from episodes.tables import TABLES, episodes_to_tables, ticker_universe
from simulator.core.errors import EpisodeError, StoreError
from simulator.core.locks import os_errors

__all__ = ["write_synth_store", "DEFAULT_BLOCK", "block_days"]

log = structlog.get_logger(__name__)

DEFAULT_BLOCK = 64  # at most this many days of episodes held in memory at once
# ... and at most about this many ticker-days: a block's parsed episodes and tables hold ~3 KB per
# ticker-day (64 days x 1,695 tickers measured ~350 MB), so wide universes get shorter blocks
BLOCK_TICKER_DAYS = 16_384


def block_days(tickers: int) -> int:
    """Days per block for a universe of ``tickers``: ``DEFAULT_BLOCK``, fewer when that would
    exceed ``BLOCK_TICKER_DAYS`` (the store's bytes do not depend on it, only memory does).

    >>> block_days(100), block_days(1695)
    (64, 9)
    """
    return max(1, min(DEFAULT_BLOCK, BLOCK_TICKER_DAYS // max(1, tickers)))


def write_synth_store(
    store: Path, cfg: SynthConfig, seed: int, *, block: int | None = None
) -> Path:
    """Write the synthetic run of ``(cfg, seed)`` as a new episode store at ``store``;
    ``block``: days held at once (default ``block_days(cfg.tickers)``; the bytes do not depend
    on it).

    Raises
    ------
    StoreError
        ``store`` exists and is not empty (this writes new stores only), or the file system
        refuses the write.
    EpisodeError
        A day breaks a validation rule (never expected of the synth; nothing is written).
    """
    store = Path(store)
    block = block_days(cfg.tickers) if block is None else block
    if block < 1:
        raise ValueError(f"block={block}, expected >= 1")
    if store.exists() and (not store.is_dir() or any(store.iterdir())):
        raise StoreError(
            str(store), "exists and is not empty", fix="pass a new --store path or delete it"
        )
    t0 = time.perf_counter()
    with store_lock(store), os_errors(store, StoreError):
        mkt = generate_market(cfg, seed)  # once: the episodes' and the benchmarks' market
        bench = _benchmarks(mkt)
        days = generate_episodes(cfg, seed, mkt)  # holds the market until its last day
        del mkt
        swap_dir(store, lambda tmp: _build(tmp, days, block))
        write_synthetic(store / BENCH_DIR, *bench)  # after the swap, as an ingest copies them in
    size = open_store(store).size_bytes()
    log.info(
        "store_synthesized",
        store=str(store),
        days=cfg.days,
        tickers=cfg.tickers,
        seed=seed,
        size_mb=round(size / 1e6, 2),
        elapsed_s=round(time.perf_counter() - t0, 3),
    )
    return store


def _blocks(episodes: Iterator[dict], block: int) -> Iterator[list[DayFile]]:
    """Days in blocks, each read back from its recorded bytes exactly as an ingest reads a file."""
    out: list[DayFile] = []
    for ep in episodes:
        out.append(read_day((f"episode_{ep['date']}.json", dumps_episode(ep), None)))
        if len(out) == block:
            yield out
            out = []
    if out:
        yield out


def _check(days: list[DayFile], prev: Episode | None) -> list[Episode]:
    """The block's episodes; raises on any read, per-day or cross-day problem (chained to prev)."""
    problems = [p for d in days for p in ([d.error] if d.error else d.problems)]
    eps = [d.episode for d in days]
    if not problems:
        problems = check_sequence(([prev] if prev is not None else []) + eps)
    if problems:
        first = problems[0]
        err = EpisodeError(first.where, first.what, **first.values, problems=len(problems))
        err.problems = problems
        raise err
    return eps


def _build(tmp: Path, episodes: Iterator[dict], block: int) -> None:
    writers: dict[str, DayGroupWriter] = {}
    rows = dict.fromkeys(TABLES, 0)
    dates: list[str] = []
    sha: list[str] = []
    seen: set[str] = set()
    prev: Episode | None = None
    keys: tuple[str, ...] = ()
    try:
        for days in _blocks(episodes, block):
            eps = _check(days, prev)
            keys = keys or eps[0].before.tickers
            seen.update(ticker_universe(eps))
            tables = _block_tables(eps, keys, len(dates), first=prev is None)
            tables["daily"] = tables["daily"].add_column(
                1, "sha256", pa.array(d.sha256 for d in days)
            )
            for name, tab in tables.items():
                _append(writers, tmp, name, tab)
                rows[name] += tab.num_rows
            dates += [e.date for e in eps]
            sha += [d.sha256 for d in days]
            prev = eps[-1]
    finally:
        for w in writers.values():
            w.close()
    tickers = sorted(seen - set(BONDS)) + list(BONDS)
    if tickers != list(keys):  # every synthetic ticker is a portfolio key, in the universe order
        raise EpisodeError(str(tmp), "ticker universe differs from the portfolio keys")
    manifest = _manifest(dates, sha, rows, tickers, keys)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def _benchmarks(mkt: SynthMarket) -> tuple:
    """``(dates, spy, rf)``: the market's SPY and rf series (as synth --out + ingest write them)."""
    k = len(mkt.tickers) - len(BONDS)
    spy, rf = synthetic_series(mkt.dates, mkt.close[:, :k], mkt.open[:1, :k], mkt.fed_rate)
    return mkt.dates, spy, rf


def _block_tables(eps: list[Episode], keys, t0: int, *, first: bool) -> dict[str, pa.Table]:
    """The block's tables with day ``t`` offset by ``t0``; the before-state rows (state 1) of the
    store's first day only, as an ingest stores them (later ones chain: validated)."""
    frames = episodes_to_tables(eps, keys)
    if not first:
        pos = frames["positions"]
        frames["positions"] = pos[pos["state"] == 0].reset_index(drop=True)
    out = {}
    for name, df in frames.items():
        if name != "daily":
            df = df.assign(t=(df["t"] + t0).astype(df["t"].dtype))
        out[name] = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    return out


def _append(writers: dict, tmp: Path, name: str, tab: pa.Table) -> None:
    """Append ``tab`` to the table's Parquet file with ``store.write_table``'s encodings and row
    groups (the groups of whole days that one write of the whole table makes)."""
    w = writers.get(name)
    if w is None:
        kw: dict = {"compression": "zstd", "compression_level": _ZSTD_LEVEL}
        if name in _SPLIT_FLOATS:
            floats = [f.name for f in tab.schema if pa.types.is_floating(f.type)]
            kw["use_byte_stream_split"] = floats
            kw["use_dictionary"] = [c for c in tab.column_names if c not in floats]
        w = writers[name] = DayGroupWriter(tmp / f"{name}.parquet", tab.schema, **kw)
    w.write(tab.cast(w.schema))


def _manifest(dates: list[str], sha: list[str], rows: dict, tickers: list[str], keys) -> dict:
    """The manifest an ingest of the same days writes (``episodes.store._write``)."""
    content = hashlib.sha256()
    content.update(f"{SCHEMA_VERSION} {False}\n".encode())
    for d, h in zip(dates, sha, strict=True):
        content.update(f"{d} {h}\n".encode())
    return {
        "schema_version": SCHEMA_VERSION,
        "with_reasoning": False,
        "n_days": len(dates),
        "first_date": dates[0],
        "last_date": dates[-1],
        "content_hash": content.hexdigest(),
        "tables": rows,
        "tickers": tickers,
        "portfolio_tickers": list(keys),
        "dates": dates,
    }
