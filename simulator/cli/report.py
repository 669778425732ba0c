"""`wfsim` commands: compare and report (run directories side by side, as text or HTML)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from episodes.benchmarks import RF_FILE, SPY_FILE
from simulator.cli.options import benchmarks_option, deprecated_alias, pick
from simulator.core.logs import get_logger

__all__ = ["COMMANDS", "DEFAULT_BENCHMARKS", "compare", "report"]

log = get_logger(__name__)

DEFAULT_BENCHMARKS: Path | None = None
"""No default: ``--benchmarks DIR``, else the runs' own ``benchmarks/`` (synthetic stores)."""

REFERENCES = ("mas-runs", "lstm-original")


def _inputs_options(func: Callable) -> Callable:
    """The options `compare` and `report` share: run directories, benchmark, rf, references."""
    options = [
        click.argument(
            "run_dirs",
            nargs=-1,
            required=True,
            type=click.Path(exists=True, file_okay=False, path_type=Path),
        ),
        click.option(
            "--benchmark",
            type=click.Choice(["spy", "none"]),
            default="spy",
            show_default=True,
            help="Benchmark row (and beta/alpha): SPY daily returns, or none.",
        ),
        click.option(
            "--benchmark-csv",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help=f"SPY returns CSV (Date,SPY). Default: {SPY_FILE} in --benchmarks.",
        ),
        benchmarks_option(
            DEFAULT_BENCHMARKS,
            f"Folder of the benchmark CSVs ({SPY_FILE}, {RF_FILE}, runs, FF factors) "
            "[default: the runs' own benchmarks/, written for synthetic stores].",
        ),
        click.option(
            "--reference",
            type=click.Choice(REFERENCES),
            multiple=True,
            help="Add recorded returns as rows: the five LLM runs (as one row, mean ± std) or "
            "the original project's LSTM (from 2023-03-31). Both end 2024-12-31: runs past it "
            "lose their later days from every row (a note says how many).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _inputs(benchmark, benchmark_csv, benchmarks_dir, reference) -> dict[str, object]:
    return {"benchmark": benchmark, "benchmark_csv": benchmark_csv,
            "benchmarks_dir": benchmarks_dir, "reference": reference}  # fmt: skip


_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("compare")
@_inputs_options
@click.option(
    "--table",
    type=_FILE,
    default=None,
    help="Also write the table as CSV or JSON (by suffix: .csv, .json).",
)
@deprecated_alias("--out", "--table", "table", _FILE)
def compare(
    run_dirs: tuple[Path, ...],
    benchmark: str,
    benchmark_csv: Path | None,
    benchmarks_dir: Path,
    reference: tuple[str, ...],
    table: Path | None,
    table_deprecated: Path | None,
) -> None:
    """Compare run directories: one row per run (seeds of a strategy as mean ± std) plus SPY.

    Every row is computed over the dates all runs share. The table goes to stdout. A run made
    with `replay --allow-gaps` is marked INCOMPLETE in the notes with its coverage.

    \b
    Example:
      wfsim compare runs/llm runs/lstm --benchmarks ../shared/data/mas-hedge-fund/benchmarks \\
          --table comparison.csv
    """
    out = pick(table, table_deprecated, "--out", "--table")
    from simulator.results.compare import format_table
    from simulator.results.compare_risk import format_risk

    if out is not None and out.suffix not in (".csv", ".json"):
        raise click.BadParameter(f"{out}: expected a .csv or .json file", param_hint="--table")
    inputs = _inputs(benchmark, benchmark_csv, benchmarks_dir, reference)
    from simulator import pipeline

    res = pipeline.compare(run_dirs, out, **inputs)
    click.echo(format_table(res.table), nl=False)
    click.echo(format_risk(res.risk), nl=False)
    if out is not None:
        click.echo(f"wrote {out}")


@click.command("report")
@_inputs_options
@click.option(
    "--html",
    type=_FILE,
    default=None,
    help="The HTML file [default: report.html]; PNG charts go beside it (<stem>-<chart>.png).",
)
@click.option(
    "--interactive/--no-interactive",
    default=True,
    show_default=True,
    help="Also write <stem>-tearsheet.html: offline plotly charts, sortable trades, window IC.",
)
@deprecated_alias("--out", "--html", "html", _FILE)
def report(
    run_dirs: tuple[Path, ...],
    benchmark: str,
    benchmark_csv: Path | None,
    benchmarks_dir: Path,
    reference: tuple[str, ...],
    html: Path | None,
    html_deprecated: Path | None,
    interactive: bool,
) -> None:
    """Write a self-contained HTML report (charts, monthly returns, windows, comparison table).

    \b
    Example:
      wfsim report runs/* --html report.html
    """
    out = pick(html, html_deprecated, "--out", "--html") or Path("report.html")
    if out.suffix not in (".html", ".htm"):
        raise click.BadParameter(f"{out}: expected an .html file", param_hint="--html")
    inputs = _inputs(benchmark, benchmark_csv, benchmarks_dir, reference)
    from simulator import pipeline

    for path in pipeline.report(run_dirs, out, interactive=interactive, **inputs):
        click.echo(str(path))


COMMANDS: list[click.Command] = [compare, report]
