"""Test-only: the synthetic test bed of the universe family (issue 11.6) and its paired figures.

``bed()``: synthetic episodes with the nonlinear price signal, a small consensus and new
listings, as prepared pretraining data. ``fit(data, hist, seed)``: the three registries the claims
compare. ``paired(...)``: daily IC of two models on the same points and the t-statistic of the
paired daily difference.

Diagnosis of the earlier failure (400 tickers, 17 % consensus, 8 x 2048 passes, raw target: the
universe model lost on the consensus, IC 0.047 vs 0.094, t -2.1; few-shot +0.015, t 0.7):

* Selection: not the cause. The planted signal's oracle IC is the same on consensus and other
  points (0.176 vs 0.166); consensus and other tickers have the same vol20 (0.0197 vs 0.0196)
  and share of short histories; the generator picks consensus from the analysts' views, which
  carry no planted signal (``signal_ic = 0``).
* Ranks: not the cause. ``*_rank`` features rank among every priced ticker for both models.
* Validation: each model stops early on its own points' validation part (no cross-set leak).
* The cause: a train/serve shift in the analyst block. Analyst coverage exists only on
  covered (consensus or held) tickers, so the universe model trained on ~83 % uncovered points
  and was served on covered ones, scaled by a scaler fitted on the universe: the consensus-only
  model was 0.094 on the consensus and 0.048 off it, the universe model 0.047 and 0.084. With
  the analyst columns zeroed for both models the gap closed (0.101 vs 0.091): the fix is
  ``model.universe.inputs = price`` (``models.families.lstm_universe``).
* Then the claim was not tested: at 17 % consensus and 16 k passes the consensus data were
  nearly enough (+0.006, t 0.3 after the fix). Hence the bed below.

Why this bed (every choice is about sample size and diversity, none hides signal from anyone):

* ``price_signal_ic = 0.2``: the planted signal (``episodes.synth_signal.price_signal``) is the
  same function of a ticker's own pre-open prices for every ticker, consensus names included (the
  oracle IC of the signal is ~0.17 on consensus and off-consensus points alike); at this SNR a
  16-unit LSTM needs tens of thousands of samples to learn it, so the sample count binds.
* ``signal_ic = 0``: the analysts see nothing, so the analyst block (what only consensus names
  have) is noise; the claims are about the price signal that every ticker carries.
* ``tickers = 800, consensus_reach = 0.1``: ~39 consensus points a day of ~655 priced (6 %): a
  small share of the universe, as the issue asks (the real recording: ~60 of ~500, 12 %), and
  enough points a day for a daily IC. A consensus-only window has ~3-7 k training samples, the
  universe ~55-110 k.
* ``new_listings = 0.25``: a quarter of the stocks list mid-sample, so ~70 points a day belong to
  tickers with < 60 days of history (the few-shot case).
* ``days = 220``, ``windows.initial = 100``, step 20: 6 windows, 119 served days for the t.
* ``model.target = demeaned`` for every model: the IC is cross-sectional and the market factor
  is common noise to it; with the raw target the universe model's MSE (and its early stopping)
  was dominated by the day's common move and some training seeds never learnt the signal (IC
  0.01-0.05 where other seeds reach 0.13; ``bench_transfer.py --target raw``).
* Budget (``BUDGET``): every model runs the same ``max_epochs x max_samples_per_epoch`` =
  16 x 2048 sample-passes (no early stop before the last epoch: patience = max_epochs, the best
  validation epoch is kept; no warm start; a uniform draw each epoch: recent_days = 0). That is
  5-10 passes over each consensus sample and < 1 over each universe sample: equal compute, and
  the universe model's advantage is fresh samples, nothing else.
"""

from __future__ import annotations

import dataclasses
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
from models.pretrain import PretrainData, prepare, pretrain
from models.registry import Registry
from simulator.config import load_config

BED = SynthConfig(days=220, tickers=800, signal_ic=0.0, price_signal_ic=0.2,
                  consensus_reach=0.1, new_listings=0.25)  # fmt: skip
BED_SEED = 1
BUDGET = {
    "windows.initial": 100, "windows.step": 20, "features.seq_len": 10, "model.hidden": 16,
    "model.layers": 1, "model.embed_dim": 2, "model.dropout": 0.0, "train.max_epochs": 16,
    "train.patience": 16, "train.warm_start": False, "train.max_samples_per_epoch": 2048,
    "train.lr": 3e-3, "train.recent_days": 0, "model.target": "demeaned",
}  # fmt: skip
SHORT = 60  # few-shot: points whose ticker has fewer than SHORT days of price history


def bed_config(family: str, **extra):
    return load_config(overrides={**BUDGET, "model.family": family, **extra})


def bed(cfg=None) -> tuple[PretrainData, np.ndarray]:
    """The test bed's prepared data and each point's days of history ``[T, K]`` (days since the
    ticker's first recorded price; a ticker priced from day 0 has an unknown, long history: its
    count is offset by ``SHORT`` so it is never "short")."""
    with tempfile.TemporaryDirectory() as d:
        write_episodes(Path(d) / "eps", BED, BED_SEED)
        ingest(Path(d) / "eps", Path(d) / "store")
        panel = load_panel(Path(d) / "store")
    data = prepare(panel, (cfg or bed_config("lstm")).pretrain_config())
    priced = np.isfinite(panel.close)
    first = np.where(priced.any(axis=0), np.argmax(priced, axis=0), panel.n_days)
    history = np.arange(panel.n_days)[:, None] - first[None, :] + np.where(first == 0, SHORT, 0)
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


def paired(t: np.ndarray, pred_a, pred_b, y: np.ndarray) -> Paired:
    """Mean daily IC of a and b on the same points and the t of their paired daily difference.

    ``pred_a`` / ``pred_b``: one prediction array, or a list of them (one per training seed, the
    same seeds for a and b): each day's IC is then the mean over seeds of that day's IC.
    """
    pa = pred_a if isinstance(pred_a, list) else [pred_a]
    pb = pred_b if isinstance(pred_b, list) else [pred_b]
    a = np.mean([_daily(t, p, y) for p in pa], axis=0)
    b = np.mean([_daily(t, p, y) for p in pb], axis=0)
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


def short_points(data: PretrainData, history: np.ndarray) -> np.ndarray:
    """``[T, K]``: priced points of new listings with fewer than ``SHORT`` days of history."""
    return data.fs.has_data & (history < SHORT)


def fit(data: PretrainData, history: np.ndarray, root: Path, seed: int = 1, **extra) -> dict:
    """Pretrain the compared registries under ``root`` (same windows, budget and seed):
    ``consensus`` (``lstm``: the consensus points, every feature), ``universe``
    (``lstm-universe``), ``consensus_price`` (``lstm-universe`` trained on the consensus points
    only: same model and inputs, the ablation that isolates the universe's samples) and
    ``scratch`` (``lstm`` trained on the short-history points only: the few-shot baseline)."""
    short = dataclasses.replace(data.fs, sample=short_points(data, history))
    ablation = {"model.universe.train_points": "consensus"}
    runs = {"consensus": ("lstm", data, {}), "universe": ("lstm-universe", data, {}),
            "consensus_price": ("lstm-universe", data, ablation),
            "scratch": ("lstm", data._replace(fs=short), {})}  # fmt: skip
    for name, (family, d, more) in runs.items():
        cfg = bed_config(family, **{**extra, **more})
        pretrain(d, root / name, dataclasses.replace(cfg, seed=seed))
    return {name: root / name for name in runs}


def compare(data: PretrainData, mask: np.ndarray, roots_a, roots_b) -> Paired:
    """``paired`` of two registries' models (or two lists of registries, one per seed) on the
    points ``mask`` of every served day."""
    roots_a = roots_a if isinstance(roots_a, list) else [roots_a]
    roots_b = roots_b if isinstance(roots_b, list) else [roots_b]
    t, k, _ = predict_points(roots_a[0], data, mask)
    preds = []
    for root in (*roots_a, *roots_b):
        t_r, k_r, p = predict_points(root, data, mask)
        assert np.array_equal(t, t_r) and np.array_equal(k, k_r)
        preds.append(p)
    n = len(roots_a)
    return paired(t, preds[:n], preds[n:], data.fs.y[t, k])
