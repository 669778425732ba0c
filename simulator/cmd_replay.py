"""`wfsim replay`: run one strategy over a store's days and write its exports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import click
import numpy as np
import pyarrow as pa
import structlog

from episodes.panel import Panel
from simulator.config import RunConfig, config_hash, config_to_dict, load_config
from simulator.errors import ReconcileError, WfsimError
from simulator.export import RunOutput, export_run
from simulator.options import config_option, seed_option, store_option
from simulator.reconcile import Mismatch, replay_recorded
from simulator.strategies import (
    STRATEGY_NAMES,
    replay_strategy,
    run_extra,
    run_output,
    windows_table,
)

__all__ = ["COMMANDS", "STRATEGIES", "StrategyRun", "replay"]

log = structlog.get_logger(__name__)


class StrategyRun(NamedTuple):
    """What a strategy runner hands back: its run, extras, and an error raised after export."""

    run: RunOutput
    extra: dict[str, Any]  # added to summary.json
    tables: dict[str, pa.Table]  # extra CSV files written beside the exports (name -> table)
    error: WfsimError | None  # raised once everything is written (exit 1)
    line: str  # the one-line result printed on stdout


def _run_llm(panel: Panel, cfg: RunConfig) -> StrategyRun:
    """The recorded LLM baseline, replayed exactly and reconciled day by day (shared README §5)."""
    r = cfg.replay
    res = replay_recorded(
        panel, fee_rate=r.fee_rate, margin_rate=r.margin_rate, max_positions=r.max_positions
    )
    run = RunOutput("llm", np.arange(panel.n_days), panel.dates, panel.tickers, res.fills,
                    res.marks, res.initial_nav, res.n_long, res.n_short)  # fmt: skip
    T, mm = panel.n_days, res.mismatches
    n_ok = T - int(res.bad_days.sum())
    table = pa.table({f: pa.array([m[i] for m in mm], pa.string())
                      for i, f in enumerate(Mismatch._fields)})  # fmt: skip
    error = None
    if mm:
        error = ReconcileError(
            f"replay {mm[0].date}",
            f"books differ from the recording on {T - n_ok} of {T} days",
            first=f"{mm[0].ticker or '-'} {mm[0].field}",
            recorded=mm[0].expected,
            replayed=mm[0].actual,
            mismatches=len(mm),
            fix="see reconcile.csv",
        )
    extra = {"reconcile": {"days": T, "days_ok": n_ok, "mismatches": len(mm)}}
    line = f"llm: reconciled {n_ok}/{T} days, {len(mm)} mismatches"
    return StrategyRun(run, extra, {"reconcile.csv": table}, error, line)


def _replay_runner(name: str) -> Callable[..., StrategyRun]:
    """Runner of a simulated strategy (lstm, random, flat) on the event loop (simulator.loop)."""

    def run(panel: Panel, cfg: RunConfig, models: Path | None = None) -> StrategyRun:
        res = replay_strategy(name, panel, cfg, models)
        n_fills = int((res.fills["qty"] > 0).sum())
        line = f"{name}: {len(res.days)} days, {n_fills} fills, {res.sync.n_closes} sync closes"
        tables = {"windows.csv": windows_table(res)}
        return StrategyRun(run_output(res, panel), run_extra(res, panel), tables, None, line)

    return run


STRATEGIES: dict[str, Callable[..., StrategyRun]] = {
    "llm": _run_llm,
    **{name: _replay_runner(name) for name in STRATEGY_NAMES},
}
"""Strategy name -> runner(panel, cfg[, models]). Every runner's output goes through the same
exports. lstm, random and flat start at the first serving day (``windows.initial``)."""


@click.command("replay")
@click.option(
    "--strategy",
    type=click.Choice(sorted(STRATEGIES)),
    default="llm",
    show_default=True,
    help="llm: the recorded decisions, replayed exactly and reconciled with the recording. "
    "lstm: the pretrained models' predictions (needs --models); random: the same rule on "
    "seeded random predictions; flat: cash only.",
)
@store_option()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory: trades/equity/positions .csv+.parquet, summary.json (+ reconcile.csv).",
)
@click.option(
    "--models",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Model registry directory (`wfsim pretrain`), for --strategy lstm.",
)
@config_option()
@seed_option()
def replay(
    strategy: str,
    store: Path,
    out: Path,
    models: Path | None,
    config: Path | None,
    seed: int | None,
) -> None:
    """Replay one strategy over every day of the store and write its exports into --out.

    Exits 1 (ReconcileError) when the llm replay differs from the recording on any day; the
    exports and reconcile.csv are written first.
    """
    from episodes.store import load_panel

    cfg = load_config(config, {"seed": seed} if seed is not None else None)
    chash = config_hash(cfg)
    with structlog.contextvars.bound_contextvars(
        config_hash=chash, seed=cfg.seed, strategy=strategy
    ):
        panel = load_panel(store)
        opts = {"models": models} if strategy in STRATEGY_NAMES else {}
        res = STRATEGIES[strategy](panel, cfg, **opts)
        extra = res.extra | {"config": config_to_dict(cfg), "config_hash": chash, "seed": cfg.seed}
        paths = export_run(out, res.run, extra, res.tables)
        nav = res.run.marks.nav
        final = float(nav[-1]) if len(nav) else res.run.initial_nav
        log.info("run_finished", days=len(res.run.dates), final_nav=final, out=str(out))
    click.echo(f"{res.line}; final NAV {final:.2f}")
    for p in paths.values():
        click.echo(str(p))
    if res.error is not None:
        raise res.error


COMMANDS: list[click.Command] = [replay]
