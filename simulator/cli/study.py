"""`wfsim study`: every model family × seed on the same days, one table (mean ± std over seeds)."""

from __future__ import annotations

from pathlib import Path

import click

from models.config import FAMILIES
from simulator.cli.options import (
    benchmarks_option,
    config_option,
    mlflow_options,
    out_dir_option,
    seed_range_options,
    store_option,
)
from simulator.cli.report import DEFAULT_BENCHMARKS
from simulator.config import load_config
from simulator.core.errors import ConfigError

__all__ = ["COMMANDS", "study"]


def _families(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from simulator.study import check_families

    try:
        return check_families(tuple(f.strip() for f in value.split(",") if f.strip()))
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@store_option()
@out_dir_option("Output directory: models/<family>-<seed>/, runs/*/, study.csv, report.html.")
@click.option(
    "--families",
    callback=_families,
    default=",".join(FAMILIES),
    show_default=True,
    help=f"Comma-separated model families, of: {', '.join(FAMILIES)}.",
)
@seed_range_options
@config_option()
@benchmarks_option(
    DEFAULT_BENCHMARKS, "Folder of the benchmark CSVs (SPY, risk-free rate).", show_default=True
)
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: the cells' pretrains run at once as Ray tasks (then each cell replays).",
)
@click.option(
    "--workers", type=click.IntRange(1), default=2, show_default=True,
    help="CPUs of a local Ray instance (ray backend, no --address).",
)  # fmt: skip
@click.option("--address", default=None, help="Address of a running Ray cluster (ray backend).")
@mlflow_options
def study(
    store: Path,
    out: Path,
    families: tuple[str, ...],
    n_seeds: int,
    first_seed: int,
    config: Path | None,
    benchmarks_dir: Path,
    backend: str,
    workers: int,
    address: str | None,
    mlflow: str | None = None,
    mlflow_experiment: str = "wfsim",
) -> None:
    """Pretrain and replay every model family × seed on the same days, then one table.

    \b
    OUT/runs/llm                 the recorded baseline, replayed and reconciled (once)
    OUT/models/<family>-<seed>   walk-forward models (model.family = family, seed = seed)
    OUT/runs/<family>-<seed>     their replay (strategy lstm; lstm-portfolio: its weights
                                 through strategy lstm-portfolio); OUT/runs/random-<seed>:
                                 the random null
    OUT/study.csv and stdout     per family: OOS IC (pooled, mean daily), rank IC, ICIR, IC t,
                                 direction accuracy, total return, Sharpe (rf), max DD,
                                 turnover, fees, pretrain s/window; mean ± std over seeds;
                                 each seed, the LLM, random and SPY rows
    OUT/report.html              every run, with the study table as a section
    OUT/served/<family>-<seed>   under replay.universe: eligible, the live predictions on the
                                 universe served (the IC columns score these, not the
                                 registry's consensus points); cached, recomputed on change

    Resumable: a run that is done under its config (summary's config hash, manifest, and every
    registry window verified) is skipped; anything else is pretrained (resuming) and replayed.

    \b
    Example:
      wfsim study --store real-store --out study --families lstm,ridge,gbm --seeds 3
      wfsim study ... --config breadth.yaml   (replay: {universe: eligible},
                                               model: {train_points: universe})
      wfsim study ... --backend ray --address HEAD:6379   (store and OUT on a shared path)
    """
    from simulator.config import config_to_dict
    from simulator.study import study as run_study
    from simulator.tracking import open_tracker, study_record

    cfg = load_config(config)
    tracker = open_tracker(mlflow, mlflow_experiment)  # before anything is written
    seed_list = range(first_seed, first_seed + n_seeds)
    run_study(store, out, cfg, families, seed_list, click.echo, benchmarks_dir=benchmarks_dir,
              backend=backend, workers=workers, address=address)  # fmt: skip
    if tracker is not None:
        run_id = tracker.record(study_record, out, config_to_dict(cfg), families, seed_list)
        click.echo(f"mlflow run {run_id} ({tracker.uri})")


COMMANDS: list[click.Command] = [study]
