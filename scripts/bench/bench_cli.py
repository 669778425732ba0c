"""Benchmark whole `wfsim` processes (issue 13, Performance): wall time and peak RSS.

Goals: `wfsim --help` <= 0.3 s; `wfsim replay --strategy lstm` with saved predictions on the real
691-day store <= 2 s wall and <= 400 MB peak RSS (process start, imports, store load,
predictions, loop, exports). Each case is a fresh ``python -m simulator.cli`` child process;
wall, CPU seconds (user + sys) and peak RSS (``ru_maxrss``) come from ``os.wait4``. The reference
row is ``python -c pass``. Two replay rows: ``stamped`` (the registry's ``verified.json`` vouches
for the store: no features are built, ``models.freshness``) and ``no stamp`` (deleted before each
run: the features are built and hashed once, as on a registry's first replay).

    .venv/bin/python scripts/bench/bench_cli.py --store STORE --models DIR --config CFG \\
        --repeat 5 --warmup 1 --check

Without ``--store`` the real episodes are ingested first, or, where they are absent, a synthetic
store of the same size (691 days x 571 stocks) is written; without ``--models`` tiny models
(hidden 8, one layer, one epoch) are pretrained with ``--config`` or a tiny config (untimed; the
replay's cost does not depend on the model size with saved predictions). The children cache
bytecode (as an installed package does), whatever ``PYTHONDONTWRITEBYTECODE`` says. ``--check``:
the stamped and the unstamped replay write byte-identical trades, equity, summary and positions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, TAR, add_common_args, median, report, table

TINY = """\
model: {hidden: 8, layers: 1, embed_dim: 4, dropout: 0.0}
train: {max_epochs: 1, warm_epochs: 1, max_samples_per_epoch: 512, max_val_samples: 256}
"""


def child(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (MB) of one ``python ARGS`` process."""
    import time

    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # modules' bytecode cached, as after an install
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args}: exit {status}: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def runs(args: list[str], repeat: int, warmup: int, before=None) -> list[tuple[float, ...]]:
    """``(wall, cpu, rss)`` of ``repeat`` runs after ``warmup`` ones; ``before()`` precedes each."""
    got = []
    for i in range(warmup + repeat):
        if before is not None:
            before()
        out = child(args)
        if i >= warmup:
            got.append(out)
    return got


def prepare(opts, tmp: Path) -> tuple[Path, Path, Path]:
    cli = ["-m", "simulator.cli", "--log-level", "warning"]
    store = opts.store or tmp / "store"
    if opts.store is None and TAR.is_file():
        child([*cli, "episodes", "ingest", str(TAR), "--store", str(store)])
    elif opts.store is None:  # no real episodes here: a synthetic store of the same size
        child([*cli, "episodes", "synth", "--days", "691", "--tickers", "571", "--seed", "42",
               "--store", str(store)])  # fmt: skip
    cfg = opts.config
    if cfg is None:
        cfg = tmp / "tiny.yaml"
        cfg.write_text(TINY)
    models = opts.models or tmp / "models"
    if opts.models is None:
        child([*cli, "pretrain", "--store", str(store), "--models", str(models), "--config",
               str(cfg)])  # fmt: skip
    return store, models, cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--config", type=Path, default=None)
    add_common_args(ap)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store, models, cfg = prepare(opts, tmp)
        n_days = json.loads((store / "manifest.json").read_text(encoding="utf-8"))["n_days"]
        cli = ["-m", "simulator.cli", "--log-level", "warning"]
        replay = [*cli, "replay", "--strategy", "lstm", "--store", str(store), "--models",
                  str(models), "--config", str(cfg), "--out"]  # fmt: skip
        stamp = models / "verified.json"
        note = check(replay, tmp, stamp) if opts.check else ""
        cases = {
            "python -c pass (reference)": (["-c", "pass"], None),
            "wfsim --help": (["-m", "simulator.cli", "--help"], None),
            "wfsim replay --strategy lstm (saved, stamped)": ([*replay, str(tmp / "run")], None),
            "wfsim replay --strategy lstm (saved, no stamp)": (
                [*replay, str(tmp / "run")],
                lambda: stamp.unlink(missing_ok=True),
            ),
        }
        rows = []
        ref = None
        for name, (args, before) in cases.items():
            got = runs(args, opts.repeat, opts.warmup, before)
            walls = [w for w, _, _ in got]
            ref = ref or median(walls)
            cpu, rss = median([c for _, c, _ in got]), median([m for _, _, m in got])
            rows.append((name, walls, median(walls) / ref, f"{cpu:.2f}", f"{rss:.0f}"))
        child([*replay, str(tmp / "run")])  # leave the registry stamped, as a replay does
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    title = (f"### bench_cli (store {store.name}, {n_days} days; load avg {load} at end, "
             f"repeat={opts.repeat}, warmup={opts.warmup}); ratio = case median / python -c pass; "
             "cpu_s = median user + sys")  # fmt: skip
    text = table(title, rows, extra=("cpu_s", "peak RSS MB"))
    report("\n".join([text, note] if note else [text]), opts.no_append)


def check(replay: list[str], tmp: Path, stamp: Path) -> str:
    """The replay without a stamp (features built) and with one write identical files."""
    stamp.unlink(missing_ok=True)
    child([*replay, str(tmp / "check-a")])
    if not stamp.is_file():
        raise SystemExit("check failed: the first replay wrote no verified.json")
    child([*replay, str(tmp / "check-b")])
    for name in ("trades.csv", "equity.csv", "summary.json", "positions.csv"):
        a, b = (tmp / d / name for d in ("check-a", "check-b"))
        if a.read_bytes() != b.read_bytes():
            raise SystemExit(f"check failed: {name} differs between unstamped and stamped replays")
    msg = (
        "check ok: unstamped and stamped replays wrote identical trades, equity, summary, positions"
    )
    print(msg)
    return msg


if __name__ == "__main__":
    main()
