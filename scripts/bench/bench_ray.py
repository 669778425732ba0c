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


def _cells(root: Path, families: list[str], seeds: int):
    from simulator.config import load_config

    return [
        (root / f"{f}-{s}", load_config(overrides={**TINY, "model.family": f, "seed": s})
         .pretrain_config())
        for f in families for s in range(seeds)
    ]  # fmt: skip


def main() -> None:
    ap = add_common_args(argparse.ArgumentParser(description=__doc__), repeat=3, warmup=0)
    ap.add_argument("--families", default="ridge,lstm")
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args()
    import ray

    from models.registry import REGISTRY_FILE
    from models.schedule import pretrain_cells
    from simulator import pipeline
    from simulator.config import load_config

    fams = args.families.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="bench_ray"))
    try:
        base = load_config(overrides={**TINY, "seed": args.seed})
        pipeline.synth(tmp / "eps", base)
        pipeline.ingest(tmp / "eps", tmp / "store")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        times: dict[str, list[float]] = {"local": [], "ray": []}
        for rep in range(args.repeat + args.warmup):
            for backend in ("local", "ray"):
                root = tmp / f"{backend}{rep}"
                t0 = time.perf_counter()
                pretrain_cells(tmp / "store", _cells(root, fams, args.seeds), backend=backend)
                if rep >= args.warmup:
                    times[backend].append(time.perf_counter() - t0)
            if args.check and rep == 0:
                for (a, _), (b, _) in zip(
                    _cells(tmp / "local0", fams, args.seeds),
                    _cells(tmp / "ray0", fams, args.seeds),
                    strict=True,
                ):
                    assert (a / REGISTRY_FILE).read_bytes() == (b / REGISTRY_FILE).read_bytes()
        ray.shutdown()
        base_t = min(times["local"])
        rows = [
            (f"local sequential ({len(fams)}x{args.seeds} cells)", times["local"], 1.0),
            ("ray, 2 CPUs (one task per cell)", times["ray"], base_t / min(times["ray"])),
        ]
        title = (f"bench_ray: {','.join(fams)} x {args.seeds} seeds, synth {TINY['synth.days']}"
                 f"x{TINY['synth.tickers']}, ratio = speedup vs local (min)")  # fmt: skip
        report(table(title, rows, threads=1), args.no_append)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
