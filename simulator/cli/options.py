"""The click options every command shares, so `--store --config --seed` mean the same everywhere."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = [
    "store_option",
    "config_option",
    "seed_option",
    "out_dir_option",
    "seed_range_options",
    "benchmarks_option",
    "deprecated_alias",
    "verbosity_options",
    "pick",
    "mlflow_options",
]

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


def deprecated_alias(old: str, new: str, name: str, path_type: click.Path) -> click.Option:
    """A hidden ``old`` option feeding ``name`` (one release: ``new`` replaces it)."""
    return click.option(old, f"{name}_deprecated", type=path_type, default=None, hidden=True,
                        help=f"Deprecated: use {new}.")  # fmt: skip


def pick(new, old, old_flag: str, new_flag: str):
    """``new``, else ``old`` with a deprecation note on stderr (both: a usage error)."""
    if old is None:
        return new
    if new is not None:
        raise click.UsageError(f"{old_flag} is a deprecated spelling of {new_flag}: give one")
    click.echo(f"note: {old_flag} is deprecated, use {new_flag}", err=True)
    return old


def _verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from simulator.core.logs import configure_logging

    root = ctx.find_root()
    json = root.params.get("log_json") if root is not ctx else None
    configure_logging("warning" if param.name == "quiet" else "debug", json)


def verbosity_options(cmd: click.Command) -> click.Command:
    """Add ``-q/--quiet`` (warnings and errors only) and ``-v/--verbose`` (debug) to ``cmd``, so
    that they work after the subcommand (`wfsim replay ... -q`), like ``--log-level``."""
    for flag, name, text in (("-q", "quiet", "Only warnings and errors on stderr."),
                             ("-v", "verbose", "Debug events on stderr.")):  # fmt: skip
        cmd.params.append(click.Option([flag, f"--{name}"], is_flag=True, expose_value=False,
                                       callback=_verbosity, help=text))  # fmt: skip
    return cmd


def seed_option() -> click.Option:
    """``--seed``: the run seed, overriding the config's."""
    return click.option("--seed", type=int, default=None, help="Run seed (overrides the config's).")


def out_dir_option(help: str) -> click.Option:
    """``--out``: the command's output directory (required; created if absent)."""
    return click.option(
        "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help=help
    )


def seed_range_options(cmd: click.Command) -> click.Command:
    """``--seeds N`` (as ``n_seeds``) and ``--first-seed S``: the seeds S .. S+N-1."""
    cmd = click.option("--first-seed", type=click.IntRange(0), default=0, show_default=True,
                       help="The first seed (each run's seed: first-seed + i).")(cmd)  # fmt: skip
    return click.option(
        "--seeds",
        "n_seeds",
        type=click.IntRange(1, 100),
        default=3,
        show_default=True,
        help="How many seeds (runs) per strategy or family.",
    )(cmd)


def benchmarks_option(default: Path, help: str, show_default: bool = False) -> click.Option:
    """``--benchmarks`` (as ``benchmarks_dir``): the folder of the benchmark CSVs."""
    return click.option(
        "--benchmarks",
        "benchmarks_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        show_default=show_default,
        help=help,
    )


def mlflow_options(cmd: click.Command) -> click.Command:
    """``--mlflow URI`` and ``--mlflow-experiment NAME`` (as ``mlflow``, ``mlflow_experiment``):
    log the finished command to an MLflow store (``simulator.tracking``)."""
    cmd = click.option("--mlflow-experiment", default="wfsim", show_default=True,
                       help="MLflow experiment of the run (with --mlflow).")(cmd)  # fmt: skip
    return click.option(
        "--mlflow", "mlflow", metavar="URI", default=None,
        help="Also log params (the config), metrics and the JSON/CSV outputs to this MLflow "
        "store (needs wfsim[mlflow]); the files stay the source of truth. A directory means a "
        "local store in it (DIR/mlflow.db + DIR/mlartifacts), else an MLflow tracking URI. "
        "Example: --mlflow mlruns, then `mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db`.",
    )(cmd)  # fmt: skip
