"""Issue 11.6 figures on the synthetic transfer bed (``tests/unit/models/universe_bed.py``).

For each training seed: the four registries of ``universe_bed.fit`` (consensus-only ``lstm``,
``lstm-universe``, ``lstm`` trained from scratch on short-history points), then

  transfer   universe vs consensus-only (lstm), on the consensus points of every served day
  ablation   universe vs the same model and inputs trained on the consensus points only
  few_shot   universe vs scratch, on the points of tickers with < 60 days of history
  off_cons   universe vs consensus-only, on the priced points off the consensus

Rows: mean daily IC of a and b, their difference and the t over days of the paired daily
difference (same points, days and seed); the last rows pool the seeds (each day's IC is the
mean over seeds of that day's IC; the t is over days, as in the tests). ``--inputs all`` serves
the universe model with the analyst block too (the pre-fix behaviour, for the diagnosis). CPU
and wall seconds per seed are printed with the load average. ``--bed-seed`` draws another
market of the same bed, ``--bed-days`` a longer one (more windows and served days: the t of a
claim grows with the square root of the days if its daily difference does not change). Training
seeds: ``--seed`` .. ``--seed + --repeat - 1`` (after
``--warmup`` untimed fits of the seeds before them); ``--check`` fails unless every claim's pooled
difference is positive. ``--tabular``: instead, ``ridge`` and ``gbm`` trained on the universe
(``model.train_points: universe``) vs on the prediction points, same seed, scored on the
consensus points and on the short-history points (LightGBM on 1 thread). Appended to RESULTS.md
unless --no-append. Usage:
  python scripts/bench/bench_transfer.py [--seed 1 --repeat 3] [--inputs price|all] [--bed-seed 1]
                                         [--bed-days 220] [--tabular]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, add_common_args, report

sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap, repeat=3, warmup=0, seed_help="first training seed (default 1)",
                    check_help="fail unless every pooled difference is positive")  # fmt: skip
    ap.set_defaults(seed=1)
    ap.add_argument("--inputs", default="price", choices=("price", "all"))
    ap.add_argument("--bed-seed", type=int, default=None)
    ap.add_argument("--bed-days", type=int, default=None, help="days of the bed (default 220)")
    ap.add_argument("--target", default=None, help="model.target of every model")
    ap.add_argument("--tabular", action="store_true",
                    help="ridge and gbm: model.train_points universe vs prediction")  # fmt: skip
    args = ap.parse_args()
    import torch

    from tests.unit.models import universe_bed
    from tests.unit.models.universe_bed import bed, compare, fit, short_points

    torch.set_num_threads(1)
    if args.bed_seed is not None:
        universe_bed.BED_SEED = args.bed_seed
    if args.bed_days is not None:
        universe_bed.BED = dataclasses.replace(universe_bed.BED, days=args.bed_days)
    data, history = bed()
    fs = data.fs
    masks = {"transfer": fs.sample, "ablation": fs.sample, "few_shot": short_points(data, history),
             "off_cons": fs.has_data & ~fs.sample}  # fmt: skip
    base = {"transfer": "consensus", "ablation": "consensus_price", "few_shot": "scratch",
            "off_cons": "consensus"}  # fmt: skip
    head = f"bench_transfer: bed {universe_bed.BED} seed {universe_bed.BED_SEED}"
    head += f", inputs={args.inputs}"
    head += f", target={args.target or 'demeaned'}"
    lines = [head,
             "| seed | claim | ic universe | ic baseline | diff | t diff | days | cpu_s | wall_s |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    seeds = list(range(args.seed, args.seed + args.repeat))
    label = ",".join(map(str, seeds))
    cpu = wall = 0.0
    if args.tabular:
        head = f"bench_transfer --tabular: bed {universe_bed.BED} seed {universe_bed.BED_SEED}"
        rows, pooled = _tabular(data, history, seeds, args.target, label)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        report("\n".join([head, *lines[1:3], *rows]) + f"\n(load average {load})", args.no_append)
        _check(args.check, pooled)
        return
    with tempfile.TemporaryDirectory() as d:
        inputs = {"model.universe.inputs": args.inputs}
        for seed in range(args.seed - args.warmup, args.seed):  # untimed: warm the caches
            fit(data, history, Path(d) / f"warm{seed}", seed, **inputs)
        runs, pooled = [], []
        for seed in seeds:
            c0, w0 = time.process_time(), time.perf_counter()
            extra = {"model.universe.inputs": args.inputs}
            if args.target:
                extra["model.target"] = args.target
            runs.append(fit(data, history, Path(d) / str(seed), seed, **extra))
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            for claim, mask in masks.items():
                p = compare(data, mask, runs[-1]["universe"], runs[-1][base[claim]])
                lines.append(_row(str(seed), claim, base[claim], p, cpu, wall))
        for claim, mask in masks.items():
            b = base[claim]
            p = compare(data, mask, [r["universe"] for r in runs], [r[b] for r in runs])
            pooled.append((claim, p.diff))
            lines.append(_row(f"mean of {label}", claim, b, p, float("nan"), float("nan")))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report("\n".join(lines) + f"\n(load average {load})", args.no_append)
    _check(args.check, pooled)


def _check(check: bool, pooled: list) -> None:
    bad = [f"{claim} {diff:+.4f}" for claim, diff in pooled if not diff > 0]
    if check and bad:
        raise SystemExit(f"check failed: pooled differences not positive: {', '.join(bad)}")


def _tabular(data, history, seeds, target, label) -> tuple[list[str], list]:
    """Rows of ridge and gbm trained on the universe vs on the prediction points, per seed and
    pooled, on the consensus and on the short-history points."""
    from models.pretrain import pretrain
    from tests.unit.models.universe_bed import bed_config, compare, short_points

    masks = {"consensus": data.fs.sample, "short": short_points(data, history)}
    extra = {"model.gbm.num_threads": 1, **({"model.target": target} if target else {})}
    rows, pooled = [], []
    with tempfile.TemporaryDirectory() as d:
        for family in ("ridge", "gbm"):
            roots: dict[str, list[Path]] = {"prediction": [], "universe": []}
            for seed in seeds:
                c0, w0 = time.process_time(), time.perf_counter()
                for points in roots:
                    cfg = bed_config(family, **{**extra, "model.train_points": points})
                    root = Path(d) / f"{family}-{points}-{seed}"
                    pretrain(data, root, dataclasses.replace(cfg, seed=seed))
                    roots[points].append(root)
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                for name, mask in masks.items():
                    p = compare(data, mask, roots["universe"][-1], roots["prediction"][-1])
                    rows.append(_row(str(seed), f"{family} {name}", "prediction", p, cpu, wall))
            for name, mask in masks.items():
                p = compare(data, mask, roots["universe"], roots["prediction"])
                pooled.append((f"{family} {name}", p.diff))
                nan = float("nan")
                rows.append(_row(f"mean of {label}", f"{family} {name}", "prediction", p, nan, nan))
    return rows, pooled


def _row(seed: str, claim: str, base: str, p, cpu: float, wall: float) -> str:
    return (f"| {seed} | {claim} vs {base} | {p.ic_a:+.4f} | {p.ic_b:+.4f} | {p.diff:+.4f} | "
            f"{p.t_diff:+.2f} | {p.days} | {cpu:.1f} | {wall:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
