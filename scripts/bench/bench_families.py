"""Benchmark every model family's pretraining at 1 and 2 torch threads, against its FLOP floor.

Rows: case, median_s, min_s, ratio, note, cores, torch threads. Appended to RESULTS.md unless
--no-append.

  <family>_t<n>          pretrain wall per window (whole local pretrain / windows), n threads;
                         ratio: t2 against t1 of the same family (same process)
  <family>_floor_t<n>    every neural case: the training FLOP floor per window = (sample-passes
                         actually run x FLOPs per forward+backward (3x forward) + validation
                         forward passes x forward FLOPs; SSL, fine-tune, embedding and attention
                         passes per family: scripts/bench/_train_floor.py) / the best torch.mm
                         rate measured here on the training GEMM [batch, H] x [H, 4H]; ratio:
                         wall / floor
  <family>_infer_t<n>    neural families: one day's whole predict (WalkForwardModelManager), ratio:
                         median / its FLOP floor (scripts/bench/_infer.py states each family's);
                         <family>_lstm_t<n>: the bare LSTM op on that day's input; embed-gbm's
                         <family>_encoder_t<n>: its encoder's embeddings alone
  <family>_kernel_t<n>   lstm, lstm-portfolio: torch's own nn.LSTM forward+backward on one training
                         batch [batch, L, F+1], nothing else (no data, optimiser, validation);
                         ratio: its time / the batch's FLOP floor = the bound torch's LSTM sets
                         on the floor rows' ratio (a pretrain cannot get closer than this)

Families: a name of models.config.FAMILIES, or lstm+masked / lstm+contrastive (lstm with
model.ssl.method set; their predictor is lstm's). --infer-only: one untimed pretrain per family,
then only the infer rows (--repeat x 20 predicts per row).

Sample-passes come from each window's metadata.json (epochs, n_train, n_val; the epoch budget
and validation cap of the config), not from the plan. Without --store a synthetic store is made
(--days, --tickers). Usage:
  python scripts/bench/bench_families.py [--store S] [--families lstm,ridge,gbm] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, add_common_args, median, report, table, time_runs

sys.path.insert(0, str(ROOT))

from _infer import infer_rows  # noqa: E402
from bench_pretrain import _gemm_rate, _lstm_flops  # noqa: E402

# families with a FLOP floor (a TickerLSTM / PortfolioNet forward); case "lstm+<ssl method>"
NEURAL = ("lstm", "lstm-universe", "lstm-portfolio", "embed-gbm")
KERNEL_ROWS = ("lstm", "lstm-portfolio")  # the other cases' LSTM is lstm's shape


def _synth_store(days: int, tickers: int, seed: int) -> Path:
    from episodes.config import SynthConfig
    from episodes.store import ingest
    from episodes.synth import write_episodes

    root = Path(tempfile.mkdtemp(prefix="bench_families_"))
    write_episodes(root / "eps", SynthConfig(days=days, tickers=tickers), seed)
    ingest(root / "eps", root / "store")
    return root / "store"


def _pretrain(store: Path, cfg) -> tuple[float, Path, list[dict]]:
    """Wall seconds of one fresh local pretrain, its directory and its windows' metadata."""
    from models.pretrain import pretrain

    out = Path(tempfile.mkdtemp(prefix="bench_fam_models_"))
    t0 = time.perf_counter()
    res = pretrain(store, out, cfg)
    wall = time.perf_counter() - t0
    metas = [json.loads((out / e.id / "metadata.json").read_text()) for e in res.entries]
    return wall, out, metas


def _floor_s(metas: list[dict], cfg, rate: float) -> tuple[float, str]:
    """The lstm family's floor per window (``_train_floor.floor_s``, the config's model shape)."""
    from _train_floor import Shape, floor_s

    shape = Shape(len(metas[0]["features"]) + 1, cfg.model.hidden, cfg.model.layers)
    return floor_s("lstm", metas, cfg, shape, rate, [0] * len(metas))


def _floor_row(case: str, out: Path, metas: list[dict], data, cfg) -> tuple:
    """The training floor (name, [seconds], note) of a neural case per window (``_train_floor``),
    the GEMM rate, training batch and network Shape it used; a None row for a case without a
    network (embed-gbm, embeddings off)."""
    import numpy as np
    from _train_floor import floor_s, shape_of

    from models.manager import WalkForwardModelManager
    from models.pretrain import plan_windows
    from models.ssl import ssl_samples

    mgr = WalkForwardModelManager(out)
    shape = shape_of(mgr.model_for(mgr.registry.entries[0].serve[0]))
    if shape is None:
        return None, 0.0, 0, None
    n_ssl = [0] * len(metas)
    if cfg.model.ssl.method != "none":
        windows = {w.id: w for w, _ in plan_windows(data, cfg)}
        n_ssl = [len(ssl_samples(data.fs, windows[m["window"]], cfg.features.seq_len)[0])
                 for m in metas]  # fmt: skip
    batch = cfg.train.batch_size
    if shape.attention:  # lstm-portfolio: the LSTM's batch is a block of days' points
        per_day = np.count_nonzero(data.fs.sample) / max(1, data.fs.sample.shape[0])
        batch = max(1, round(cfg.model.portfolio.batch_days * per_day))
    rate = _gemm_rate(batch, shape.hidden, 200)
    floor, note = floor_s(case, metas, cfg, shape, rate, n_ssl)
    mm = f" (best torch.mm {batch}x{shape.hidden}x{4 * shape.hidden})"
    return (f"{case}_floor", [floor], note + mm), rate, batch, shape


def _kernel_row(b: int, cfg, shape, rate: float) -> tuple[list[float], float, str]:
    """Bare nn.LSTM (``shape``: n_in, hidden, layers; the case's dropout between layers)
    forward+backward on one training batch of ``b`` sequences: times, ratio to its FLOP floor
    (the LSTM's alone)."""
    import torch

    n_in, hidden, layers, steps = shape.n_in, shape.hidden, shape.layers, cfg.features.seq_len
    drop = cfg.model.portfolio.dropout if shape.attention else cfg.model.dropout
    lstm = torch.nn.LSTM(n_in, hidden, layers, batch_first=True,
                         dropout=drop if layers > 1 else 0.0)  # fmt: skip
    x = torch.randn(b, steps, n_in)

    def step() -> None:
        out, _ = lstm(x)
        out[:, -1].sum().backward()

    times = time_runs(step, 20, 3)
    floor = 3.0 * _lstm_flops(b, steps, n_in, hidden, layers) / rate
    note = (f"nn.LSTM({n_in}, {hidden}, {layers}) fwd+bwd, batch {b}: floor {floor * 1e3:.1f} ms "
            f"at {rate / 1e9:.1f} GFLOP/s")  # fmt: skip
    return times, median(times) / floor, note


def _case_config(base, case: str, threads: int):
    """The config of a case: ``family`` or ``lstm+<ssl method>``, at ``threads`` torch threads."""
    family, _, ssl = case.partition("+")
    model = dataclasses.replace(base.model, family=family)
    if ssl:
        model = dataclasses.replace(model, ssl=dataclasses.replace(model.ssl, method=ssl))
    train = dataclasses.replace(base.train, torch_threads=threads)
    return dataclasses.replace(base, train=train, model=model)


def _infer_only(store: Path, base, case: str, args) -> list[tuple]:
    """One untimed pretrain of the case, then its infer rows at every thread count."""
    import torch

    from models.pretrain import prepare

    if case.partition("+")[0] not in NEURAL:
        return []
    torch.set_num_threads(args.threads[0])
    cfg = _case_config(base, case, args.threads[0])
    _, out, _ = _pretrain(store, cfg.pretrain_config())
    data = prepare(store, cfg.pretrain_config())
    return [r for th in args.threads for r in infer_rows(case, out, data, args, th)]


def _family_rows(store: Path, base, family: str, args) -> list[tuple]:
    import torch

    from models.pretrain import prepare

    if args.infer_only:
        return _infer_only(store, base, family, args)
    rows, ref = [], None
    for threads in args.threads:
        torch.set_num_threads(threads)
        cfg = _case_config(base, family, threads)
        runs = [_pretrain(store, cfg.pretrain_config()) for _ in range(args.repeat)]
        n = len(runs[0][2])
        per = [wall / n for wall, _, _ in runs]
        ratio = median(per) / ref if ref else 1.0
        ref = ref or median(per)
        rows.append(((f"{family}_t{threads}", per, ratio, f"{n} windows"), threads))
        if family.partition("+")[0] not in NEURAL:
            continue
        data = prepare(store, cfg.pretrain_config())
        rows += infer_rows(family, runs[0][1], data, args, threads)
        pcfg = cfg.pretrain_config()
        row, rate, batch, shape = _floor_row(family, runs[0][1], runs[0][2], data, pcfg)
        if row is not None:
            name, floor, note = row
            rows.append(((f"{name}_t{threads}", floor, median(per) / floor[0], note), threads))
        if family not in KERNEL_ROWS:
            continue
        k_times, k_ratio, k_note = _kernel_row(batch, pcfg, shape, rate)
        rows.append(((f"{family}_kernel_t{threads}", k_times, k_ratio, k_note), threads))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--store", help="episode store (default: a synthetic one, --days x --tickers)")
    ap.add_argument("--days", type=int, default=313, help="synthetic days (313: 3 windows)")
    ap.add_argument("--tickers", type=int, default=60)
    ap.add_argument("--config", help="YAML config (default: configs/default.yaml)")
    ap.add_argument("--families", help="comma-separated (default: every family; lstm+masked ...)")
    ap.add_argument("--threads", default="1,2", help="torch thread counts to time")
    ap.add_argument("--infer-only", action="store_true", help="only the infer rows (see above)")
    add_common_args(ap, repeat=3, warmup=0, check_help="verify inference against saved preds")
    args = ap.parse_args()
    args.threads = [int(x) for x in args.threads.split(",")]

    from models.config import FAMILIES
    from simulator.config import load_config
    from simulator.core.logs import configure_logging

    configure_logging("warning")
    cfg = load_config(Path(args.config) if args.config else None, {"seed": args.seed})
    store = Path(args.store) if args.store else _synth_store(args.days, args.tickers, args.seed)
    families = args.families.split(",") if args.families else list(FAMILIES)
    load = os.getloadavg()[0]
    rows = [r for fam in families for r in _family_rows(store, cfg, fam, args)]
    title = (
        f"### bench_families (load avg {load:.1f} at start, store {store}, config "
        f"{args.config or 'default'}, seed {args.seed}, repeat={args.repeat}); ratio: t<n> vs "
        "t1 of the family; floor rows: wall / floor; infer rows: predict / its FLOP floor"
    )
    text = table(title, [r for r, _ in rows], extra=("note",), threads=[t for _, t in rows])
    report(text, args.no_append)


if __name__ == "__main__":
    main()
