"""Family ``lstm``: the ticker-LSTM of ``models.lstm`` trained by ``models.train.train_window``.

A thin wrapper: its checkpoint is ``ModelBundle.to_checkpoint()`` (no ``family`` key, the
pre-family format) and its predictor the ``ModelBundle``; warm start chains the windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.families import Fitted
from models.features import FeatureSet
from models.lstm import ModelBundle
from models.train import train_window
from models.windows import Window

__all__ = ["FAMILY", "LSTMFamily"]


class LSTMFamily:
    name = "lstm"
    warm_start = True

    def fit(
        self,
        window: Window,
        fs: FeatureSet,
        tickers: Sequence[str],
        cfg: Any,
        seed: int,
        init: dict[str, Any] | None = None,
    ) -> Fitted:
        res = train_window(window, fs, tickers, cfg, seed, init=init)
        metrics = {
            "val_mse": res.val_mse,
            "epochs": res.epochs,
            "best_epoch": res.best_epoch,
            "warm": res.warm,
            "n_train": int(len(res.split.train_t)),
            "n_val": int(len(res.split.val_t)),
            "vocab": len(res.bundle.vocab),
        }
        if res.ssl_losses:
            metrics["ssl_loss"] = list(res.ssl_losses)
        return Fitted(res.bundle.to_checkpoint(), res.bundle, metrics, res.elapsed_s)

    def load(self, checkpoint: dict[str, Any]) -> ModelBundle:
        return ModelBundle.from_checkpoint(checkpoint)


FAMILY = LSTMFamily()
