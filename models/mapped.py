"""Page-bounded reads of file-mapped arrays (a spilled ``FeatureSet.x``, ``models.feature_file``).

``ru_maxrss`` counts the resident pages of a mapping, so reading a memmap whole would cost its
size in RSS even though the bytes stay in the page cache. Here a read walks the leading axis in
chunks of ``CHUNK_BYTES`` and hands each chunk's pages back (``madvise(MADV_DONTNEED)``: the
process drops them, the kernel's page cache keeps them) before the next. On an ordinary array
every function is the plain operation.
"""

from __future__ import annotations

import dataclasses
import mmap
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "CHUNK_BYTES",
    "is_mapped",
    "release",
    "release_fields",
    "chunks",
    "take",
    "hash_update",
    "ColumnMask",
]

CHUNK_BYTES = 16 * 2**20  # bytes of a mapped array resident at once in a read (and hash chunk)


def is_mapped(a: Any) -> bool:
    """Whether ``a`` is a C-contiguous view of a live file mapping (``np.memmap``)."""
    return (
        isinstance(a, np.memmap) and getattr(a, "_mmap", None) is not None and a.flags.c_contiguous
    )


def release(a: np.ndarray) -> None:
    """Drop this process's resident pages of the mapped, contiguous ``a`` (no-op otherwise)."""
    if not is_mapped(a) or a.nbytes == 0:
        return
    mm = a._mmap  # type: ignore[attr-defined]
    base = np.frombuffer(mm, dtype=np.uint8, count=1).ctypes.data
    start = a.ctypes.data - base
    lo = start - start % mmap.PAGESIZE
    mm.madvise(mmap.MADV_DONTNEED, lo, start + a.nbytes - lo)


def release_fields(obj: Any) -> None:
    """``release`` every array field of the dataclass ``obj`` (a mapped Panel's pages)."""
    for f in dataclasses.fields(obj):
        release(getattr(obj, f.name))


def _rows(a: np.ndarray, chunk_bytes: int | None) -> int:
    chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    row = a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
    return max(1, chunk_bytes // max(row, 1))


def chunks(a: np.ndarray, chunk_bytes: int | None = None) -> Iterator[np.ndarray]:
    """Contiguous chunks of ``a`` along axis 0 whose bytes concatenate to ``a.tobytes()``; a mapped
    chunk's pages are released once the caller has used it."""
    if a.ndim == 0:
        yield np.ascontiguousarray(a).reshape(1)
        return
    step = _rows(a, chunk_bytes)
    for i in range(0, len(a), step):
        part = a[i : i + step]
        yield np.ascontiguousarray(part)
        release(part)


def hash_update(h: Any, a: np.ndarray, chunk_bytes: int | None = None) -> None:
    """``h.update(a.tobytes())`` without a copy of the whole array: chunk by chunk along axis 0
    (the same bytes in the same order, so the same digest)."""
    for part in chunks(a if isinstance(a, np.ndarray) else np.asarray(a), chunk_bytes):
        h.update(part.reshape(-1).view(np.uint8))


def take(x: np.ndarray, t: np.ndarray, k: np.ndarray, chunk_bytes: int | None = None) -> np.ndarray:
    """``x[t, k]`` (integer index arrays, broadcast together, ``t >= 0``); on a mapped ``x`` read
    in day chunks, each chunk's pages released before the next, so only ~``chunk_bytes`` of the
    mapping is resident at once."""
    if isinstance(x, ColumnMask):
        return take(x.base, t, k, chunk_bytes) * x.keep
    if not is_mapped(x):
        return x[t, k]
    tb, kb = np.broadcast_arrays(np.asarray(t, dtype=np.int64), np.asarray(k, dtype=np.int64))
    out = np.empty((*tb.shape, *x.shape[2:]), dtype=x.dtype)
    flat = out.reshape(-1, *x.shape[2:])
    tf, kf = tb.reshape(-1), kb.reshape(-1)
    if not len(tf):
        return out
    order = np.argsort(tf, kind="stable")
    ts = tf[order]
    step = _rows(x, chunk_bytes)
    for a in range(int(ts[0]) - int(ts[0]) % step, int(ts[-1]) + 1, step):
        lo, hi = np.searchsorted(ts, (a, a + step))
        if lo < hi:
            idx = order[lo:hi]
            flat[idx] = np.asarray(x[tf[idx], kf[idx]])
            release(x[a : a + step])
    return out


class ColumnMask:
    """``base * keep`` (``keep``: float32 [F] of 0/1 over the last axis) without a copy of
    ``base``: a read (``take``, indexing) multiplies the rows it reads, the same floats as an
    index into the product. For a ``FeatureSet.x`` whose masked columns a family zeroes
    (``lstm-universe`` with ``inputs: price``), so a spilled ``x`` stays on disk."""

    def __init__(self, base: np.ndarray, keep: np.ndarray) -> None:
        self.base, self.keep = base, np.asarray(keep, dtype=base.dtype)
        self.shape, self.dtype, self.ndim = base.shape, base.dtype, base.ndim

    def __getitem__(self, idx: Any) -> np.ndarray:
        if not isinstance(idx, tuple) or len(idx) < self.ndim:
            return np.asarray(self.base[idx]) * self.keep
        return np.asarray(self.base[idx]) * self.keep[idx[-1]]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self.base) * self.keep
        return out if dtype is None else out.astype(dtype)
