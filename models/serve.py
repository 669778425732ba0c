"""Serving pretrained walk-forward models to a replay: day t's predictions, live or saved."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import structlog

from episodes.panel import Panel, slice_panel
from episodes.panel_io import read_parquet
from models.config import FeatureConfig, PretrainConfig
from models.feature_file import build_feature_file, spill_needed
from models.features import FeatureSet, block_days, build_features, feature_names
from models.freshness import code_hash, last_done, panel_hash, read_stamp, stamp_of, write_stamp
from models.infoset import CONSENSUS, InfoSet, ServingUniverse, has_data
from models.manager import WalkForwardModelManager
from models.mapped import is_mapped, release, release_fields
from models.pretrain import PretrainData, pretrain_sections, window_data_hash
from models.registry import WindowEntry, sections_hash
from simulator.core.errors import RegistryError
from simulator.core.hashing import sha256_file

__all__ = [
    "PREDICTIONS",
    "RELEASE_DAYS",
    "ModelPredictor",
    "served_predictions",
    "serving_features",
]

log = structlog.get_logger(__name__)

RELEASE_DAYS = 16  # live serving hands a spilled x's resident pages back every this many days


class ModelPredictor:
    """Predictions from pretrained walk-forward models for day t: ``(k_idx int32, pred float64)``.

    Wires ``models.features.build_features(panel, cfg.features)`` to the registry in
    ``models_dir``. The points of day t are its prediction points (``fs.sample[t]``, the
    consensus tickers), each model used only on the days it serves (``LookaheadError``
    otherwise). ``mode`` (the run's ``replay.predictions``) picks the source:

    * ``live``: ``WalkForwardModelManager.predict(t, fs)``, one batched forward per day.
    * ``saved``: the window's ``predictions.parquet`` that pretrain wrote with one batched
      forward over all its serve days (``models.pretrain.serve_predictions``), read once when the
      window first serves a day. A row of that batch depends only on its own inputs (each
      sequence is computed independently), so no later day moves day t; it equals the live
      value up to float rounding (the batch shape differs). A window is served live instead,
      with a warning, when its file is missing (``predictions_missing``) or its registry entry
      is stale for this store or config (``predictions_stale``: config or data hash differs).

    ``universe`` (the run's ``replay.universe``, ``models.infoset.ServingUniverse``): with
    ``eligible`` the points of day t are the whole screened universe with data, and every window is
    served live (``predictions_live_universe`` is logged once): the saved files hold only the
    consensus points the window was scored on. The model is the same; only the points differ.

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

    def __init__(
        self,
        panel: Panel,
        models_dir: Path,
        cfg: PretrainConfig,
        mode: str,
        universe: str | ServingUniverse = CONSENSUS,
    ) -> None:
        self._threads = cfg.train.torch_threads
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
        self._panel, self._features = panel, cfg.features
        self._fs: FeatureSet | None = None  # built on first use (live serving, no valid stamp)
        self._serve_fs: FeatureSet | None = None
        self.tickers = [str(x) for x in panel.tickers]
        self.mode = mode
        self.universe = ServingUniverse.resolve(universe)
        info, known = InfoSet.resolve(cfg.features.info_set), has_data(panel)
        self._points = info.prediction_points(panel, known)  # = fs.sample, without the features
        self._serve_points = self.universe.points(info, panel, known)
        if self.universe.breadth and mode == "saved":  # saved files hold the consensus points
            log.warning("predictions_live_universe", universe=self.universe.name,
                        serving="live", reason="saved predictions cover the consensus "
                        "tickers only")  # fmt: skip
            self.mode = "live"
        self.dates = panel.dates.astype("datetime64[D]")
        self.manager.check_dates(self.dates)  # day indices mean the registry's dates
        self._config_hash = want
        self._saved: dict[str, _Saved | None] = {}  # window id -> its saved points; None: live
        self._prefix: int | None = None  # days [0, n) whose data one hash vouched for

    @property
    def fs(self) -> FeatureSet:
        """``build_features(panel, cfg.features)``, built on first use: a replay whose every
        window serves fresh saved predictions (verified by the stamp) never builds them."""
        if self._fs is None:
            self._fs = serving_features(self._panel, self._features)
        return self._fs

    def _data(self) -> PretrainData:
        return PretrainData(self.fs, self.tickers, self.dates)

    def __call__(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "saved":
            saved = self._saved_window(self.manager.window_for(t))
            if saved is not None:
                return saved.day(t, np.flatnonzero(self._points[t]), self.dates[t])
        if self._threads is not None:  # torch only on the live path (saved: no torch import)
            import torch

            torch.set_num_threads(self._threads)
            self._threads = None
        if self._serve_fs is None:  # breadth: the features with the universe's points
            fs = self.fs
            self._serve_fs = (
                dataclasses.replace(fs, sample=self._serve_points) if self.universe.breadth else fs
            )
        if t % RELEASE_DAYS == 0:  # a spilled x: the pages of days served so far go back
            release(self._serve_fs.x)
        k, pred = self.manager.predict(t, self._serve_fs, self.tickers)
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
        if e.config_hash != self._config_hash:
            return False
        if self._prefix is None:
            self._prefix = self._verified_prefix()
        if e.serve[1] <= self._prefix:
            return True
        return window_data_hash(self._data(), e.serve[1]) == e.data_hash

    def _verified_prefix(self) -> int:
        """Days ``[0, n)`` whose features hash to the registry's: ``n`` is the end of the last
        done window's serve days when its data hash matches, else 0. Read from the registry's
        stamp (``models.freshness``) when it vouches for this Panel, code and entry; otherwise
        the features are built and hashed, and a match is stamped for the next replay."""
        last = last_done(self.manager.registry.entries, len(self.dates))
        if last is None:
            return 0
        root, code = self.manager.registry.root, code_hash()
        want = stamp_of(code, panel_hash(self._panel), self._config_hash, last)
        if code and {k: v for k, v in read_stamp(root).items() if k != "format"} == want:
            log.debug("predictions_verified", source="stamp", stop=last.serve[1])
            return last.serve[1]
        if window_data_hash(self._data(), last.serve[1]) != last.data_hash:
            return 0
        if code:
            write_stamp(root, want)
        return last.serve[1]


def served_predictions(
    panel: Panel, models_dir: Path, cfg: PretrainConfig, universe: str | ServingUniverse
) -> dict[str, np.ndarray]:
    """What a replay under ``replay.universe = universe`` is given, for scoring: every day a done
    window of ``models_dir`` serves, in day order, its live predictions on the universe's points
    (``ModelPredictor`` in mode ``live``: the same model, points and guard as the replay).

    Returns ``t`` (int64), ``k`` (int64, the store's ticker index), ``pred`` (float64) and ``y``
    (float64: ``fs.y``, the raw forward return open(t) -> open(t+h), NaN when unknown), one entry
    per served (day, ticker). A window's registry predictions cover the consensus points it was
    scored on; under ``eligible`` these cover the whole screened universe the replay trades.
    """
    predictor = ModelPredictor(panel, models_dir, cfg, "live", universe)
    ts, ks, ps = [], [], []
    for e in predictor.manager.registry.entries:
        if e.status != "done":
            continue
        for t in range(e.serve[0], min(e.serve[1], panel.n_days)):
            k, pred = predictor(t)
            ts.append(np.full(len(k), t, np.int64))
            ks.append(k.astype(np.int64))
            ps.append(pred)
    if not ts:
        raise RegistryError(str(models_dir), "no done window serves a day of this store",
                            days=panel.n_days, fix="pretrain first")  # fmt: skip
    t, k = np.concatenate(ts), np.concatenate(ks)
    y = np.asarray(predictor.fs.y[t, k], dtype=np.float64)
    log.info("served_predictions", models=str(models_dir), universe=predictor.universe.name,
             days=len(np.unique(t)), points=len(t))  # fmt: skip
    return {"t": t, "k": k, "pred": np.concatenate(ps), "y": y}


def serving_features(panel: Panel, cfg: FeatureConfig) -> FeatureSet:
    """``build_features(panel, cfg)``, in memory, or spilled when that would exceed the budget
    ``cfg.memory_mb`` (``models.feature_file.spill_needed``, as pretrain decides): built block by
    block from day slices of the Panel (a mapped Panel's pages handed back before each block)
    into a temporary file that is removed as soon as it is mapped (the mapping keeps its pages
    until ``x`` is dropped; nothing is left behind). Beside a mapped Panel's file when there is
    one (``simulator.panel_map``), else in the system's temporary directory. Same values."""
    if not spill_needed(cfg, panel.n_days, panel.n_tickers):
        return build_features(panel, cfg)
    name = getattr(panel.close, "filename", None)
    where = Path(name).parent if is_mapped(panel.close) and name else None
    tmp = Path(tempfile.mkdtemp(prefix=".wfsim-features-", dir=where))

    def block(days: range) -> Panel:
        release_fields(panel)  # the Panel's pages read for the previous block
        return slice_panel(panel, days)

    # a replay holds its own working set beside the build (the Panel's pages, the run's records):
    # the build's blocks get a quarter of the budget (pretrain gives them all of it)
    step = block_days(max(cfg.memory_mb // 8, 1), panel.n_tickers, len(feature_names(cfg)),
                      panel.n_days)  # fmt: skip
    try:
        fs = build_feature_file(
            block, panel.n_days, panel.n_tickers, cfg, tmp / "x.f32", block=step
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("features_spilled", days=panel.n_days, tickers=panel.n_tickers, mb=cfg.memory_mb)
    return fs


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
        want = e.files.get(PREDICTIONS)
        if want and (got := sha256_file(path)) != want:
            raise _abort(RegistryError(str(path), "predictions file differs from the registry",
                                       window=e.id, sha256=got[:16], registry=want[:16],
                                       fix=_FIX))  # fmt: skip
        table = read_parquet(path, ["t", "ticker", "pred"])
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
