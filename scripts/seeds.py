"""Pretrain + replay per seed, then one comparison table with mean ± std per strategy.

The honest real-data comparison in README.md was made with:

    .venv/bin/wfsim episodes ingest \
        ../shared/data/mas-hedge-fund/episodes-2022-2024.tar.xz --store real-store
    .venv/bin/python scripts/seeds.py --store real-store --out real-runs --seeds 3

Each seed s gets its own models (OUT/models-s) and runs (OUT/runs/lstm-s, OUT/runs/random-s); the
llm baseline is replayed once (it has no seed). Steps already done are skipped by `wfsim` itself
(pretrain resumes; replays are cheap and rewritten).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

WFSIM = [sys.executable, "-m", "simulator.cli"]


def run(*args: str) -> None:
    print("+ wfsim", " ".join(args), flush=True)
    subprocess.run([*WFSIM, *args], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--store", type=Path, required=True, help="episode store (wfsim episodes ingest)"
    )
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--config", type=Path, default=None, help="YAML config for every step")
    a = ap.parse_args()
    cfg = ["--config", str(a.config)] if a.config else []
    runs = a.out / "runs"
    run("replay", "--strategy", "llm", "--store", str(a.store), "--out", str(runs / "llm"), *cfg)
    dirs = [runs / "llm"]
    for s in range(a.first_seed, a.first_seed + a.seeds):
        models = a.out / f"models-{s}"
        run("pretrain", "--store", str(a.store), "--models", str(models), "--seed", str(s), *cfg)
        for strat in ("lstm", "random"):
            extra = ["--models", str(models)] if strat == "lstm" else []
            out = runs / f"{strat}-{s}"
            run("replay", "--strategy", strat, "--store", str(a.store), "--out", str(out),
                "--seed", str(s), *extra, *cfg)  # fmt: skip
            dirs.append(out)
    table = a.out / "comparison.csv"
    run("compare", *map(str, dirs), "--out", str(table))
    run("report", *map(str, dirs), "--out", str(a.out / "report.html"))


if __name__ == "__main__":
    main()
