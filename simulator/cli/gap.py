"""`wfsim gap`: the anatomy of a run's P&L gap to a baseline (usually the LLM) on the same days."""

from __future__ import annotations

from pathlib import Path

import click

from simulator import pipeline
from simulator.cli.options import store_option

__all__ = ["COMMANDS", "gap"]

_RUN_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command("gap")
@click.argument("run_dir", type=_RUN_DIR)
@click.option(
    "--baseline",
    type=_RUN_DIR,
    required=True,
    help="The run directory to explain the gap to, e.g. `wfsim replay --strategy llm`'s.",
)
@store_option()
@click.option(
    "--horizon-days",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Constraint costs: P&L of the clipped, rejected or forced shares from the fill (open of "
    "day t) to the close of day t + N - 1 (1: the same day's close).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the parts, the daily gap and the constraint logs as JSON.",
)
def gap(run_dir: Path, baseline: Path, store: Path, horizon_days: int, out: Path | None) -> None:
    """Split RUN_DIR's P&L minus the baseline's (scaled to RUN_DIR's capital) into selection,
    sizing, timing, sync, bonds, costs and a residual that is rounding only; then each run's
    constraint log: cap replacements and rejections, cash clips, sync closes, and their cost.

    Both are run directories of `wfsim replay`; prices come from the store. Example:

    \b
      wfsim replay --strategy llm --store S --out runs/llm
      wfsim replay --strategy lstm --store S --models M --out runs/lstm
      wfsim gap runs/lstm --baseline runs/llm --store S
    """
    from simulator.results.attribution import format_attribution
    from simulator.results.constraints import RISK_LIMIT_NOTE, format_constraints

    if out is not None and out.suffix != ".json":
        raise click.BadParameter(f"{out}: expected a .json file", param_hint="--out")
    res = pipeline.gap(run_dir, baseline, store, horizon_days=horizon_days)
    click.echo(format_attribution(res.attribution), nl=False)
    for label, table in res.constraints.items():
        click.echo("\n" + format_constraints(label, table, horizon_days), nl=False)
    click.echo(f"note: {RISK_LIMIT_NOTE}")
    if out is not None:
        from simulator.results.attribution import gap_json
        from simulator.results.export import write_json

        write_json(out, gap_json(res.attribution, res.constraints, horizon_days))
        click.echo(f"wrote {out}")


COMMANDS: list[click.Command] = [gap]
