"""The numba kernels keep ``cache=True`` and their NamedTuple signatures load from the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from numba.core.dispatcher import Dispatcher

from simulator.kernels import books as kernels

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import json, numpy as np
from simulator.books import Books
from simulator.kernels import books as kb
from simulator.kernels.records import BUY, R_DECISION, Orders
b = Books(2, np.array([False, True]), 1000.0, fee_rate=5e-4, margin_rate=0.0, max_positions=30)
o = Orders(np.array([0], np.int32), np.array([BUY], np.int8), np.array([3], np.int64),
           np.array([R_DECISION], np.int8), np.array([-1], np.int32))
b.execute(0, o, np.array([100.0, 80.0]), np.zeros(2))
b.mark(np.array([100.0, 80.0]), np.arange(2))
fns = (kb.execute_orders_entry_nb, kb.mark_entry_nb)
print(json.dumps({f.__name__: [sum(f.stats.cache_hits.values()),
                               sum(f.stats.cache_misses.values())] for f in fns}))
"""


def test_every_kernel_is_njit_with_cache():
    nbs = [getattr(kernels, n) for n in kernels.__all__ if n.endswith("_nb")]
    assert len(nbs) >= 10 and all(isinstance(f, Dispatcher) for f in nbs)
    assert all(f._cache.__class__.__name__ == "FunctionCache" for f in nbs)  # NullCache without


def test_book_tuple_signatures_load_from_the_cache_in_a_fresh_process():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def stats() -> dict:
        cmd = [sys.executable, "-c", SCRIPT]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        return json.loads(res.stdout.strip().splitlines()[-1])

    stats()  # the first process may compile (and writes the cache)
    assert stats() == {"execute_orders_entry_nb": [1, 0], "mark_entry_nb": [1, 0]}
