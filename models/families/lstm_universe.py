"""Family ``lstm-universe``: the ticker-LSTM trained on the whole universe, served on the consensus.

Stage 1 (``models.train.train_window``): the ``lstm`` shape trained on every point with prices
before the open (``fs.has_data``: every screened ticker with a close on day t-1, not only the
day's prediction points), targets ``model.target`` over those points, purged as always
(``models.targets.train_samples``). Stage 2 (``model.universe.finetune``): ``none`` serves that
model as is; ``frozen`` / ``progressive`` / ``discriminative`` serve a copy fine-tuned on the
consensus tickers' samples (``fs.sample``, ``models.finetune``). Either way the model predicts
the day's prediction points only.

Checkpoint: the served ``ModelBundle.to_checkpoint()`` with ``family``, ``finetune`` and, when
fine-tuned, the stage-1 model under ``universe``; warm start chains the stage-1 models.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from models.families import FamilyBase, train_metrics
from models.features import FeatureSet
from models.finetune import finetune
from models.lstm import ModelBundle
from models.targets import fit_target, with_target
from models.train import train_window

__all__ = ["FAMILY", "LSTMUniverseFamily", "universe_points"]


def universe_points(fs: FeatureSet) -> FeatureSet:
    """``fs`` whose sample points are every (t, k) with data before the open (``has_data``)."""
    return dataclasses.replace(fs, sample=fs.has_data)


class LSTMUniverseFamily(FamilyBase):
    name = "lstm-universe"
    warm_start = True
    own_target = True  # receives the raw return: its target is taken over its own points

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        kind, uc = cfg.model.target, cfg.model.universe
        ufs = universe_points(fs)
        ufs = dataclasses.replace(ufs, y=fit_target(fs.y, ufs.sample, kind))
        prev = None if init is None else init.get("universe", init)
        res = train_window(window, ufs, tickers, cfg, seed, init=prev)
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
