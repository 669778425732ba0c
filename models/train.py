"""train_window: one walk-forward window's model, trained the nanoGPT way (seed, data, model, loop).

Reads top to bottom: seed once -> purged train/validation split -> scaler and target scale fitted
on the training part -> model (cold, or warm-started from the previous window) -> Adam loop with
gradient clipping and early stopping that keeps the best state. With ``model.ssl.method`` other
than none, a cold-started model's encoder is first pretrained self-supervised (``models.ssl``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
import torch

from models.accel import autocast, to_device, train_device, use_deterministic
from models.config import PretrainConfig
from models.features import FeatureSet, Scaler, gather_sequences, split_train_val, train_samples
from models.lstm import ModelBundle, TickerLSTMModel, build_vocab, remap_state, token_ids
from models.ssl import ssl_pretrain
from models.windows import Window
from simulator.core import progress

__all__ = ["WindowSplit", "TrainResult", "split_window", "epoch_draw", "train_window"]

log = structlog.get_logger(__name__)

TARGET_CLIP = 5.0  # training targets are y / y_scale clipped to +-5 (a few outliers dominate MSE)


@dataclass(frozen=True)
class WindowSplit:
    """Purged samples of a window: training part and validation part (``(t, k)`` index arrays)."""

    train_t: np.ndarray
    train_k: np.ndarray
    val_t: np.ndarray
    val_k: np.ndarray

    def day_range(self, part: str) -> range:
        """Days spanned by the ``"train"`` or ``"val"`` samples, as ``range(first, last + 1)``."""
        t = self.train_t if part == "train" else self.val_t
        return range(int(t.min()), int(t.max()) + 1) if t.size else range(0)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A trained window: the model bundle plus what the registry records about the training."""

    window: str
    seed: int
    bundle: ModelBundle
    split: WindowSplit
    warm: bool  # initialised from the previous window
    epochs: int  # epochs run
    best_epoch: int  # 0 = a warm start's initial state was never beaten
    val_mse: float  # validation MSE of the kept state, in return units
    elapsed_s: float
    ssl_losses: tuple[float, ...] = ()  # per-epoch loss of the SSL pretraining (none: empty)


def split_window(window: Window, fs: FeatureSet, val_frac: float) -> WindowSplit:
    """Purged samples of ``window`` (``train_samples``), split in time (``split_train_val``)."""
    t, k = train_samples(fs, window)
    (tt, tk), (vt, vk) = split_train_val(t, k, fs, val_frac)
    return WindowSplit(tt, tk, vt, vk)


def epoch_draw(
    rng: np.random.Generator, t: np.ndarray, budget: int, recent_days: int
) -> np.ndarray:
    """Sample indices of one epoch, shuffled.

    Rule: with ``budget == 0`` or at most ``budget`` samples, all of them. Otherwise every sample of
    the newest ``recent_days`` training days, plus a uniform draw without replacement from the
    older ones to fill the budget (a new draw each epoch, so the old days are all visited over
    epochs and windows). Keeps the cost per window bounded as the expanding window grows. When
    the recent days alone hold more than ``budget`` samples (universe-wide training), each epoch
    draws a seeded ``budget`` of them without replacement (the older days' share is then 0).
    """
    n = len(t)
    if budget == 0 or n <= budget:
        return rng.permutation(n)
    recent = np.flatnonzero(t > t.max() - recent_days)
    if len(recent) > budget:
        return rng.choice(recent, size=budget, replace=False)  # a new, shuffled subset per epoch
    older = np.flatnonzero(t <= t.max() - recent_days)
    fill = rng.choice(older, size=min(len(older), budget - len(recent)), replace=False)
    return rng.permutation(np.concatenate([recent, fill]))


@dataclass(frozen=True, eq=False)
class _Samples:
    """Prediction points with tokens and targets; sequences are gathered and scaled per batch."""

    fs: FeatureSet
    t: np.ndarray
    k: np.ndarray
    tok: np.ndarray
    y: np.ndarray
    mean: np.ndarray  # float32 scaler mean (training-time scaling in float32)
    std: np.ndarray
    seq_len: int

    def batch(self, idx: np.ndarray) -> tuple[torch.Tensor, ...]:
        x, mask = gather_sequences(self.fs, self.t[idx], self.k[idx], self.seq_len)
        x = (x - self.mean) / self.std
        return (
            torch.from_numpy(x),
            torch.from_numpy(mask),
            torch.from_numpy(self.tok[idx]),
            torch.from_numpy(np.asarray(self.y[idx], dtype=np.float32)),
        )


def _val_subset(rng: np.random.Generator, n: int, cap: int) -> np.ndarray:
    """Validation rows: all, or a fixed seeded draw of ``cap`` (kept sorted) when larger."""
    if cap == 0 or n <= cap:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cap, replace=False))


@torch.no_grad()
def _val_mse(
    model: TickerLSTMModel, data: tuple[torch.Tensor, ...], y_scale: float, precision: str = "fp32"
) -> float:
    """Validation MSE in return units (unclipped targets), the model in eval mode, on the model's
    device (``data`` is moved there when it is not)."""
    model.eval()
    dev = next(model.parameters()).device
    x, mask, tok, y = to_device(data, dev)
    sse = 0.0
    for lo in range(0, len(y), 4096):
        sl = slice(lo, lo + 4096)
        with autocast(dev, precision):
            out = model(x[sl], mask[sl], tok[sl])
        err = out.float() * y_scale - y[sl]
        sse += float((err.double() ** 2).sum())
    return sse / max(1, len(y))


class _Progress:
    """One epoch's batches bar (drawn only where the CLI installed a terminal reporter)."""

    def __init__(self, label: str, total: int) -> None:
        self._cm = progress.bar("batches", max(1, total), label)
        self._bar, self._done = self._cm.__enter__(), 0

    def update(self, done: int, loss: float) -> None:
        self._bar.advance(done - self._done, loss=loss)
        self._done = done

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


def _run_epoch(model, opt, data: _Samples, idx, tc: Any, bar) -> float:
    """One pass over ``idx`` on the model's device (``tc``: batch_size, grad_clip, precision);
    returns the mean training loss (scaled, clipped targets)."""
    model.train()
    dev = next(model.parameters()).device
    total, n_batches = 0.0, 0
    for b, lo in enumerate(range(0, len(idx), tc.batch_size)):
        x, mask, tok, y = to_device(data.batch(idx[lo : lo + tc.batch_size]), dev)
        with autocast(dev, tc.precision):
            out = model(x, mask, tok)
        loss = torch.mean((out.float() - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        total += float(loss.detach())
        n_batches += 1
        if b % 10 == 0:
            bar.update(lo + len(y), total / n_batches)
    return total / max(1, n_batches)


@dataclass(frozen=True, eq=False)
class _Data:
    """A window's fitted preprocessing and its training / validation samples."""

    vocab: tuple[str, ...]
    scaler: Scaler
    y_scale: float
    train: _Samples
    val: tuple[torch.Tensor, ...]  # validation tensors, gathered once


def _prepare(split: WindowSplit, fs: FeatureSet, tickers, cfg: PretrainConfig, rng) -> _Data:
    """Vocabulary, scaler and target scale from the training part only; sample sets."""
    tc = cfg.train
    vocab = build_vocab(tickers, split.train_k)
    scaler = Scaler(fs.names).fit_points(fs.x, split.train_t, split.train_k)  # chunked
    y_tr = fs.y[split.train_t, split.train_k].astype(np.float64)
    y_scale = float(max(y_tr.std(), 1e-6))
    tok_tr = token_ids(vocab, tickers)[split.train_k]  # per ticker, then per sample (no list)
    tok_tr[rng.random(len(tok_tr)) < tc.ticker_dropout] = 0  # these samples train the unseen row
    y_fit = np.clip(y_tr / y_scale, -TARGET_CLIP, TARGET_CLIP)
    seq_len = cfg.features.seq_len
    mean, std = scaler.mean_.astype(np.float32), scaler.std_.astype(np.float32)
    train = _Samples(fs, split.train_t, split.train_k, tok_tr, y_fit, mean, std, seq_len)
    vi = _val_subset(rng, len(split.val_t), tc.max_val_samples)
    vt, vk = split.val_t[vi], split.val_k[vi]
    tok_va = token_ids(vocab, [tickers[k] for k in vk])
    val = _Samples(fs, vt, vk, tok_va, fs.y[vt, vk], mean, std, seq_len)
    return _Data(vocab, scaler, y_scale, train, val.batch(np.arange(len(vt))))


def _fit(model, data: _Data, tc: Any, lr: float, epochs: int, rng, window_id: str, warm: bool):
    """Adam + clipping; early stopping on validation MSE keeping the best state.

    A warm start's initial state (the previous window's model) competes as epoch 0, so
    fine-tuning never makes it worse on validation; a cold start's random init does not.
    Returns (epochs run, best epoch, best validation MSE); the model ends in the best state.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=tc.weight_decay)
    val = to_device(data.val, next(model.parameters()).device)  # moved once
    best_mse = _val_mse(model, val, data.y_scale, tc.precision) if warm else float("inf")
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    best_epoch, bad, epoch = 0, 0, 0
    with progress.bar("epochs", epochs, window_id) as epochs_bar:
        for epoch in range(1, epochs + 1):
            idx = epoch_draw(rng, data.train.t, tc.max_samples_per_epoch, tc.recent_days)
            bar = _Progress(f"{window_id} epoch {epoch}/{epochs}", len(idx))
            train_loss = _run_epoch(model, opt, data.train, idx, tc, bar)
            bar.close()
            mse = _val_mse(model, val, data.y_scale, tc.precision)
            log.debug(
                "epoch_finished", window=window_id, epoch=epoch, train_loss=train_loss, val_mse=mse
            )
            epochs_bar.advance(val_mse=mse)
            if mse < best_mse:
                best_mse, best_epoch, bad = mse, epoch, 0
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
                if bad >= tc.patience:
                    break
    model.load_state_dict(best_state)
    model.to("cpu").eval()  # saved, served and predicted on the CPU
    return epoch, best_epoch, best_mse


def _init_model(
    n_features: int,
    vocab: tuple[str, ...],
    cfg: PretrainConfig,
    seed: int,
    init: dict[str, Any] | None,
) -> tuple[TickerLSTMModel, bool]:
    """Build the model; load the previous window's remapped state when warm-starting."""
    model = TickerLSTMModel(
        n_features, len(vocab), cfg.model, seed=seed, kernel=cfg.train.lstm_kernel
    )
    warm = bool(cfg.train.warm_start and init is not None)
    if warm:
        state = remap_state(init["state_dict"], init["vocab"], vocab)
        model.load_state_dict(state)
    return model, warm


def train_window(
    window: Window,
    fs: FeatureSet,
    tickers: Sequence[str],
    cfg: PretrainConfig,
    seed: int,
    init: dict[str, Any] | None = None,
) -> TrainResult:
    """Train the model of one walk-forward window.

    Parameters
    ----------
    window : Window
        Training and serve ranges; samples are purged (``models.targets.train_samples``).
    fs : FeatureSet
        Features of the whole store (only the window's purged samples are read).
    tickers : sequence of str
        Ticker names of the K axis (the vocabulary is built from them).
    cfg : PretrainConfig
        Reads ``cfg.features.seq_len``, ``cfg.model`` and ``cfg.train``.
    seed : int
        Seeds torch and numpy once, here; same inputs and seed give identical weights.
    init : dict, optional
        The previous window's checkpoint (``ModelBundle.to_checkpoint()``). With
        ``cfg.train.warm_start`` the model starts from it (embedding rows remapped by ticker name)
        and is fine-tuned for ``warm_epochs`` at ``lr * warm_lr_factor``; else ignored.

    Returns
    -------
    TrainResult
    """
    t0 = time.perf_counter()
    tc = cfg.train
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dev = train_device(tc.device)
    use_deterministic(dev)
    torch.set_num_threads(tc.torch_threads)

    split = split_window(window, fs, tc.val_frac)
    data = _prepare(split, fs, tickers, cfg, rng)
    model, warm = _init_model(len(fs.names), data.vocab, cfg, seed, init)
    ssl_losses: tuple[float, ...] = ()
    if cfg.model.ssl.method != "none" and not warm:  # a warm start inherits a pretrained encoder
        scale = (data.train.mean, data.train.std)
        ssl_losses = ssl_pretrain(model, fs, window, scale, cfg, seed)
    lr, epochs = (tc.lr * tc.warm_lr_factor, tc.warm_epochs) if warm else (tc.lr, tc.max_epochs)
    model.to(dev)
    epoch, best_epoch, best_mse = _fit(model, data, tc, lr, epochs, rng, window.id, warm)

    bundle = ModelBundle(
        model,
        data.scaler,
        data.vocab,
        tuple(fs.names),
        cfg.features.seq_len,
        data.y_scale,
        window.id,
    )
    elapsed = time.perf_counter() - t0
    log.debug(  # window_saved (pretrain) is the one info line per window
        "window_trained",
        window=window.id,
        warm=warm,
        epochs=epoch,
        best_epoch=best_epoch,
        val_mse=best_mse,
        n_train=len(split.train_t),
        n_val=len(split.val_t),
        elapsed_s=round(elapsed, 2),
    )
    return TrainResult(
        window.id, seed, bundle, split, warm, epoch, best_epoch, best_mse, elapsed, ssl_losses
    )
