"""Benchmark the episode store on the real recording: ingest (directory and .tar.xz), load_panel,
JSON parsing (stdlib vs orjson), store size. Prints one row per case and appends them to
scripts/bench/RESULTS.md. Targets: ingest <= 8 s on 2 cores, load_panel <= 0.5 s, store <= 15 MB.

    .venv/bin/python scripts/bench/bench_store.py --repeat 3 --warmup 1 --seed 42 --check
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from episodes.reader import read_days, read_episode
from episodes.store import ingest, load_episodes, load_panel, open_store
from episodes.tables import TABLES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RESULTS = HERE / "RESULTS.md"
TAR = ROOT.parent / "shared" / "data" / "mas-hedge-fund" / "episodes-2022-2024.tar.xz"
BUDGET = {"ingest": 8.0, "load_panel": 0.5, "size_mb": 15.0}


def _time(fn: Callable[[], object], repeat: int, warmup: int, clock=time.perf_counter) -> list:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return times


def _cpu() -> float:
    """CPU seconds of this process and its finished children (robust to other load)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _fresh_ingest(src: Path, store: Path, workers: int) -> None:
    shutil.rmtree(store, ignore_errors=True)
    ingest(src, store, workers=workers)


def _check(src: Path, store: Path) -> str:
    """The store round-trips every 50th day exactly (reasoning dropped) and has 691 days."""
    st = open_store(store)
    dates = st.dates[::50]
    got = load_episodes(st, dates)
    want = [read_episode(src / f"episode_{d}.json").drop_reasoning() for d in dates]
    if got != want or len(st.dates) != 691:
        raise SystemExit(f"check failed: {len(st.dates)} days, round trip {got == want}")
    return f"check ok: {len(st.dates)} days, {len(dates)} days round-trip exactly"


def _parse_cases(src: Path, n: int) -> tuple[Callable, Callable]:
    raws = [f.read_bytes() for f in sorted(src.glob("episode_*.json"))[:n]]

    def stdlib() -> None:
        for r in raws:
            json.loads(r)

    def fast() -> None:
        for r in raws:
            orjson.loads(r.replace(b'"confidence": NaN', b'"confidence": null'))

    return stdlib, fast


def _rows(args, src: Path, tmp: Path) -> list[tuple]:
    store = tmp / "store"
    rows = []
    ref_times = _time(lambda: read_days(src, workers=2), args.repeat, 0)
    ref = statistics.median(ref_times)
    rows.append(("read+parse dir 691d (2 workers)", ref, min(ref_times), 1.0, "itself"))
    for name, source, workers in (("dir", src, 2), ("dir", src, 1), ("tar.xz", args.tar, 2)):
        times = _time(
            lambda s=source, w=workers: _fresh_ingest(s, store, w), args.repeat, args.warmup
        )
        med = statistics.median(times)
        case = f"ingest {name} 691d ({workers} worker{'s' * (workers > 1)})"
        rows.append((case, med, min(times), med / BUDGET["ingest"], "budget 8s"))
    cpu = _time(lambda: _fresh_ingest(src, store, 1), args.repeat, 0, clock=_cpu)
    rows.append(
        (
            "ingest dir 691d CPU seconds (1 worker)",
            statistics.median(cpu),
            min(cpu),
            statistics.median(cpu) / BUDGET["ingest"],
            "budget 8s",
        )
    )
    if args.check:
        print(_check(src, store))
    tables = lambda: [pq.read_table(store / f"{t}.parquet") for t in TABLES]  # noqa: E731
    ref_times = _time(tables, args.repeat, args.warmup)
    rows.append(
        (
            "read tables 691d",
            statistics.median(ref_times),
            min(ref_times),
            statistics.median(ref_times) / BUDGET["load_panel"],
            "budget 0.5s",
        )
    )
    times = _time(lambda: load_panel(store), args.repeat, args.warmup)
    med = statistics.median(times)
    rows.append(("load_panel 691d", med, min(times), med / BUDGET["load_panel"], "budget 0.5s"))
    cpu = _time(lambda: load_panel(store), args.repeat, 0, clock=_cpu)
    rows.append(
        (
            "load_panel 691d CPU seconds",
            statistics.median(cpu),
            min(cpu),
            statistics.median(cpu) / BUDGET["load_panel"],
            "budget 0.5s",
        )
    )
    stdlib, fast = _parse_cases(src, 50)
    ref_times = _time(stdlib, args.repeat, args.warmup)
    ref = statistics.median(ref_times)
    rows.append(("parse 50 files stdlib json", ref, min(ref_times), 1.0, "itself"))
    times = _time(fast, args.repeat, args.warmup)
    med = statistics.median(times)
    rows.append(("parse 50 files orjson+NaN rewrite", med, min(times), med / ref, "stdlib json"))
    size_mb = open_store(store).size_bytes() / 1e6
    rows.append(
        (
            f"store size {size_mb:.2f} MB",
            float("nan"),
            float("nan"),
            size_mb / BUDGET["size_mb"],
            "budget 15 MB",
        )
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42, help="unused: the input is the recording")
    ap.add_argument(
        "--src", type=Path, help="unpacked episodes (default: unpack --tar to a temp dir)"
    )
    ap.add_argument("--tar", type=Path, default=TAR)
    ap.add_argument("--check", action="store_true", help="verify the store before timing loads")
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = args.src
        if src is None:
            with tarfile.open(args.tar, "r:xz") as tar:
                tar.extractall(tmp, filter="data")
            src = tmp / "episodes"
        rows = _rows(args, src, tmp)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    header = "| case | median_s | min_s | ratio | ratio to | cores | torch threads |"
    lines = [
        f"| {c} | {m:.3f} | {n:.3f} | {r:.3f} | {a} | {cores} | n/a |" for c, m, n, r, a in rows
    ]
    print(header)
    print("\n".join(lines))
    if not args.no_append:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = os.getloadavg()[0]
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(
                f"\n`bench_store.py` {stamp}, repeat={args.repeat}, warmup={args.warmup}, "
                f"load average {load:.1f}\n\n"
            )
            fh.write(header + "\n|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
