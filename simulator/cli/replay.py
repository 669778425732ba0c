"""`wfsim replay`: run one strategy over a store's days and write its exports."""

from __future__ import annotations

from pathlib import Path

import click

from episodes.account import RECORDED_ACCOUNT
from simulator.cli.options import (
    config_option,
    mlflow_options,
    out_dir_option,
    seed_option,
    store_option,
)
from simulator.core.logs import get_logger
from simulator.strategy_names import ALL_STRATEGIES, rules_text

__all__ = ["COMMANDS", "replay"]

log = get_logger(__name__)


@click.command("replay")
@click.option(
    "--strategy",
    type=click.Choice(sorted(ALL_STRATEGIES)),
    default="llm",
    show_default=True,
    help="llm: the recorded decisions, replayed exactly under the recording's account rules "
    f"({rules_text(RECORDED_ACCOUNT)}) and reconciled with the recording. "
    "llm-counterfactual: the same decisions under the config's "
    "replay.fee_rate/margin_rate/max_positions, run name "
    "llm[counterfactual], never reconciled. lstm: the pretrained models' predictions (needs "
    "--models); random: the same rule on seeded random predictions; flat: cash only.",
)
@store_option()
@out_dir_option(
    "Output directory: trades/equity/positions .csv+.parquet, summary.json (+ reconcile.csv)."
)
@click.option(
    "--models",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    multiple=True,
    help="Model registry directory (`wfsim pretrain`), for --strategy lstm. Repeat it for a seed "
    "ensemble: the day's predictions averaged over the registries (same config, other seeds).",
)
@config_option()
@seed_option()
@click.option(
    "--allow-gaps",
    is_flag=True,
    help="Accept days no model serves (an unfinished pretrain): the run is exported as "
    "incomplete, with its coverage (served days / days) in summary.json, compare and report. "
    "Without it such a run fails before anything is written.",
)
@mlflow_options
def replay(
    strategy: str,
    store: Path,
    out: Path,
    models: tuple[Path, ...],
    config: Path | None,
    seed: int | None,
    allow_gaps: bool = False,
    mlflow: str | None = None,
    mlflow_experiment: str = "wfsim",
) -> None:
    """Replay one strategy over every day of the store and write its exports into --out.

    Exits 1 (ReconcileError) when the llm replay differs from the recording on any day; the
    exports and reconcile.csv are written first.

    \b
    Example: the recorded decisions at 10 bp with at most 20 stock positions; c.yaml holds
      replay: {fee_rate: 0.001, max_positions: 20}
    wfsim replay --strategy llm --store S --out runs/llm --config c.yaml
    wfsim replay --strategy llm-counterfactual --store S --out runs/llm-cf --config c.yaml
    The first still reconciles (recording's rules); the second shows the higher fees.
    """
    from simulator import pipeline
    from simulator.config import load_config
    from simulator.tracking import open_tracker, replay_record

    cfg = load_config(config, {"seed": seed} if seed is not None else None)
    tracker = open_tracker(mlflow, mlflow_experiment)  # before anything is written
    one = models[0] if len(models) == 1 else (list(models) or None)
    res = pipeline.replay(strategy, store, out, cfg, one, allow_gaps=allow_gaps)
    click.echo(res.line)
    for p in res.paths.values():
        click.echo(str(p))
    if tracker is not None:
        click.echo(f"mlflow run {tracker.record(replay_record, out)} ({tracker.uri})")
    if res.error is not None:
        raise res.error


COMMANDS: list[click.Command] = [replay]
