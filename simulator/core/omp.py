"""OpenMP waiting policy of the process: passive unless the user chose one.

torch and LightGBM run their intra-op threads on libgomp, whose idle threads spin by default.
On a busy 2-core machine two spinning threads fight every other process (measured: a 2-thread
LSTM step 6x slower than 1 thread under load 10), while with ``OMP_WAIT_POLICY=PASSIVE`` the
same 2 threads are never slower than 1 under load and 1.4x faster on a quiet machine
(``scripts/bench/bench_families.py``). libgomp reads the variable once, when it is loaded, so
the entry points (``wfsim`` CLI, ``import wfsim``) call ``prefer_passive_waits`` before anything
imports torch or lightgbm; a value the user set is kept.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["POLICY", "prefer_passive_waits"]

POLICY = "PASSIVE"


def prefer_passive_waits(environ: MutableMapping[str, str] = os.environ) -> str:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` unless already set; the policy in effect.

    >>> prefer_passive_waits({}), prefer_passive_waits({"OMP_WAIT_POLICY": "ACTIVE"})
    ('PASSIVE', 'ACTIVE')
    """
    return environ.setdefault("OMP_WAIT_POLICY", POLICY)
