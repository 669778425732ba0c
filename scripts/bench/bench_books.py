"""Benchmark the numba books against vectorbt's Portfolio.from_orders on one order stream.

The stream: K tickers x T days of random-walk prices, a long-only book of ~30 positions of which
``--turnover`` are replaced (sold out, new ones bought) and as many resized every day. Both engines
fill at the open with a 5 bp fee and value the book at every close; the cap (40) never binds and
cash never runs short, so both must end with the same shares and cash (``--check``).

vectorbt is not a wfsim dependency: it runs in a subprocess of ``--vbt-python`` (default
/tmp/vbt-venv/bin/python; set it up with
``python3 -m venv /tmp/vbt-venv && /tmp/vbt-venv/bin/pip install vectorbt numba``) on the same
stream, passed as an .npz file. Prints one row per case and appends them to RESULTS.md.

    .venv/bin/python scripts/bench/bench_books.py --repeat 5 --warmup 2 --seed 42 --check
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import ROOT, add_common_args, first_call, median, report, table, time_runs

FEE, INIT_CASH, CAP = 0.0005, 1e6, 40


def make_stream(seed: int, n_days: int, n_tickers: int, n_pos: int, turnover: int) -> dict:
    """Prices [T, K] and a dense signed order matrix [T, K] (0 = no order), long-only."""
    rng = np.random.default_rng(seed)
    ret = rng.normal(0.0003, 0.02, (n_days, n_tickers))
    close = 50.0 * np.exp(np.cumsum(ret, axis=0)) * rng.uniform(0.2, 4.0, n_tickers)
    open_ = close * np.exp(rng.normal(0.0, 0.005, close.shape))
    size = np.zeros((n_days, n_tickers), np.int64)
    held = np.zeros(n_tickers, np.int64)
    budget = INIT_CASH / 3 / n_pos
    for t in range(n_days):
        have = np.flatnonzero(held > 0)
        n_out = min(turnover, len(have)) if len(have) >= n_pos else 0
        out = rng.choice(have, n_out, replace=False) if n_out else np.empty(0, np.int64)
        size[t, out] = -held[out]
        free = np.flatnonzero(held == 0)
        new = rng.choice(free, n_pos - len(have) + n_out, replace=False)
        size[t, new] = np.maximum(1, (budget / open_[t, new]).astype(np.int64))
        keep = np.setdiff1d(have, out)
        adj = rng.choice(keep, min(turnover, len(keep)), replace=False)
        delta = rng.integers(-5, 6, len(adj))
        size[t, adj] = np.maximum(delta, -held[adj] + 1)
        held += size[t]
    return {"open": open_, "close": close, "size": size}


def run_vectorbt(stream: dict, repeat: int, warmup: int) -> dict:
    """The vectorbt half (runs inside the vectorbt venv)."""
    import vectorbt as vbt

    size = np.where(stream["size"] != 0, stream["size"].astype(float), np.nan)

    def once():
        pf = vbt.Portfolio.from_orders(
            close=stream["close"], size=size, size_type="amount", direction="longonly",
            price=stream["open"], fees=FEE, init_cash=INIT_CASH, cash_sharing=True,
            group_by=True, freq="1D",
        )  # fmt: skip
        return pf, pf.value().to_numpy()

    first, (pf, nav) = first_call(once)
    times = time_runs(once, repeat, warmup)
    return {
        "first_s": first,
        "times": times,
        "cash": float(pf.cash().to_numpy()[-1]),
        "shares": pf.assets().to_numpy()[-1].astype(np.int64).tolist(),
        "nav": nav.tolist(),
        "version": vbt.__version__,
    }


def _orders(stream: dict):
    """The dense matrix as per-day order arrays (ticker order within a day, as vectorbt)."""
    from simulator.kernels.records import BUY, R_DECISION, SELL

    t, k = np.nonzero(stream["size"])
    q = stream["size"][t, k]
    ptr = np.searchsorted(t, np.arange(stream["size"].shape[0] + 1))
    action = np.where(q > 0, BUY, SELL).astype(np.int8)
    n = len(k)
    return (ptr, k.astype(np.int32), action, np.abs(q), np.full(n, R_DECISION, np.int8),
            np.full(n, -1, np.int32))  # fmt: skip


def run_wfsim(stream: dict, repeat: int, warmup: int) -> dict:
    """The wfsim half: an njit day loop over the kernels, and the Python Books loop."""
    from numba import njit

    from simulator.books import Books
    from simulator.kernels.books import execute_orders_nb, mark_nb
    from simulator.kernels.records import Orders, empty_book, fill_dt

    @njit(cache=True)
    def run_days_nb(ptr, k, act, q, why, vic, open_, close, strength, is_bond, book, out):
        T, K = close.shape
        keys = np.arange(K)
        nav = np.empty(T)
        n = 0
        for t in range(T):
            lo, hi = ptr[t], ptr[t + 1]
            day = Orders(k[lo:hi], act[lo:hi], q[lo:hi], why[lo:hi], vic[lo:hi])
            n = execute_orders_nb(t, book, day, open_[t], strength[t], is_bond, FEE, 0.0, CAP,
                                  out, n)  # fmt: skip
            nav[t] = mark_nb(book, close[t], keys)[0]
        return n, nav

    ptr, k, act, q, why, vic = _orders(stream)
    T, K = stream["close"].shape
    strength = np.zeros((T, K))
    is_bond = np.zeros(K, np.bool_)
    state = {}

    def kernels():
        book = empty_book(K, INIT_CASH)
        out = np.empty(2 * len(k), fill_dt)
        n, nav = run_days_nb(ptr, k, act, q, why, vic, stream["open"], stream["close"],
                             strength, is_bond, book, out)  # fmt: skip
        state.update(cash=book.state_f8[0], shares=book.long, nav=nav, fills=out[:n])

    bounds = zip(ptr[:-1], ptr[1:], strict=True)
    day_orders = [Orders(k[a:b], act[a:b], q[a:b], why[a:b], vic[a:b]) for a, b in bounds]
    keys = np.arange(K)

    def books():
        b = Books(K, is_bond, INIT_CASH, fee_rate=FEE, margin_rate=0.0, max_positions=CAP)
        nav = np.empty(T)
        for t in range(T):
            b.execute(t, day_orders[t], stream["open"][t], strength[t])
            nav[t] = b.mark(stream["close"][t], keys)[0]
        state.update(books_cash=b.cash, books_shares=b.long.copy(), books_nav=nav)

    res = {"first_s": first_call(kernels)[0], "kernels": time_runs(kernels, repeat, warmup)}
    res["books"] = time_runs(books, repeat, warmup)
    res["state"] = state
    return res


def check(w: dict, v: dict) -> list[str]:
    """Both engines must agree: shares exactly, cash and every NAV to 1e-9 relative."""
    s = w["state"]
    problems = []
    if not np.array_equal(s["shares"], np.array(v["shares"])):
        problems.append("final shares differ from vectorbt")
    if not np.array_equal(s["shares"], s["books_shares"]) or s["cash"] != s["books_cash"]:
        problems.append("Books loop differs from the kernel loop")
    if abs(s["cash"] - v["cash"]) > 1e-9 * abs(v["cash"]):
        problems.append(f"cash {s['cash']!r} vs vectorbt {v['cash']!r}")
    nav_v = np.array(v["nav"])
    if not np.allclose(s["nav"], nav_v, rtol=1e-9, atol=0):
        problems.append(f"NAV max rel diff {np.max(np.abs(s['nav'] / nav_v - 1)):.3g}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap, check_help="verify both engines agree first")
    ap.add_argument("--days", type=int, default=800)
    ap.add_argument("--tickers", type=int, default=500)
    ap.add_argument("--positions", type=int, default=30)
    ap.add_argument("--turnover", type=int, default=10, help="positions replaced per day")
    ap.add_argument("--vbt-python", type=Path, default=Path("/tmp/vbt-venv/bin/python"))
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # vectorbt half: stream .npz
    a = ap.parse_args()
    if a.worker:
        stream = dict(np.load(a.worker))
        print(json.dumps(run_vectorbt(stream, a.repeat, a.warmup)))
        return
    sys.path.insert(0, str(ROOT))
    stream = make_stream(a.seed, a.days, a.tickers, a.positions, a.turnover)
    n_orders = int(np.count_nonzero(stream["size"]))
    w = run_wfsim(stream, a.repeat, a.warmup)
    v = _vectorbt_subprocess(a, stream)
    if a.check and v is not None:
        problems = check(w, v)
        if problems:
            sys.exit("check failed: " + "; ".join(problems))
        print(f"check ok: shares, cash and {a.days} NAVs agree with vectorbt {v['version']}")
    ref = median(v["times"]) if v else median(w["books"])
    cases = []
    if v:
        cases.append((f"vectorbt {v['version']} from_orders+value", v["times"], v["first_s"]))
    cases.append(("wfsim execute_orders_nb+mark_nb (njit day loop)", w["kernels"], w["first_s"]))
    cases.append(("wfsim Books.execute+mark (python day loop)", w["books"], None))
    title = (
        f"bench_books {a.days}d x {a.tickers}k, {n_orders} orders, seed {a.seed}; "
        f"ratio = reference median / case median (reference: "
        f"{'vectorbt' if v else 'Books loop; vectorbt unavailable'})"
    )
    rows = []
    for name, times, first in cases:
        med = median(times)
        fc = "-" if first is None else f"{first:.3f}"
        rows.append((name, times, ref / med, f"{1e6 * med / a.days:.1f}", fc))
    report(table(title, rows, extra=("us/day", "first_call_s")), a.no_append)


def _vectorbt_subprocess(a, stream: dict) -> dict | None:
    if not a.vbt_python.exists():
        print(f"vectorbt unavailable: {a.vbt_python} not found (see --help)", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.npz"
        np.savez(path, **stream)
        cmd = [str(a.vbt_python), __file__, "--worker", str(path), "--repeat", str(a.repeat),
               "--warmup", str(a.warmup)]  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print(f"vectorbt run failed:\n{res.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
