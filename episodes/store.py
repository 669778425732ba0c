"""The Parquet ``EpisodeStore``: atomic, incremental ingest of validated episodes, and loading.

Layout: ``STORE/manifest.json`` plus one zstd Parquet file per table (``episodes.tables``). An
ingest validates everything first and writes nothing on any problem; it builds the new store in a
temp directory and renames it into place, so a failed or killed ingest leaves the old store (or
none). Re-ingesting a superset parses only new files; a day whose file changed is refused unless
``replace``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from episodes.panel import Panel, slice_panel
from episodes.panel_io import PANEL_COLUMNS, panel_from_tables, read_parquet
from episodes.reader import DayFile, Source, read_days
from episodes.schema import Episode
from episodes.store_fs import hidden_old, store_lock, swap_dir
from episodes.tables import TABLES, episodes_to_tables, tables_to_episodes, ticker_universe
from episodes.validate import check_sequence, validate_days
from simulator.core.errors import EpisodeError, StoreError
from simulator.core.locks import os_errors

__all__ = [
    "SCHEMA_VERSION",
    "EpisodeStore",
    "IngestReport",
    "ingest",
    "open_store",
    "load_panel",
    "load_episode",
    "load_episodes",
]

log = structlog.get_logger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
_ZSTD_LEVEL = 3
_SPLIT_FLOATS = {"prices", "risk", "daily"}


@dataclass(frozen=True)
class EpisodeStore:
    """A store directory and its manifest (tables are read on demand)."""

    path: Path
    manifest: dict

    @property
    def dates(self) -> list[str]:
        return list(self.manifest["dates"])

    @property
    def tickers(self) -> list[str]:
        return list(self.manifest["tickers"])

    @property
    def with_reasoning(self) -> bool:
        return bool(self.manifest["with_reasoning"])

    def read_table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One table as a pyarrow Table (all columns by default)."""
        path = self.path / f"{name}.parquet"
        try:
            return read_parquet(path, columns)
        except (OSError, pa.ArrowException) as exc:
            raise _damaged(path, exc) from None

    def verify(self) -> None:
        """Check that every table's Parquet footer reads and has the manifest's row count.

        Raises
        ------
        StoreError
            A table is missing, unreadable (garbage, truncated) or has another row count.
        """
        for name, rows in self.manifest["tables"].items():
            path = self.path / f"{name}.parquet"
            try:
                n = pq.read_metadata(path).num_rows
            except (OSError, pa.ArrowException) as exc:
                raise _damaged(path, exc) from None
            if n != rows:
                raise _damaged(path, None, rows=n, expected=f"{rows} rows (manifest)")

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table as a pandas frame."""
        return {name: self.read_table(name).to_pandas() for name in TABLES}

    def day_hashes(self) -> dict[str, str]:
        """``{date: sha256 of the ingested file}``: the identity of each stored day."""
        daily = self.read_table("daily", columns=["date", "sha256"]).to_pydict()
        return dict(zip(daily["date"], daily["sha256"], strict=False))

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())


def _damaged(path: Path, exc: Exception | None, **values: object) -> StoreError:
    err = {"error": f"{type(exc).__name__}: {str(exc)[:80]}"} if exc is not None else {}
    return StoreError(
        str(path),
        "store table is damaged",
        **err,
        **values,
        fix="delete the store and ingest every day again",
    )


def open_store(path: Path | EpisodeStore) -> EpisodeStore:
    """Open an existing store (putting back one whose swap was interrupted, see ``store_fs``).

    Raises
    ------
    StoreError
        If ``path`` has no readable manifest or a different schema version.
    """
    if isinstance(path, EpisodeStore):
        return path
    path = Path(path)
    if not path.exists() and (hidden_old(path) / MANIFEST).is_file():
        with store_lock(path, wait=True):  # recovers the parked store
            pass
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(
            str(path),
            "not an episode store",
            error=type(exc).__name__,
            fix="build it with `wfsim episodes ingest SRC --store PATH`",
        ) from None
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise StoreError(
            str(path),
            "unsupported store schema",
            got=manifest.get("schema_version"),
            expected=str(SCHEMA_VERSION),
            fix="re-ingest into a new store",
        )
    return EpisodeStore(path, manifest)


def load_panel(store: Path | EpisodeStore, days: range | None = None) -> Panel:
    """The whole store as dense ``[t, k]`` arrays (``episodes.panel.Panel``); with ``days``, the
    Panel of those days (``episodes.panel.slice_panel``)."""
    st = open_store(store)
    panel = panel_from_tables(_TableReader(st), st.manifest)
    pa.default_memory_pool().release_unused()  # the tables are gone: hand their pages back
    if days is not None:  # stand-in: the store-blocks branch reads only these days
        return slice_panel(panel, days)
    return panel


class _TableReader(Mapping[str, pa.Table]):
    """The Panel's tables, each read (``PANEL_COLUMNS`` only) when ``panel_from_tables`` asks for
    it, so that one table's Arrow buffers are freed before the next is read (lower peak memory)."""

    def __init__(self, st: EpisodeStore) -> None:
        self.st = st

    def __getitem__(self, name: str) -> pa.Table:
        pa.default_memory_pool().release_unused()  # pages of the tables already converted
        return self.st.read_table(name, PANEL_COLUMNS[name])

    def __iter__(self) -> Iterator[str]:
        return iter(PANEL_COLUMNS)

    def __len__(self) -> int:
        return len(PANEL_COLUMNS)


def load_episodes(store: Path | EpisodeStore, dates: Sequence[str] | None = None) -> list[Episode]:
    """The stored days as ``Episode`` objects (all, or ``dates`` in the order given).

    Equal to the episodes read from JSON, except that ``llm_decisions`` reasoning is "" unless the
    store was built ``with_reasoning`` (compare with ``Episode.drop_reasoning()``).
    """
    st = open_store(store)
    index = {d: t for t, d in enumerate(st.manifest["dates"])}
    days = None
    if dates is not None:
        missing = [d for d in dates if d not in index]
        if missing:
            raise StoreError(
                str(st.path),
                "date not in store",
                date=missing[0],
                expected=f"{st.dates[0]}..{st.dates[-1]}",
            )
        days = [index[d] for d in dates]
    eps = tables_to_episodes(st.frames(), st.tickers, st.manifest["portfolio_tickers"], days)
    return eps


def load_episode(store: Path | EpisodeStore, date: str) -> Episode:
    """One stored day (see ``load_episodes``)."""
    return load_episodes(store, [date])[0]


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


def ingest(
    src: Source,
    store: Path,
    *,
    replace: bool = False,
    with_reasoning: bool = False,
    workers: int = 1,
    wait: bool = False,
) -> IngestReport:
    """Validate the episodes of ``src`` and add them to the store at ``store`` (created if absent).

    Parameters
    ----------
    src : directory, glob, list of files, or tar archive of ``episode_YYYY-MM-DD.json``.
    store : store directory.
    replace : accept days whose file content differs from the stored day (else StoreError).
    with_reasoning : keep the ``llm_decisions`` reasoning text (larger store).
    workers : processes that parse JSON. 1 (in-process) is the fastest on a busy 2-core machine:
        the pickling of episodes back to the parent costs about 30 % extra CPU.
    wait : when another writer holds the store's lock, wait for it instead of raising.

    Raises
    ------
    EpisodeError
        On any validation problem (its ``problems`` attribute lists them all); nothing is written.
    StoreError
        On a changed day without ``replace``, a store built with another ``with_reasoning``, a
        damaged store table, a store locked by another writer, or a write that the file system
        refuses (read-only, no space left).
    """
    store = Path(store)
    with store_lock(store, wait=wait):
        return _ingest(src, store, replace, with_reasoning, workers)


def _ingest(
    src: Source, store: Path, replace: bool, with_reasoning: bool, workers: int
) -> IngestReport:
    t0 = time.perf_counter()
    old = _existing(store, with_reasoning)
    known = old.day_hashes() if old else {}
    days = read_days(src, workers=workers, known=known)
    new, changed = _classify(days, old, replace, store)
    n_unchanged = len(days) - len(new) - len(changed)
    if not new and not changed and old is not None:
        log.info("store_unchanged", store=str(store), days=len(known))
        return IngestReport(store, len(known), 0, 0, n_unchanged, old.size_bytes(), _since(t0))
    fresh = {d.episode.date: d for d in (*new, *changed)}
    kept = [] if old is None else load_episodes(old)
    kept_sha = {} if old is None else known
    merged = sorted(
        [e for e in kept if e.date not in fresh] + [d.episode for d in fresh.values()],
        key=lambda e: e.date,
    )
    _refuse(check_sequence(merged), store)  # the new days must chain with the stored ones
    sha = [fresh[e.date].sha256 if e.date in fresh else kept_sha[e.date] for e in merged]
    _write(store, merged, sha, with_reasoning)
    size = open_store(store).size_bytes()
    rep = IngestReport(store, len(merged), len(new), len(changed), n_unchanged, size, _since(t0))
    log.info(
        "store_ingested",
        store=str(store),
        days=rep.n_days,
        new=rep.n_new,
        replaced=rep.n_replaced,
        size_mb=round(size / 1e6, 2),
        elapsed_s=rep.elapsed_s,
    )
    return rep


def _since(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


def _existing(store: Path, with_reasoning: bool) -> EpisodeStore | None:
    if not store.exists():
        return None
    if not (store / MANIFEST).exists():
        if store.is_dir() and not any(store.iterdir()):
            return None
        raise StoreError(
            str(store), "exists and is not an episode store", fix="choose another --store path"
        )
    old = open_store(store)
    old.verify()
    if old.with_reasoning != with_reasoning:
        raise StoreError(
            str(store),
            "store was built with another --with-reasoning",
            store=old.with_reasoning,
            asked=with_reasoning,
            fix="ingest into a new store",
        )
    return old


def _classify(days: list[DayFile], old: EpisodeStore | None, replace: bool, store: Path):
    """Split read days into (new, changed); raise on any problem of the source (as the validator
    reports them: read errors, per-day rules, order and chain within the source) or on a changed
    day. A file whose bytes differ from the ingested one but whose episode equals the stored one
    (e.g. re-serialised) is unchanged."""
    _refuse(list(validate_days(days).problems), store)
    known = set(old.dates) if old is not None else set()
    new = [d for d in days if d.episode is not None and d.episode.date not in known]
    changed = [d for d in days if d.episode is not None and d.episode.date in known]
    if changed:
        stored = load_episodes(old, [d.episode.date for d in changed])
        keep = old.with_reasoning
        changed = [
            d
            for d, e in zip(changed, stored, strict=True)
            if (d.episode if keep else d.episode.drop_reasoning()) != e
        ]
    if changed and not replace:
        d = changed[0]
        raise StoreError(
            f"{store}: {d.episode.date}",
            "day content differs from the store",
            file=d.name,
            changed_days=len(changed),
            fix="pass --replace to overwrite it",
        )
    return new, changed


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


def _write(store: Path, eps: list[Episode], sha: list[str], with_reasoning: bool) -> None:
    keys = eps[0].before.tickers
    for e in eps:
        for side, port in (("portfolio_before", e.before), ("portfolio_after", e.after)):
            if port.tickers != keys:
                raise StoreError(
                    f"{e.source or store}: {e.date}: {side}.positions",
                    "tickers differ from the store's portfolio keys",
                    n=len(port.tickers),
                    expected=f"the {len(keys)} keys of day 1",
                )
    tickers = ticker_universe(eps)
    tables = episodes_to_tables(eps, tickers, with_reasoning=with_reasoning)
    tables["daily"].insert(1, "sha256", sha)
    dates = [e.date for e in eps]
    content = hashlib.sha256()
    content.update(f"{SCHEMA_VERSION} {with_reasoning}\n".encode())
    for d, h in zip(dates, sha, strict=False):
        content.update(f"{d} {h}\n".encode())
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "with_reasoning": with_reasoning,
        "n_days": len(eps),
        "first_date": dates[0],
        "last_date": dates[-1],
        "content_hash": content.hexdigest(),
        "tables": {name: len(df) for name, df in tables.items()},
        "tickers": tickers,
        "portfolio_tickers": list(keys),
        "dates": dates,
    }

    def build(tmp: Path) -> None:
        for name, df in tables.items():
            write_table(df, tmp / f"{name}.parquet")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")

    with os_errors(store, StoreError):
        swap_dir(store, build)


def write_table(df: pd.DataFrame, path: Path) -> None:
    """One table as zstd Parquet (deterministic bytes for the same frame).

    Float columns of the price-like tables use BYTE_STREAM_SPLIT (about 20 % smaller and faster to
    write there); the other tables compress better with dictionary encoding.
    """
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    kw: dict = {"compression": "zstd", "compression_level": _ZSTD_LEVEL}
    if path.stem in _SPLIT_FLOATS:
        floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
        kw["use_byte_stream_split"] = floats
        kw["use_dictionary"] = [c for c in table.column_names if c not in floats]
    pq.write_table(table, path, **kw)
