"""Ingest in two streaming passes, so that memory is bounded by a block of days, not by the store.

Pass 1 reads the source ``block`` files at a time: every problem is collected as
``validate_days`` reports them (the cross-day rules chained across blocks), each day is classified
against the old store (new, changed, unchanged), and the fresh days' tables are spilled to Arrow
files beside the store with the block's own ticker codes. Pass 2 walks the merged days in date
order, the old store's days read by row groups and the fresh ones from the spill, maps both to the
ticker list of the whole (``ticker_universe``, known only after pass 1) and appends them to one
Parquet writer per table (``episodes.table_io``). The bytes equal a one-shot write of all the days
(``tests/unit/episodes/test_ingest_blocks.py``): the block size only bounds memory.
"""

from __future__ import annotations

import bisect
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import structlog

from episodes.reader import FILE_RE, DayFile, Source, read_day_blocks
from episodes.rules import DayRef, check_sequence, key_diff
from episodes.schema import BONDS, Episode
from episodes.store_days import DayTables
from episodes.store_fs import swap_dir
from episodes.table_io import K_COLUMNS, MANIFEST, TableWriters, manifest, remap, to_arrow
from episodes.tables import TABLES, episodes_to_tables, tables_to_episodes, ticker_universe
from simulator.core.errors import EpisodeError, StoreError
from simulator.core.locks import os_errors

__all__ = ["DEFAULT_BLOCK", "IngestOptions", "IngestReport", "ingest_days", "episodes_at"]

log = structlog.get_logger(__name__)

DEFAULT_BLOCK = 64  # days of parsed episodes (or of table rows) held in memory at once


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest did (``n_new`` + ``n_replaced`` days parsed; 0 means nothing was written)."""

    path: Path
    n_days: int
    n_new: int
    n_replaced: int
    n_unchanged: int
    size_bytes: int
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """``episodes.store.ingest``'s options (see there); ``block`` days are read at a time."""

    replace: bool = False
    with_reasoning: bool = False
    workers: int = 1
    block: int = DEFAULT_BLOCK


def episodes_at(st, days: Sequence[int]) -> list[Episode]:
    """The stored days ``days`` (indices, any order) of the store ``st`` (an ``EpisodeStore``),
    read from the row groups of ``min(days)..max(days)`` only."""
    a, b = min(days), max(days) + 1
    cols = {n: pq.read_schema(st.path / f"{n}.parquet").names for n in TABLES}
    tabs = DayTables(lambda n, _c, lo, hi: st.read_day_rows(n, cols[n], lo, hi), range(a, b))
    frames = {n: tabs[n].to_pandas() for n in TABLES}
    man, rel = st.manifest, [t - a for t in days]
    return tables_to_episodes(frames, man["tickers"], man["portfolio_tickers"], rel)


def ingest_days(src: Source, store: Path, old, opts: IngestOptions) -> IngestReport:
    """Validate ``src`` and merge it with ``old`` (the ``EpisodeStore`` at ``store``, or None)
    into a new store swapped in at ``store``; the caller holds the store's lock."""
    t0 = time.perf_counter()
    if opts.block < 1:
        raise ValueError(f"block={opts.block}, expected >= 1")
    store.parent.mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix=f".{store.name}.", suffix=".tmp", dir=store.parent))
    try:
        scan = _Scan(old, opts, spill, store)
        known = old.day_hashes() if old is not None else {}
        for days in read_day_blocks(src, opts.block, workers=opts.workers, known=known):
            scan.add(days)
        scan.finish()
        n_unchanged = scan.n_days - scan.n_new - scan.n_changed
        if not scan.fresh and old is not None:
            log.info("store_unchanged", store=str(store), days=len(known))
            return IngestReport(store, len(known), 0, 0, n_unchanged, _size(store), _since(t0))
        n_days = _merge(store, scan, old, known, opts)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    rep = IngestReport(
        store, n_days, scan.n_new, scan.n_changed, n_unchanged, _size(store), _since(t0)
    )
    log.info(
        "store_ingested",
        store=str(store),
        days=rep.n_days,
        new=rep.n_new,
        replaced=rep.n_replaced,
        size_mb=round(rep.size_bytes / 1e6, 2),
        elapsed_s=rep.elapsed_s,
    )
    return rep


def _since(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


def _size(store: Path) -> int:
    return sum(f.stat().st_size for f in store.iterdir() if f.is_file())


def _tail(seq: list) -> list:
    """What ``check_sequence`` carries from ``seq`` to the next block: its last accepted day, then
    a ``None`` when the final item is not that day (so the chain is not checked across it)."""
    last = None
    for ep in seq:
        if ep is not None and (last is None or ep.date > last.date):
            last = ep
    if last is None:
        return []
    return [last] if seq[-1] is last else [last, None]


class _Scan:
    """Pass 1: validate, classify and spill the source, one block of days at a time."""

    def __init__(self, old, opts: IngestOptions, spill: Path, store: Path) -> None:
        self.old, self.opts, self.spill, self.store = old, opts, spill, store
        self.old_dates: list[str] = old.dates if old is not None else []
        self.old_index = {d: t for t, d in enumerate(self.old_dates)}
        self.problems: list[EpisodeError] = []  # reader + per-day rules, in file order
        self.seq_problems: list[EpisodeError] = []  # cross-day rules of the source
        self.merge_problems: list[EpisodeError] = []  # the chain with the kept stored days
        self.carry: list = []
        self.n_days = self.n_new = self.n_changed = 0
        self.first_changed: DayFile | None = None
        self.key_error: StoreError | None = None
        self.keys: tuple[str, ...] | None = (
            tuple(old.manifest["portfolio_tickers"]) if old is not None else None
        )
        self.fresh: dict[str, tuple[int, int]] = {}  # date -> (spilled block, day in it)
        self.sha: dict[str, str] = {}
        self.codes: list[list[str]] = []  # each spilled block's own ticker list
        self.tickers: set[str] = set()
        self.last: Episode | None = None  # the latest fresh day
        self._ipc: dict[str, tuple[pa.ipc.RecordBatchFileWriter, pa.Schema]] = {}

    def add(self, days: list[DayFile]) -> None:
        self.n_days += len(days)
        for d in days:
            self.problems += [d.error] if d.error is not None else list(d.problems)
        seq = [
            d.episode or (None if d.error else DayRef(d.name, FILE_RE.fullmatch(d.name).group(1)))
            for d in days
        ]
        self.seq_problems += check_sequence(self.carry + seq)
        self.carry = _tail(self.carry + seq)
        if not (self.problems or self.seq_problems):  # else only the validation goes on
            fresh = self._classify(days)
            if fresh and not (self.first_changed is not None and not self.opts.replace):
                self._check_keys(fresh)
                if self.key_error is None:  # raised at the end; nothing of other keys is spilled
                    self._chain(fresh)
                    self._spill(fresh)
        log.debug("ingest_block_read", days=self.n_days, fresh=len(self.fresh))

    def _classify(self, days: list[DayFile]) -> list[DayFile]:
        """The block's new and changed days, in file order. A file whose bytes differ from the
        ingested one but whose episode equals the stored one (e.g. re-serialised) is unchanged."""
        parsed = [d for d in days if d.episode is not None]
        new = [d for d in parsed if d.episode.date not in self.old_index]
        stored = [d for d in parsed if d.episode.date in self.old_index]
        changed = []
        if stored:
            eps = episodes_at(self.old, [self.old_index[d.episode.date] for d in stored])
            keep = self.old.with_reasoning
            changed = [
                d
                for d, e in zip(stored, eps, strict=True)
                if (d.episode if keep else d.episode.drop_reasoning()) != e
            ]
        self.n_new += len(new)
        self.n_changed += len(changed)
        if changed and self.first_changed is None:
            self.first_changed = changed[0]
        fresh = {id(d) for d in (*new, *changed)}
        return [d for d in parsed if id(d) in fresh]

    def _check_keys(self, fresh: list[DayFile]) -> None:
        keys = self.keys = self.keys or fresh[0].episode.before.tickers
        for d in fresh:
            e = d.episode
            for side, port in (("portfolio_before", e.before), ("portfolio_after", e.after)):
                if port.tickers != keys and self.key_error is None:
                    self.key_error = StoreError(
                        f"{e.source or self.store}: {e.date}: {side}.positions",
                        "tickers differ from the store's portfolio keys",
                        **key_diff(port.tickers, keys),
                        expected=f"the {len(keys)} keys of day 1",
                    )

    def _kept_after(self, date: str) -> str | None:
        """The first stored date after ``date`` (kept: no fresh day lies between)."""
        i = bisect.bisect_right(self.old_dates, date)
        return self.old_dates[i] if i < len(self.old_dates) else None

    def _chain(self, fresh: list[DayFile]) -> None:
        """The chain across fresh and kept stored days, in merged date order (fresh days that
        follow each other directly were chained by the source's own check)."""
        for d in fresh:
            ep = d.episode
            if self.last is not None:
                nxt = self._kept_after(self.last.date)
                if nxt is not None and nxt < ep.date:
                    self._pair(self.last, self.old_index[nxt], first=True)
            i = bisect.bisect_left(self.old_dates, ep.date) - 1
            prev = self.old_dates[i] if i >= 0 else None
            if prev is not None and (self.last is None or prev > self.last.date):
                self._pair(ep, self.old_index[prev], first=False)
            self.last = ep

    def _pair(self, ep: Episode, t: int, *, first: bool) -> None:
        stored = episodes_at(self.old, [t])[0]
        pair = [ep, stored] if first else [stored, ep]
        self.merge_problems += check_sequence(pair)

    def _spill(self, fresh: list[DayFile]) -> None:
        eps = [d.episode for d in fresh]
        local = ticker_universe(eps)
        frames = episodes_to_tables(eps, local, with_reasoning=self.opts.with_reasoning)
        frames["daily"].insert(1, "sha256", [d.sha256 for d in fresh])
        for name, df in frames.items():
            tab = to_arrow(df)
            if name not in self._ipc:
                path = str(self.spill / f"{name}.arrow")
                self._ipc[name] = (pa.ipc.new_file(path, tab.schema), tab.schema)
            w, schema = self._ipc[name]
            tab = tab.cast(schema)
            w.write_batch(pa.record_batch([c.combine_chunks() for c in tab.columns], schema=schema))
        b = len(self.codes)
        self.codes.append(local)
        self.tickers.update(local)
        for i, d in enumerate(fresh):
            self.fresh[d.episode.date] = (b, i)
            self.sha[d.episode.date] = d.sha256

    def finish(self) -> None:
        """Close the spill; raise what the source or the merge broke (nothing is written)."""
        for w, _ in self._ipc.values():
            w.close()
        clean = not (self.problems or self.seq_problems)
        if clean and self.last is not None and (self.first_changed is None or self.opts.replace):
            nxt = self._kept_after(self.last.date)  # kept: no fresh day comes after self.last
            if nxt is not None:
                self._pair(self.last, self.old_index[nxt], first=True)
        _refuse(self.problems + self.seq_problems, self.store)
        if self.first_changed is not None and not self.opts.replace:
            d = self.first_changed
            raise StoreError(
                f"{self.store}: {d.episode.date}",
                "day content differs from the store",
                file=d.name,
                changed_days=self.n_changed,
                fix="pass --replace to overwrite it",
            )
        _refuse(self.merge_problems, self.store)  # the new days must chain with the stored ones
        if self.key_error is not None:
            raise self.key_error


def _refuse(problems: list[EpisodeError], store: Path) -> None:
    if not problems:
        return
    first = problems[0]
    err = EpisodeError(
        first.where,
        first.what,
        **first.values,
        problems=len(problems),
        expected=first.expected,
        fix=f"nothing written to {store}",
    )
    err.problems = problems
    raise err


def _merge(store: Path, scan: _Scan, old, known: dict[str, str], opts: IngestOptions) -> int:
    """Pass 2: write the merged days (stored and fresh, by date) as a new store; their count."""
    dates = sorted(set(scan.old_dates) | set(scan.fresh))
    tickers = scan.tickers | _kept_tickers(old, scan, opts.block)
    tickers = sorted(tickers - set(BONDS)) + list(BONDS)
    index = {x: k for k, x in enumerate(tickers)}
    old_codes = np.array([index.get(x, -1) for x in (old.tickers if old else [])], np.int32)
    sha = [scan.sha[d] if d in scan.fresh else known[d] for d in dates]

    def build(tmp: Path) -> None:
        writers = TableWriters(tmp)
        files = {n: pa.OSFile(str(scan.spill / f"{n}.arrow")) for n in TABLES}
        spill = {n: pa.ipc.open_file(f) for n, f in files.items()}
        try:
            for src, lo, hi, t0 in _runs(dates, scan, opts.block):
                codes = (
                    old_codes
                    if src is None
                    else np.array([index[x] for x in scan.codes[src]], np.int32)
                )
                for name in TABLES:
                    tab = _read(old, spill, name, src, lo, hi)
                    writers.append(name, _piece(name, tab, codes, t0, lo))
        finally:
            writers.close()
            for f in files.values():
                f.close()
        man = manifest(dates, sha, writers.rows, tickers, scan.keys, opts.with_reasoning)
        (tmp / MANIFEST).write_text(json.dumps(man, indent=1) + "\n", encoding="utf-8")

    with os_errors(store, StoreError):
        swap_dir(store, build)
    return len(dates)


def _runs(dates: list[str], scan: _Scan, block: int):
    """(spilled block or None for the old store, lo, hi, t0): runs of at most ``block`` merged
    days ``t0..`` that are days ``lo..hi-1`` of one source."""
    run: list | None = None
    for t, d in enumerate(dates):
        src, i = scan.fresh[d] if d in scan.fresh else (None, scan.old_index[d])
        if run is not None and run[0] == src and run[2] == i and i - run[1] < block:
            run[2] = i + 1
            continue
        if run is not None:
            yield tuple(run)
        run = [src, i, i + 1, t]
    if run is not None:
        yield tuple(run)


def _read(old, spill: dict, name: str, src: int | None, lo: int, hi: int) -> pa.Table:
    """Days ``lo..hi-1`` of table ``name`` of the old store (``src`` None) or a spilled block."""
    if src is None:
        return old.read_day_rows(name, _columns(old, name), lo, hi)
    tab = pa.Table.from_batches([spill[name].get_batch(src)])
    if name == "daily":
        return tab.slice(lo, hi - lo)
    t = tab.column("t")
    keep = pc.and_(pc.greater_equal(t, pa.scalar(lo, t.type)), pc.less(t, pa.scalar(hi, t.type)))
    return tab.filter(keep)


def _piece(name: str, tab: pa.Table, codes: np.ndarray, t0: int, lo: int) -> pa.Table:
    """Rows ready for the store: tickers and days mapped; the before-state rows (positions
    state 1) only on the store's first day (later ones chain with the day before: validated)."""
    if name == "positions" and t0 > 0:
        state = tab.column("state")
        tab = tab.filter(pc.equal(state, pa.scalar(0, state.type)))
    return remap(tab, codes, t0, lo)


def _columns(st, name: str) -> list[str]:
    return pq.read_schema(st.path / f"{name}.parquet").names


def _kept_tickers(old, scan: _Scan, block: int) -> set[str]:
    """The tickers the kept stored days name (all of the old store's unless days are replaced),
    read ``block`` days at a time."""
    if old is None:
        return set()
    if scan.n_changed == 0:
        return set(old.tickers)
    replaced = np.array([scan.old_index[d] for d in scan.fresh if d in scan.old_index])
    used = np.zeros(len(old.tickers), bool)
    for lo in range(0, len(scan.old_dates), block):
        hi = min(lo + block, len(scan.old_dates))
        for name in TABLES[1:]:
            cols = [c for c in _columns(old, name) if c in K_COLUMNS]
            tab = old.read_day_rows(name, ["t", *cols], lo, hi)
            kept = ~np.isin(tab.column("t").to_numpy(), replaced)
            for c in cols:
                used[tab.column(c).to_numpy()[kept]] = True
    return {x for x, u in zip(old.tickers, used, strict=True) if u} | set(scan.keys or ())
