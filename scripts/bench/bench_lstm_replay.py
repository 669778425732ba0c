"""Benchmark the LSTM replay of the serving days: features + model inference + the event loop.

Goal: <= 3 s for the 441 serving episodes of the real store with pretrained models, inference
included. Stages: ``features`` (build_features), ``inference`` (the manager's per-day batches,
model loads included), ``loop`` (sync, decisions, fills, marks). The reference row is the flat
strategy on the same days (the loop alone, no model): ratio = case median / reference median.

    .venv/bin/python scripts/bench/bench_lstm_replay.py --store STORE --models DIR \\
        --config CFG --repeat 5 --warmup 2 --seed 42 --check

``--models`` must have been pretrained with ``--config`` (``wfsim pretrain``). Without
``--models`` tiny models (hidden 8, one layer, one epoch) are pretrained into a temp dir first
(untimed), and the rows say so. Without ``--store`` the real episodes are ingested first.
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
TINY = """\
model: {hidden: 8, layers: 1, embed_dim: 4, dropout: 0.0}
train: {max_epochs: 1, warm_epochs: 1, max_samples_per_epoch: 512, max_val_samples: 256}
"""


class Timed:
    """Wraps the predictor; accumulates the seconds spent in inference."""

    def __init__(self, inner) -> None:
        self.inner, self.seconds = inner, 0.0

    def __call__(self, t: int):
        t0 = time.perf_counter()
        out = self.inner(t)
        self.seconds += time.perf_counter() - t0
        return out

    def window_of(self, t: int) -> str:
        return self.inner.window_of(t)


def lstm_once(panel, models: Path, cfg) -> tuple[dict[str, float], object]:
    """One LSTM replay from a loaded panel (fresh predictor: features, models, loop)."""
    from simulator.loop import run_replay
    from simulator.strategies import ModelPredictor, make_strategy

    t0 = time.perf_counter()
    pred = ModelPredictor(panel, models, cfg)
    t1 = time.perf_counter()
    timed = Timed(pred)
    res = run_replay(panel, make_strategy("lstm", cfg), cfg, predictor=timed)
    t2 = time.perf_counter()
    stages = {"total": t2 - t0, "features": t1 - t0, "inference": timed.seconds,
              "loop": t2 - t1 - timed.seconds}  # fmt: skip
    return stages, res


def flat_once(panel, cfg) -> float:
    from simulator.loop import run_replay
    from simulator.strategies import make_strategy

    t0 = time.perf_counter()
    run_replay(panel, make_strategy("flat", cfg), cfg)
    return time.perf_counter() - t0


def check(panel, models: Path, cfg) -> None:
    """Two runs agree field by field; 441 serving days; at most 30 positions; finite NAV."""
    _, a = lstm_once(panel, models, cfg)
    _, b = lstm_once(panel, models, cfg)
    for name in a.fills.dtype.names:
        if not np.array_equal(a.fills[name], b.fills[name]):
            sys.exit(f"check failed: fills.{name} differs between reruns")
    if not np.array_equal(a.marks.nav, b.marks.nav) or not np.isfinite(a.marks.nav).all():
        sys.exit("check failed: NAV differs between reruns or is not finite")
    if (a.n_long + a.n_short).max() > 30 or a.skipped:
        sys.exit(f"check failed: cap or skipped days ({a.skipped})")
    print(f"check ok: {len(a.days)} days from {a.dates[0]}, {int(a.n_pred.sum())} predictions, "
          f"final NAV {a.marks.nav[-1]:.2f}")  # fmt: skip


def _setup(a, tmp: Path):
    from episodes.store import ingest, load_panel
    from simulator.cli import main as cli
    from simulator.config import load_config

    store = a.store
    if store is None:
        store = tmp / "store"
        ingest(TAR, store)
    cfg_path, models, tag = a.config, a.models, "pretrained"
    if models is None:
        cfg_path = tmp / "tiny.yaml"
        cfg_path.write_text(TINY)
        models, tag = tmp / "models", "tiny models pretrained here"
        args = ["--log-level", "warning", "pretrain", "--store", str(store), "--models",
                str(models), "--config", str(cfg_path)]  # fmt: skip
        cli.main(args, standalone_mode=False)
    return load_panel(store), models, load_config(cfg_path), tag


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path, default=None, help="episode store (default: ingest)")
    ap.add_argument("--models", type=Path, default=None, help="registry (default: tiny, here)")
    ap.add_argument("--config", type=Path, default=None, help="config the models were trained with")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42, help="unused: the replay is deterministic")
    ap.add_argument("--check", action="store_true", help="verify reruns agree before timing")
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    a = ap.parse_args()
    from simulator.logs import configure_logging

    configure_logging("warning")
    with tempfile.TemporaryDirectory() as tmp:
        panel, models, cfg, tag = _setup(a, Path(tmp))
        t0 = time.perf_counter()
        lstm_once(panel, models, cfg)
        first = time.perf_counter() - t0
        if a.check:
            check(panel, models, cfg)
        for _ in range(a.warmup):
            lstm_once(panel, models, cfg)
        runs = [lstm_once(panel, models, cfg)[0] for _ in range(a.repeat)]
        ref = [flat_once(panel, cfg) for _ in range(a.repeat)]
    import torch

    _report(a, runs, ref, first, tag, cfg, torch.get_num_threads())


def _report(a, runs, ref, first, tag, cfg, threads) -> None:
    ref_med = float(np.median(ref))
    m = cfg.model
    cols = ("case", "median_s", "min_s", "ratio", "first_call_s", "cores", "torch threads")
    lines = [f"bench_lstm_replay 441 serving days, {tag} (hidden {m.hidden}, layers {m.layers}); "
             f"ratio = case median / reference (flat replay, loop only, {ref_med:.3f} s)",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]  # fmt: skip
    for stage in ("total", "features", "inference", "loop"):
        xs = [r[stage] for r in runs]
        med = float(np.median(xs))
        fc = f"{first:.3f}" if stage == "total" else "-"
        lines.append(f"| lstm replay {stage} | {med:.3f} | {min(xs):.3f} | {med / ref_med:.2f} "
                     f"| {fc} | {os.cpu_count()} | {threads} |")  # fmt: skip
    lines.append(f"| flat replay (reference) | {ref_med:.3f} | {min(ref):.3f} | 1.00 | - "
                 f"| {os.cpu_count()} | {threads} |")  # fmt: skip
    text = "\n".join(lines)
    print(text)
    if not a.no_append:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(f"\n`bench_lstm_replay.py` {stamp}, repeat={a.repeat}, seed={a.seed}\n\n"
                     f"{text}\n(python {platform.python_version()})\n")  # fmt: skip


if __name__ == "__main__":
    main()
