"""Handing freed heap pages back to the OS (glibc ``malloc_trim``), where the C library has it.

After a large transient working set (a day-block feature build) glibc keeps the freed small and
mid-size blocks in its heap, so the RSS stays at the peak; ``trim`` returns them. A no-op (False)
where the C library has no ``malloc_trim`` (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["trim", "give_back"]


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


def give_back() -> None:
    """Between the phases of a large job: hand the freed pages of glibc's heap (``trim``) and of
    Arrow's memory pool (mimalloc keeps freed segments for reuse) back to the OS; Arrow only where
    it is already imported. Milliseconds; no ``gc.collect`` (~0.1 s once torch is imported): a
    caller whose garbage sits in reference cycles collects them first."""
    import sys

    trim()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
