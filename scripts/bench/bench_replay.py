"""Benchmark the full LLM baseline replay: load_panel + kernels + reconciliation + exports.

Goal: <= 2 s per replay once the numba cache is warm. The reference row is the plain-Python
spec (simulator.kernels.reference) executing the same days, books only (no load, no export).

    .venv/bin/python scripts/bench/bench_replay.py --store STORE --repeat 5 --warmup 2 --check

Without --store the real episodes in ../shared are ingested into a temp store first (untimed).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import ROOT, TAR, add_common_args, first_call, median, repeat_runs, report, table

sys.path.insert(0, str(ROOT))


def replay_once(store: Path, out: Path) -> dict[str, float]:
    """One full replay; returns the seconds of each stage."""
    from episodes.store import load_panel
    from simulator.reconcile import replay_recorded
    from simulator.results.export import export_run
    from simulator.runs import RunOutput

    t0 = time.perf_counter()
    panel = load_panel(store)
    t1 = time.perf_counter()
    res = replay_recorded(panel)
    t2 = time.perf_counter()
    run = RunOutput("llm", np.arange(panel.n_days), panel.dates, panel.tickers, res.fills,
                    res.marks, res.initial_nav, res.n_long, res.n_short)  # fmt: skip
    export_run(out, run, {})
    t3 = time.perf_counter()
    if res.mismatches:
        sys.exit(f"replay does not reconcile: {res.mismatches[0]}")
    return {"total": t3 - t0, "load": t1 - t0, "replay": t2 - t1, "export": t3 - t2}


def reference_once(panel) -> float:
    """The plain-Python books over every day (the spec), seconds."""
    from agents.llm import RecordedDecisions
    from episodes.account import RECORDED_ACCOUNT
    from simulator.kernels.reference import RefBook, ref_execute_day, ref_nav

    t0 = time.perf_counter()
    tk = [str(x) for x in panel.tickers]
    book = RefBook(cash=float(panel.cash_before[0]))
    dec = RecordedDecisions(panel)
    for t in range(panel.n_days):
        o, keys = dec.orders(t), panel.order(t)
        lo, hi = panel.repl_ptr[t], panel.repl_ptr[t + 1]
        pairs = zip(panel.repl_new_k[lo:hi], panel.repl_victim_k[lo:hi], strict=True)
        ref_execute_day(
            book,
            [(tk[k], int(a), int(q)) for k, a, q in zip(o.k, o.action, o.qty, strict=True)],
            {tk[k]: float(panel.open[t, k]) for k in keys},
            {tk[k]: float(s) for k, s in enumerate(panel.strength[t])},
            victims={tk[n]: tk[v] for n, v in pairs},
            **RECORDED_ACCOUNT.kwargs(),
        )
        ref_nav(book, {tk[k]: float(panel.close[t, k]) for k in keys})
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path, default=None, help="episode store (default: ingest)")
    add_common_args(
        ap,
        seed_help="unused: the replay is deterministic",
        check_help="fail unless every day reconciles",
    )
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = a.store
        if store is None:
            from episodes.store import ingest

            store = Path(tmp) / "store"
            ingest(TAR, store)
        out = (Path(tmp) / f"run{i}" for i in itertools.count())
        # the first run also verifies that every day reconciles (exits otherwise)
        first = first_call(lambda: replay_once(store, next(out)))[0]
        if a.check:
            print("check ok: every day reconciles")
        runs = repeat_runs(lambda: replay_once(store, next(out)), a.repeat, a.warmup)
        from episodes.store import load_panel

        panel = load_panel(store)
        ref = median([reference_once(panel) for _ in range(max(1, a.repeat // 2))])
    title = (
        f"bench_replay {panel.n_days} days; ratio = reference (plain-Python books, "
        f"{ref:.3f} s) / case median"
    )
    names = {
        "total": "llm replay: load+kernels+reconcile+export",
        "load": "  load_panel",
        "replay": "  kernels+reconcile",
        "export": "  exports",
    }
    rows = []
    for stage, name in names.items():
        x = [r[stage] for r in runs]
        fc = f"{first:.3f}" if stage == "total" else "-"
        rows.append((name, x, ref / median(x), fc))
    report(table(title, rows, extra=("first_call_s",)), a.no_append)


if __name__ == "__main__":
    main()
