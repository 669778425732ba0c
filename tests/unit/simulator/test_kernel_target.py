"""``simulator.kernels.target``: the books load their kernels without scipy.linalg and cffi."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import json, sys, numpy as np
from simulator.books import Books
from simulator.kernels.records import BUY, R_DECISION, Orders
b = Books(2, np.array([False, True]), 1000.0, fee_rate=5e-4, margin_rate=0.0, max_positions=30)
o = Orders(np.array([0], np.int32), np.array([BUY], np.int8), np.array([3], np.int64),
           np.array([R_DECISION], np.int8), np.array([-1], np.int32))
fills = b.execute(0, o, np.array([100.0, 80.0]), np.zeros(2))
nav = b.mark(np.array([100.0, 80.0]), np.arange(2))[0]
after = sorted(m for m in ("scipy.linalg", "cffi") if m in sys.modules)
import cffi, scipy.linalg  # still importable: only hidden while numba set up its target
ok = bool(scipy.linalg.norm([3.0, 4.0]) == 5) and cffi.FFI() is not None
print(json.dumps({"imported_by_books": after, "qty": int(fills["qty"][0]),
                  "cash": round(b.cash, 2), "nav": round(nav, 2), "linalg_ok": ok}))
"""


def test_books_run_without_importing_scipy_linalg_or_cffi_and_leave_them_importable():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=True)  # fmt: skip
    got = json.loads(res.stdout.strip().splitlines()[-1])
    want = {"imported_by_books": [], "qty": 3, "cash": 699.85, "nav": 999.85}
    assert got == {**want, "linalg_ok": True}


def test_init_leaves_an_imported_scipy_linalg_in_place(monkeypatch):
    import scipy.linalg

    from simulator.kernels import target

    monkeypatch.setattr(target, "_done", False)  # run the setup again in this process
    target.init_cpu_target()
    assert target._done and sys.modules["scipy.linalg"] is scipy.linalg
