"""A replay's Panel within the memory budget: when the in-memory Panel would exceed
``features.memory_mb``, its big ``[t, k]`` arrays are written to a temporary file by day blocks
and served as read-only memmaps whose resident pages the loops hand back (``release_panel``)."""

from __future__ import annotations

import dataclasses
import gc
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import structlog

import episodes.store
from episodes.panel import _BEFORE0, _PER_TICKER, _RAGGED, Panel
from models.mapped import chunks, release, release_fields
from simulator.core.memory import give_back, trim

__all__ = [
    "REPLAY_BYTES",
    "RELEASE_DAYS",
    "plan",
    "replay_panel",
    "map_panel",
    "release_panel",
    "release",
    "scratch",
    "columns",
    "take_rows",
]

log = structlog.get_logger(__name__)

REPLAY_BYTES = 720
"""Peak bytes per ticker-day of an in-memory replay above the process's base (the Panel, its load
and the run's records): 714 measured at 848 x 750 (bench_scale ``replay``: 454 MB), 577 since the
llm runs export only their non-idle fill rows (367 MB): the rule maps a little early."""
RELEASE_DAYS = 16  # a day loop hands a mapped Panel's resident pages back every RELEASE_DAYS days
_BLOCK_SHARE = 8  # a block's in-memory Panel (and its load) gets 1/_BLOCK_SHARE of the budget
_AXIS1 = ("has_signal", "signal", "confidence")  # [6, T, K]: the day is axis 1
_ALIGN = 4096
_RAGGED_VALUES = tuple(v for vals in _RAGGED.values() for v in vals)  # spilled to files


def plan(memory_mb: int, n_days: int, n_tickers: int) -> int | None:
    """Days per load block of a mapped Panel, or None when the in-memory replay fits the budget
    (``memory_mb`` 0: no budget). The real store (573 x 691) and 848 x 750 stay in memory.

    >>> plan(512, 573, 691), plan(512, 750, 848), plan(512, 1500, 1697), plan(0, 1500, 1697)
    (None, None, 54, None)
    """
    budget = memory_mb * 2**20
    if memory_mb <= 0 or n_days * n_tickers * REPLAY_BYTES <= budget:
        return None
    return max(1, budget // (_BLOCK_SHARE * n_tickers * REPLAY_BYTES))


@contextmanager
def replay_panel(store: Path, memory_mb: int, work_dir: Path) -> Iterator[Panel]:
    """The store's Panel for a replay: ``load_panel(store)`` when it fits ``memory_mb``
    (``plan``), else a mapped Panel (``map_panel``) in a temporary directory under ``work_dir``,
    removed on exit (also on error). Same dtypes, shapes and values either way."""
    st = episodes.store.open_store(store)
    n_days, n_tickers = len(st.manifest["dates"]), len(st.manifest["tickers"])
    block = plan(memory_mb, n_days, n_tickers)
    if block is None:
        yield episodes.store.load_panel(st)  # looked up here: tests replace it
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wfsim-panel-", dir=work_dir))
    try:
        load = episodes.store.load_panel
        panel = map_panel(lambda days: load(st, days), n_days, block, tmp / "panel.bin")
        log.info("panel_mapped", days=n_days, tickers=n_tickers, block_days=block,
                 size_mb=round((tmp / "panel.bin").stat().st_size / 2**20))  # fmt: skip
        give_back()  # the load's freed pages (the first block's Panel, Arrow's pool) to the OS
        yield panel
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def map_panel(loader: Callable[[range], Panel], n_days: int, block: int, path: Path) -> Panel:
    """The Panel of days ``0..n_days`` read as ``loader(range(a, b))`` blocks of ``block`` days:
    ``[T, K]`` and ``[6, T, K]`` fields written to ``path`` (plain writes to ``path.part``,
    renamed once whole) and served as read-only ``np.memmap``; the ragged lists' values
    (orders, trades, replacements: ~14 B a ticker-day) appended block by block to one file each
    beside it (``path.<field>``) and mapped too; [T] fields, the lists' pointers and per-ticker
    fields in memory. Equal array for array to the whole Panel."""
    first = loader(range(0, min(block, n_days)))
    layout, size = _layout(first, n_days)
    small: dict[str, list[np.ndarray]] = {n: [] for n in _small_fields(first, layout)}
    spilled = {n: _Appender(path.with_name(f"{path.name}.{n}")) for n in _RAGGED_VALUES}
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, size)
        for a in range(0, n_days, block):
            p = first if a == 0 else loader(range(a, min(a + block, n_days)))
            _write_block(fd, p, a, n_days, layout)
            _append_small(small, p)
            for name, app in spilled.items():
                app.append(getattr(p, name))
            del p
            trim()  # the block's load: freed heap pages back to the OS (glibc's and Arrow's)
            pa.default_memory_pool().release_unused()
    finally:  # no fsync: the files live only as long as this replay
        os.close(fd)
        for app in spilled.values():
            app.close()
    os.replace(part, path)
    out = {n: _join_small(n, parts) for n, parts in small.items()}
    del small
    out |= {n: app.mapped() for n, app in spilled.items()}
    for name, (off, dtype, shape) in layout.items():
        out[name] = np.memmap(path, dtype=dtype, mode="r", offset=off, shape=shape)
    gc.collect()  # the blocks' Panels (reference cycles) before the heap is trimmed
    trim()  # the joined parts: freed heap pages back to the OS
    return dataclasses.replace(first, **out)


class _Appender:
    """One ragged field's values, appended block by block to ``path``, then mapped read-only."""

    def __init__(self, path: Path) -> None:
        self.path, self.dtype, self.n = path, None, 0
        self.fh = open(path, "wb")  # noqa: SIM115 - closed by close(), also on error

    def append(self, v: np.ndarray) -> None:
        if self.dtype is None:
            self.dtype = v.dtype
        if v.dtype != self.dtype:  # the store's column types are fixed: never seen
            raise TypeError(f"map_panel: {self.path.name} dtype {v.dtype}, expected {self.dtype}")
        self.fh.write(memoryview(np.ascontiguousarray(v).reshape(-1).view(np.uint8)))
        self.n += len(v)

    def close(self) -> None:
        self.fh.close()

    def mapped(self) -> np.ndarray:
        if self.n == 0:  # an empty file cannot be mapped
            return np.empty(0, self.dtype)
        return np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.n,))


def release_panel(panel: Panel) -> None:
    """Hand back this process's resident pages of every mapped field (no-op in memory)."""
    release_fields(panel)


def scratch(panel: Panel, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """``np.zeros(shape, dtype)``, or beside a mapped Panel's file a zero-filled writable memmap
    (its file unlinked at once: no leftover) whose pages ``models.mapped.release`` hands back."""
    close = panel.close
    if not isinstance(close, np.memmap) or close.filename is None:
        return np.zeros(shape, dtype)
    fd, name = tempfile.mkstemp(prefix="scratch-", dir=Path(close.filename).parent)
    try:
        os.ftruncate(fd, max(1, np.dtype(dtype).itemsize * int(np.prod(shape))))
        return np.memmap(name, dtype=dtype, mode="r+", shape=shape)
    finally:
        os.close(fd)
        os.unlink(name)


def columns(a: np.ndarray, names: tuple[str, ...]) -> list[np.ndarray]:
    """Contiguous copies of the record array ``a``'s fields ``names``, read chunk by chunk (a
    mapped ``a`` hands each chunk's pages back)."""
    out = [np.empty(len(a), a.dtype[n]) for n in names]
    i = 0
    for c in chunks(a):
        for o, n in zip(out, names, strict=True):
            o[i : i + len(c)] = c[n]
        i += len(c)
    return out


def take_rows(a: np.ndarray, keep: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``a[keep(a)]`` (``keep``: rows -> bool mask), chunk by chunk as ``columns``."""
    parts = [c[keep(c)] for c in chunks(a)]
    return np.concatenate(parts) if parts else a[:0].copy()


def _layout(p: Panel, n_days: int) -> tuple[dict[str, tuple[int, np.dtype, tuple]], int]:
    """Field -> (file offset, dtype, full shape) of the mapped fields, and the file's size."""
    layout, off = {}, 0
    for f in dataclasses.fields(p):
        v = getattr(p, f.name)
        if v.ndim < 2 or f.name in _PER_TICKER or f.name.endswith("_before0"):
            continue
        shape = (v.shape[0], n_days, *v.shape[2:]) if f.name in _AXIS1 else (n_days, *v.shape[1:])
        layout[f.name] = (off, v.dtype, shape)
        nbytes = v.dtype.itemsize * int(np.prod(shape))
        off += -(-nbytes // _ALIGN) * _ALIGN
    return layout, off


def _write_block(fd: int, p: Panel, a: int, n_days: int, layout: dict) -> None:
    for name, (off, dtype, shape) in layout.items():
        v = getattr(p, name)
        if name in _AXIS1:  # one contiguous run of days per analyst
            row = dtype.itemsize * int(np.prod(shape[2:]))
            for j in range(shape[0]):
                _pwrite(fd, np.ascontiguousarray(v[j]), off + (j * n_days + a) * row)
        else:
            row = dtype.itemsize * int(np.prod(shape[1:]))
            _pwrite(fd, np.ascontiguousarray(v), off + a * row)


def _pwrite(fd: int, v: np.ndarray, off: int) -> None:
    buf = memoryview(v.reshape(-1).view(np.uint8))
    while len(buf):
        n = os.pwrite(fd, buf, off)
        buf, off = buf[n:], off + n


def _small_fields(p: Panel, layout: dict) -> list[str]:
    """The fields built in memory from the blocks: [T] fields and the ragged lists' pointers."""
    static = (*_PER_TICKER, *(f"{s}_before0" for s in _BEFORE0), *_RAGGED_VALUES)
    return [f.name for f in dataclasses.fields(p) if f.name not in layout and f.name not in static]


def _append_small(small: dict[str, list[np.ndarray]], p: Panel) -> None:
    for name, parts in small.items():
        v = getattr(p, name)
        if name in _RAGGED:  # block pointers start at 0: shift by the values so far
            shift = parts[-1][-1] if parts else 0
            v = (v if not parts else v[1:]) + shift
        parts.append(v)


def _join_small(name: str, parts: list[np.ndarray]) -> np.ndarray:
    out = np.concatenate(parts)
    return out.astype(parts[0].dtype, copy=False) if name in _RAGGED else out
