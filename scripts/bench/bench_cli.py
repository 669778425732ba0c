"""Benchmark whole `wfsim` processes (issue 13, Performance): wall time and peak RSS.

Goals: `wfsim --help` <= 0.3 s; `wfsim replay --strategy lstm` with saved predictions on the real
691-day store <= 2 s wall and <= 400 MB peak RSS (process start, imports, store load, features,
predictions, loop, exports). Each case is a fresh ``python -m simulator.cli`` child process;
peak RSS is the child's ``ru_maxrss`` (``os.wait4``). The reference row is ``python -c pass``.

    .venv/bin/python scripts/bench/bench_cli.py --store STORE --models DIR --config CFG \\
        --repeat 5 --warmup 1

Without ``--store`` the real episodes are ingested first; without ``--models`` tiny models (hidden
8, one layer, one epoch) are pretrained with ``--config`` or a tiny config (untimed; the replay's
cost does not depend on the model size with saved predictions).
"""

from __future__ import annotations

import argparse
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


def child(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one ``python -m simulator.cli ARGS`` process."""
    import time

    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args}: exit {status}: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def runs(args: list[str], repeat: int, warmup: int) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        child(args)
    got = [child(args) for _ in range(repeat)]
    return [w for w, _ in got], [m for _, m in got]


def prepare(opts, tmp: Path) -> tuple[Path, Path, Path]:
    cli = ["-m", "simulator.cli", "--log-level", "warning"]
    store = opts.store or tmp / "store"
    if opts.store is None:
        child([*cli, "episodes", "ingest", str(TAR), "--store", str(store)])
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
        cli = ["-m", "simulator.cli", "--log-level", "warning"]
        cases = {
            "python -c pass (reference)": ["-c", "pass"],
            "wfsim --help": ["-m", "simulator.cli", "--help"],
            "wfsim replay --strategy lstm (saved)": [
                *cli,
                "replay",
                "--strategy",
                "lstm",
                "--store",
                str(store),
                "--models",
                str(models),
                "--config",
                str(cfg),
                "--out",
                str(tmp / "run"),
            ],  # fmt: skip
        }
        rows = []
        ref = None
        for name, args in cases.items():
            walls, rss = runs(args, opts.repeat, opts.warmup)
            ref = ref or median(walls)
            rows.append((name, walls, median(walls) / ref, f"{median(rss):.0f}"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    title = (f"### bench_cli (load avg {load} at end, repeat={opts.repeat}, "
             f"warmup={opts.warmup}); ratio = case median / python -c pass")  # fmt: skip
    report(table(title, rows, extra=("peak RSS MB",)), opts.no_append)


if __name__ == "__main__":
    main()
