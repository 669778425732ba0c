"""Family ``lstm-universe``: the ticker-LSTM trained on the whole universe, served on the consensus.

Stage 1 (``models.train.train_window``): the ``lstm`` shape trained on every point with prices
before the open (``fs.has_data``: every screened ticker with a close on day t-1, not only the
day's prediction points), targets ``model.target`` over those points, purged as always
(``models.targets.train_samples``). Stage 2 (``model.universe.finetune``): ``none`` serves that
model as is; ``frozen`` / ``progressive`` / ``discriminative`` serve a copy fine-tuned on the
consensus tickers' samples (``fs.sample``, ``models.finetune``). Either way the model predicts
the day's prediction points only.

``model.universe.train_points = consensus`` trains the same model on the prediction points only:
the ablation that isolates what the universe's samples add (same inputs, budget and serving).

Inputs (``model.universe.inputs``). ``price`` (default): the model reads only the price block
(``price_columns``: the price features, their ranks, the staleness/missing flags), the inputs every
ticker has. ``all``: every feature, the analyst block included. Why ``price``: analyst coverage
exists only where the risk manager looked (the screen covers agreeing or held tickers), so on the
universe's training points the analyst block is nearly always "not covered" while on the served
consensus points it is always covered. Under ``all`` the universe model is served where its
training data hardly go and its scaler (fitted on universe points) turns covered values into
outliers: on the synthetic bed it was better than consensus-only training off the consensus and
worse on it (IC 0.047 vs 0.094, t -2.1), and with the analyst block zeroed for both models the
gap vanished (``scripts/bench/bench_transfer.py``, ``tests/unit/models/test_transfer.py``).
Masking: the masked columns are zeroed in the training features (so they scale to 0 and their
input weights learn nothing) and the saved scaler maps them to 0 at serving (``mean 0, std inf``:
``x / inf = 0`` for every finite ``x``), so training and serving see the same inputs, and a
fine-tuned copy (same scaler) stays price-only.

Checkpoint: the served ``ModelBundle.to_checkpoint()`` with ``family``, ``finetune`` and, when
fine-tuned, the stage-1 model under ``universe``; warm start chains the stage-1 models.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from models.families import FamilyBase, train_metrics
from models.features import PRICE_FEATURES, FeatureSet
from models.finetune import finetune
from models.lstm import ModelBundle
from models.mapped import ColumnMask
from models.targets import fit_target, with_target
from models.train import train_window

__all__ = ["FAMILY", "LSTMUniverseFamily", "universe_points", "price_columns"]

_PRICE_FLAGS = ("px_stale20", "px_missing", "px20_missing")


def universe_points(fs: FeatureSet) -> FeatureSet:
    """``fs`` whose sample points are every (t, k) with data before the open (``has_data``)."""
    return dataclasses.replace(fs, sample=fs.has_data)


def price_columns(names: tuple[str, ...]) -> np.ndarray:
    """Bool [F]: the price block of ``names`` (price features, their ``_rank``s, price flags).

    >>> price_columns(("ret1", "px_missing", "ret1_rank", "tech_dir", "strength")).tolist()
    [True, True, True, False, False]
    """
    price = {*PRICE_FEATURES, *_PRICE_FLAGS, *(f"{n}_rank" for n in PRICE_FEATURES)}
    return np.array([n in price for n in names], dtype=bool)


def _price_only(fs: FeatureSet, keep: np.ndarray) -> FeatureSet:
    """``fs`` with every column outside ``keep`` zeroed as it is read (``ColumnMask``: no copy
    of ``x``, which may be spilled to disk)."""
    return dataclasses.replace(fs, x=ColumnMask(fs.x, keep.astype(np.float32)))


def _mask_scaler(bundle: ModelBundle, keep: np.ndarray) -> None:
    """Serve the masked columns as 0: ``mean 0, std inf`` (the bundle's own, fresh scaler)."""
    bundle.scaler.mean_ = np.where(keep, bundle.scaler.mean_, 0.0)
    bundle.scaler.std_ = np.where(keep, bundle.scaler.std_, np.inf)


class LSTMUniverseFamily(FamilyBase):
    name = "lstm-universe"
    warm_start = True
    own_target = True  # receives the raw return: its target is taken over its own points

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        kind, uc = cfg.model.target, cfg.model.universe
        ufs = universe_points(fs) if uc.train_points == "universe" else fs
        ufs = dataclasses.replace(ufs, y=fit_target(fs.y, ufs.sample, kind))
        keep = price_columns(fs.names) if uc.inputs == "price" else None
        if keep is not None:
            ufs = _price_only(ufs, keep)
        prev = None if init is None else init.get("universe", init)
        res = train_window(window, ufs, tickers, cfg, seed, init=prev)
        if keep is not None:
            _mask_scaler(res.bundle, keep)
        metrics: dict[str, Any] = {**train_metrics(res), "finetune": uc.finetune}
        if uc.finetune == "none":
            ckpt = res.bundle.to_checkpoint(family=self.name, finetune="none")
            return ckpt, res.bundle, metrics
        ft = finetune(res.bundle, window, with_target(fs, kind), tickers, cfg, seed + 1)
        metrics["universe_val_mse"] = metrics["val_mse"]
        metrics.update(val_mse=ft.val_mse, ft_best_epoch=ft.best_epoch, ft_n_train=ft.n_train,
                       ft_n_val=ft.n_val)  # fmt: skip
        ckpt = ft.bundle.to_checkpoint(
            family=self.name, finetune=uc.finetune, universe=res.bundle.to_checkpoint()
        )
        return ckpt, ft.bundle, metrics

    def load(self, checkpoint: dict[str, Any]) -> ModelBundle:
        return ModelBundle.from_checkpoint(checkpoint)


FAMILY = LSTMUniverseFamily()
