"""Benchmark `wfsim episodes synth`: market, in-memory episodes, and files on disk.

Prints one row per case (case, median_s, min_s, ratio to the reference, cores, torch threads)
and appends them to scripts/bench/RESULTS.md. Target: 300 days x 100 tickers in <= 10 s.
The reference for the `write` case is the same write through the stdlib json encoder (indent=2),
which is what orjson replaced; the other cases are compared with the 10 s budget.

    .venv/bin/python scripts/bench/bench_synth.py --repeat 5 --warmup 2 --seed 42 --check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

from _common import add_common_args, median, report, table, time_runs

from episodes.config import SynthConfig
from episodes.synth import dumps_episode, generate_episodes, write_episodes
from episodes.synth_market import generate_market
from episodes.validate import validate_episodes

BUDGET_S = 10.0


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
    add_common_args(ap, check_help="validate the output before timing")
    ap.add_argument("--days", type=int, default=300)
    ap.add_argument("--tickers", type=int, default=100)
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
        ref_times = time_runs(lambda: _stdlib_write(tmp / "ref", cfg, args.seed), args.repeat, 0)
        ref = median(ref_times)
        for name, fn, ref_name in cases:
            times = time_runs(fn, args.repeat, args.warmup)
            med = median(times)
            ratio, against = (med / ref, ref_name) if ref_name else (med / BUDGET_S, "budget 10s")
            rows.append((f"synth {name} {size}", times, ratio, against))
        rows.append((f"synth write stdlib-json {size}", ref_times, 1.0, "itself"))
    title = (f"`bench_synth.py` {size}, repeat={args.repeat}, warmup={args.warmup}, "
             f"seed={args.seed}; ratio = case median / what `ratio to` names")  # fmt: skip
    report(table(title, rows, extra=("ratio to",)), args.no_append)


if __name__ == "__main__":
    main()
