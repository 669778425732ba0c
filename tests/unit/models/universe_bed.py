"""Test-only: the synthetic test bed of the universe family (issue 11.6) and its paired figures.

``bed()``: synthetic episodes with the nonlinear price signal, a ~15 % consensus and new listings,
as prepared pretraining data. ``compare(a, b)``: daily IC of two registries' predictions on the
same points (consensus points from ``predictions.parquet``, or any points through the models),
and the t-statistic of the paired daily difference.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from episodes.config import SynthConfig
from episodes.store import ingest, load_panel
from episodes.synth import write_episodes
from models.families import load_predictor
from models.ic import daily_ic, mean_t
from models.lstm import load_checkpoint
from models.pretrain import PretrainData, prepare
from models.registry import Registry
from simulator.config import load_config

BED = SynthConfig(days=160, tickers=400, signal_ic=0.0, price_signal_ic=0.2,
                  consensus_reach=0.6, new_listings=0.25)  # fmt: skip
BED_SEED = 1
# equal compute: every model runs max_epochs x max_samples_per_epoch sample-passes (no early stop:
# patience = max_epochs; no warm start; the budget is below the consensus training samples; each
# epoch a uniform draw: recent_days = 0)
BUDGET = {
    "windows.initial": 100, "windows.step": 20, "features.seq_len": 10, "model.hidden": 16,
    "model.layers": 1, "model.embed_dim": 2, "model.dropout": 0.0, "train.max_epochs": 8,
    "train.patience": 8, "train.warm_start": False, "train.max_samples_per_epoch": 2048,
    "train.lr": 3e-3, "train.recent_days": 0,
}  # fmt: skip
SHORT = 60  # few-shot: points whose ticker has fewer than SHORT days of price history


def bed_config(family: str, **extra):
    return load_config(overrides={**BUDGET, "model.family": family, **extra})


def bed(cfg=None) -> tuple[PretrainData, np.ndarray]:
    """The test bed's prepared data and each point's days of history ``[T, K]``."""
    with tempfile.TemporaryDirectory() as d:
        write_episodes(Path(d) / "eps", BED, BED_SEED)
        ingest(Path(d) / "eps", Path(d) / "store")
        panel = load_panel(Path(d) / "store")
    data = prepare(panel, (cfg or bed_config("lstm")).pretrain_config())
    priced = np.isfinite(panel.close)
    first = np.where(priced.any(axis=0), np.argmax(priced, axis=0), panel.n_days)
    history = np.arange(panel.n_days)[:, None] - first[None, :]
    return data, history


@dataclass(frozen=True)
class Paired:
    ic_a: float
    ic_b: float
    t_a: float
    t_b: float
    diff: float
    t_diff: float
    days: int
    points: int


def _daily(t, pred, y):
    return daily_ic(t, pred, y).ic


def paired(t: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, y: np.ndarray) -> Paired:
    """Mean daily IC of a and b on the same points and the t of their paired daily difference."""
    a, b = _daily(t, pred_a, y), _daily(t, pred_b, y)
    ok = np.isfinite(a) & np.isfinite(b)
    ma, ta, _ = mean_t(a[ok])
    mb, tb, _ = mean_t(b[ok])
    md, td, _ = mean_t(a[ok] - b[ok])
    return Paired(ma, mb, ta, tb, md, td, int(ok.sum()), int(len(t)))


def saved(root: Path) -> pd.DataFrame:
    reg = Registry.load(root)
    parts = [pd.read_parquet(root / e.path / "predictions.parquet") for e in reg.entries]
    return pd.concat(parts, ignore_index=True)


def predict_points(root: Path, data: PretrainData, mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(t, k, pred)`` of the points ``mask`` on every window's serve days, by its model."""
    out = []
    for e in Registry.load(root).entries:
        model = load_predictor(load_checkpoint(root / e.path / "model.pt"))
        tt, kk = np.nonzero(mask[e.serve[0] : e.serve[1]])
        tt = tt + e.serve[0]
        out.append((tt, kk, model.predict(data.fs, tt, kk, data.tickers)))
    return tuple(np.concatenate(x) for x in zip(*out, strict=True))
