"""OOS IC and seconds per window of lstm, lstm + SSL (masked, contrastive), gbm and embed-gbm.

One synthetic store (``episodes.synth``, planted pre-open signal ``--signal-ic``), features built
once, every variant pretrained on the same walk-forward days with the same seed; prints one table
(pooled IC, its t, rank IC, seconds per window) and appends it to RESULTS.md. A study of fit,
not a timing benchmark: each variant runs once (``--repeat`` is not used).

    python scripts/bench/bench_ssl_families.py --days 250 --tickers 60 --signal-ic 0.2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, add_common_args, report

sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from episodes.store import ingest  # noqa: E402
from episodes.synth import write_episodes  # noqa: E402
from models.evaluate import report_frame  # noqa: E402
from models.pretrain import prepare, pretrain  # noqa: E402
from simulator.config import load_config  # noqa: E402

BASE = {  # the e2e pretrain test's model (tests/e2e/test_pretrain_cli.py), small windows
    "windows.initial": 130, "windows.step": 30, "model.hidden": 32, "model.layers": 1,
    "model.embed_dim": 4, "train.max_epochs": 6, "train.warm_epochs": 2,
    "train.batch_size": 128, "train.lr": 0.003, "model.gbm.num_threads": 1,
    "model.embed_gbm.embedding_size": 32, "model.ssl.epochs": 3,
}  # fmt: skip
CASES = {
    "lstm": {},
    "lstm+masked": {"model.ssl.method": "masked"},
    "lstm+contrastive": {"model.ssl.method": "contrastive"},
    "gbm": {"model.family": "gbm"},
    "embed-gbm": {"model.family": "embed-gbm"},
    "embed-gbm+masked": {"model.family": "embed-gbm", "model.ssl.method": "masked"},
}


def main() -> None:
    ap = add_common_args(argparse.ArgumentParser(description=__doc__), repeat=1, warmup=0)
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--tickers", type=int, default=60)
    ap.add_argument("--signal-ic", type=float, default=0.2)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synth = load_config(overrides={"synth.days": args.days, "synth.tickers": args.tickers,
                                       "synth.signal_ic": args.signal_ic}).synth  # fmt: skip
        write_episodes(root / "eps", synth, 3)
        ingest(root / "eps", root / "st")
        data = prepare(root / "st", load_config(overrides=BASE).pretrain_config())
        rows = []
        for name in args.cases.split(","):
            cfg = load_config(overrides={**BASE, **CASES[name], "seed": args.seed})
            t0 = time.perf_counter()
            res = pretrain(data, root / name, cfg.pretrain_config())
            per_window = (time.perf_counter() - t0) / len(res.trained)
            pooled = report_frame(root / name).set_index("window").loc["pooled"]
            rows.append((name, pooled["ic"], pooled["ic_t"], pooled["rank_ic"], per_window))
    head = f"| case | ic | ic_t | rank_ic | s/window | cores | torch threads |\n|{'---|' * 7}"
    lines = [f"| {n} | {ic:.4f} | {t:.2f} | {r:.4f} | {s:.2f} | {os.cpu_count()} | 1 |"
             for n, ic, t, r, s in rows]  # fmt: skip
    title = (f"bench_ssl_families: synth {args.days} days x {args.tickers} tickers, signal_ic "
             f"{args.signal_ic}, store seed 3, run seed {args.seed}")  # fmt: skip
    report(f"{title}\n\n" + "\n".join([head, *lines]), args.no_append)


if __name__ == "__main__":
    main()
