"""Family ``lstm``: the ticker-LSTM of ``models.lstm`` trained by ``models.train.train_window``.

A thin wrapper: its checkpoint is ``ModelBundle.to_checkpoint()`` (no ``family`` key, the
pre-family format) and its predictor the ``ModelBundle``; warm start chains the windows.
"""

from __future__ import annotations

from typing import Any

from models.families import FamilyBase, train_metrics
from models.lstm import ModelBundle
from models.train import train_window

__all__ = ["FAMILY", "LSTMFamily"]


class LSTMFamily(FamilyBase):
    name = "lstm"
    warm_start = True

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        res = train_window(window, fs, tickers, cfg, seed, init=init)
        metrics = train_metrics(res)
        if res.ssl_losses:
            metrics["ssl_loss"] = list(res.ssl_losses)
        return res.bundle.to_checkpoint(), res.bundle, metrics

    def load(self, checkpoint: dict[str, Any]) -> ModelBundle:
        return ModelBundle.from_checkpoint(checkpoint)


FAMILY = LSTMFamily()
