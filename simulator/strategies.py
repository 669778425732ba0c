"""The strategies `wfsim replay` runs on the event loop, the model wiring, and their exports."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import structlog

from agents.base import DecisionMaker
from agents.lstm import LSTMDecisionMaker
from agents.null import FlatDecisionMaker, RandomDecisionMaker
from episodes.panel import Panel
from models.ic import mean_t
from simulator.config import RunConfig
from simulator.core.errors import ConfigError
from simulator.loop import RunResult, run_replay
from simulator.runs import RunOutput

__all__ = [
    "STRATEGY_NAMES",
    "model_predictor",
    "make_strategy",
    "replay_strategy",
    "run_output",
    "run_extra",
    "windows_table",
]

log = structlog.get_logger(__name__)


def model_predictor(panel: Panel, models: Path, cfg: RunConfig):
    """``models.serve.ModelPredictor`` for this run (imports torch: only when a model serves)."""
    from models.serve import ModelPredictor

    return ModelPredictor(panel, models, cfg.pretrain_config(), cfg.replay.predictions)


STRATEGY_NAMES = ("lstm", "random", "flat")


def make_strategy(name: str, cfg: RunConfig) -> DecisionMaker:
    """The decision maker called ``name`` with the run's decision and cost settings."""
    costs = {"fee_rate": cfg.replay.fee_rate, "margin_rate": cfg.replay.margin_rate}
    if name == "lstm":
        return LSTMDecisionMaker(cfg.decision, **costs)
    if name == "random":
        return RandomDecisionMaker(cfg.decision, cfg.seed, **costs)
    if name == "flat":
        return FlatDecisionMaker()
    raise ConfigError("--strategy", "unknown strategy", got=name, expected=str(STRATEGY_NAMES))


def replay_strategy(
    name: str, panel: Panel, cfg: RunConfig, models: Path | None = None
) -> RunResult:
    """``run_replay`` of strategy ``name`` (lstm needs ``models``, the registry directory)."""
    strategy = make_strategy(name, cfg)
    predictor = None
    if strategy.needs_predictions:
        if models is None:
            raise ConfigError("--models", f"strategy {name!r} needs pretrained models",
                              fix="pass --models DIR (from `wfsim pretrain`)")  # fmt: skip
        predictor = model_predictor(panel, models, cfg)
    return run_replay(panel, strategy, cfg, predictor=predictor)


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
    (direction_accuracy), the run's return over the window (read by compare/report)."""
    names = (
        "window",
        "serve_start",
        "serve_end",
        "days",
        "predictions",
        "rank_ic",
        "direction_accuracy",
    )
    rows: dict[str, list] = {n: [] for n in (*names, "return")}
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
        rows["return"].append(float(nav[idx[-1] + 1] / nav[idx[0]] - 1.0))
    rows["serve_start"] = np.array(rows["serve_start"], "datetime64[D]")
    rows["serve_end"] = np.array(rows["serve_end"], "datetime64[D]")
    return pa.table({n: pa.array(v) for n, v in rows.items()})
