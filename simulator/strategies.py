"""The strategies `wfsim replay` runs (recorded LLM, event-loop strategies), the model wiring,
and what each hands to the exports."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import structlog

from agents.base import DecisionMaker
from agents.lstm import LSTMDecisionMaker
from agents.null import FlatDecisionMaker, RandomDecisionMaker
from agents.portfolio import PortfolioDecisionMaker
from episodes.account import RECORDED_ACCOUNT
from episodes.panel import Panel
from models.ic import mean_t
from simulator.config import RunConfig
from simulator.core.errors import ConfigError, ReconcileError, WfsimError
from simulator.core.hashing import plain
from simulator.kernels.records import HOLD, REASON_NAMES
from simulator.loop import RunResult, run_replay
from simulator.panel_map import take_rows
from simulator.reconcile import Mismatch, replay_decisions, replay_recorded
from simulator.runs import RunOutput
from simulator.strategy_names import STRATEGY_NAMES, rules_text

__all__ = [
    "COUNTERFACTUAL",
    "STRATEGIES",
    "rules_text",
    "strategies_for_account",
    "STRATEGY_NAMES",
    "StrategyRun",
    "model_predictor",
    "make_strategy",
    "replay_strategy",
    "run_output",
    "run_extra",
    "windows_table",
]

log = structlog.get_logger(__name__)


def model_predictor(panel: Panel, models: Path | Sequence[Path], cfg: RunConfig):
    """``models.serve.ModelPredictor`` for this run (imports torch: only when a model serves);
    for a sequence of registries (a seed ensemble), ``models.ensemble.EnsemblePredictor`` of one
    ModelPredictor each."""
    from models.ensemble import EnsemblePredictor
    from models.serve import ModelPredictor

    def one(path: Path) -> ModelPredictor:
        return ModelPredictor(panel, path, cfg.pretrain_config(), cfg.replay.predictions,
                              cfg.replay.universe)  # fmt: skip

    if isinstance(models, (str, Path)):
        return one(Path(models))
    return EnsemblePredictor([one(Path(m)) for m in models], list(models))


def make_strategy(name: str, cfg: RunConfig) -> DecisionMaker:
    """The decision maker called ``name`` with the run's decision and cost settings."""
    costs = {"fee_rate": cfg.replay.fee_rate, "margin_rate": cfg.replay.margin_rate}
    if name == "lstm":
        return LSTMDecisionMaker(cfg.decision_config(), **costs)
    if name == "random":
        return RandomDecisionMaker(cfg.decision_config(), cfg.seed, **costs)
    if name == "flat":
        return FlatDecisionMaker()
    if name == "lstm-portfolio":  # the weights of models pretrained with --model lstm-portfolio
        rebalance = cfg.model.portfolio.rebalance
        return PortfolioDecisionMaker(cfg.decision_config(), rebalance=rebalance, **costs)
    raise ConfigError("--strategy", "unknown strategy", got=name, expected=str(STRATEGY_NAMES))


def replay_strategy(
    name: str, panel: Panel, cfg: RunConfig, models: Path | Sequence[Path] | None = None
) -> RunResult:
    """``run_replay`` of strategy ``name`` (lstm needs ``models``, the registry directory, or a
    sequence of them: a seed ensemble)."""
    strategy = make_strategy(name, cfg)
    predictor = None
    if strategy.needs_predictions:
        if models is None:
            raise ConfigError("--models", f"strategy {name!r} needs pretrained models",
                              fix="pass --models DIR (from `wfsim pretrain`)")  # fmt: skip
        check_family(name, models)
        predictor = model_predictor(panel, models, cfg)
    return run_replay(panel, strategy, cfg, predictor=predictor)


def check_family(name: str, models: Path | Sequence[Path]) -> None:
    """Refuse models whose family another strategy serves (``models.config.FAMILY_STRATEGIES``):
    ``lstm-portfolio`` predicts weights of NAV, every other family returns; one traded as the
    other is a wrong replay, not an error the replay could see."""
    from models.config import FAMILY_STRATEGIES
    from models.registry import Registry

    for m in [models] if isinstance(models, (str, Path)) else models:
        family = Registry.load(Path(m)).info.get("model", {}).get("family", "lstm")
        want = FAMILY_STRATEGIES.get(family, "lstm")
        if want != name:
            raise ConfigError("--strategy", "the models are of a family another strategy serves",
                              models=str(m), family=family, got=name, expected=want)  # fmt: skip


def run_output(res: RunResult, panel: Panel) -> RunOutput:
    """The exportable view of a run (``simulator.results.export.export_run``)."""
    return RunOutput(res.strategy, res.days, res.dates, panel.tickers, res.fills, res.marks,
                     res.initial_nav, res.n_long, res.n_short)  # fmt: skip


def run_extra(res: RunResult, panel: Panel) -> dict[str, Any]:
    """Replay facts for summary.json: skipped days, sync closes, model swaps, prediction quality."""
    mean_ic, _, n_ic = mean_t(res.ic)
    return {
        "replay": {
            "first_day": int(res.days[0]) if len(res.days) else None,
            "skipped_days": res.skipped,
            "sync": dataclasses.asdict(res.sync),
            "stale_closes": [[str(panel.dates[d]), str(panel.tickers[k])] for d, k in res.stale],
            "model_swaps": res.model_swaps,
            "predictions": int(res.n_pred.sum()),
            "mean_ic": mean_ic if n_ic else None,
        }
    }


def windows_table(res: RunResult) -> pa.Table:
    """Per-window quality: serve dates, days, predictions, mean daily rank IC, sign hit rate
    (direction_accuracy), accuracy / precision / recall / F1 of the up class (pred > 0 vs
    realised > 0, ``models.evaluate.direction_metrics``), the run's return over the window (read
    by compare/report)."""
    from models.evaluate import direction_metrics

    names = (
        "window",
        "serve_start",
        "serve_end",
        "days",
        "predictions",
        "rank_ic",
        "direction_accuracy",
    )
    classes = ("accuracy", "precision", "recall", "f1")
    rows: dict[str, list] = {n: [] for n in (*names, *classes, "return")}
    nav = np.r_[res.initial_nav, res.marks.nav]
    for w in dict.fromkeys(res.window.tolist()):
        idx = np.flatnonzero(res.window == w)
        n_pred = int(res.n_pred[idx].sum())
        rows["window"].append(w or "-")
        rows["serve_start"].append(res.dates[idx[0]])
        rows["serve_end"].append(res.dates[idx[-1]])
        rows["days"].append(len(idx))
        rows["predictions"].append(n_pred)
        rows["rank_ic"].append(mean_t(res.ic[idx])[0])
        rows["direction_accuracy"].append(res.hits[idx].sum() / n_pred if n_pred else float("nan"))
        counts = (int(c) for c in res.direction[:, idx].sum(axis=1))
        for key, value in direction_metrics(*counts).items():
            rows[key].append(value)
        rows["return"].append(float(nav[idx[-1] + 1] / nav[idx[0]] - 1.0))
    rows["serve_start"] = np.array(rows["serve_start"], "datetime64[D]")
    rows["serve_end"] = np.array(rows["serve_end"], "datetime64[D]")
    return pa.table({n: pa.array(v) for n, v in rows.items()})


COUNTERFACTUAL = "llm[counterfactual]"
"""Run name of the recorded decisions executed under the config's account (summary.json)."""


def strategies_for_account(cfg: RunConfig) -> tuple[str, ...]:
    """``("llm-counterfactual",)`` when the config's account differs from the recording's rules
    (the llm baseline always replays under the latter), else nothing."""
    return () if cfg.replay.account == RECORDED_ACCOUNT else ("llm-counterfactual",)


class StrategyRun(NamedTuple):
    """What a strategy runner hands back: its run, extras, and an error raised after export."""

    run: RunOutput
    extra: dict[str, Any]  # added to summary.json
    tables: dict[str, pa.Table]  # extra CSV files written beside the exports (name -> table)
    error: WfsimError | None  # raised once everything is written (exit 1)
    line: str  # the one-line result printed on stdout


def exported_fills(fills: np.ndarray) -> np.ndarray:
    """The fill rows the exports read: every order but the holds of a ticker not held. A hold
    fills nothing and changes no book, so trades, the summary and the holdings (carried from each
    ticker's last row) are the same; the recorded replays hold every ticker of every day, most
    rows. Read chunk by chunk (``simulator.panel_map.take_rows``: a mapped buffer stays on disk)."""
    return take_rows(fills, _not_idle)


def _not_idle(f: np.ndarray) -> np.ndarray:
    return (f["action"] != HOLD) | (f["long_after"] != 0) | (f["short_after"] != 0)


def _run_llm(panel: Panel, cfg: RunConfig) -> StrategyRun:
    """The recorded LLM baseline, replayed exactly and reconciled day by day (shared README §5).

    Always under the recording's rules (``RECORDED_ACCOUNT``), whatever ``replay`` says: only
    they can reconcile. When the config's account differs, summary.json says so.
    """
    res = replay_recorded(panel)
    run = RunOutput("llm", np.arange(panel.n_days), panel.dates, panel.tickers,
                    exported_fills(res.fills), res.marks, res.initial_nav, res.n_long,
                    res.n_short)  # fmt: skip
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
                    exported_fills(res.fills), res.marks, res.initial_nav, res.n_long,
                    res.n_short)  # fmt: skip
    f = run.fills[run.fills["action"] != HOLD]
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
    fees = float(f["fee"].sum())  # holds pay no fee
    line = (f"{COUNTERFACTUAL}: {panel.n_days} days under {rules_text(rules)} (not reconciled);"
            f" fees {fees:.2f}, {reasons.get('cap-rejected', 0)} cap-rejected")  # fmt: skip
    return StrategyRun(run, extra, {}, None, line)


def _replay_runner(name: str) -> Callable[..., StrategyRun]:
    """Runner of a simulated strategy (lstm, random, flat) on the event loop (simulator.loop)."""

    def run(
        panel: Panel, cfg: RunConfig, models: Path | Sequence[Path] | None = None
    ) -> StrategyRun:
        res = replay_strategy(name, panel, cfg, models)
        n_fills = int((res.fills["qty"] > 0).sum())
        line = f"{name}: {len(res.days)} days, {n_fills} fills, {res.sync.n_closes} sync closes"
        tables = {"windows.csv": windows_table(res)}
        extra = run_extra(res, panel)
        if models is not None and not isinstance(models, (str, Path)) and name == "lstm":
            extra["ensemble"] = {"members": [str(m) for m in models], "n": len(models)}
        return StrategyRun(run_output(res, panel), extra, tables, None, line)

    return run


STRATEGIES: dict[str, Callable[..., StrategyRun]] = {
    "llm": _run_llm,
    "llm-counterfactual": _run_llm_counterfactual,
    **{name: _replay_runner(name) for name in STRATEGY_NAMES},
}
"""Strategy name -> runner(panel, cfg[, models]). Every runner's output goes through the same
exports. lstm, random and flat start at the first serving day (``windows.initial``)."""
