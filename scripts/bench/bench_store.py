"""Benchmark the episode store on the real recording: ingest (directory and .tar.xz), load_panel,
JSON parsing (stdlib vs orjson), store size. Prints one row per case and appends them to
scripts/bench/RESULTS.md. Targets: ingest <= 8 s on 2 cores, load_panel <= 0.5 s, store <= 15 MB.

    .venv/bin/python scripts/bench/bench_store.py --repeat 3 --warmup 1 --seed 42 --check
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from _common import TAR, add_common_args, median, report, table, time_runs

from episodes.reader import read_days, read_episode
from episodes.store import ingest, load_episodes, load_panel, open_store
from episodes.tables import TABLES

BUDGET = {"ingest": 8.0, "load_panel": 0.5, "size_mb": 15.0}


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


def _budget(case: str, times: list[float], key: str, label: str) -> tuple:
    return (case, times, median(times) / BUDGET[key], label)


def _rows(args, src: Path, tmp: Path) -> list[tuple]:
    store = tmp / "store"
    rows = []
    ref_times = time_runs(lambda: read_days(src, workers=2), args.repeat, 0)
    rows.append(("read+parse dir 691d (2 workers)", ref_times, 1.0, "itself"))
    for name, source, workers in (("dir", src, 2), ("dir", src, 1), ("tar.xz", args.tar, 2)):
        times = time_runs(
            lambda s=source, w=workers: _fresh_ingest(s, store, w), args.repeat, args.warmup
        )
        case = f"ingest {name} 691d ({workers} worker{'s' * (workers > 1)})"
        rows.append(_budget(case, times, "ingest", "budget 8s"))
    cpu = time_runs(lambda: _fresh_ingest(src, store, 1), args.repeat, 0, clock=_cpu)
    rows.append(_budget("ingest dir 691d CPU seconds (1 worker)", cpu, "ingest", "budget 8s"))
    if args.check:
        print(_check(src, store))
    tables = lambda: [pq.read_table(store / f"{t}.parquet") for t in TABLES]  # noqa: E731
    times = time_runs(tables, args.repeat, args.warmup)
    rows.append(_budget("read tables 691d", times, "load_panel", "budget 0.5s"))
    times = time_runs(lambda: load_panel(store), args.repeat, args.warmup)
    rows.append(_budget("load_panel 691d", times, "load_panel", "budget 0.5s"))
    cpu = time_runs(lambda: load_panel(store), args.repeat, 0, clock=_cpu)
    rows.append(_budget("load_panel 691d CPU seconds", cpu, "load_panel", "budget 0.5s"))
    stdlib, fast = _parse_cases(src, 50)
    ref_times = time_runs(stdlib, args.repeat, args.warmup)
    rows.append(("parse 50 files stdlib json", ref_times, 1.0, "itself"))
    times = time_runs(fast, args.repeat, args.warmup)
    ratio = median(times) / median(ref_times)
    rows.append(("parse 50 files orjson+NaN rewrite", times, ratio, "stdlib json"))
    size_mb = open_store(store).size_bytes() / 1e6
    ratio = size_mb / BUDGET["size_mb"]
    rows.append((f"store size {size_mb:.2f} MB", [float("nan")], ratio, "budget 15 MB"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(
        ap,
        repeat=3,
        warmup=1,
        seed_help="unused: the input is the recording",
        check_help="verify the store before timing loads",
    )
    ap.add_argument(
        "--src", type=Path, help="unpacked episodes (default: unpack --tar to a temp dir)"
    )
    ap.add_argument("--tar", type=Path, default=TAR)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = args.src
        if src is None:
            with tarfile.open(args.tar, "r:xz") as tar:
                tar.extractall(tmp, filter="data")
            src = tmp / "episodes"
        rows = _rows(args, src, tmp)
    title = (f"`bench_store.py` repeat={args.repeat}, warmup={args.warmup}; "
             "ratio = case median / what `ratio to` names")  # fmt: skip
    report(table(title, rows, extra=("ratio to",)), args.no_append)


if __name__ == "__main__":
    main()
