"""Handing freed heap pages back to the OS (glibc ``malloc_trim``), where the C library has it.

After a large transient working set (a day-block feature build) glibc keeps the freed small and
mid-size blocks in its heap, so the RSS stays at the peak; ``trim`` returns them. A no-op (False)
where the C library has no ``malloc_trim`` (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["trim"]


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
        return lib if lib is not None and hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


def trim() -> bool:
    """Return freed heap memory to the OS; True when the C library released some (glibc only)."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False
