"""Family ``embed-gbm``: the window's LSTM-encoder embedding plus the raw features into LightGBM.

Per window, inside its fit (so nothing sees a serve day):

1. the encoder: a ``TickerLSTMModel`` trained by ``models.train.train_window`` on the window's
   purged training part (self-supervised first when ``model.ssl.method`` is not none, then
   supervised on the target, early-stopped on the validation part), cold every window;
2. the embedding of a point (t, k): the encoder's sequence summary (``TickerLSTMModel.summary``:
   the last step's hidden state, or the attention pool), ``hidden`` values, itself when
   ``model.embed_gbm.embedding_size == model.hidden``, else times a fixed projection
   ``P [hidden, size]`` drawn N(0, 1/hidden) from the window seed (random, not trained: it keeps
   the geometry of the state, Johnson-Lindenstrauss);
3. the ``model.gbm`` booster (``models.families.gbm.train_booster``) on the rows of
   ``models.families.tabular`` followed by the embedding columns ``emb_<j>``.

The embeddings of the training rows are in-sample for the encoder, so the booster may lean on them
more than their out-of-sample worth; its early stopping on the validation part limits that. With
``embeddings: off`` no encoder is trained and the rows are the ``gbm`` family's: the same booster,
the same predictions. Artifact: the booster text, the encoder's state dict (prefix ``encoder.``)
and the projection in ``state_dict``; the encoder's scaler, vocabulary and shape as plain data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from models.families import FamilyBase, header, split_sizes
from models.families.gbm import GBMPredictor, text_tensor, train_booster
from models.families.tabular import check_names, row_names, rows, tabular_data
from models.features import FeatureSet
from models.lstm import ModelBundle
from models.train import train_window

__all__ = ["FAMILY", "EmbedGBMFamily", "EmbedGBMPredictor", "embeddings", "projection"]

FORMAT = 1
PROJ_STREAM = 128  # numpy stream of the projection: default_rng((seed, PROJ_STREAM))
ENC = "encoder."  # state_dict prefix of the encoder's weights


def projection(hidden: int, size: int, seed: int) -> np.ndarray | None:
    """The fixed ``[hidden, size]`` float32 projection, or None when ``size == hidden``."""
    if size == hidden:
        return None
    rng = np.random.default_rng((seed, PROJ_STREAM))
    return (rng.standard_normal((hidden, size)) / np.sqrt(hidden)).astype(np.float32)


def embeddings(
    enc: ModelBundle, proj: np.ndarray | None, fs: FeatureSet, t: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """``[N, size]`` float32 embeddings of the points ``(t[i], k[i])`` (inputs before t's open)."""
    out = enc.summaries(fs, t, k)  # = model.summary(scaler.transform(x), mask), bit for bit
    return out if proj is None else out @ proj


class EmbedGBMPredictor:
    def __init__(
        self, gbm: GBMPredictor, encoder: ModelBundle | None, proj: np.ndarray | None
    ) -> None:
        self.gbm, self.encoder, self.proj = gbm, encoder, proj

    def inputs(self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray) -> np.ndarray:
        """The booster's rows of the points: tabular rows, then the embedding (when on)."""
        check_names("EmbedGBMPredictor.predict", fs, self.gbm.feature_names)
        t, k = np.asarray(t_idx, np.int64), np.asarray(k_idx, np.int64)
        x = rows(fs, t, k, self.gbm.lags)
        if self.encoder is None or len(x) == 0:
            return x
        return np.concatenate([x, embeddings(self.encoder, self.proj, fs, t, k)], axis=1)

    def predict(
        self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray, tickers: Sequence[str]
    ) -> np.ndarray:
        x = self.inputs(fs, t_idx, k_idx)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.gbm.booster.predict(x, num_threads=self.gbm.threads).astype(np.float32)


def _encoder(window, fs, tickers, cfg, seed) -> tuple[ModelBundle, dict[str, Any]]:
    res = train_window(window, fs, tickers, cfg, seed)
    facts = {"encoder_val_mse": res.val_mse, "encoder_epochs": res.epochs}
    if res.ssl_losses:
        facts["ssl_loss"] = list(res.ssl_losses)
    return res.bundle, facts


class EmbedGBMFamily(FamilyBase):
    name = "embed-gbm"
    warm_start = False

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        gc, ec = cfg.model.gbm, cfg.model.embed_gbm
        enc, proj, facts = None, None, {}
        if ec.embeddings:
            enc, facts = _encoder(window, fs, tickers, cfg, seed)
            proj = projection(cfg.model.hidden, ec.embedding_size, seed)
        data = tabular_data(window, fs, cfg, gc.lags)
        cols = list(row_names(fs.names, gc.lags))
        if enc is not None:
            cols += [f"emb_{j}" for j in range(ec.embedding_size)]
            sp = data.split
            data = dataclasses.replace(
                data,
                x_train=np.hstack(
                    [data.x_train, embeddings(enc, proj, fs, sp.train_t, sp.train_k)]
                ),
                x_val=np.hstack([data.x_val, embeddings(enc, proj, fs, sp.val_t, sp.val_k)]),
            )
        text, rounds = train_booster(gc, seed, data, cols)
        pred = EmbedGBMPredictor(GBMPredictor(text, fs.names, gc.lags, gc.num_threads), enc, proj)
        val_pred = pred.gbm.booster.predict(data.x_val, num_threads=gc.num_threads)
        val_pred = val_pred.astype(np.float32).astype(np.float64)  # as the predictor returns it
        metrics = {
            "val_mse": float(np.mean((val_pred - data.y_val) ** 2)),
            "rounds": rounds,
            **split_sizes(len(data.y_train), len(data.y_val)),
            **facts,
        }
        return self._checkpoint(window, fs, cfg, text, enc, proj), pred, metrics

    def _checkpoint(self, window, fs, cfg, text, enc, proj) -> dict[str, Any]:
        state = {"booster": text_tensor(text)}
        encoder = None
        if enc is not None:
            encoder = enc.to_checkpoint()
            state.update({ENC + k: v for k, v in encoder.pop("state_dict").items()})
            if proj is not None:
                state["projection"] = torch.from_numpy(proj.copy())
        config = {
            "embed_gbm": dataclasses.asdict(cfg.model.embed_gbm),
            "gbm": dataclasses.asdict(cfg.model.gbm),
        }
        vocab = enc.vocab if enc is not None else ()
        return {
            **header(FORMAT, self.name, window, config, fs, vocab),
            "lags": cfg.model.gbm.lags,
            "encoder": encoder,
            "state_dict": state,
        }

    def load(self, checkpoint: dict[str, Any]) -> EmbedGBMPredictor:
        if checkpoint.get("format") != FORMAT:
            raise ValueError(f"embed-gbm checkpoint format={checkpoint.get('format')}, expected 1")
        state = checkpoint["state_dict"]
        text = bytes(state["booster"].numpy()).decode("utf-8")
        threads = int(checkpoint["config"]["gbm"]["num_threads"])
        gbm = GBMPredictor(text, checkpoint["feature_names"], int(checkpoint["lags"]), threads)
        enc, proj = None, None
        if checkpoint["encoder"] is not None:
            enc_state = {k[len(ENC) :]: v for k, v in state.items() if k.startswith(ENC)}
            enc = ModelBundle.from_checkpoint({**checkpoint["encoder"], "state_dict": enc_state})
            proj = state["projection"].numpy() if "projection" in state else None
        return EmbedGBMPredictor(gbm, enc, proj)


FAMILY = EmbedGBMFamily()
