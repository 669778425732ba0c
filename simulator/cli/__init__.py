"""The `wfsim` command: the one composition root. One module per command group in this package."""

from __future__ import annotations

import click

from simulator.core.errors import WfsimError
from simulator.core.logs import configure_logging
from simulator.core.omp import bound_spin_waits

bound_spin_waits()  # before anything loads libgomp (torch, lightgbm): see simulator.core.omp

__all__ = ["main"]


class _Group(click.Group):
    """A click group that shows a WfsimError as one line on stderr with exit 1 (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except WfsimError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # an unwritable or missing path the options could not check
            where = exc.filename or "wfsim"
            what = exc.strerror or type(exc).__name__
            raise click.ClickException(f"{where}: {what} (errno={exc.errno})") from None

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", _Group)
        return super().group(*args, **kwargs)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Minimum level of the structlog events written to stderr.",
)
@click.option(
    "--log-json/--no-log-json",
    default=None,
    help="JSON log lines (default: when stderr is not a tty).",
)
@click.version_option(package_name="wfsim")
def main(log_level: str, log_json: bool | None) -> None:
    """wfsim: a walk-forward trading simulator.

    Replays recorded days of an LLM hedge fund ("episodes") with exact books, pretrains
    walk-forward ticker-LSTM models, and compares them against the LLM baseline, SPY and
    null strategies. Start with `wfsim demo` (synthetic data, no files needed).

    Results go to stdout, logs to stderr (-q: warnings only, -v: debug; after any command).

    \b
    Example:
      wfsim demo --out wfsim-demo
      wfsim replay --strategy lstm --store wfsim-demo/store --models wfsim-demo/models \\
          --out runs/lstm -q
    """
    from simulator.cli import progress as bars
    from simulator.core import progress

    if bars.wanted():  # a terminal, not CI: nested bars, log lines printed above them
        configure_logging(log_level, log_json, file=bars.BarSafeStream())
        ctx = click.get_current_context()
        ctx.with_resource(progress.use(bars.TqdmReporter()))
    else:
        configure_logging(log_level, log_json)


def _register() -> None:
    from simulator.cli import (
        app,
        audit,
        demo,
        episodes,
        gap,
        models,
        replay,
        report,
        seeds,
        study,
        tune,
    )
    from simulator.cli.options import verbosity_options

    mods = (demo, episodes, models, replay, report, seeds, study, audit, gap, tune, app)
    for mod in mods:
        for cmd in mod.COMMANDS:
            main.add_command(cmd)
    for cmd in _leaves(main):
        verbosity_options(cmd)


def _leaves(group: click.Group) -> list[click.Command]:
    """Every command under ``group`` that is not a group (`wfsim episodes info`, ...)."""
    out = []
    for cmd in group.commands.values():
        out += _leaves(cmd) if isinstance(cmd, click.Group) else [cmd]
    return out


_register()
