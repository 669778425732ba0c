"""Benchmark the full LLM baseline replay: load_panel + kernels + reconciliation + exports.

Goal: <= 2 s per replay once the numba cache is warm. The reference row is the plain-Python
spec (simulator.kernels.reference) executing the same days, books only (no load, no export).

    .venv/bin/python scripts/bench/bench_replay.py --store STORE --repeat 5 --warmup 2 --check

Without --store the real episodes in ../shared are ingested into a temp store first (untimed).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
TAR = ROOT.parent / "shared" / "data" / "mas-hedge-fund" / "episodes-2022-2024.tar.xz"


def replay_once(store: Path, out: Path) -> dict[str, float]:
    """One full replay; returns the seconds of each stage."""
    from episodes.store import load_panel
    from simulator.export import RunOutput, export_run
    from simulator.reconcile import replay_recorded

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
        )
        ref_nav(book, {tk[k]: float(panel.close[t, k]) for k in keys})
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path, default=None, help="episode store (default: ingest)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42, help="unused: the replay is deterministic")
    ap.add_argument("--check", action="store_true", help="fail unless every day reconciles")
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = a.store
        if store is None:
            from episodes.store import ingest

            store = Path(tmp) / "store"
            ingest(TAR, store)
        t0 = time.perf_counter()
        replay_once(store, Path(tmp) / "first")  # also verifies 691/691 (exits otherwise)
        first = time.perf_counter() - t0
        if a.check:
            print("check ok: every day reconciles")
        for i in range(a.warmup):
            replay_once(store, Path(tmp) / f"w{i}")
        runs = [replay_once(store, Path(tmp) / f"r{i}") for i in range(a.repeat)]
        from episodes.store import load_panel

        panel = load_panel(store)
        ref = float(np.median([reference_once(panel) for _ in range(max(1, a.repeat // 2))]))
    cols = ("case", "median_s", "min_s", "ratio", "first_call_s", "cores", "torch threads")
    lines = [f"bench_replay {panel.n_days} days; ratio = reference (plain-Python books, "
             f"{ref:.3f} s) / case median",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]  # fmt: skip
    for stage in ("total", "load", "replay", "export"):
        x = [r[stage] for r in runs]
        med = float(np.median(x))
        fc = f"{first:.3f}" if stage == "total" else "-"
        name = {"total": "llm replay: load+kernels+reconcile+export", "load": "  load_panel",
                "replay": "  kernels+reconcile", "export": "  exports"}[stage]  # fmt: skip
        lines.append(f"| {name} | {med:.4f} | {min(x):.4f} | {ref / med:.2f} | {fc} | "
                     f"{os.cpu_count()} | n/a (no torch) |")  # fmt: skip
    text = "\n".join(lines)
    print(text)
    if not a.no_append:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            env = f"python {platform.python_version()}, load avg {os.getloadavg()[0]:.1f}"
            fh.write(f"\n{text}\n({env})\n")


if __name__ == "__main__":
    main()
