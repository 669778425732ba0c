"""Ray where work is independent: the pretrains of 2 seeds × (ridge, lstm-tiny), local in sequence
vs ``pretrain_cells(backend="ray")`` on a local Ray with 2 CPUs (fresh registries each run).

Reports wall seconds (median/min) and the speedup; ``--check`` asserts the Ray registries equal
the local ones (registry.json bytes) before timing. On this 2-core machine, shared with other
sessions, the ceiling is 2× less Ray start-up and the driver's planning.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_common_args, report, table  # noqa: E402

TINY = {
    "synth.days": 120,
    "synth.tickers": 30,
    "windows.initial": 60,
    "windows.step": 20,
    "features.seq_len": 10,
    "model.hidden": 16,
    "model.layers": 1,
    "model.embed_dim": 4,
    "train.max_epochs": 3,
    "train.warm_epochs": 1,
    "train.max_samples_per_epoch": 2048,
}


def _cells(root: Path, families: list[str], seeds: int, over: dict | None = None):
    from simulator.config import load_config

    over = {**TINY, **(over or {})}
    return [
        (root / f"{f}-{s}", load_config(overrides={**over, "model.family": f, "seed": s})
         .pretrain_config())
        for f in families for s in range(seeds)
    ]  # fmt: skip


def main() -> None:
    ap = add_common_args(argparse.ArgumentParser(description=__doc__), repeat=3, warmup=0)
    ap.add_argument("--families", default="ridge,lstm")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--work", type=int, default=1, help="x train.max_samples_per_epoch (2,048)")
    ap.add_argument("--days", type=int, default=TINY["synth.days"], help="synthetic days")
    ap.add_argument("--tickers", type=int, default=TINY["synth.tickers"], help="synthetic tickers")
    args = ap.parse_args()
    import ray

    from models.registry import REGISTRY_FILE
    from models.schedule import pretrain_cells
    from simulator import pipeline
    from simulator.config import load_config

    fams = args.families.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="bench_ray"))
    try:
        size = {"synth.days": args.days, "synth.tickers": args.tickers}
        base = load_config(overrides={**TINY, **size, "seed": args.seed})
        pipeline.synth(tmp / "eps", base)
        pipeline.ingest(tmp / "eps", tmp / "store")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        work = {"train.max_samples_per_epoch": TINY["train.max_samples_per_epoch"] * args.work}
        work |= {"synth.days": args.days, "synth.tickers": args.tickers}
        # local: the cells one after another with torch on both cores (the default) or on one;
        # ray: a task per cell, one torch thread each, two at once (the artifacts are the same
        # bytes at 1 and 2 threads: --check compares the registries)
        cases = {"local2": ("local", 2), "local1": ("local", 1), "ray": ("ray", 1)}
        times: dict[str, list[float]] = {c: [] for c in cases}
        for rep in range(args.repeat + args.warmup):
            for case, (backend, threads) in cases.items():
                cells = _cells(tmp / f"{case}{rep}", fams, args.seeds,
                               work | {"train.torch_threads": threads})  # fmt: skip
                t0 = time.perf_counter()
                pretrain_cells(tmp / "store", cells, backend=backend)
                if rep >= args.warmup:
                    times[case].append(time.perf_counter() - t0)
            if args.check and rep == 0:
                for a, b in zip(_cells(tmp / "local20", fams, args.seeds),
                                _cells(tmp / "ray0", fams, args.seeds), strict=True):  # fmt: skip
                    ra, rb = (c[0] / REGISTRY_FILE for c in (a, b))
                    assert ra.read_bytes() == rb.read_bytes()
        ray.shutdown()
        base_t = min(times["local2"])
        n = f"{len(fams)}x{args.seeds} cells"
        rows = [
            (f"local sequential ({n}), 2 torch threads (default)", times["local2"], 1.0),
            (f"local sequential ({n}), 1 torch thread", times["local1"],
             base_t / min(times["local1"])),
            ("ray, 2 CPUs (one task per cell, 1 torch thread)", times["ray"],
             base_t / min(times["ray"])),
        ]  # fmt: skip
        title = (f"bench_ray: {','.join(fams)} x {args.seeds} seeds, synth {args.days} days x "
                 f"{args.tickers} tickers, {work['train.max_samples_per_epoch']} samples/epoch,"
                 f" ratio = speedup vs local with 2 threads (min)")  # fmt: skip
        report(table(title, rows, threads="per case"), args.no_append)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
