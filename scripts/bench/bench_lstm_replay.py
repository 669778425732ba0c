"""Benchmark the LSTM replay of the serving days: features + model inference + the event loop.

Goal: <= 3 s for the 441 serving episodes of the real store with pretrained models, inference
included. Both prediction sources are timed (``replay.predictions``): ``saved`` serves each
window's pretrain predictions.parquet (one batched forward per window, done at pretrain), ``live``
runs the manager's per-day batches. Stages: ``features`` (ModelPredictor setup: build_features,
registry), ``inference`` (predictions of the days: saved = file reads and checks, live = forward
passes and model loads), ``loop`` (sync, decisions, fills, marks). The reference row is the flat
strategy on the same days (the loop alone, no model): ratio = case median / reference median.

    .venv/bin/python scripts/bench/bench_lstm_replay.py --store STORE --models DIR \\
        --config CFG --repeat 5 --warmup 2 --seed 42 --check

``--models`` must have been pretrained with ``--config`` (``wfsim pretrain``). Without
``--models`` tiny models (hidden 8, one layer, one epoch) are pretrained into a temp dir first
(untimed), and the rows say so. Without ``--store`` the real episodes are ingested
first. ``--check``: reruns of each mode are identical, and the days on which saved and live
decisions differ are counted (float rounding of the differently shaped batches).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import ROOT, TAR, add_common_args, first_call, median, repeat_runs, report, table

sys.path.insert(0, str(ROOT))
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


MODES = ("saved", "live")


def with_mode(cfg, mode: str):
    return dataclasses.replace(cfg, replay=dataclasses.replace(cfg.replay, predictions=mode))


def lstm_once(panel, models: Path, cfg, mode: str) -> tuple[dict[str, float], object]:
    """One LSTM replay from a loaded panel (fresh predictor: features, models, loop)."""
    from simulator.loop import run_replay
    from simulator.strategies import make_strategy, model_predictor

    cfg = with_mode(cfg, mode)
    t0 = time.perf_counter()
    pred = model_predictor(panel, models, cfg)
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


def check(panel, models: Path, cfg) -> str:
    """Per mode: two runs agree field by field; 441 serving days; at most 30 positions; finite
    NAV. Then saved vs live: days whose decided orders differ, and the NAV gap."""
    runs = {}
    for mode in MODES:
        a, b = (lstm_once(panel, models, cfg, mode)[1] for _ in range(2))
        for name in a.fills.dtype.names:
            if not np.array_equal(a.fills[name], b.fills[name]):
                sys.exit(f"check failed: {mode} fills.{name} differs between reruns")
        if not np.array_equal(a.marks.nav, b.marks.nav) or not np.isfinite(a.marks.nav).all():
            sys.exit(f"check failed: {mode} NAV differs between reruns or is not finite")
        if (a.n_long + a.n_short).max() > 30 or a.skipped:
            sys.exit(f"check failed: {mode} cap or skipped days ({a.skipped})")
        runs[mode] = a
    s, v = runs["saved"], runs["live"]
    days = [
        d
        for d in s.days.tolist()
        if s.orders[s.orders["day"] == d].tobytes() != v.orders[v.orders["day"] == d].tobytes()
    ]
    first = str(s.dates[s.days.tolist().index(days[0])]) if days else "-"
    gap = float(np.abs(s.marks.nav - v.marks.nav).max())
    msg = (f"check ok: {len(s.days)} days from {s.dates[0]}, {int(s.n_pred.sum())} predictions, "
           f"final NAV saved {s.marks.nav[-1]:.2f} live {v.marks.nav[-1]:.2f}; saved vs live: "
           f"{len(days)} days with different orders (first {first}), orders {len(s.orders)} vs "
           f"{len(v.orders)}, max NAV gap {gap:.2f}")  # fmt: skip
    print(msg)
    return msg


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
    add_common_args(
        ap,
        seed_help="unused: the replay is deterministic",
        check_help="verify reruns agree before timing",
    )
    a = ap.parse_args()
    from simulator.core.logs import configure_logging

    configure_logging("warning")
    with tempfile.TemporaryDirectory() as tmp:
        panel, models, cfg, tag = _setup(a, Path(tmp))
        first = {m: first_call(lambda m=m: lstm_once(panel, models, cfg, m))[0] for m in MODES}
        note = check(panel, models, cfg) if a.check else ""
        runs = {
            m: repeat_runs(lambda m=m: lstm_once(panel, models, cfg, m)[0], a.repeat, a.warmup)
            for m in MODES
        }
        ref = [flat_once(panel, cfg) for _ in range(a.repeat)]
    import torch

    _report(a, runs, ref, first, tag, cfg, torch.get_num_threads(), note)


def _report(a, runs, ref, first, tag, cfg, threads, note) -> None:
    ref_med = median(ref)
    m = cfg.model
    title = (
        f"bench_lstm_replay 441 serving days, {tag} (hidden {m.hidden}, layers {m.layers}), "
        f"repeat={a.repeat}, warmup={a.warmup}; "
        f"ratio = case median / reference (flat replay, loop only, {ref_med:.3f} s)"
    )
    rows = []
    for mode in MODES:
        for stage in ("total", "features", "inference", "loop"):
            xs = [r[stage] for r in runs[mode]]
            fc = f"{first[mode]:.3f}" if stage == "total" else "-"
            rows.append((f"lstm replay {mode} {stage}", xs, median(xs) / ref_med, fc))
    rows.append(("flat replay (reference)", ref, 1.0, "-"))
    text = table(title, rows, extra=("first_call_s",), threads=threads)
    report("\n".join([text, note] if note else [text]), a.no_append)


if __name__ == "__main__":
    main()
