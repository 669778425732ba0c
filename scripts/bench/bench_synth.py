"""Benchmark `wfsim episodes synth`: market, in-memory episodes, and files on disk.

Prints one row per case (case, median_s, min_s, ratio to the reference, cores, torch threads)
and appends them to scripts/bench/RESULTS.md. Target: 300 days x 100 tickers in <= 10 s.
The reference for the `write` case is the same write through the stdlib json encoder (indent=2),
which is what orjson replaced; the other cases are compared with the 10 s budget.

    .venv/bin/python scripts/bench/bench_synth.py --repeat 5 --warmup 2 --seed 42 --check
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from episodes.config import SynthConfig
from episodes.synth import dumps_episode, generate_episodes, write_episodes
from episodes.synth_market import generate_market
from episodes.validate import validate_episodes

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BUDGET_S = 10.0


def _time(fn: Callable[[], object], repeat: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def _check(cfg: SynthConfig, seed: int, tmp: Path) -> str:
    """Output is valid (episodes.validate), complete and byte-identical on a rerun."""
    a = write_episodes(tmp / "check_a", cfg, seed)
    write_episodes(tmp / "check_b", cfg, seed)
    report = validate_episodes(tmp / "check_a")
    if not report.ok or len(a) != cfg.days:
        raise SystemExit(f"check failed: {report.summary()}, files={len(a)}")
    if _digest(tmp / "check_a") != _digest(tmp / "check_b"):
        raise SystemExit("check failed: same seed gave different files")
    return f"check ok: {report.summary()}, deterministic"


def _stdlib_write(out: Path, cfg: SynthConfig, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for ep in generate_episodes(cfg, seed):
        blob = json.dumps(ep, indent=2, allow_nan=True).encode()
        (out / f"episode_{ep['date']}.json").write_bytes(blob)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--days", type=int, default=300)
    ap.add_argument("--tickers", type=int, default=100)
    ap.add_argument("--check", action="store_true", help="validate the output before timing")
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    cfg = SynthConfig(days=args.days, tickers=args.tickers)
    size = f"{cfg.days}x{cfg.tickers}"
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.check:
            print(_check(cfg, args.seed, tmp))
        cases = [
            ("market", lambda: generate_market(cfg, args.seed), None),
            ("episodes", lambda: list(generate_episodes(cfg, args.seed)), None),
            ("episodes+json", lambda: [dumps_episode(e) for e in generate_episodes(cfg, args.seed)],
             None),
            ("write", lambda: write_episodes(tmp / "w", cfg, args.seed), "write stdlib-json"),
        ]  # fmt: skip
        ref_times = _time(lambda: _stdlib_write(tmp / "ref", cfg, args.seed), args.repeat, 0)
        ref = statistics.median(ref_times)
        for name, fn, ref_name in cases:
            times = _time(fn, args.repeat, args.warmup)
            med = statistics.median(times)
            ratio, against = (med / ref, ref_name) if ref_name else (med / BUDGET_S, "budget 10s")
            rows.append((f"synth {name} {size}", med, min(times), ratio, against))
        rows.append((f"synth write stdlib-json {size}", ref, min(ref_times), 1.0, "itself"))
    cores = os.cpu_count()
    header = "| case | median_s | min_s | ratio | ratio to | cores | torch threads |"
    lines = [
        f"| {c} | {m:.3f} | {n:.3f} | {r:.3f} | {a} | {cores} | n/a |" for c, m, n, r, a in rows
    ]
    print(header)
    print("\n".join(lines))
    if not args.no_append:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        with RESULTS.open("a", encoding="utf-8") as fh:
            if RESULTS.stat().st_size == 0:
                fh.write(
                    "# Benchmark results (appended by scripts/bench/*.py; never hand-edited)\n"
                )
            fh.write(f"\n`bench_synth.py` {stamp}, repeat={args.repeat}, seed={args.seed}\n\n")
            fh.write(header + "\n|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
