"""Advisory writer locks (one writer per store or models directory) and OS-error translation.

A leaf module (stdlib only). ``writer_lock`` takes ``fcntl.flock`` on a lock file; the kernel drops
the lock when its holder dies, so a killed writer never leaves a stale lock. The lock file records
the holder (pid, host, command, start time) so that a refused writer can name it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from simulator.core.errors import WfsimError

__all__ = ["writer_lock", "os_errors", "os_error_message"]

_OS_WHAT = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def os_error_message(exc: OSError) -> str:
    """A few words for an OSError (``read-only file system``, ``no space left on device``, ...)."""
    return _OS_WHAT.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__


@contextlib.contextmanager
def os_errors(
    where: str | Path, cls: type[WfsimError], *, known_only: bool = False
) -> Iterator[None]:
    """Re-raise an ``OSError`` of the block as ``cls`` (``where: read-only file system``).

    The path of the failing call (``exc.filename``) is kept as ``path=``; the CLI then shows one
    line and exit 1 instead of an Errno traceback. ``known_only``: translate only the file-system
    conditions a user can fix (read-only, full, quota, permission); others keep their traceback.
    """
    try:
        yield
    except OSError as exc:
        if known_only and exc.errno not in _OS_WHAT:
            raise
        values = {"path": exc.filename} if exc.filename else {}
        raise cls(str(where), os_error_message(exc), errno=exc.errno, **values) from None


@contextlib.contextmanager
def writer_lock(
    lock_file: Path,
    *,
    owner: str,
    cls: type[WfsimError],
    wait: bool = False,
    command: str | None = None,
) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_file`` for the block.

    Parameters
    ----------
    lock_file : the lock file (created if absent, never removed: removing it would let two
        writers lock two different files).
    owner : what the lock protects, used as the error's ``where`` (a store or models directory).
    cls : the error raised when the lock is held (``StoreError``, ``RegistryError``).
    wait : block until the holder releases it instead of raising.
    command : recorded for the next writer's error message (default: this process's argv).

    Raises
    ------
    cls
        The lock is held by another writer (and ``wait`` is false), or the lock file cannot be
        created (read-only file system, no space left).
    """
    lock_file = Path(lock_file)
    with os_errors(owner, cls):
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise cls(
                    str(owner),
                    "locked by another writer",
                    holder=_holder(lock_file),
                    lock=str(lock_file),
                    fix="wait for it to finish, or pass --wait",
                ) from None
            fcntl.flock(fd, fcntl.LOCK_EX)
        _record(fd, command)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _record(fd: int, command: str | None) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command if command is not None else " ".join(sys.argv)[:300],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with contextlib.suppress(OSError):  # the holder record is informative only
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)


def _holder(lock_file: Path) -> str:
    try:
        info = json.loads(lock_file.read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']}, `{info['command']}` since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown (starting up)"
