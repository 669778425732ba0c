"""The model-family seam: one protocol every family implements, and the registry of families.

A family turns a window's purged training data into an artifact and serves predictions from it:

* ``fit(window, fs, tickers, cfg, seed, init) -> Fitted``: train on the window's purged samples
  (``models.targets.train_samples`` / ``models.train.split_window``: train part + validation part);
  ``fs.y`` is already the configured training target (``models.targets.fit_target``).
* ``Fitted.checkpoint``: the artifact, a dict of plain data and tensors (``torch.save``-able,
  loadable with ``weights_only=True``: no pickles); its ``state_dict`` holds the fitted parameters
  (hashed into the registry's ``weights_hash``). ``models.registry.write_window`` saves it
  atomically as ``model.pt`` with ``metadata.json`` and the serve-day ``predictions.parquet``.
* ``load(checkpoint) -> Predictor`` and ``Predictor.predict(fs, t_idx, k_idx, tickers)``: float32
  predictions of the points ``(t_idx[i], k_idx[i])``, each from inputs known before the open of
  its day only. One path serves pretrain's saved predictions and the manager's live ones.

Non-``lstm`` checkpoints carry ``"family"``; a checkpoint without it is an ``lstm`` one (the
pre-family format, kept byte for byte). Family modules are imported on first use, so lightgbm is
loaded only by the ``gbm`` family.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from models.config import FAMILIES, ModelConfig
from models.features import FeatureSet
from models.targets import with_target
from models.windows import Window

__all__ = [
    "FAMILIES",
    "LSTM_SHAPE",
    "Predictor",
    "Family",
    "Fitted",
    "FamilyBase",
    "header",
    "split_sizes",
    "train_metrics",
    "get_family",
    "load_predictor",
    "model_section",
    "fit_view",
]

# the lstm family's ModelConfig fields: its checkpoint and its config hash hold exactly these
LSTM_SHAPE = ("hidden", "layers", "dropout", "embed_dim", "attention")
SECTIONS = {"lstm-portfolio": "portfolio"}  # a family's ModelConfig section, where not its name
OWN_POINTS = ("lstm-universe", "lstm-portfolio")  # families that choose their training points


class Predictor(Protocol):
    """A loaded window model."""

    def predict(
        self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray, tickers: Sequence[str]
    ) -> np.ndarray:
        """Predictions [N] float32 of the points ``(t_idx[i], k_idx[i])``."""
        ...


@dataclass(frozen=True, eq=False)
class Fitted:
    """What ``Family.fit`` returns: the artifact, its loaded predictor, training facts, time."""

    checkpoint: dict[str, Any]
    predictor: Predictor
    metrics: dict[str, Any]  # recorded in the registry entry (val_mse, n_train, n_val, ...)
    elapsed_s: float


class Family(Protocol):
    """A model family (module ``models/families/<name>.py`` exposing ``FAMILY``)."""

    name: str
    warm_start: bool  # whether window k may start from window k-1's checkpoint

    def fit(
        self,
        window: Window,
        fs: FeatureSet,
        tickers: Sequence[str],
        cfg: Any,
        seed: int,
        init: dict[str, Any] | None = None,
    ) -> Fitted: ...

    def load(self, checkpoint: dict[str, Any]) -> Predictor: ...


class FamilyBase:
    """The shared ``fit`` of the families: time ``_fit`` (window, purged fit) and wrap it.

    A family implements ``_fit`` (``fit``'s arguments, ``init`` given) returning ``(checkpoint,
    predictor, metrics)``; ``fit`` returns them as a ``Fitted`` with the wall-clock seconds it took.
    """

    name: str
    warm_start: bool

    def fit(
        self,
        window: Window,
        fs: FeatureSet,
        tickers: Sequence[str],
        cfg: Any,
        seed: int,
        init: dict[str, Any] | None = None,
    ) -> Fitted:
        t0 = time.perf_counter()
        ckpt, pred, metrics = self._fit(window, fs, tickers, cfg, seed, init)
        return Fitted(ckpt, pred, metrics, time.perf_counter() - t0)


def header(
    fmt: int, family: str, window: Window, config: Any, fs: FeatureSet, vocab: Sequence[str] = ()
) -> dict[str, Any]:
    """The first keys of a family checkpoint, in their saved order."""
    return {
        "format": fmt,
        "family": family,
        "window": window.id,
        "config": config,
        "feature_names": list(fs.names),
        "vocab": list(vocab),
    }


def split_sizes(n_train: int, n_val: int) -> dict[str, int]:
    """The registry's sample counts of a window's purged train and validation parts."""
    return {"n_train": int(n_train), "n_val": int(n_val)}


def train_metrics(res: Any) -> dict[str, Any]:
    """Registry metrics of a ``models.train.train_window`` result (families lstm, lstm-universe)."""
    return {
        "val_mse": res.val_mse,
        "epochs": res.epochs,
        "best_epoch": res.best_epoch,
        "warm": res.warm,
        **split_sizes(len(res.split.train_t), len(res.split.val_t)),
        "vocab": len(res.bundle.vocab),
    }


def get_family(name: str) -> Family:
    """The family called ``name`` (one of ``FAMILIES``)."""
    if name not in FAMILIES:
        raise ValueError(f"model family={name!r}, expected one of {', '.join(FAMILIES)}")
    return importlib.import_module(f"models.families.{name.replace('-', '_')}").FAMILY


def load_predictor(checkpoint: dict[str, Any]) -> Predictor:
    """Rebuild a window's predictor from its ``model.pt`` dict (no ``family`` key: ``lstm``)."""
    return get_family(str(checkpoint.get("family", "lstm"))).load(checkpoint)


def model_section(m: ModelConfig) -> dict[str, Any]:
    """The part of ``cfg.model`` a family's models depend on (hashed into ``config_hash``).

    ``lstm`` with the ``raw`` target and no SSL: the LSTM shape only, exactly the pre-family model
    section (so its registries keep their hashes). Otherwise: family, target and the family's own
    section (``lstm``: its shape; ``lstm-universe``: the shape and ``model.universe``;
    ``ridge``/``gbm``/``embed-gbm``: ``model.ridge`` / ``model.gbm`` / ``model.embed_gbm``;
    ``lstm-portfolio``: ``model.portfolio``), plus what the family also reads: ``ssl`` for an
    lstm with SSL on; ``gbm`` for embed-gbm, and with embeddings on also ``lstm`` (the encoder
    shape) and ``ssl``; ``train_points`` when it is ``universe`` (``fit_view``).
    """
    shape = {k: getattr(m, k) for k in LSTM_SHAPE}
    ssl_on = m.ssl.method != "none"
    wide = m.train_points != "prediction" and m.family not in OWN_POINTS
    if m.family == "lstm" and m.target == "raw" and not ssl_on and not wide:
        return shape
    key = SECTIONS.get(m.family, m.family)
    if m.family == "lstm":
        own = shape
    elif m.family == "lstm-universe":
        own = {**shape, "universe": dataclasses.asdict(m.universe)}
    else:
        own = dataclasses.asdict(getattr(m, SECTIONS.get(m.family, m.family.replace("-", "_"))))
    out = {"family": m.family, "target": m.target, key: own}
    if m.family == "embed-gbm":
        out["gbm"] = dataclasses.asdict(m.gbm)
        if m.embed_gbm.embeddings:
            out["lstm"] = shape
    if ssl_on and (m.family == "lstm" or "lstm" in out):
        out["ssl"] = dataclasses.asdict(m.ssl)
    if wide:
        out["train_points"] = m.train_points
    return out


def fit_view(fs: FeatureSet, m: ModelConfig) -> FeatureSet:
    """What family ``m.family`` fits a window on: ``fs`` with its sample points widened to every
    point with prices before the open (``has_data``) under ``model.train_points: universe``, and
    ``y`` the configured target over those points (``models.targets.with_target``; a family with
    ``own_target`` receives the raw return and takes its target over its own points). The window's
    purge and split then run on these points as on any (``models.train.split_window``); serving
    is unchanged: a model predicts the points a replay serves."""
    family = get_family(m.family)
    if m.train_points == "universe" and m.family not in OWN_POINTS:
        fs = dataclasses.replace(fs, sample=fs.has_data)
    return fs if getattr(family, "own_target", False) else with_target(fs, m.target)
