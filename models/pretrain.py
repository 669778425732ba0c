"""Walk-forward pretraining: plan the windows, train the missing ones (local or Ray), record them.

One window = one task: fit (family ``cfg.model.family``, ``models.families``), predict its serve
days in one batch, score them (``oos_metrics``). The driver alone writes artifacts, in plan order
of completion, so every backend leaves the same registry. With ``train.warm_start`` (lstm) window
k starts from window k-1's weights: the windows form a chain (Ray: each task receives the
previous task's ObjectRef).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import structlog

from episodes.panel import Panel
from models.config import PretrainConfig
from models.evaluate import oos_metrics
from models.families import Predictor, fit_view, get_family, model_section
from models.feature_file import open_spilled, spill_file
from models.features import FeatureSet, build_features
from models.freshness import code_hash, last_done, panel_hash, read_stamp, stamp_of, write_stamp
from models.registry import (
    Registry,
    WindowEntry,
    data_hash,
    sections_hash,
    window_seed,
    write_window,
)
from models.windows import Window, from_config
from simulator.core import progress
from simulator.core.errors import ConfigError, RegistryError
from simulator.core.locks import os_errors, writer_lock

__all__ = [
    "PretrainData",
    "prepare",
    "WindowOutput",
    "PretrainResult",
    "plan_windows",
    "window_data_hash",
    "serve_predictions",
    "run_window",
    "pretrain",
    "Planned",
    "plan_registry",
]

log = structlog.get_logger(__name__)

BACKENDS = ("local", "ray")
LOCK_FILE = ".lock"  # the models directory's writer lock (simulator.core.locks)


class PretrainData(NamedTuple):
    """Prepared inputs (what ``pretrain`` builds from a store): features, ticker names, dates."""

    fs: FeatureSet
    tickers: list[str]
    dates: np.ndarray  # [T] datetime64[D]
    panel: str | None = None  # models.freshness.panel_hash of the Panel they came from


@dataclass(frozen=True, eq=False)
class WindowOutput:
    """What one window task returns to the driver (plain, picklable data)."""

    window: str
    checkpoint: dict[str, Any]  # the family's artifact (lstm: ModelBundle.to_checkpoint())
    predictions: pd.DataFrame  # t, date, ticker, pred, y on the serve days
    metrics: dict[str, Any]  # val + oos
    elapsed_s: float


@dataclass(frozen=True)
class PretrainResult:
    """Outcome of ``pretrain``: the registry path, its entries, and which windows were trained."""

    registry_path: Path
    entries: tuple[WindowEntry, ...]
    trained: tuple[str, ...]
    skipped: tuple[str, ...]
    elapsed_s: float


def _iso(dates: np.ndarray, r: range) -> tuple[str, str]:
    return (str(dates[r.start]), str(dates[r.stop - 1])) if len(r) else ("", "")


def pretrain_sections(cfg: PretrainConfig) -> dict[str, Any]:
    """The config sections a window's model depends on (hashed into ``config_hash``)."""
    return {
        "seed": cfg.seed,
        "features": cfg.features,
        "windows": cfg.windows,
        "model": model_section(cfg.model),
        "train": cfg.train,
    }


def plan_windows(data: PretrainData, cfg: PretrainConfig) -> list[tuple[Window, WindowEntry]]:
    """Every window of the store with its registry entry (status ``planned``).

    The data hash of a window covers the days ``[0, serve.stop)`` of the feature set (features,
    masks, targets, label ends), the dates and the ticker and feature names: appending episodes
    leaves the earlier windows valid.
    """
    from models.train import split_window  # torch: planning is part of training

    chash = sections_hash(pretrain_sections(cfg))
    out = []
    fs, dates = data.fs, np.asarray(data.dates).astype("datetime64[D]")
    for w in from_config(cfg.windows).split(len(dates)):
        split = split_window(w, fs, cfg.train.val_frac)
        tr, va = split.day_range("train"), split.day_range("val")
        dh = window_data_hash(data, w.serve.stop)
        entry = WindowEntry(
            id=w.id,
            train=(tr.start, tr.stop),
            val=(va.start, va.stop),
            serve=(w.serve.start, w.serve.stop),
            train_dates=_iso(dates, tr),
            val_dates=_iso(dates, va),
            serve_dates=_iso(dates, w.serve),
            label_end_max=int(fs.label_end[va.stop - 1]),
            seed=window_seed(cfg.seed, w.id),
            data_hash=dh,
            config_hash=chash,
        )
        out.append((w, entry))
    return out


def window_data_hash(data: PretrainData, stop: int) -> str:
    """The data hash of a window serving up to day ``stop`` (exclusive): the days ``[0, stop)`` of
    the features, masks, targets and label ends, the dates, the feature and ticker names."""
    fs, dates = data.fs, np.asarray(data.dates).astype("datetime64[D]").astype(np.int64)
    arrays = (fs.x, fs.has_data, fs.sample, fs.y, fs.label_end, dates)
    return data_hash([a[:stop] for a in arrays], (*fs.names, "|", *data.tickers))


def serve_predictions(
    model: Predictor, serve: range, fs: FeatureSet, tickers: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t, k, pred)`` of every prediction point (``fs.sample``) of the days ``serve``, rows in
    (t, k) order, one batched call: what a window's ``predictions.parquet`` holds."""
    tt, kk = np.nonzero(fs.sample[serve.start : serve.stop])
    tt = tt + serve.start
    return tt, kk, model.predict(fs, tt, kk, tickers)


def warm_start(cfg: Any) -> bool:
    """Whether window k starts from window k-1 (``train.warm_start`` and a family that can)."""
    return bool(cfg.train.warm_start and get_family(cfg.model.family).warm_start)


def run_window(
    window: Window,
    fs: FeatureSet,
    tickers: Sequence[str],
    dates: np.ndarray,
    cfg: PretrainConfig,
    seed: int,
    prev: WindowOutput | dict[str, Any] | None = None,
) -> WindowOutput:
    """Fit one window's model (family ``cfg.model.family`` on target ``cfg.model.target``),
    predict all its serve days in one batch, and score them against the raw returns."""
    init = prev.checkpoint if isinstance(prev, WindowOutput) else prev
    family = get_family(cfg.model.family)
    # a family with its own sample points applies the target itself (raw y in)
    fit_fs = fit_view(fs, cfg.model)  # the points it learns from, and its target
    res = family.fit(window, fit_fs, tickers, cfg, seed, init=init if warm_start(cfg) else None)
    tt, kk, pred = serve_predictions(res.predictor, window.serve, fs, tickers)
    y = fs.y[tt, kk]
    preds = pd.DataFrame(
        {
            "t": tt.astype(np.int32),
            "date": dates[tt].astype("datetime64[D]"),
            "ticker": np.asarray(tickers, dtype=object)[kk],
            "pred": pred,
            "y": y,
        }
    )
    metrics = {**res.metrics, "oos": oos_metrics(tt, pred, y, fs.horizon)}
    return WindowOutput(window.id, res.checkpoint, preds, metrics, res.elapsed_s)


def prepare(
    source: Panel | Path | PretrainData, cfg: PretrainConfig, spill: Path | None = None
) -> PretrainData:
    """Features, ticker names and dates of a store directory, a Panel, or prepared data. With
    ``spill`` (a file path), a store whose ``x`` exceeds ``features.memory_mb`` is built block by
    block into that file and mapped (``models.feature_file``; no Panel hash, so no stamp)."""
    if isinstance(source, PretrainData):
        return source
    if not isinstance(source, Panel):
        from episodes.store import load_panel

        if spill is not None:
            spilled = open_spilled(Path(source), cfg.features, spill)
            if spilled is not None:
                return PretrainData(*spilled, panel=None)

        source = load_panel(Path(source))
    fs = build_features(source, cfg.features)
    tickers, dates = [str(x) for x in source.tickers], source.dates.astype("datetime64[D]")
    return PretrainData(fs, tickers, dates, panel_hash(source))


def pretrain(
    source: Panel | Path | PretrainData,
    models_dir: Path,
    cfg: PretrainConfig,
    *,
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    force: bool = False,
    wait: bool = False,
) -> PretrainResult:
    """Train every walk-forward window of a store that the registry in ``models_dir`` lacks.

    The plan (all windows, status planned) is written first; each finished window is written to
    ``models_dir/<window>/`` atomically and marked done. A rerun skips done windows whose files
    verify; a done window whose data or config hash changed raises RegistryError unless ``force``.

    Parameters
    ----------
    source : Path, Panel or PretrainData
        The episodes: an episode store directory, a loaded Panel, or prepared features.
    models_dir : Path
        Registry directory (created if absent).
    cfg : PretrainConfig
        Reads ``seed``, ``features``, ``windows``, ``model``, ``train``.
    backend : {"local", "ray"}
        ``local``: windows in sequence, in this process. ``ray``: each window a Ray task
        (``ray.init(address=address)``, or a local Ray with ``num_cpus=workers``); with warm start
        the tasks form a chain. Both give the same registry and weights.
    workers : int
        CPUs of a local Ray instance.
    address : str, optional
        Address of a running Ray cluster.
    force : bool
        Retrain stale windows instead of raising.
    wait : bool
        When another pretrain holds ``models_dir``'s lock (``MODELS/.lock``), wait for it
        instead of raising RegistryError.

    Raises
    ------
    RegistryError
        A finished window is stale (store or config changed) and ``force`` is not set.
    ConfigError
        Unknown backend or ``workers < 1``.
    """
    if backend not in BACKENDS:
        raise ConfigError("--backend", "unknown backend", got=backend, expected="local or ray")
    if workers < 1:
        raise ConfigError("--workers", "must be >= 1", got=workers)
    if backend == "ray":
        from models.backends import require_ray

        require_ray()  # before the lock file or any window is written
    elif cfg.model.family not in ("ridge", "gbm"):  # local: fail before any data is read
        from models.accel import train_device  # imports torch: not on the saved-predictions path

        train_device(cfg.train.device)
    models_dir = Path(models_dir)
    lock = writer_lock(models_dir / LOCK_FILE, owner=str(models_dir), cls=RegistryError, wait=wait)
    with lock, os_errors(models_dir, RegistryError, known_only=True), spill_file(models_dir) as sp:
        return _pretrain(source, models_dir, cfg, backend, workers, address, force, sp)


def _pretrain(source, models_dir: Path, cfg: Any, backend, workers, address, force, spill):
    p = plan_registry(source, models_dir, cfg, backend, force, spill=spill)
    from models.backends import run_local, run_ray

    run = run_local if backend == "local" else run_ray
    if p.jobs:  # the windows bar advances in this process (the Ray driver) as windows finish
        with progress.bar("windows", len(p.jobs), "windows") as windows_bar:

            def on_done_shown(out: WindowOutput) -> None:
                p.record(out)
                windows_bar.advance(window=out.window)

            run(p.jobs, p.ctx, on_done_shown, workers, address)
    return p.finish()


@dataclass(frozen=True, eq=False)
class Planned:
    """A registry whose plan is saved: the jobs to train, and the driver's writer of their
    outputs (``record``, atomic per window) and of the outcome (``finish``)."""

    reg: Registry
    plan: list[tuple[Window, WindowEntry]]
    todo: list[str]
    jobs: list[tuple[int, Window, WindowEntry]]
    ctx: _Ctx
    t0: float
    panel: str | None  # the Panel's hash, for the registry's stamp (None: prepared features)

    def record(self, out: WindowOutput) -> None:
        """Write one finished window (``models_dir/<window>/``) and mark it done."""
        reg = self.reg
        e = reg.entry(out.window)
        entry = write_window(reg, e, out.checkpoint, out.predictions, out.metrics, out.elapsed_s)
        reg.replace(entry)
        reg.save()
        oos = entry.metrics["oos"]
        log.info(
            "window_saved",
            window=entry.id,
            ic=oos["ic"],
            accuracy=oos["accuracy"],
            weights=entry.weights_hash,
            elapsed_s=round(out.elapsed_s, 2),
        )

    def finish(self) -> PretrainResult:
        elapsed = time.perf_counter() - self.t0
        skipped = tuple(e.id for _, e in self.plan if e.id not in self.todo)
        log.info(
            "pretrain_finished",
            trained=len(self.jobs),
            skipped=len(skipped),
            elapsed_s=round(elapsed, 2),
        )
        reg = self.reg
        self.stamp()
        return PretrainResult(reg.path, tuple(reg.entries), tuple(self.todo), skipped, elapsed)

    def stamp(self) -> None:
        """Stamp the registry for this Panel (``models.freshness``): the done windows' data
        hashes were computed here from its features, which is what a replay's check would
        redo, so the first replay on this store serves saved predictions without building them."""
        last = last_done(self.reg.entries, len(self.ctx.dates))
        code = code_hash()
        if self.panel is None or last is None or code is None:
            return
        stamp = stamp_of(code, self.panel, self.reg.info["config_hash"], last)
        if {k: v for k, v in read_stamp(self.reg.root).items() if k != "format"} != stamp:
            write_stamp(self.reg.root, stamp)  # a rerun that changed nothing rewrites nothing


def plan_registry(
    source, models_dir: Path, cfg: Any, backend: str, force: bool, *, spill: Path | None = None
) -> Planned:
    """Prepare the data (``spill``: see ``prepare``), plan the windows and save the plan in
    ``models_dir``'s registry (the caller holds its lock); the windows still to train are
    ``jobs``."""
    t0 = time.perf_counter()
    data = prepare(source, cfg, spill)
    plan = plan_windows(data, cfg)
    reg = Registry.load_or_empty(Path(models_dir))
    if reg.root.is_dir():
        reg.clean_leftovers()  # one pretrain per directory at a time
    todo = reg.merge_plan([e for _, e in plan], force)
    reg.info = {
        "config_hash": plan[0][1].config_hash,
        "seed": cfg.seed,
        "n_days": len(data.dates),
        "features": list(data.fs.names),
        "tickers": list(data.tickers),
    }
    if data.fs.horizon != 1:  # the IC t-stats of the reports need it (absent at 1: same bytes)
        reg.info["horizon"] = data.fs.horizon
    section = model_section(cfg.model)
    if "family" in section:  # not the pre-family lstm: record the family and its config section
        reg.info["model"] = section
    reg.save()
    log.info(
        "pretrain_planned",
        models=str(models_dir),
        windows=len(plan),
        todo=len(todo),
        backend=backend,
    )
    jobs = [(i, w, e) for i, (w, e) in enumerate(plan) if e.id in todo]
    ctx = _Ctx(data.fs, data.tickers, data.dates, cfg, reg, [w for w, _ in plan])
    return Planned(reg, plan, list(todo), jobs, ctx, t0, data.panel)


@dataclass(frozen=True, eq=False)
class _Ctx:
    fs: FeatureSet
    tickers: list[str]
    dates: np.ndarray
    cfg: PretrainConfig
    reg: Registry
    windows: list[Window]

    def prev_from_disk(self, i: int) -> dict[str, Any] | None:
        """Window i-1's checkpoint from the registry (warm start when i-1 was not retrained)."""
        if not warm_start(self.cfg) or i == 0:
            return None
        prev = self.reg.entry(self.windows[i - 1].id)
        if not self.reg.verify(prev):
            raise RegistryError(
                str(self.reg.path),
                "warm start needs the previous window",
                window=self.windows[i].id,
                previous=prev.id,
            )
        from models.lstm import load_checkpoint

        return load_checkpoint(self.reg.root / prev.path / "model.pt")
