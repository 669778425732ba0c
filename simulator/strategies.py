"""The strategies `wfsim replay` runs on the event loop, the model wiring, and their exports."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from agents.base import DecisionMaker
from agents.lstm import LSTMDecisionMaker
from agents.null import FlatDecisionMaker, RandomDecisionMaker
from episodes.panel import Panel
from simulator.config import RunConfig
from simulator.errors import ConfigError, RegistryError
from simulator.export import RunOutput
from simulator.loop import RunResult, run_replay

if TYPE_CHECKING:
    from models.registry import WindowEntry

__all__ = [
    "STRATEGY_NAMES",
    "ModelPredictor",
    "make_strategy",
    "replay_strategy",
    "run_output",
    "run_extra",
    "windows_table",
]

log = structlog.get_logger(__name__)


class ModelPredictor:
    """Predictions from pretrained walk-forward models for day t: ``(k_idx int32, pred float64)``.

    Wires ``models.features.build_features(panel, cfg.features)`` to the registry in
    ``models_dir``. The points of day t are its prediction points (``fs.sample[t]``, the
    consensus tickers), each model used only on the days it serves (``LookaheadError``
    otherwise). ``cfg.replay.predictions`` picks the source:

    * ``live``: ``WalkForwardModelManager.predict(t, fs)``, one batched forward per day.
    * ``saved``: the window's ``predictions.parquet`` that pretrain wrote with one batched
      forward over all its serve days (``models.pretrain.serve_predictions``), read once when the
      window first serves a day. A row of that batch depends only on its own inputs (each
      sequence is computed independently), so no later day moves day t; it equals the live
      value up to float rounding (the batch shape differs). A window is served live instead,
      with a warning, when its file is missing (``predictions_missing``) or its registry entry
      is stale for this store or config (``predictions_stale``: config or data hash differs).

    Any model family serves (``models.families``). A registry of a family other than the
    pre-family ``lstm`` records its model section (``registry.json`` ``model``); a replay whose
    ``model`` section is the default one adopts it, so ``--strategy lstm --models DIR`` serves a
    ``ridge`` or ``gbm`` directory too; a replay config with its own ``model`` section must match.

    Raises
    ------
    RegistryError
        The registry was pretrained with other feature/window/model/train settings; or (saved) a
        window's file differs from its recorded sha256, or its points of day t differ from the
        day's prediction points. These two carry ``abort = True``: the replay stops instead of
        skipping the day.
    """

    def __init__(self, panel: Panel, models_dir: Path, cfg: RunConfig) -> None:
        import torch

        from models.features import build_features
        from models.manager import WalkForwardModelManager
        from models.pretrain import PretrainData, pretrain_sections
        from models.registry import sections_hash

        torch.set_num_threads(cfg.train.torch_threads)
        self.manager = WalkForwardModelManager(Path(models_dir))
        info = self.manager.registry.info
        sections = pretrain_sections(cfg) | {"seed": info.get("seed", cfg.seed)}
        if "model" in info and cfg.model == type(cfg.model)():  # the registry's family serves
            sections["model"] = info["model"]
        want = sections_hash(sections)
        if info.get("config_hash") != want:
            raise RegistryError(str(self.manager.registry.path),
                                "models were pretrained with other settings",
                                registry=info.get("config_hash"), replay=want,
                                fix="replay with the --config used for pretrain")  # fmt: skip
        self.fs = build_features(panel, cfg.features)
        self.tickers = [str(x) for x in panel.tickers]
        self.mode = cfg.replay.predictions
        self.dates = panel.dates.astype("datetime64[D]")
        self._data = PretrainData(self.fs, self.tickers, self.dates)
        self._config_hash = want
        self._saved: dict[str, _Saved | None] = {}  # window id -> its saved points; None: live
        self._prefix: int | None = None  # days [0, n) whose data one hash vouched for

    def __call__(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "saved":
            saved = self._saved_window(self.manager.window_for(t))
            if saved is not None:
                return saved.day(t, np.flatnonzero(self.fs.sample[t]), self.dates[t])
        k, pred = self.manager.predict(t, self.fs, self.tickers)
        return k.astype(np.int32), pred.astype(np.float64)

    def window_of(self, t: int) -> str:
        try:
            return self.manager.window_for(t).id
        except RegistryError:
            return ""

    def _saved_window(self, e: WindowEntry) -> _Saved | None:
        """Window e's saved points (read and checked once), or None to serve it live."""
        if e.id in self._saved:
            return self._saved[e.id]
        path = self.manager.registry.root / e.path / PREDICTIONS
        saved = None
        if not path.is_file():
            log.warning("predictions_missing", window=e.id, path=str(path), serving="live")
        elif not self._fresh(e):
            log.warning("predictions_stale", window=e.id, path=str(path), serving="live",
                        fix="re-pretrain on this store to serve saved predictions")  # fmt: skip
        else:
            saved = _Saved.read(path, e, self.tickers)
        self._saved[e.id] = saved
        return saved

    def _fresh(self, e: WindowEntry) -> bool:
        """Whether entry e was pretrained with this config on this store's data: its config hash
        and its data hash (``models.pretrain.window_data_hash``, the one plan_windows records).

        A registry's done entries share one data snapshot (``merge_plan`` keeps an entry only when
        it matches the latest plan), so one hash of the longest servable prefix vouches for every
        window ending within it; only when it differs is each window hashed on its own.
        """
        from models.pretrain import window_data_hash

        if e.config_hash != self._config_hash:
            return False
        if self._prefix is None:
            n = len(self.dates)
            done = [x for x in self.manager.registry.entries if x.status == "done"]
            last = max((x for x in done if x.serve[1] <= n), key=lambda x: x.serve[1], default=None)
            ok = last is not None and window_data_hash(self._data, last.serve[1]) == last.data_hash
            self._prefix = last.serve[1] if ok else 0
        return e.serve[1] <= self._prefix or window_data_hash(self._data, e.serve[1]) == e.data_hash


PREDICTIONS = "predictions.parquet"
_FIX = "rerun with replay.predictions: live, or re-pretrain the window (wfsim pretrain --force)"


def _abort(err: RegistryError) -> RegistryError:
    """Mark a corrupt-artifact error so that ``run_replay`` stops instead of skipping the day."""
    err.abort = True  # type: ignore[attr-defined]
    return err


@dataclass(frozen=True, eq=False)
class _Saved:
    """One window's saved points: day ``t``, ticker index ``k`` (-1: not in this store) and name,
    ``pred`` (float32), sorted by day (stable: the file's order within a day is kept)."""

    window: str
    path: Path
    t: np.ndarray
    k: np.ndarray
    names: np.ndarray
    pred: np.ndarray
    tickers: list[str]  # the store's ticker axis

    @classmethod
    def read(cls, path: Path, e: WindowEntry, tickers: list[str]) -> _Saved:
        from models.registry import sha256_file

        want = e.files.get(PREDICTIONS)
        if want and (got := sha256_file(path)) != want:
            raise _abort(RegistryError(str(path), "predictions file differs from the registry",
                                       window=e.id, sha256=got[:16], registry=want[:16],
                                       fix=_FIX))  # fmt: skip
        table = pq.read_table(path, columns=["t", "ticker", "pred"])
        t = table.column("t").to_numpy().astype(np.int64)
        order = np.argsort(t, kind="stable")
        names = np.asarray(table.column("ticker").to_pylist(), dtype=object)[order]
        pos = {name: k for k, name in enumerate(tickers)}
        k = np.fromiter((pos.get(n, -1) for n in names), dtype=np.int64, count=len(names))
        pred = table.column("pred").to_numpy().astype(np.float32)[order]
        log.debug("predictions_loaded", window=e.id, rows=len(t))
        return cls(e.id, path, t[order], k, names, pred, tickers)

    def day(self, t: int, live_k: np.ndarray, date: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
        """Day t's (k_idx, pred); RegistryError unless k_idx is exactly ``live_k`` (same order)."""
        lo, hi = np.searchsorted(self.t, [t, t + 1])
        k = self.k[lo:hi]
        if not np.array_equal(k, live_k):
            lost = [str(self.tickers[x]) for x in np.setdiff1d(live_k, k)]
            extra = [str(n) for n, x in zip(self.names[lo:hi], k, strict=True) if x not in live_k]
            raise _abort(RegistryError(str(self.path),
                                       "saved tickers differ from the day's prediction points",
                                       window=self.window, date=str(date), saved=len(k),
                                       live=len(live_k), missing=lost[:5], extra=extra[:5],
                                       fix=_FIX))  # fmt: skip
        return k.astype(np.int32), self.pred[lo:hi].astype(np.float64)


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
        predictor = ModelPredictor(panel, models, cfg)
    return run_replay(panel, strategy, cfg, predictor=predictor)


def run_output(res: RunResult, panel: Panel) -> RunOutput:
    """The exportable view of a run (``simulator.export.export_run``)."""
    return RunOutput(res.strategy, res.days, res.dates, panel.tickers, res.fills, res.marks,
                     res.initial_nav, res.n_long, res.n_short)  # fmt: skip


def run_extra(res: RunResult, panel: Panel) -> dict[str, Any]:
    """Replay facts for summary.json: skipped days, sync closes, model swaps, prediction quality."""
    ic = res.ic[np.isfinite(res.ic)]
    return {
        "replay": {
            "first_day": int(res.days[0]) if len(res.days) else None,
            "skipped_days": res.skipped,
            "sync": dataclasses.asdict(res.sync),
            "stale_closes": [[str(panel.dates[d]), str(panel.tickers[k])] for d, k in res.stale],
            "model_swaps": res.model_swaps,
            "predictions": int(res.n_pred.sum()),
            "mean_ic": float(ic.mean()) if len(ic) else None,
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
        n_pred, ic = int(res.n_pred[idx].sum()), res.ic[idx]
        ic = ic[np.isfinite(ic)]
        rows["window"].append(w or "-")
        rows["serve_start"].append(res.dates[idx[0]])
        rows["serve_end"].append(res.dates[idx[-1]])
        rows["days"].append(len(idx))
        rows["predictions"].append(n_pred)
        rows["rank_ic"].append(float(ic.mean()) if len(ic) else float("nan"))
        rows["direction_accuracy"].append(res.hits[idx].sum() / n_pred if n_pred else float("nan"))
        rows["return"].append(float(nav[idx[-1] + 1] / nav[idx[0]] - 1.0))
    rows["serve_start"] = np.array(rows["serve_start"], "datetime64[D]")
    rows["serve_end"] = np.array(rows["serve_end"], "datetime64[D]")
    return pa.table({n: pa.array(v) for n, v in rows.items()})
