"""Pretrain + replay per seed, then one comparison table with mean ± std per strategy.

The honest real-data comparison in README.md was made with:

    .venv/bin/wfsim episodes ingest \
        ../shared/data/mas-hedge-fund/episodes-2022-2024.tar.xz --store real-store
    .venv/bin/python scripts/seeds.py --store real-store --out real-runs --seeds 3

Each seed s gets its own models (OUT/models-s) and runs (OUT/runs/lstm-s, OUT/runs/random-s); the
llm baseline is replayed once (it has no seed). Steps already done are skipped by `wfsim` itself
(pretrain resumes; replays are cheap and rewritten). `--info-set recorded` trains the LSTM on the
agent outputs as the LLM saw them (OUT/models-recorded-s, OUT/runs/lstm-recorded-s). Then
`wfsim compare OUT/runs/*` and `wfsim report OUT/runs/* --out OUT/report.html` show everything.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

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
    ap.add_argument(
        "--info-set",
        choices=["strict", "recorded"],
        default="strict",
        help="features.info_set of the LSTM (recorded: the LLM's own, leaky, view)",
    )
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load(a.config.read_text()) if a.config else {}
    raw = (raw or {}) | {"features": (raw or {}).get("features", {}) | {"info_set": a.info_set}}
    cfg_path = a.out / f"config-{a.info_set}.yaml"
    cfg_path.write_text(yaml.safe_dump(raw))
    cfg = ["--config", str(cfg_path)]
    tag = "" if a.info_set == "strict" else f"{a.info_set}-"
    runs = a.out / "runs"
    run("replay", "--strategy", "llm", "--store", str(a.store), "--out", str(runs / "llm"), *cfg)
    dirs = [runs / "llm"]
    for s in range(a.first_seed, a.first_seed + a.seeds):
        models = a.out / f"models-{tag}{s}"
        run("pretrain", "--store", str(a.store), "--models", str(models), "--seed", str(s), *cfg)
        for strat in ("lstm", "random") if a.info_set == "strict" else ("lstm",):
            extra = ["--models", str(models)] if strat == "lstm" else []
            out = runs / f"{strat}-{tag}{s}"
            run("replay", "--strategy", strat, "--store", str(a.store), "--out", str(out),
                "--seed", str(s), *extra, *cfg)  # fmt: skip
            dirs.append(out)
    table = a.out / f"comparison-{a.info_set}.csv"
    run("compare", *map(str, dirs), "--out", str(table))


if __name__ == "__main__":
    main()
