"""Issue 11.6 figures on the synthetic transfer bed (``tests/unit/models/universe_bed.py``).

For each training seed: the three registries of ``universe_bed.fit`` (consensus-only ``lstm``,
``lstm-universe``, ``lstm`` trained from scratch on short-history points), then

  transfer   universe vs consensus-only, on the consensus points of every served day
  few_shot   universe vs scratch, on the points of tickers with < 60 days of history
  off_cons   universe vs consensus-only, on the priced points off the consensus

Rows: mean daily IC of a and b, their difference and the t over days of the paired daily
difference (same points, days and seed). ``--inputs all`` serves the universe model with the
analyst block too (the pre-fix behaviour, for the diagnosis). CPU and wall seconds per seed are
printed with the load average. Appended to RESULTS.md unless --no-append. Usage:
  python scripts/bench/bench_transfer.py [--seeds 1,2,3] [--inputs price|all]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, report

sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--inputs", default="price", choices=("price", "all"))
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    import torch

    from tests.unit.models.universe_bed import BED, BED_SEED, bed, compare, fit, short_points

    torch.set_num_threads(1)
    data, history = bed()
    fs = data.fs
    masks = {"transfer": fs.sample, "few_shot": short_points(data, history),
             "off_cons": fs.has_data & ~fs.sample}  # fmt: skip
    base = {"transfer": "consensus", "few_shot": "scratch", "off_cons": "consensus"}
    lines = [f"bench_transfer: bed {BED} seed {BED_SEED}, universe inputs={args.inputs}",
             "| seed | claim | ic universe | ic baseline | diff | t diff | days | cpu_s | wall_s |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for seed in (int(s) for s in args.seeds.split(",")):
        c0, w0 = time.process_time(), time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            roots = fit(data, history, Path(d), seed, **{"model.universe.inputs": args.inputs})
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            for claim, mask in masks.items():
                p = compare(data, mask, roots["universe"], roots[base[claim]])
                lines.append(f"| {seed} | {claim} vs {base[claim]} | {p.ic_a:+.4f} | "
                             f"{p.ic_b:+.4f} | {p.diff:+.4f} | {p.t_diff:+.2f} | {p.days} | "
                             f"{cpu:.1f} | {wall:.1f} |")  # fmt: skip
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report("\n".join(lines) + f"\n(load average {load})", args.no_append)


if __name__ == "__main__":
    main()
