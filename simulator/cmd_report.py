"""`wfsim` commands: compare and report (run directories side by side, as text or HTML)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd
import structlog

from simulator.atomic import write_atomic
from simulator.benchdata import (
    RF_FILE,
    SPY_FILE,
    load_lstm_original,
    load_mas_runs,
    load_risk_free,
    load_spy,
)
from simulator.compare import (
    Run,
    compare_runs,
    comparison_csv,
    comparison_json,
    format_table,
    load_run,
    series_run,
)
from simulator.compare_risk import compare_risk, format_risk

__all__ = ["COMMANDS", "DEFAULT_BENCHMARKS", "compare", "report"]

log = structlog.get_logger(__name__)

DEFAULT_BENCHMARKS = Path(__file__).resolve().parents[2] / "shared/data/mas-hedge-fund/benchmarks"
"""The benchmark CSVs of the shared data set, beside the repository (../shared)."""

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
        click.option(
            "--benchmarks",
            "benchmarks_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=DEFAULT_BENCHMARKS,
            show_default=True,
            help=f"Folder of the benchmark CSVs ({SPY_FILE}, {RF_FILE}, runs, FF factors).",
        ),
        click.option(
            "--reference",
            type=click.Choice(REFERENCES),
            multiple=True,
            help="Add recorded returns as rows: the five LLM runs (as one row, mean ± std) or "
            "the original project's LSTM (from 2023-03-31: shrinks the common dates).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load_inputs(
    run_dirs: tuple[Path, ...],
    benchmark: str,
    benchmark_csv: Path | None,
    benchmarks_dir: Path,
    reference: tuple[str, ...],
) -> tuple[list[Run], pd.Series | None, pd.Series | None, list[str]]:
    """Runs, rf, SPY and the notes on what is missing (also logged as warnings)."""
    runs = [load_run(p) for p in run_dirs]
    if "mas-runs" in reference:
        mas = load_mas_runs(benchmarks_dir)
        for i, (label, returns) in enumerate(mas.items()):
            runs.append(series_run(label, returns, strategy="llm-recorded", seed=i))
    if "lstm-original" in reference:
        runs += [series_run(k, s) for k, s in load_lstm_original(benchmarks_dir).items()]
    notes = []
    spy = None
    spy_path = benchmark_csv or benchmarks_dir / SPY_FILE
    if benchmark == "spy" and spy_path.is_file():
        spy = load_spy(spy_path)
    elif benchmark == "spy":
        notes.append(f"SPY benchmark omitted: {spy_path} not found (pass --benchmark-csv PATH)")
        log.warning("benchmark_missing", path=str(spy_path))
    rf = None
    if (benchmarks_dir / RF_FILE).is_file():
        rf = load_risk_free(benchmarks_dir / RF_FILE)
    else:
        notes.append(f"risk-free rate omitted: {benchmarks_dir / RF_FILE} not found")
        log.warning("risk_free_missing", path=str(benchmarks_dir / RF_FILE))
    return runs, rf, spy, notes


def _load_factors(benchmarks_dir: Path) -> dict[str, pd.DataFrame]:
    """The Fama-French factor files found in ``benchmarks_dir`` (absent ones are noted by risk)."""
    from simulator.risk import FACTOR_FILES, load_factors

    found = {k: benchmarks_dir / f for k, f in FACTOR_FILES.items()}
    return {k: load_factors(p) for k, p in found.items() if p.is_file()}


@click.command("compare")
@_inputs_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the table as CSV or JSON (by suffix: .csv, .json).",
)
def compare(
    run_dirs: tuple[Path, ...],
    benchmark: str,
    benchmark_csv: Path | None,
    benchmarks_dir: Path,
    reference: tuple[str, ...],
    out: Path | None,
) -> None:
    """Compare run directories: one row per run (seeds of a strategy as mean ± std) plus SPY.

    Every row is computed over the dates all runs share. The table goes to stdout.
    """
    if out is not None and out.suffix not in (".csv", ".json"):
        raise click.BadParameter(f"{out}: expected a .csv or .json file", param_hint="--out")
    inputs = (run_dirs, benchmark, benchmark_csv, benchmarks_dir, reference)
    runs, rf, spy, notes = _load_inputs(*inputs)
    comp = compare_runs(runs, rf=rf, benchmark=spy, notes=notes)
    click.echo(format_table(comp), nl=False)
    risk = compare_risk(runs, comp.dates, benchmark=spy, factors=_load_factors(benchmarks_dir))
    click.echo(format_risk(risk), nl=False)
    if out is not None:
        write_atomic(out, comparison_csv(comp) if out.suffix == ".csv" else comparison_json(comp))
        click.echo(f"wrote {out}")
    log.info("runs_compared", runs=len(runs), days=len(comp.dates))


@click.command("report")
@_inputs_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file; the PNG charts go beside it as <stem>-<chart>.png.",
)
def report(
    run_dirs: tuple[Path, ...],
    benchmark: str,
    benchmark_csv: Path | None,
    benchmarks_dir: Path,
    reference: tuple[str, ...],
    out: Path,
) -> None:
    """Write a self-contained HTML report (charts, monthly returns, windows, comparison table)."""
    from simulator.report import write_report  # matplotlib is imported only here

    if out.suffix not in (".html", ".htm"):
        raise click.BadParameter(f"{out}: expected an .html file", param_hint="--out")
    inputs = (run_dirs, benchmark, benchmark_csv, benchmarks_dir, reference)
    runs, rf, spy, notes = _load_inputs(*inputs)
    comp = compare_runs(runs, rf=rf, benchmark=spy, notes=notes)
    risk = compare_risk(runs, comp.dates, benchmark=spy, factors=_load_factors(benchmarks_dir))
    paths = write_report(out, runs, comp, benchmark=spy, risk=risk)
    for path in paths:
        click.echo(str(path))
    log.info("report_written", path=str(out), runs=len(runs), days=len(comp.dates))


COMMANDS: list[click.Command] = [compare, report]
