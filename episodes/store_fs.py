"""The store's directory swap, crash-safe: a killed ingest leaves the old store or the new one.

A new store is built in ``.STORE.<rand>.tmp`` beside it. The swap is two renames, old →
``.STORE.old`` then new → ``STORE``; a kill between them leaves no ``STORE`` but a complete
``.STORE.old``, which ``recover`` renames back on the next open. Both run under the store's
writer lock (``.STORE.lock``, beside the store because the store directory is replaced).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import structlog

from simulator.core.atomic import fsync_dir
from simulator.core.errors import StoreError
from simulator.core.locks import os_errors, writer_lock

__all__ = ["store_lock", "hidden_old", "recover", "clean_leftovers", "swap_dir"]

log = structlog.get_logger(__name__)

_UMASK = os.umask(0)
os.umask(_UMASK)


def lock_file(store: Path) -> Path:
    return store.parent / f".{store.name}.lock"


def hidden_old(store: Path) -> Path:
    """Where the swap parks the old store between its two renames."""
    return store.parent / f".{store.name}.old"


@contextlib.contextmanager
def store_lock(store: Path, *, wait: bool = False) -> Iterator[None]:
    """The store's writer lock; on entry recover an interrupted swap and remove dead temp dirs."""
    store = Path(store)
    with writer_lock(lock_file(store), owner=str(store), cls=StoreError, wait=wait):
        with os_errors(store, StoreError):
            recover(store)
            clean_leftovers(store)
        yield


def recover(store: Path, manifest: str = "manifest.json") -> bool:
    """Put back an old store parked by a swap that was killed before its second rename.

    Call under the lock (or when no writer can run). True when a store was recovered.
    """
    old = hidden_old(store)
    if store.exists() or not (old / manifest).is_file():
        return False
    os.replace(old, store)
    fsync_dir(store.parent)
    log.warning("store_recovered", store=str(store), from_=str(old))
    return True


def clean_leftovers(store: Path) -> int:
    """Remove what dead writers left: ``.STORE.*.tmp`` builds, ``.STORE.*.old`` trash and, when
    the store exists, a parked ``.STORE.old``. Call under the lock only."""
    pat = glob.escape(f".{store.name}.")
    found = [Path(p) for s in ("*.tmp", "*.old") for p in glob.glob(str(store.parent / (pat + s)))]
    if not store.exists():  # keep the parked old store: it is the only copy
        found = [p for p in found if p != hidden_old(store)]
    for p in found:
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    if found:
        log.info("store_leftovers_removed", store=str(store), n=len(found))
    return len(found)


def swap_dir(store: Path, build: Callable[[Path], None]) -> None:
    """Build the new store with ``build(tmp)`` in a temp directory, then swap it in."""
    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{store.name}.", suffix=".tmp", dir=store.parent))
    old = hidden_old(store)
    try:
        build(tmp)
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(tmp)
        moved = False
        if store.exists():
            os.replace(store, old)
            moved = True
        try:
            os.replace(tmp, store)
        except BaseException:
            if moved:
                os.replace(old, store)
            raise
        fsync_dir(store.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
