"""simulator.core.memory.trim: freed heap pages go back to the OS (glibc)."""

import sys
from pathlib import Path

import pytest

from simulator.core.memory import trim


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError(f"no {field}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim")
def test_trim_returns_freed_heap_pages():
    keep = []
    size = 4000  # a variable: a constant product would be folded into one shared object
    blocks = [b"\x01" * size for _ in range(60_000)]  # ~240 MB of touched heap (below mmap size)
    keep.append(b"\x02" * size)  # a live malloc block at the top: brk cannot shrink past it
    del blocks
    before = _rss_mb()
    assert trim() is True
    after = _rss_mb()
    assert before - after > 150, (before, after)
    del keep


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc RSS, glibc")
def test_give_back_returns_the_pages_arrow_keeps_after_a_free():
    import numpy as np
    import pyarrow as pa

    from simulator.core.memory import give_back

    arrays = [pa.array(np.arange(i, i + 250_000, dtype=np.float64)).cast(pa.int64())
              for i in range(100)]  # fmt: skip
    # ~190 MB from Arrow's pool (each cast: a new 2 MB buffer), then freed: the pool keeps them
    del arrays
    before = _rss_mb("RssAnon")
    give_back()
    assert before - _rss_mb("RssAnon") > 100, (before, _rss_mb("RssAnon"))
