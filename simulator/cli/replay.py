"""`wfsim replay`: run one strategy over a store's days and write its exports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import click
import numpy as np
import pyarrow as pa
import structlog

from episodes.account import RECORDED_ACCOUNT, AccountRules
from episodes.panel import Panel
from simulator.cli.options import config_option, seed_option, store_option
from simulator.config import RunConfig, config_hash, config_to_dict, load_config
from simulator.core.errors import ReconcileError, WfsimError
from simulator.core.hashing import plain
from simulator.kernels.records import HOLD, REASON_NAMES
from simulator.reconcile import Mismatch, replay_decisions, replay_recorded
from simulator.results.export import export_run, write_csv
from simulator.runs import RunOutput
from simulator.strategies import (
    STRATEGY_NAMES,
    replay_strategy,
    run_extra,
    run_output,
    windows_table,
)

__all__ = ["COMMANDS", "COUNTERFACTUAL", "STRATEGIES", "StrategyRun", "replay"]

log = structlog.get_logger(__name__)

COUNTERFACTUAL = "llm[counterfactual]"
"""Run name of the recorded decisions executed under the config's account (summary.json)."""


class StrategyRun(NamedTuple):
    """What a strategy runner hands back: its run, extras, and an error raised after export."""

    run: RunOutput
    extra: dict[str, Any]  # added to summary.json
    tables: dict[str, pa.Table]  # extra CSV files written beside the exports (name -> table)
    error: WfsimError | None  # raised once everything is written (exit 1)
    line: str  # the one-line result printed on stdout


def _run_llm(panel: Panel, cfg: RunConfig) -> StrategyRun:
    """The recorded LLM baseline, replayed exactly and reconciled day by day (shared README §5).

    Always under the recording's rules (``RECORDED_ACCOUNT``), whatever ``replay`` says: only
    they can reconcile. When the config's account differs, summary.json says so.
    """
    res = replay_recorded(panel)
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
    extra: dict[str, Any] = {"reconcile": {"days": T, "days_ok": n_ok, "mismatches": len(mm)}}
    line = f"llm: reconciled {n_ok}/{T} days, {len(mm)} mismatches"
    if cfg.replay.account != RECORDED_ACCOUNT:  # the default config's summary stays as it was
        extra["account"] = plain(RECORDED_ACCOUNT)
        extra["account_note"] = (
            "replayed under the recording's rules, not the config's replay section; "
            "see --strategy llm-counterfactual"
        )
        line += " (under the recording's account rules, not the config's)"
    return StrategyRun(run, extra, {"reconcile.csv": table}, error, line)


def _run_llm_counterfactual(panel: Panel, cfg: RunConfig) -> StrategyRun:
    """The recorded decisions executed under the config's account (``replay.fee_rate``,
    ``margin_rate``, ``max_positions``) by the same books: a counterfactual, never reconciled.

    It starts from the recorded first book (the decisions are share counts sized for it), so
    ``replay.initial_cash``, ``bond_sleeve`` and ``sync`` do not apply. Orders the books clip or
    reject (a lower cap, less cash) are in trades.csv with their reason; summary.json counts them.
    """
    rules = cfg.replay.account
    res = replay_decisions(panel, rules)
    run = RunOutput(COUNTERFACTUAL, np.arange(panel.n_days), panel.dates, panel.tickers,
                    res.fills, res.marks, res.initial_nav, res.n_long, res.n_short)  # fmt: skip
    f = res.fills[res.fills["action"] != HOLD]
    reasons = {REASON_NAMES[r]: int((f["reason"] == r).sum()) for r in np.unique(f["reason"])}
    extra = {
        "counterfactual": {
            "account": plain(rules),
            "recorded_account": plain(RECORDED_ACCOUNT),
            "reconciled": False,
            "orders_by_reason": reasons,
            "note": "the recorded LLM decisions executed under this account; not the recording",
        }
    }
    fees = float(res.fills["fee"].sum())
    line = (f"{COUNTERFACTUAL}: {panel.n_days} days under {_rules_text(rules)} (not reconciled);"
            f" fees {fees:.2f}, {reasons.get('cap-rejected', 0)} cap-rejected")  # fmt: skip
    return StrategyRun(run, extra, {}, None, line)


def _replay_runner(name: str) -> Callable[..., StrategyRun]:
    """Runner of a simulated strategy (lstm, random, flat) on the event loop (simulator.loop)."""

    def run(panel: Panel, cfg: RunConfig, models: Path | None = None) -> StrategyRun:
        res = replay_strategy(name, panel, cfg, models)
        n_fills = int((res.fills["qty"] > 0).sum())
        line = f"{name}: {len(res.days)} days, {n_fills} fills, {res.sync.n_closes} sync closes"
        tables = {"windows.csv": windows_table(res)}
        return StrategyRun(run_output(res, panel), run_extra(res, panel), tables, None, line)

    return run


def _rules_text(rules: AccountRules) -> str:
    return (f"fee_rate={rules.fee_rate}, margin_rate={rules.margin_rate}, "
            f"max_positions={rules.max_positions}")  # fmt: skip


STRATEGIES: dict[str, Callable[..., StrategyRun]] = {
    "llm": _run_llm,
    "llm-counterfactual": _run_llm_counterfactual,
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
    help="llm: the recorded decisions, replayed exactly under the recording's account rules "
    f"({_rules_text(RECORDED_ACCOUNT)}) and reconciled with the recording. "
    "llm-counterfactual: the same decisions under the config's "
    "replay.fee_rate/margin_rate/max_positions, run name "
    "llm[counterfactual], never reconciled. lstm: the pretrained models' predictions (needs "
    "--models); random: the same rule on seeded random predictions; flat: cash only.",
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

    \b
    Example: the recorded decisions at 10 bp with at most 20 stock positions; c.yaml holds
      replay: {fee_rate: 0.001, max_positions: 20}
      decision: {max_positions: 20}
    wfsim replay --strategy llm --store S --out runs/llm --config c.yaml
    wfsim replay --strategy llm-counterfactual --store S --out runs/llm-cf --config c.yaml
    The first still reconciles (recording's rules); the second shows the higher fees.
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
        paths = export_run(out, res.run, extra)
        for name, table in res.tables.items():
            paths[name] = write_csv(Path(out) / name, table)
        nav = res.run.marks.nav
        final = float(nav[-1]) if len(nav) else res.run.initial_nav
        log.info("run_finished", days=len(res.run.dates), final_nav=final, out=str(out))
    click.echo(f"{res.line}; final NAV {final:.2f}")
    for p in paths.values():
        click.echo(str(p))
    if res.error is not None:
        raise res.error


COMMANDS: list[click.Command] = [replay]
