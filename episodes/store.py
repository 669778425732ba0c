"""The Parquet ``EpisodeStore``: atomic, incremental ingest of validated episodes, and loading.

Layout: ``STORE/manifest.json`` plus one zstd Parquet file per table (``episodes.tables``). An
ingest validates everything first and writes nothing on any problem; it builds the new store in a
temp directory and renames it into place, so a failed or killed ingest leaves the old store (or
none). Re-ingesting a superset parses only new files; a day whose file changed is refused unless
``replace``. The ingest itself, streamed by blocks of days, is ``episodes.ingest``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from episodes.ingest import DEFAULT_BLOCK, IngestOptions, IngestReport, episodes_at, ingest_days
from episodes.panel import Panel
from episodes.panel_io import PANEL_COLUMNS, panel_from_tables, read_parquet
from episodes.reader import Source
from episodes.schema import Episode
from episodes.store_days import DayTables, check_days, days_manifest, read_day_rows
from episodes.store_fs import hidden_old, store_lock
from episodes.table_io import MANIFEST, SCHEMA_VERSION
from episodes.tables import TABLES, tables_to_episodes
from simulator.core.errors import StoreError

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

    def read_day_rows(self, name: str, columns: Sequence[str], lo: int, hi: int) -> pa.Table:
        """The rows of days ``lo <= t < hi`` of one table, from its overlapping row groups only."""
        path = self.path / f"{name}.parquet"
        try:
            return read_day_rows(path, columns, lo, hi)
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
    """The whole store as dense ``[t, k]`` arrays (``episodes.panel.Panel``), or with ``days`` (a
    step-1 range inside ``0..T``) the Panel of those days only, equal to
    ``slice_panel(load_panel(store), days)`` but read from the row groups of those days (memory
    bounded by the range, see ``episodes.store_days``).

    Raises
    ------
    StoreError
        ``days`` is not a step-1 range inside the store's days; a damaged table.
    """
    st = open_store(store)
    if days is None:
        panel = panel_from_tables(_TableReader(st), st.manifest)
    else:
        days = check_days(st.path, days, len(st.manifest["dates"]))
        tables = DayTables(st.read_day_rows, days)
        panel = panel_from_tables(tables, days_manifest(st.manifest, days))
    pa.default_memory_pool().release_unused()  # the tables are gone: hand their pages back
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
    """The stored days as ``Episode`` objects (all, or ``dates`` in the order given, read from the
    row groups of the days between the first and the last of them only).

    Equal to the episodes read from JSON, except that ``llm_decisions`` reasoning is "" unless the
    store was built ``with_reasoning`` (compare with ``Episode.drop_reasoning()``).
    """
    st = open_store(store)
    index = {d: t for t, d in enumerate(st.manifest["dates"])}
    if dates is not None:
        missing = [d for d in dates if d not in index]
        if missing:
            raise StoreError(
                str(st.path),
                "date not in store",
                date=missing[0],
                expected=f"{st.dates[0]}..{st.dates[-1]}",
            )
        return episodes_at(st, [index[d] for d in dates]) if dates else []
    return tables_to_episodes(st.frames(), st.tickers, st.manifest["portfolio_tickers"])


def load_episode(store: Path | EpisodeStore, date: str) -> Episode:
    """One stored day (see ``load_episodes``)."""
    return load_episodes(store, [date])[0]


def ingest(
    src: Source,
    store: Path,
    *,
    replace: bool = False,
    with_reasoning: bool = False,
    workers: int = 1,
    wait: bool = False,
    block: int = DEFAULT_BLOCK,
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
    block : days read, validated and written at a time (memory, not the bytes written, depends
        on it; see ``episodes.ingest``).

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
    opts = IngestOptions(
        replace=replace, with_reasoning=with_reasoning, workers=workers, block=block
    )
    with store_lock(store, wait=wait):
        return ingest_days(src, store, _existing(store, with_reasoning), opts)


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
