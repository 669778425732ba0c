"""`wfsim seeds`: pretrain + replay per seed, then one comparison (mean ± std per strategy)."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from models.config import FAMILIES
from simulator.atomic import write_atomic
from simulator.cmd_demo import invoke_step
from simulator.config import load_config
from simulator.options import config_option, store_option

__all__ = ["COMMANDS", "seeds"]


@click.command()
@store_option()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory: models-*/, runs/*/, comparison-<info-set>.csv, report.html.",
)
@click.option("--seeds", "n_seeds", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--first-seed", type=int, default=0, show_default=True)
@click.option(
    "--info-set",
    type=click.Choice(["strict", "recorded"]),
    default=None,
    help="features.info_set of the LSTM [default: the config's]. recorded: the agent outputs "
    "as the LLM saw them (leaky); runs are named lstm-recorded-<seed>.",
)
@click.option(
    "--model",
    "family",
    type=click.Choice(list(FAMILIES)),
    default=None,
    help="Model family (model.family) [default: the config's, lstm]; runs are named "
    "<family>-<seed> for a family other than lstm.",
)
@config_option()
@click.pass_context
def seeds(
    ctx: click.Context,
    store: Path,
    out: Path,
    n_seeds: int,
    first_seed: int,
    info_set: str | None,
    config: Path | None,
    family: str | None = None,
) -> None:
    """Pretrain and replay the LSTM (and the random null) once per seed, then compare.

    \b
    OUT/runs/llm             the recorded baseline, replayed and reconciled (no seed)
    OUT/models-[TAG]<seed>   walk-forward models of each seed (resumable)
    OUT/runs/lstm-[TAG]<seed>, OUT/runs/random-<seed>
    OUT/comparison-<info-set>.csv and the table on stdout: mean ± std over seeds
    OUT/report.html          every run under OUT/runs (strict and recorded side by side)

    TAG is empty for strict and "recorded-" for recorded; the random null runs with strict only.
    """
    from simulator.cmd_models import pretrain_cmd
    from simulator.cmd_replay import replay
    from simulator.cmd_report import compare, report

    overrides = {"features.info_set": info_set} if info_set else {}
    if family:
        overrides["model.family"] = family
    cfg = load_config(config, overrides)
    out.mkdir(parents=True, exist_ok=True)
    raw = (yaml.safe_load(config.read_text(encoding="utf-8")) if config else None) or {}
    raw["features"] = (raw.get("features") or {}) | {"info_set": cfg.features.info_set}
    if family:
        raw["model"] = (raw.get("model") or {}) | {"family": family}
    cfg_path = write_atomic(out / f"config-{cfg.features.info_set}.yaml", yaml.safe_dump(raw))
    tag = "" if cfg.features.info_set == "strict" else f"{cfg.features.info_set}-"
    name = cfg.model.family  # run directory prefix: lstm, ridge or gbm (strategy stays lstm)
    runs = out / "runs"

    def run(name: str, **kw: object) -> None:
        invoke_step(ctx, name, replay, store=store, config=cfg_path, **kw)

    run("replay llm", strategy="llm", out=runs / "llm")
    dirs = [runs / "llm"]
    for s in range(first_seed, first_seed + n_seeds):
        models = out / f"models-{tag}{s}"
        invoke_step(ctx, f"pretrain seed {s}", pretrain_cmd, store=store, models_dir=models,
                    config_path=cfg_path, seed=s)  # fmt: skip
        run(f"replay {name} seed {s}", strategy="lstm", models=models, seed=s,
            out=runs / f"{name}-{tag}{s}")  # fmt: skip
        dirs.append(runs / f"{name}-{tag}{s}")
        if not tag:
            run(f"replay random seed {s}", strategy="random", seed=s, out=runs / f"random-{s}")
            dirs.append(runs / f"random-{s}")
    table = out / f"comparison-{cfg.features.info_set}.csv"
    invoke_step(ctx, "compare", compare, run_dirs=tuple(dirs), out=table)
    every = tuple(sorted(p for p in runs.iterdir() if (p / "summary.json").is_file()))
    invoke_step(ctx, "report", report, run_dirs=every, out=out / "report.html")


COMMANDS: list[click.Command] = [seeds]
