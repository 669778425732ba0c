"""Pretraining on CUDA (fp32, bf16 mixed precision) against the CPU: wall time and OOS IC by seed.

Each store x case x seed is one whole walk-forward pretrain (the config's windows, family lstm by
default) from features built once per store, into a fresh registry. Cases (``--cases``):

  cpu         train.device cpu, fp32 (the default config)
  cpu-bf16    train.device cpu, precision bf16 (the same autocast path, on the CPU)
  cuda        train.device cuda, fp32
  cuda-bf16   train.device cuda, precision bf16 (torch.autocast; weights, optimizer, loss fp32)

Rows (one per store x case): case, median_s / min_s of the pretrain over seeds, ratio (to the
group's first case: another machine's rows, from --compare, are marked), the pooled OOS IC mean +-
std over seeds and each seed's, mean daily IC, direction accuracy, and ``t vs ref``: Welch's t of
the per-seed pooled ICs against the group's first case. "Within seed noise" is read as |t| < 2.
Seeds: ``--seed`` (first, default 1) and ``--repeat`` (how many, default 3); ``--warmup`` untimed
runs of each case before them. ``--check`` trains the first seed of each case twice and compares
every window's model.pt and predictions.parquet bytes. ``--json FILE`` writes every run as it
finishes (a killed run keeps what was done); ``--compare FILE`` adds the runs of such a file
(e.g. the CPU rows measured on another machine) to the table. Stores: ``--stores label=DIR,...``
(default: the shared episodes, ingested to a temp directory, as "real").

Usage:
  python scripts/bench/bench_cuda.py --stores real=STORE,synth=SYNTH --cases cuda-bf16,cuda \
      --repeat 3 --check --json cuda.json
  python scripts/bench/bench_cuda.py --stores real=STORE --cases cpu --repeat 3 \
      --json cpu.json --compare cuda.json
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, TAR, add_common_args, report, table

sys.path.insert(0, str(ROOT))

CASES = {
    "cpu": ("cpu", "fp32"),
    "cpu-bf16": ("cpu", "bf16"),
    "cuda": ("cuda", "fp32"),
    "cuda-bf16": ("cuda", "bf16"),
}


def _machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.node()[:16]} ({os.cpu_count()} CPUs, {gpu}, torch {torch.__version__})"


def _stores(spec: str | None) -> dict[str, Path]:
    if spec:
        pairs = [s.split("=", 1) for s in spec.split(",")]
        if any(len(p) != 2 for p in pairs):
            raise SystemExit(f"--stores: expected label=DIR,... (stores={spec!r})")
        return {label: Path(d) for label, d in pairs}
    from episodes.store import ingest

    path = Path(tempfile.mkdtemp(prefix="bench_store_")) / "store"
    ingest(TAR, path, workers=2)
    return {"real": path}


def _digest(models: Path) -> dict[str, str]:
    """sha256 of every window's model.pt and predictions.parquet."""
    out = {}
    for f in sorted(models.glob("w*/*")):
        if f.name in ("model.pt", "predictions.parquet"):
            out[f"{f.parent.name}/{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _run(data, cfg, case: str, seed: int, out: Path) -> dict:
    """One whole pretrain of ``data`` with ``case``'s device and precision; its figures."""
    import torch

    from models.evaluate import report_frame
    from models.pretrain import pretrain

    device, precision = CASES[case]
    tc = dataclasses.replace(cfg.train, device=device, precision=precision)
    run_cfg = dataclasses.replace(cfg, seed=seed, train=tc)
    gpu = device == "cuda" and torch.cuda.is_available()  # else pretrain says what is wrong
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    res = pretrain(data, out, run_cfg)
    wall = time.perf_counter() - t0
    frame = report_frame(out).set_index("window")
    per = [json.loads((out / e.id / "metadata.json").read_text())["training_time_s"]
           for e in res.entries]  # fmt: skip
    peak = torch.cuda.max_memory_allocated() / 2**20 if gpu else 0.0
    return {
        "case": case, "seed": seed, "wall_s": wall, "windows": len(per),
        "train_s": sum(per), "ic": float(frame.loc["pooled", "ic"]),
        "mean_ic": float(frame.loc["mean", "ic"]), "ic_t": float(frame.loc["pooled", "ic_t"]),
        "accuracy": float(frame.loc["pooled", "accuracy"]), "gpu_peak_mb": round(peak, 1),
        "digest": _digest(out),
    }  # fmt: skip


def _cuda_warm() -> None:
    import torch

    lstm = torch.nn.LSTM(8, 16, 2, batch_first=True).cuda()
    lstm(torch.zeros(4, 5, 8, device="cuda"))[0].sum().backward()
    torch.cuda.synchronize()


def _welch(a: list[float], b: list[float]) -> float:
    if len(a) < 2 or len(b) < 2:
        return math.nan
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    return (statistics.mean(a) - statistics.mean(b)) / se if se > 0 else math.nan


def _rows(runs: list[dict]) -> tuple[list[tuple], list[str]]:
    """Table rows per store x case (the group's first case is the reference) and notes."""
    rows, notes = [], []
    for store in dict.fromkeys(r["store"] for r in runs):
        ref = None
        for key in dict.fromkeys((r["case"], r["machine"]) for r in runs if r["store"] == store):
            rs = [r for r in runs if r["store"] == store and (r["case"], r["machine"]) == key
                  and not r.get("repeat")]  # fmt: skip
            if not rs:
                continue
            ics, walls = [r["ic"] for r in rs], [r["wall_s"] for r in rs]
            ref = ref or (walls, ics, key[1])
            sd = statistics.stdev(ics) if len(ics) > 1 else math.nan
            ratio = statistics.median(walls) / statistics.median(ref[0])
            other = "" if key[1] == ref[2] else " (another machine)"
            rows.append((
                f"{store} {key[0]}", walls, f"{ratio:.3f}{other}",
                f"{statistics.mean(ics):+.4f} +- {sd:.4f}",
                " ".join(f"{x:+.4f}" for x in ics),
                f"{statistics.mean(r['mean_ic'] for r in rs):+.4f}",
                f"{statistics.mean(r['accuracy'] for r in rs):.3f}",
                f"{_welch(ics, ref[1]):+.2f}", f"{statistics.mean(r['train_s'] for r in rs):.1f}",
                f"{max(r['gpu_peak_mb'] for r in rs):.0f}", key[1],
            ))  # fmt: skip
        for r in runs:
            if r["store"] == store and r.get("repeat"):
                first = next(x for x in runs if x["store"] == store and x["case"] == r["case"]
                             and x["seed"] == r["seed"] and not x.get("repeat"))  # fmt: skip
                same = "identical" if first["digest"] == r["digest"] else "DIFFER"
                notes.append(f"{store} {r['case']} seed {r['seed']} trained twice: artifacts "
                             f"{same} ({len(r['digest'])} files)")  # fmt: skip
    return rows, notes


def _write(path: Path | None, runs: list[dict]) -> None:
    if path is not None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runs, indent=1))
        os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--stores", help="label=DIR,... (default: the shared episodes, 'real')")
    ap.add_argument("--config", help="YAML config (default: configs/default.yaml)")
    ap.add_argument("--cases", help="comma-separated, of cpu, cpu-bf16, cuda, cuda-bf16 "
                    "(default: the cuda cases with a GPU, else cpu)")  # fmt: skip
    ap.add_argument("--budget-s", type=float, default=0, help="start no run past this many "
                    "seconds (0: no limit); the runs done are reported")  # fmt: skip
    ap.add_argument("--json", help="write the runs here as they finish")
    ap.add_argument("--compare", help="comma-separated JSON files of other runs to add")
    add_common_args(ap, repeat=3, warmup=0, seed_help="first training seed (--repeat seeds: "
                    "seed, seed+1, ...; default 1)", check_help="train each case's first seed "
                    "twice and compare the artifacts' bytes")  # fmt: skip
    ap.set_defaults(seed=1)
    args = ap.parse_args()

    import torch

    from models.pretrain import prepare
    from simulator.config import load_config
    from simulator.core.logs import configure_logging

    configure_logging("warning")
    t_start = time.perf_counter()
    cases = (args.cases or ("cuda-bf16,cuda" if torch.cuda.is_available() else "cpu")).split(",")
    if unknown := [c for c in cases if c not in CASES]:
        raise SystemExit(f"--cases: unknown {unknown} (expected of {', '.join(CASES)})")
    seeds = list(range(args.seed, args.seed + args.repeat))
    if any(CASES[c][0] == "cuda" for c in cases) and torch.cuda.is_available():
        _cuda_warm()  # CUDA context and cuDNN's first load: outside every timed run
    cfg = load_config(Path(args.config) if args.config else None).pretrain_config()
    machine, out_json = _machine(), Path(args.json) if args.json else None
    runs: list[dict] = []
    for f in args.compare.split(",") if args.compare else ():
        runs += json.loads(Path(f).read_text())
    done: list[dict] = []
    work = Path(tempfile.mkdtemp(prefix="bench_cuda_"))
    feats = {}
    for label, store in _stores(args.stores).items():
        t0 = time.perf_counter()
        feats[label] = prepare(store, cfg)
        print(f"{label}: features {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    plan = []  # case by case: --warmup untimed runs, its seeds, then (--check) the first again
    for c in cases:
        plan += [(c, label, seeds[0], "warmup") for label in feats for _ in range(args.warmup)]
        plan += [(c, label, s, "") for label in feats for s in seeds]
        plan += [(c, label, seeds[0], "again") for label in feats if args.check]
    for case, label, seed, again in plan:
        if args.budget_s and time.perf_counter() - t_start > args.budget_s:
            print(f"budget: skipped {label} {case} seed {seed}", file=sys.stderr)
            continue
        out = work / f"{label}-{case}-s{seed}-{again or 'run'}-{len(done)}"
        try:
            r = _run(feats[label], cfg, case, seed, out)
        except Exception as exc:  # one failed case does not lose the others' figures
            print(f"{label} {case} seed {seed}: FAILED {type(exc).__name__}: {exc}",
                  file=sys.stderr)  # fmt: skip
            continue
        if again == "warmup":
            continue
        r.update(store=label, machine=machine, repeat=again == "again")
        done.append(r)
        _write(out_json, done)
        print(f"{label} {case} seed {seed} {again or 'run'}: {r['wall_s']:.1f} s, "
              f"ic {r['ic']:+.4f}", file=sys.stderr)  # fmt: skip
    rows, notes = _rows(runs + done)
    title = (
        f"### bench_cuda (config {args.config or 'default'}, family {cfg.model.family}, seeds "
        f"{seeds}, warmup {args.warmup}; median_s = whole pretrain from built features over seeds; "
        "ratio = to the group's first case; t vs ref = Welch t of the per-seed pooled IC)"
    )
    extra = ("ic pooled (mean +- sd)", "ic per seed", "mean daily ic", "accuracy", "t vs ref",
             "train s", "gpu peak MB", "machine")  # fmt: skip
    text = table(title, rows, extra=extra, threads=cfg.train.torch_threads)
    report("\n".join([text, *[f"- {n}" for n in notes]]), args.no_append)


if __name__ == "__main__":
    main()
