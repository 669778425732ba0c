"""The model columns of `wfsim study` (out-of-sample quality of a family × seed).

IC columns come from a registry's saved OOS predictions (``models.evaluate``, ``models.ic``): the
consensus points each window was scored on; under ``replay.universe: eligible`` from the live
predictions on the universe a replay served (``models.serve.served_predictions``, cached beside
the study), so the IC describes what was traded. An engine module: no results layer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.config import FAMILY_STRATEGIES
from simulator.config import config_hash

__all__ = ["SERVED_KEY", "cell_model_metrics", "ic_quality", "model_metrics", "pretrain_seconds",
           "served_points"]  # fmt: skip

SERVED_KEY = b"wfsim.served"


def model_metrics(models: Path) -> dict[str, float]:
    """OOS quality of a registry's saved predictions (every done window pooled) and its mean
    training seconds per window."""
    from models.evaluate import read_predictions
    from models.registry import Registry

    reg = Registry.load(models)
    frames = []
    for e in reg.entries:
        if e.status == "done":
            frames.append(read_predictions(reg.root / e.path / "predictions.parquet", e.id))
    p = pd.concat(frames, ignore_index=True)
    t, pred, y = (p[c].to_numpy() for c in ("t", "pred", "y"))
    h = int(reg.info.get("horizon", 1))
    return ic_quality(t, pred, y, h) | {"pretrain_s_per_window": pretrain_seconds(models)}


def pretrain_seconds(models: Path) -> float:
    """Mean ``training_time_s`` of a registry's done windows."""
    from models.registry import Registry

    reg = Registry.load(models)
    secs = [float(json.loads((reg.root / e.path / "metadata.json").read_text(encoding="utf-8"))
                  ["training_time_s"]) for e in reg.entries if e.status == "done"]  # fmt: skip
    return float(np.mean(secs))


def ic_quality(
    t: np.ndarray, pred: np.ndarray, y: np.ndarray, horizon: int = 1
) -> dict[str, float]:
    """The study's model columns of the points (t, pred, y): pooled IC, daily IC mean, rank IC,
    ICIR, IC t-stat (overlap-robust with ``horizon - 1`` lags: ``models.ic.mean_t``), direction
    accuracy. Points whose ``y`` is unknown (NaN) are left out."""
    from models.evaluate import oos_metrics
    from models.ic import daily_ic, day_corr, mean_t

    ok = np.isfinite(np.asarray(y, dtype=float))
    t, pred, y = np.asarray(t)[ok], np.asarray(pred)[ok], np.asarray(y)[ok]
    m = oos_metrics(t, pred, y, horizon)
    days = daily_ic(t, pred, y)
    ic_mean, ic_t, n = mean_t(days.ic, horizon - 1)
    sd = float(np.nanstd(days.ic, ddof=1)) if n > 1 else math.nan
    pooled, _ = day_corr(np.zeros(len(t), np.int64), pred.astype(float), y.astype(float), 1)
    return {
        "ic_pooled": float(pooled[0]),
        "ic_mean": ic_mean,
        "rank_ic": m["rank_ic"],
        "rank_ic_t": m["rank_ic_t"],
        "icir": ic_mean / sd if sd > 0 else math.nan,
        "ic_t": ic_t,
        "accuracy": m["accuracy"],
    }


def cell_model_metrics(cell: Any, store: Path, folder: Path) -> dict[str, float]:
    """The model columns of one family × seed. IC columns: the registry's saved OOS predictions
    (the consensus points each window was scored on), except under ``replay.universe: eligible``
    for a family whose predictions are returns (strategy ``lstm``): then the live predictions on
    the universe the replay served (``served_points``), so the IC describes what was traded."""
    if cell.cfg.replay.universe == "consensus" or FAMILY_STRATEGIES[cell.family] != "lstm":
        return model_metrics(cell.models)
    pts = served_points(cell, store, folder)
    return ic_quality(pts["t"], pts["pred"], pts["y"], cell.cfg.features.horizon) | {
        "pretrain_s_per_window": pretrain_seconds(cell.models)
    }


def served_points(cell: Any, store: Path, folder: Path) -> dict[str, np.ndarray]:
    """``models.serve.served_predictions`` of the cell, cached in ``folder/<cell>.parquet``
    (atomic) under a key of its registry file's sha256, its config hash and the store's content
    hash: a rerun reads it; a re-pretrained or reconfigured cell, or another store, computes it
    again."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from episodes.store import open_store
    from models.serve import served_predictions
    from simulator.core.atomic import atomic_path
    from simulator.core.hashing import sha256_file
    from simulator.panel_map import replay_panel

    store_hash = open_store(store).manifest["content_hash"]
    key = json.dumps({"format": 1, "registry": sha256_file(cell.models / "registry.json"),
                      "config_hash": config_hash(cell.cfg), "store": store_hash},
                     sort_keys=True).encode()  # fmt: skip
    path = folder / f"{cell.run.name}.parquet"
    cols = ("t", "k", "pred", "y")
    try:
        table = pq.read_table(path)
        if (table.schema.metadata or {}).get(SERVED_KEY) == key:
            return {c: table.column(c).to_numpy() for c in cols}
    except (OSError, pa.ArrowException):  # missing or unreadable: computed again
        pass
    folder.mkdir(parents=True, exist_ok=True)
    with replay_panel(store, cell.cfg.features.memory_mb, folder) as panel:
        pts = served_predictions(panel, cell.models, cell.cfg.pretrain_config(),
                                 cell.cfg.replay.universe)  # fmt: skip
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(pts).replace_schema_metadata({SERVED_KEY: key}), tmp)
    return pts
