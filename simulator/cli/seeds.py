"""`wfsim seeds`: pretrain + replay per seed, then one comparison (mean ± std per strategy)."""

from __future__ import annotations

from pathlib import Path

import click

from models.config import FAMILIES, INFO_SET_LAGS
from simulator.cli.options import (
    benchmarks_option,
    config_option,
    out_dir_option,
    seed_range_options,
    store_option,
)
from simulator.cli.report import DEFAULT_BENCHMARKS

__all__ = ["COMMANDS", "seeds"]


@click.command()
@store_option()
@out_dir_option("Output directory: models-*/, runs/*/, comparison-<info-set>.csv, report.html.")
@seed_range_options
@click.option(
    "--info-set",
    type=click.Choice(list(INFO_SET_LAGS)),
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
    "<family>-<seed>.",
)
@config_option()
@benchmarks_option(
    DEFAULT_BENCHMARKS,
    "Folder of the benchmark CSVs (SPY, risk-free rate) for the comparison "
    "[default: the runs' own benchmarks/, written for synthetic stores].",
)
def seeds(
    store: Path,
    out: Path,
    n_seeds: int,
    first_seed: int,
    info_set: str | None,
    family: str | None,
    config: Path | None,
    benchmarks_dir: Path,
) -> None:
    """Pretrain and replay the LSTM (and the random null) once per seed, then compare.

    \b
    OUT/runs/llm             the recorded baseline, replayed and reconciled (no seed)
    OUT/runs/llm-counterfactual  its decisions under the config's account, when that differs
    OUT/models-[TAG]<seed>   walk-forward models of each seed (resumable)
    OUT/runs/lstm-[TAG]<seed>, OUT/runs/random-<seed>
    OUT/config-<info-set>.yaml  the effective config
    OUT/comparison-<info-set>.csv and the table on stdout: mean ± std over seeds
    OUT/report.html          every run under OUT/runs (strict and recorded side by side)

    TAG is empty for strict and "recorded-" for recorded; the random null runs with strict only.

    \b
    Example:
      wfsim seeds --store real-store --out real-runs --seeds 3 --info-set recorded
    """
    from simulator import pipeline
    from simulator.config import load_config

    overrides: dict[str, object] = {"features.info_set": info_set} if info_set else {}
    if family:
        overrides["model.family"] = family
    cfg = load_config(config, overrides)
    seed_list = range(first_seed, first_seed + n_seeds)
    pipeline.seeds(store, out, cfg, seed_list, click.echo, benchmarks_dir=benchmarks_dir)


COMMANDS: list[click.Command] = [seeds]
