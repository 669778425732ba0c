"""Self-supervised pretraining of the ticker-LSTM's encoder on a window's unlabeled sequences.

Two methods (``model.ssl.method``), both on ``TickerLSTMModel.encode`` / ``summary`` (the model
itself, not a copy), run before the supervised fine-tuning of ``models.train.train_window``:

* ``masked``: hide a random ``mask_frac`` of a sequence's steps (their features zeroed and their
  has-data channel off, as a missing day) and reconstruct their scaled features from the encoder
  output at those steps with a linear head; the loss is the MSE over the hidden steps only.
* ``contrastive``: two augmented views of each sequence, NT-Xent (SimCLR) on a projection of their
  summaries with ``temperature``. A view is the sequence with (1) a time crop: a contiguous run of
  at least ``crop_min`` of the steps is kept, the others masked; (2) jitter: Gaussian noise of std
  ``jitter`` on the scaled features; (3) feature dropout: each feature zeroed in the whole view
  with probability ``feature_drop``.

The heads are thrown away after pretraining; the encoder's weights are what fine-tuning starts from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import structlog
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from models.features import FeatureSet, gather_sequences
from models.lstm import TickerLSTMModel
from models.targets import check_window
from models.windows import Window

__all__ = ["ssl_samples", "masked_loss", "augment", "nt_xent", "ssl_pretrain"]

log = structlog.get_logger(__name__)

SSL_STREAM = 5511  # numpy stream of the SSL draws: (seed, SSL_STREAM), apart from training's


def ssl_samples(fs: FeatureSet, window: Window, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Unlabeled sequences of a window: ``(t, k)`` of every full sequence inside its training range.

    Rule: days ``t - seq_len + 1 .. t`` all inside ``window.train`` and all with ``has_data``
    (``k`` not a bond). No label is read, so no purge: ``x[t]`` is known before the open of t, and
    ``t < window.train.stop <= window.serve.start``, so every sequence ends before the window's
    first serve day.

    Raises
    ------
    LookaheadError
        If the window serves a day inside its own training range.
    """
    s = check_window(window)
    lo, hi = window.train.start, min(window.train.stop, s, fs.has_data.shape[0])
    if hi - lo < seq_len:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    have = fs.has_data[lo:hi].astype(np.int64)
    cs = np.concatenate([np.zeros((1, have.shape[1]), np.int64), np.cumsum(have, axis=0)])
    full = (cs[seq_len:] - cs[:-seq_len]) == seq_len  # row i: days lo+i .. lo+i+seq_len-1
    ti, ki = np.nonzero(full)
    return (ti + lo + seq_len - 1).astype(np.int64), ki.astype(np.int64)


def masked_loss(
    model: TickerLSTMModel, head: nn.Module, x: torch.Tensor, mask: torch.Tensor, frac: float,
    rng: np.random.Generator,
) -> torch.Tensor:  # fmt: skip
    """MSE of the reconstructed features of ``max(1, round(frac * L))`` hidden steps per row."""
    b, n_steps = mask.shape
    score = rng.random((b, n_steps))
    score[~mask.numpy()] = 2.0  # a step without data is never picked
    pick = np.argsort(score, axis=1, kind="stable")[:, : max(1, round(frac * n_steps))]
    hide = np.zeros((b, n_steps), dtype=bool)
    np.put_along_axis(hide, pick, True, axis=1)
    hide = torch.from_numpy(hide) & mask
    rec = head(model.encode(x, mask & ~hide))
    return ((rec - x) ** 2)[hide].mean()


def augment(
    x: np.ndarray, mask: np.ndarray, sc: Any, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One view of scaled sequences ``x`` [B, L, F]: time crop, jitter, feature dropout."""
    b, n_steps, n_feat = x.shape
    length = rng.integers(max(1, math.ceil(sc.crop_min * n_steps)), n_steps + 1, size=b)
    start = rng.integers(0, n_steps - length + 1)
    steps = np.arange(n_steps)[None, :]
    keep = (steps >= start[:, None]) & (steps < (start + length)[:, None])
    v = x + sc.jitter * rng.standard_normal(x.shape)
    v = v * (rng.random((b, 1, n_feat)) >= sc.feature_drop)
    return torch.from_numpy(v.astype(np.float32)), torch.from_numpy(mask & keep)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent: each view's positive is the other view of its sequence, the 2B-2 others negatives.

    >>> z = torch.eye(2)
    >>> round(float(nt_xent(z, z, 1.0)), 4)  # log(e + 2) - 1: positives aligned, negatives not
    0.5514
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    sim = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), -1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def _heads(model: TickerLSTMModel, sc: Any, seed: int) -> nn.Module:
    """The method's head, initialised from ``seed`` without touching the global torch RNG."""
    hidden = model.cfg.hidden
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if sc.method == "masked":
            return nn.Linear(hidden, model.n_features)
        return nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, sc.proj_dim))


def _loss(model, head, x: np.ndarray, mask: np.ndarray, sc: Any, rng) -> torch.Tensor:
    if sc.method == "masked":
        return masked_loss(model, head, torch.from_numpy(x), torch.from_numpy(mask),
                           sc.mask_frac, rng)  # fmt: skip
    v1, m1 = augment(x, mask, sc, rng)
    v2, m2 = augment(x, mask, sc, rng)
    return nt_xent(head(model.summary(v1, m1)), head(model.summary(v2, m2)), sc.temperature)


def ssl_pretrain(
    model: TickerLSTMModel,
    fs: FeatureSet,
    window: Window,
    scale: tuple[np.ndarray, np.ndarray],
    cfg: Any,
    seed: int,
) -> tuple[float, ...]:
    """Pretrain ``model``'s encoder in place with ``cfg.model.ssl``; the mean loss of each epoch.

    Sequences: ``ssl_samples`` of the window (``cfg.features.seq_len`` steps), scaled with
    ``scale = (mean, std)``, the scaler fitted on the window's training part. Each epoch draws up to
    ``max_samples_per_epoch`` of them (seeded, without replacement) in batches of
    ``cfg.train.batch_size``; Adam at ``ssl.lr``, gradients clipped at ``train.grad_clip``. Draws
    come from ``default_rng((seed, SSL_STREAM))``; same inputs and seed, same weights.
    """
    sc, tc = cfg.model.ssl, cfg.train
    rng = np.random.default_rng((seed, SSL_STREAM))
    t, k = ssl_samples(fs, window, cfg.features.seq_len)
    if len(t) < 2:
        raise ValueError(f"{window.id}: ssl has {len(t)} full sequences, expected >= 2")
    head = _heads(model, sc, seed)
    params = [*model.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=sc.lr)
    mean, std = scale
    losses = []
    model.train()
    for _ in range(sc.epochs):
        n = len(t)
        idx = rng.permutation(n)[: sc.max_samples_per_epoch or n]
        total, batches = 0.0, 0
        for lo in range(0, len(idx) - 1, tc.batch_size):  # a batch has >= 2 sequences
            sel = idx[lo : lo + tc.batch_size]
            x, mask = gather_sequences(fs, t[sel], k[sel], cfg.features.seq_len)
            loss = _loss(model, head, (x - mean) / std, mask, sc, rng)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
            opt.step()
            total, batches = total + float(loss.detach()), batches + 1
        losses.append(total / batches)
    model.zero_grad(set_to_none=True)
    log.debug("ssl_pretrained", window=window.id, method=sc.method, n=len(t), losses=losses)
    return tuple(losses)
