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

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import structlog

from episodes.benchmarks import BENCH_DIR, synthetic_series, write_synthetic
from episodes.config import SynthConfig
from episodes.ingest import DEFAULT_BLOCK
from episodes.panel import BONDS
from episodes.reader import DayFile, read_day
from episodes.rules import check_sequence
from episodes.schema import Episode
from episodes.store import open_store
from episodes.store_fs import store_lock, swap_dir
from episodes.synth import dumps_episode, generate_episodes
from episodes.synth_market import SynthMarket, generate_market
from episodes.table_io import MANIFEST, TableWriters, manifest, remap, to_arrow
from episodes.tables import episodes_to_tables, ticker_universe
from simulator.core.errors import EpisodeError, StoreError
from simulator.core.locks import os_errors

__all__ = ["write_synth_store", "DEFAULT_BLOCK", "block_days"]

log = structlog.get_logger(__name__)

# DEFAULT_BLOCK: at most this many days of episodes held in memory at once (as ingest)
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
    writers = TableWriters(tmp)
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
                writers.append(name, tab)
            dates += [e.date for e in eps]
            sha += [d.sha256 for d in days]
            prev = eps[-1]
    finally:
        writers.close()
    tickers = sorted(seen - set(BONDS)) + list(BONDS)
    if tickers != list(keys):  # every synthetic ticker is a portfolio key, in the universe order
        raise EpisodeError(str(tmp), "ticker universe differs from the portfolio keys")
    man = manifest(dates, sha, writers.rows, tickers, keys, False)
    (tmp / MANIFEST).write_text(json.dumps(man, indent=1) + "\n", encoding="utf-8")


def _benchmarks(mkt: SynthMarket) -> tuple:
    """``(dates, spy, rf)``: the market's SPY and rf series (as synth --out + ingest write them)."""
    k = len(mkt.tickers) - len(BONDS)
    spy, rf = synthetic_series(mkt.dates, mkt.close[:, :k], mkt.open[:1, :k], mkt.fed_rate)
    return mkt.dates, spy, rf


def _block_tables(eps: list[Episode], keys, t0: int, *, first: bool) -> dict[str, pa.Table]:
    """The block's tables with day ``t`` offset by ``t0``; the before-state rows (state 1) of the
    store's first day only, as an ingest stores them (later ones chain: validated)."""
    out = {name: to_arrow(df) for name, df in episodes_to_tables(eps, keys).items()}
    if not first:
        pos = out["positions"]
        out["positions"] = pos.filter(pc.equal(pos.column("state"), 0))
    codes = np.arange(len(keys), dtype=np.int32)
    return {name: remap(tab, codes, t0) for name, tab in out.items()}
