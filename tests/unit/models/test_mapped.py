"""models.mapped: chunked hashes equal the whole-array hashes; mapped reads stay paged out."""

from __future__ import annotations

import dataclasses
import hashlib
import sys

import numpy as np
import pytest

from episodes.panel import slice_panel
from models import mapped
from models.freshness import panel_hash
from models.mapped import hash_update, is_mapped, release, take
from models.registry import data_hash
from tests.unit.models.panel_factory import make_panel


def _data_hash_whole(arrays, labels) -> str:
    """data_hash as it was: one copy of every array (``tobytes``)."""
    h = hashlib.sha256()
    for label in labels:
        h.update(label.encode() + b"\0")
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _panel_hash_whole(panel) -> str:
    h = hashlib.sha256("\0".join(str(x) for x in panel.tickers).encode())
    for f in dataclasses.fields(panel):
        a = getattr(panel, f.name)
        if isinstance(a, np.ndarray) and a.dtype != object:
            h.update(f"\0{f.name}{a.dtype.str}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    return h.hexdigest()[:16]


def _memmap(tmp_path, a: np.ndarray, name: str = "a.bin") -> np.memmap:
    a.tofile(tmp_path / name)
    return np.memmap(tmp_path / name, dtype=a.dtype, mode="r", shape=a.shape)


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096, None])
def test_chunked_hashes_equal_the_whole_array_hashes(tmp_path, monkeypatch, chunk):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(13, 5, 3)).astype(np.float32)
    x[6, 2, 1] = 123.0  # planted in the middle: a chunk border must not drop or repeat it
    arrays = [
        x,
        _memmap(tmp_path, x)[:11],  # a mapped prefix (window_data_hash's x[:stop])
        rng.random((9, 4)) > 0.5,
        (rng.random((4, 9)) > 0.5).T,  # not contiguous
        np.arange(7, dtype=np.int64)[::2],
        np.float64(2.5),  # 0-d: hashed with shape (1,) as before
        np.zeros((0, 3), dtype=np.float32),
    ]
    if chunk is not None:
        monkeypatch.setattr(mapped, "CHUNK_BYTES", chunk)
    assert data_hash(arrays, ("a", "b")) == _data_hash_whole(arrays, ("a", "b"))
    panel = make_panel(n_days=30, n_stocks=5, seed=1)
    for p in (panel, slice_panel(panel, range(4, 21))):  # a slice: strided [6, T, K] views
        assert panel_hash(p) == _panel_hash_whole(p)


def test_a_changed_byte_changes_the_chunked_hash(monkeypatch):
    monkeypatch.setattr(mapped, "CHUNK_BYTES", 16)
    a = np.zeros((20, 4), dtype=np.float32)
    b = a.copy()
    b[19, 3] = 1.0
    assert data_hash([a], ()) != data_hash([b], ())


def test_take_equals_fancy_indexing(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 6, 3)).astype(np.float32)
    mx = _memmap(tmp_path, x)
    t = rng.integers(0, 40, size=(25, 5))
    k = rng.integers(0, 6, size=(25, 1))
    for chunk in (1, 100, 10**9):
        assert np.array_equal(take(mx, t, k, chunk), x[t, k])
    assert take(mx, np.zeros(0, int), np.zeros(0, int)).shape == (0, 3)
    assert np.array_equal(take(x, t, k), x[t, k]) and is_mapped(mx) and not is_mapped(x)


def _resident_kb(path) -> int:
    """This process's resident kB of the mappings of ``path`` (/proc/self/smaps)."""
    kb, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8") as fh:
        for line in fh:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:
                inside = line.rstrip().endswith(str(path))
            elif inside and head and head[0] == "Rss:":
                kb += int(head[1])
    return kb


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_mapped_reads_leave_only_a_chunk_resident(tmp_path):
    x = np.random.default_rng(2).normal(size=(256, 64, 16)).astype(np.float32)  # 1 MB
    mx = _memmap(tmp_path, x)
    t = np.arange(256).repeat(4)
    k = np.tile(np.arange(4), 256)
    got = take(mx, t, k, chunk_bytes=64 * 1024)
    assert np.array_equal(got, x[t, k])
    assert _resident_kb(tmp_path / "a.bin") <= 64 + 4  # one chunk at most (plus a page)
    h = hashlib.sha256()
    hash_update(h, mx, chunk_bytes=64 * 1024)
    assert h.digest() == hashlib.sha256(x.tobytes()).digest()
    assert _resident_kb(tmp_path / "a.bin") <= 64 + 4
    _ = np.asarray(mx[t, k])  # a plain read maps every touched page in ...
    assert _resident_kb(tmp_path / "a.bin") >= 1000
    release(mx)  # ... until they are released
    assert _resident_kb(tmp_path / "a.bin") == 0
