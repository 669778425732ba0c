"""The click options every command shares, so `--store --config --seed` mean the same everywhere."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["store_option", "config_option", "seed_option"]

CONFIG_HELP = "YAML config on top of configs/default.yaml (unknown keys are refused)."


def store_option() -> click.Option:
    """``--store``: an existing Parquet episode store (required)."""
    return click.option(
        "--store",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        required=True,
        help="Episode store (`wfsim episodes ingest`).",
    )


def config_option(name: str = "config", help: str = CONFIG_HELP) -> click.Option:
    """``--config``: an existing YAML file, passed to the command as ``name``."""
    return click.option(
        "--config",
        name,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=help,
    )


def seed_option() -> click.Option:
    """``--seed``: the run seed, overriding the config's."""
    return click.option("--seed", type=int, default=None, help="Run seed (overrides the config's).")
