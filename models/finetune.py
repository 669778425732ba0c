"""Fine-tuning a trained ticker-LSTM on a subset's samples: frozen encoder + new head,
progressive unfreezing, or discriminative (per-layer) learning rates (``model.universe``).

Layer groups, from the output toward the input: 0 = the head (and attention pooling), then the
LSTM layers from the top one down, and last the ticker embedding (``layer_groups``).

* ``frozen``: only group 0 trains, re-initialised (seeded): a new head on the frozen encoder.
* ``progressive``: epoch e of E (1-based) trains the first ``1 + ceil((G - 1) e / E)`` groups:
  the head and the top layer first, one more group toward the input as epochs pass, all of them
  in the last epoch (``trainable_groups``).
* ``discriminative``: every group trains, group g at ``lr * layer_decay**g``.

The copy keeps the trained model's scaler, vocabulary and target scale (same preprocessing), and
early stopping on the subset's validation part keeps the best state; the trained model's own
state competes as epoch 0 (except ``frozen``, whose head is new), so fine-tuning never makes
validation worse.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from models.accel import to_device, train_device
from models.features import FeatureSet
from models.lstm import ModelBundle, TickerLSTMModel, token_ids
from models.train import (
    TARGET_CLIP,
    _Progress,
    _run_epoch,
    _Samples,
    _val_mse,
    _val_subset,
    epoch_draw,
    split_window,
)
from models.windows import Window

__all__ = ["layer_groups", "trainable_groups", "FinetuneResult", "finetune"]


def layer_groups(model: TickerLSTMModel) -> list[list[nn.Parameter]]:
    """Parameter groups from the output toward the input: head (+ attention), LSTM layers from
    the top one down, the ticker embedding."""
    head = [*model.head.parameters(), *(model.attn.parameters() if model.attn else ())]
    groups = [head]
    for j in reversed(range(model.cfg.layers)):
        groups.append([p for n, p in model.lstm.named_parameters() if n.endswith(f"_l{j}")])
    groups.append(list(model.embed.parameters()))
    return groups


def trainable_groups(strategy: str, epoch: int, epochs: int, n_groups: int) -> int:
    """How many groups (counted from the output) train in ``epoch`` (1-based) of ``epochs``.

    >>> [trainable_groups("progressive", e, 3, 4) for e in (1, 2, 3)]
    [2, 3, 4]
    >>> trainable_groups("frozen", 3, 3, 4), trainable_groups("discriminative", 1, 3, 4)
    (1, 4)
    """
    if strategy == "frozen":
        return 1
    if strategy == "progressive":
        return min(n_groups, 1 + math.ceil((n_groups - 1) * epoch / epochs))
    return n_groups


@dataclass(frozen=True, eq=False)
class FinetuneResult:
    bundle: ModelBundle
    epochs: int
    best_epoch: int
    val_mse: float
    n_train: int
    n_val: int
    elapsed_s: float


def _reset_head(model: TickerLSTMModel, seed: int) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in model.head:
            if isinstance(m, nn.Linear):
                m.reset_parameters()


def _samples(bundle: ModelBundle, fs: FeatureSet, tickers, split, rng, max_val: int):
    """Training samples (clipped targets over the bundle's y_scale) and validation tensors."""
    mean = bundle.scaler.mean_.astype(np.float32)
    std = bundle.scaler.std_.astype(np.float32)
    y = np.clip(fs.y[split.train_t, split.train_k] / bundle.y_scale, -TARGET_CLIP, TARGET_CLIP)
    tok = token_ids(bundle.vocab, [tickers[k] for k in split.train_k])
    train = _Samples(fs, split.train_t, split.train_k, tok, y, mean, std, bundle.seq_len)
    vi = _val_subset(rng, len(split.val_t), max_val)
    vt, vk = split.val_t[vi], split.val_k[vi]
    tok_v = token_ids(bundle.vocab, [tickers[k] for k in vk])
    val = _Samples(fs, vt, vk, tok_v, fs.y[vt, vk], mean, std, bundle.seq_len)
    return train, val.batch(np.arange(len(vt)))


def finetune(
    bundle: ModelBundle,
    window: Window,
    fs: FeatureSet,
    tickers: Sequence[str],
    cfg: Any,
    seed: int,
) -> FinetuneResult:
    """A fine-tuned copy of ``bundle`` on the purged samples of ``fs.sample`` in ``window``.

    Reads ``cfg.model.universe`` (strategy, epochs, lr, layer_decay) and ``cfg.train``
    (val_frac, batch_size, grad_clip, max_samples_per_epoch, recent_days, max_val_samples).
    ``fs.y`` is the training target. Seeded once, here; ``bundle`` is left untouched.
    """
    t0 = time.perf_counter()
    uc, tc = cfg.model.universe, cfg.train
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    split = split_window(window, fs, tc.val_frac)
    train, val = _samples(bundle, fs, tickers, split, rng, tc.max_val_samples)
    model = copy.deepcopy(bundle.model)
    if uc.finetune == "frozen":
        _reset_head(model, seed)  # on the CPU: the same draw whatever the training device
    model.to(train_device(tc.device))
    groups = layer_groups(model)
    val = to_device(val, next(model.parameters()).device)
    decay = uc.layer_decay if uc.finetune == "discriminative" else 1.0
    opt = torch.optim.Adam(
        [{"params": g, "lr": uc.lr * decay**i} for i, g in enumerate(groups)],
        weight_decay=tc.weight_decay,
    )
    pr = tc.precision
    best = _val_mse(model, val, bundle.y_scale, pr) if uc.finetune != "frozen" else float("inf")
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    best_epoch = 0
    for epoch in range(1, uc.epochs + 1):
        n_on = trainable_groups(uc.finetune, epoch, uc.epochs, len(groups))
        for i, g in enumerate(groups):
            for p in g:
                p.requires_grad_(i < n_on)
        idx = epoch_draw(rng, train.t, tc.max_samples_per_epoch, tc.recent_days)
        bar = _Progress(f"{window.id} finetune {epoch}/{uc.epochs}", len(idx))
        _run_epoch(model, opt, train, idx, tc, bar)
        bar.close()
        mse = _val_mse(model, val, bundle.y_scale, pr)
        if mse < best:
            best, best_epoch = mse, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    for p in model.parameters():
        p.requires_grad_(True)
    model.load_state_dict(best_state)
    model.to("cpu").eval()
    out = ModelBundle(model, bundle.scaler, bundle.vocab, bundle.feature_names, bundle.seq_len,
                      bundle.y_scale, window.id)  # fmt: skip
    return FinetuneResult(out, uc.epochs, best_epoch, best, len(split.train_t), len(split.val_t),
                          time.perf_counter() - t0)  # fmt: skip
