"""How long libgomp's idle threads spin before they sleep: bounded, unless the user chose.

torch and LightGBM run their intra-op threads on libgomp, whose idle threads spin 300,000 rounds
by default before sleeping. On this project's 2-core machine (real 691-day store, default `lstm`,
21 windows, `scripts/bench/bench_families.py` and the figures in README "Benchmarks"):

==========================  ============  =====================================
2 torch threads, libgomp    quiet machine  one LSTM step under load 12 (1 thread:
                            (1 thread:     436 ms)
                            142 s)
==========================  ============  =====================================
default (spin 300,000)      97 s           2,351 ms (5.4x slower than 1 thread)
``GOMP_SPINCOUNT=10000``    84 s           745 ms
``OMP_WAIT_POLICY=PASSIVE``  107 s          456 ms
==========================  ============  =====================================

A bounded spin keeps most of the 2-thread speed-up on a quiet machine and avoids the collapse
when other processes compete for the cores. libgomp reads the variables once, when it is
loaded, so the entry points (``wfsim`` CLI, ``import wfsim``) call ``bound_spin_waits`` before
anything imports torch or lightgbm. A user's ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is kept
(an explicit ``GOMP_SPINCOUNT`` would override their policy, so none is set then).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["SPINCOUNT", "bound_spin_waits"]

SPINCOUNT = "10000"


def bound_spin_waits(environ: MutableMapping[str, str] = os.environ) -> str:
    """Set ``GOMP_SPINCOUNT=10000`` in ``environ`` unless the user set ``OMP_WAIT_POLICY`` or
    ``GOMP_SPINCOUNT``; returns what is in effect.

    >>> bound_spin_waits({}), bound_spin_waits({"OMP_WAIT_POLICY": "ACTIVE"})
    ('GOMP_SPINCOUNT=10000', 'OMP_WAIT_POLICY=ACTIVE')
    """
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        if name in environ:
            return f"{name}={environ[name]}"
    environ["GOMP_SPINCOUNT"] = SPINCOUNT
    return f"GOMP_SPINCOUNT={SPINCOUNT}"
