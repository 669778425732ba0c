"""Benchmark pretraining on the real episodes (default config), inference, warm vs cold start.

Rows: case, median_s, min_s, ratio (to the reference case of the group, same process), note,
cores, torch threads. Appended to scripts/bench/RESULTS.md unless --no-append.

  pretrain_full      whole pretraining (all windows, local backend) - wall time
  window_mean/max    seconds per window (from that run)
  infer_day_t1/t2    WalkForwardModelManager.predict for one day's consensus tickers (1, 2 threads)
  infer_lstm_t1/t2   the bare TickerLSTMModel forward of that day (no gather, scaling, tokens)
  infer_floor_t1/t2  the day's LSTM FLOPs / this process's best torch.mm rate for the LSTM's
                     recurrent GEMM shape [n, H] x [H, 4H]: what no implementation of this model
                     beats on this CPU (goal: <= 5 ms a day)
  infer_h<H>_t1/t2   predict with an untrained hidden-<H> model (--alt-hidden, default 64) in the
                     trained bundle's place: what a smaller model would cost (speed only)
  cold_window        cold-start training of every --cold-every'th window (vs the warm run's)

Usage: python scripts/bench/bench_pretrain.py --store STORE [--repeat 5 --warmup 2 --check]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, TAR, add_common_args, median, report, table, time_runs

sys.path.insert(0, str(ROOT))


def _row(case: str, times: list[float], ref: float | None, threads: int, note: str = "") -> tuple:
    """(case, times, ratio to ``ref`` (1 without one), note) and the row's torch threads."""
    return (case, times, median(times) / ref if ref else 1.0, note), threads


def _store(args) -> Path:
    if args.store:
        return Path(args.store)
    from episodes.store import ingest

    path = Path(tempfile.mkdtemp(prefix="bench_store_")) / "store"
    ingest(TAR, path, workers=2)
    return path


def _full(store: Path, cfg, out: Path) -> tuple[float, list[float], object]:
    from models.pretrain import pretrain

    t0 = time.perf_counter()
    res = pretrain(store, out, cfg)
    wall = time.perf_counter() - t0
    per = [
        json.loads((out / e.id / "metadata.json").read_text())["training_time_s"]
        for e in res.entries
    ]
    return wall, per, res


def _lstm_flops(n_seq: int, seq_len: int, n_in: int, hidden: int, layers: int) -> float:
    """Multiply-adds x 2 of an LSTM forward: per step and layer, 4 gates x H x (inputs + H)."""
    per_step = sum(4 * hidden * ((n_in if i == 0 else hidden) + hidden) * 2 for i in range(layers))
    return float(n_seq * seq_len * per_step)


def _gemm_rate(n: int, hidden: int, repeat: int) -> float:
    """Best FLOP/s of torch.mm on the recurrent GEMM's shape [n, H] x [H, 4H] (current threads)."""
    import torch

    a, b = torch.randn(n, hidden), torch.randn(hidden, 4 * hidden)
    out = torch.empty(n, 4 * hidden)
    times = time_runs(lambda: torch.mm(a, b, out=out), repeat, max(10, repeat // 10))
    return 2.0 * n * hidden * 4 * hidden / min(times)


def _infer(models: Path, data, args, threads: int) -> dict[str, tuple]:
    """Rows (times, note) of one day's inference at ``threads``: whole predict, bare LSTM,
    the FLOP floor, and predict with an untrained ``--alt-hidden`` model."""
    import dataclasses

    import numpy as np
    import pandas as pd
    import torch

    from models.features import gather_sequences
    from models.lstm import TickerLSTMModel, token_ids
    from models.manager import WalkForwardModelManager

    torch.set_num_threads(threads)
    mgr = WalkForwardModelManager(models)
    day = mgr.registry.entries[-1].serve[0] + 5
    if args.check:
        k_idx, pred = mgr.predict(day, data.fs)
        saved = pd.read_parquet(models / mgr.window_for(day).id / "predictions.parquet")
        np.testing.assert_allclose(pred, saved[saved["t"] == day]["pred"].to_numpy(), rtol=1e-5)
    k_idx, _ = mgr.predict(day, data.fs)
    n, reps = len(k_idx), args.repeat * 20
    times = time_runs(lambda: mgr.predict(day, data.fs), reps, args.warmup)
    rows = {"day": (times, f"{n} tickers")}

    bundle = mgr.model_for(day)
    names = mgr.registry.info["tickers"]
    t_idx = np.full(n, day, dtype=np.int64)
    x, mask = gather_sequences(data.fs, t_idx, k_idx, bundle.seq_len)
    args_t = (
        torch.from_numpy(bundle.scaler.transform(x)),
        torch.from_numpy(mask),
        torch.from_numpy(token_ids(bundle.vocab, [names[k] for k in k_idx])),
    )
    with torch.inference_mode():
        rows["lstm"] = (time_runs(lambda: bundle.model(*args_t), reps, args.warmup), "forward only")

    m = bundle.model.cfg
    flops = _lstm_flops(n, bundle.seq_len, bundle.model.n_features + 1, m.hidden, m.layers)
    rate = _gemm_rate(n, m.hidden, reps)
    rows["floor"] = (
        [flops / rate],
        f"{flops / 1e6:.0f} MFLOP/day at {rate / 1e9:.1f} GFLOP/s (best torch.mm {n}x{m.hidden}"
        f"x{4 * m.hidden})",
    )

    alt_cfg = dataclasses.replace(m, hidden=args.alt_hidden)
    alt_model = TickerLSTMModel(bundle.model.n_features, len(bundle.vocab), alt_cfg, seed=0).eval()
    alt = dataclasses.replace(bundle, model=alt_model)
    times = time_runs(lambda: alt.predict(data.fs, t_idx, k_idx, names), reps, args.warmup)
    rows[f"h{args.alt_hidden}"] = (times, f"untrained hidden {args.alt_hidden}, {n} tickers")
    return rows


def _cold(data, cfg, warm_reg, every: int) -> tuple[list[float], list[str]]:
    import dataclasses

    from models.pretrain import run_window
    from models.windows import from_config

    cold_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, warm_start=False))
    wins = list(from_config(cfg.windows).split(len(data.dates)))
    times, lines, ics = [], [], []
    for w in wins[::every]:
        e = warm_reg.entry(w.id)
        out = run_window(w, data.fs, data.tickers, data.dates, cold_cfg, e.seed)
        times.append(out.elapsed_s)
        c, m = out.metrics["oos"], e.metrics["oos"]
        ics.append((c["ic"], m["ic"], c["accuracy"], m["accuracy"]))
        lines.append(
            f"{w.id}: cold {out.elapsed_s:.1f}s ic {c['ic']:+.4f} acc {c['accuracy']:.3f}"
            f" | warm ic {m['ic']:+.4f} acc {m['accuracy']:.3f}"
        )
    mean = [statistics.mean(v) for v in zip(*ics, strict=True)]
    lines.append(
        f"mean over {len(ics)} windows: cold ic {mean[0]:+.4f} acc {mean[2]:.3f} | "
        f"warm ic {mean[1]:+.4f} acc {mean[3]:.3f}"
    )
    return times, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--store", help="episode store (default: ingest the shared tar to a temp dir)")
    ap.add_argument("--config", help="YAML config (default: configs/default.yaml)")
    ap.add_argument("--models", help="reuse a finished registry instead of timing a full run")
    add_common_args(ap, check_help="verify outputs before timing")
    ap.add_argument("--cold-every", type=int, default=5, help="cold-train every n-th window")
    ap.add_argument("--alt-hidden", type=int, default=64, help="hidden size of the speed-only row")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-start comparison")
    args = ap.parse_args()

    import torch

    from models.registry import Registry
    from simulator.config import load_config
    from simulator.core.logs import configure_logging

    configure_logging("warning")  # stdout carries only the result table
    torch.set_num_threads(1)
    cfg = load_config(Path(args.config) if args.config else None, {"seed": args.seed})
    store = _store(args)
    load = os.getloadavg()[0]
    rows = []
    if args.models:
        models = Path(args.models)
        reg = Registry.load(models)
        per = [
            json.loads((models / e.id / "metadata.json").read_text())["training_time_s"]
            for e in reg.entries
        ]
        rows.append(_row("window_recorded_sum", [sum(per)], None, cfg.train.torch_threads))
    else:
        models = Path(tempfile.mkdtemp(prefix="bench_models_"))
        wall, per, res = _full(store, cfg, models)
        if args.check:
            assert all(e.status == "done" for e in res.entries), "pretrain left windows undone"
            again = _full(store, cfg, models)[2]
            assert again.trained == (), "rerun trained again"
        reg = Registry.load(models)
        rows.append(
            _row("pretrain_full", [wall], None, cfg.train.torch_threads, f"{len(per)} windows")
        )
    rows.append(_row("window_mean", [statistics.mean(per)], None, cfg.train.torch_threads))
    rows.append(_row("window_max", [max(per)], statistics.mean(per), cfg.train.torch_threads))
    from models.pretrain import prepare

    data = prepare(store, cfg)  # the store's features, once for every case below
    inf = {th: _infer(models, data, args, th) for th in (1, 2)}
    for key in inf[1]:
        t1, note = inf[1][key]
        rows.append(_row(f"infer_{key}_t1", t1, None, 1, note))
        t2, note = inf[2][key]
        rows.append(_row(f"infer_{key}_t2", t2, statistics.median(t1), 2, note))
    torch.set_num_threads(cfg.train.torch_threads)
    lines = []
    if not args.no_cold:
        cold_t, lines = _cold(data, cfg, reg, args.cold_every)
        warm_t = [per[i] for i in range(0, len(per), args.cold_every)]
        rows.append(_row("warm_window_subset", warm_t, None, cfg.train.torch_threads))
        rows.append(
            _row("cold_window_subset", cold_t, statistics.median(warm_t), cfg.train.torch_threads)
        )
    title = (
        f"### bench_pretrain (load avg {load:.1f} at start, config {args.config or 'default'}, "
        f"seed {args.seed}, repeat={args.repeat}, warmup={args.warmup}); "
        "ratio = case median / the group's reference case"
    )
    text = table(title, [r for r, _ in rows], extra=("note",), threads=[t for _, t in rows])
    report("\n".join([text, "", *[f"- {ln}" for ln in lines]]), args.no_append)


if __name__ == "__main__":
    main()
