"""TickerLSTMModel and ModelBundle: the network plus everything needed to rebuild and run it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.config import ModelConfig
from models.families import LSTM_SHAPE
from models.features import FeatureSet, Scaler
from models.lstm_fused import LSTM_KERNELS, fused_lstm
from models.lstm_infer import head_eval, lstm_eval, lstm_input, token_lookup

__all__ = [
    "UNSEEN",
    "TickerLSTMModel",
    "ModelBundle",
    "build_vocab",
    "token_ids",
    "remap_state",
    "load_checkpoint",
]

UNSEEN = "<unseen>"  # vocabulary entry 0: tickers not seen in the window's training samples
CHECKPOINT_FORMAT = 1
EVAL_BATCH = 4096  # rows per inference batch


class TickerLSTMModel(nn.Module):
    """Ticker embedding + LSTM over the last ``seq_len`` episodes + regression head.

    Input per step: the F scaled features with masked steps zeroed, plus the mask as an extra
    channel, so "no data that day" differs from "data equal to the training mean". The sequence
    summary is the output at step ``L-1`` (day t), or an attention-weighted mean over the unmasked
    steps when ``cfg.attention``. It is concatenated with the ticker's embedding (row 0 = the
    shared "unseen" ticker) and fed to ``Linear -> ReLU -> Dropout -> Linear`` (head width
    ``max(8, hidden // 2)``).

    Parameters
    ----------
    n_features : int
        F, features per step (without the mask channel).
    n_vocab : int
        Embedding rows, including row 0 (unseen).
    cfg : ModelConfig
        Hidden size, layers, dropout, embedding size, attention on/off.
    seed : int, optional
        When given, the initial weights are drawn from ``torch.manual_seed(seed)`` inside a forked
        RNG, so the caller's RNG state is untouched and the init is reproducible.
    kernel : {"torch", "fused"}
        How the LSTM layers train (``train.lstm_kernel``): ``nn.LSTM`` itself, or
        ``models.lstm_fused.fused_lstm`` on the same parameters (same state dict either way).
        Without autograd (validation, ``predict``) both run ``nn.LSTM``: its oneDNN forward
        measured faster than the fused one for 60 and 500 points
        (``scripts/bench/bench_lstm_kernel.py``), and a checkpoint need not know its kernel.
    """

    def __init__(
        self,
        n_features: int,
        n_vocab: int,
        cfg: ModelConfig,
        seed: int | None = None,
        kernel: str = "torch",
    ):
        super().__init__()
        if kernel not in LSTM_KERNELS:
            raise ValueError(f"TickerLSTMModel: kernel={kernel!r}, expected one of {LSTM_KERNELS}")
        self.n_features = int(n_features)
        self.cfg = cfg
        self.kernel = kernel
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.embed = nn.Embedding(n_vocab, cfg.embed_dim)
            self.lstm = nn.LSTM(
                self.n_features + 1,
                cfg.hidden,
                cfg.layers,
                batch_first=True,
                dropout=cfg.dropout if cfg.layers > 1 else 0.0,
            )
            self.attn = nn.Linear(cfg.hidden, 1) if cfg.attention else None
            width = max(8, cfg.hidden // 2)
            self.head = nn.Sequential(
                nn.Linear(cfg.hidden + cfg.embed_dim, width),
                nn.ReLU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(width, 1),
            )

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The encoder: LSTM outputs [B, L, hidden] of ``x`` [B, L, F] with ``mask`` [B, L]."""
        m = mask.unsqueeze(-1).to(x.dtype)
        inp = torch.cat([x * m, m], dim=-1)
        if self.kernel == "fused" and torch.is_grad_enabled():
            return fused_lstm(self.lstm, inp)
        return self.lstm_out(inp)

    def lstm_out(self, inp: torch.Tensor) -> torch.Tensor:
        """The LSTM outputs [B, L, hidden] of the built input ``inp`` [B, L, F+1]."""
        out, _ = self.lstm(inp)
        return out

    def pool(self, out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The summary [B, hidden] of LSTM outputs: the last step's, or the attention pool."""
        if self.attn is None:
            return out[:, -1]
        score = self.attn(out).squeeze(-1).masked_fill(~mask, -1e9)
        return (torch.softmax(score, dim=1).unsqueeze(-1) * out).sum(dim=1)

    def summary(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The sequence summary [B, hidden]: the last step's output, or the attention pool."""
        return self.pool(self.encode(x, mask), mask)

    def head_out(self, pooled: torch.Tensor, tok: torch.Tensor) -> torch.Tensor:
        """[B] predictions of the summaries ``pooled`` [B, hidden] and tokens ``tok`` [B]."""
        return self.head(torch.cat([pooled, self.embed(tok)], dim=-1)).squeeze(-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, tok: torch.Tensor) -> torch.Tensor:
        """``x`` [B, L, F] float, ``mask`` [B, L] bool, ``tok`` [B] long -> [B] prediction."""
        return self.head_out(self.summary(x, mask), tok)


def build_vocab(tickers: Sequence[str], k_idx: np.ndarray) -> tuple[str, ...]:
    """Vocabulary of a window: ``UNSEEN`` then the tickers of ``k_idx``, sorted by name."""
    names = sorted({str(tickers[k]) for k in np.unique(k_idx)})
    return (UNSEEN, *names)


def token_ids(vocab: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """Vocabulary index of each ticker name; names not in ``vocab`` map to 0 (unseen)."""
    pos = {name: i for i, name in enumerate(vocab)}
    return np.asarray([pos.get(str(n), 0) for n in names], dtype=np.int64)


def remap_state(
    prev_state: dict[str, torch.Tensor], prev_vocab: Sequence[str], vocab: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Warm-start state for a new vocabulary: embedding rows follow the ticker name.

    Tickers new to ``vocab`` start from the previous model's unseen row (row 0); every other
    weight is copied unchanged.
    """
    pos = {name: i for i, name in enumerate(prev_vocab)}
    rows = torch.as_tensor([pos.get(name, 0) for name in vocab], dtype=torch.long)
    state = {k: v.clone() for k, v in prev_state.items()}
    state["embed.weight"] = prev_state["embed.weight"][rows].clone()
    return state


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A trained window model with what it needs at inference: scaler, vocabulary, target scale.

    ``predict`` is the single inference path (training's OOS predictions and the manager use it).
    """

    model: TickerLSTMModel
    scaler: Scaler
    vocab: tuple[str, ...]
    feature_names: tuple[str, ...]
    seq_len: int
    y_scale: float  # predictions are model outputs times this (the training targets' std)
    window: str = ""

    def predict(
        self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray, tickers: Sequence[str]
    ) -> np.ndarray:
        """Predicted returns [N] float32 of the points ``(t_idx[i], k_idx[i])``, batched."""
        if tuple(fs.names) != self.feature_names:
            raise ValueError(
                f"ModelBundle.predict: feature names differ from the model's "
                f"(F={len(fs.names)}, expected {len(self.feature_names)} as trained)"
            )
        t_idx = np.asarray(t_idx, dtype=np.int64)
        k_idx = np.asarray(k_idx, dtype=np.int64)
        out = np.empty(len(t_idx), dtype=np.float32)
        pos = self._tokens
        tok = torch.tensor([pos.get(str(tickers[k]), 0) for k in k_idx.tolist()], dtype=torch.int64)
        model = self._eval()
        with torch.inference_mode():
            for lo in range(0, len(t_idx), EVAL_BATCH):
                sl = slice(lo, lo + EVAL_BATCH)
                pooled = self._summary(fs, t_idx[sl], k_idx[sl])
                out[sl] = head_eval(model, pooled, tok[sl]).numpy() * self.y_scale
        return out

    def summaries(self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray) -> np.ndarray:
        """The sequence summaries [N, hidden] float32 of the points (the encoder's embedding)."""
        t_idx = np.asarray(t_idx, dtype=np.int64)
        k_idx = np.asarray(k_idx, dtype=np.int64)
        out = np.empty((len(t_idx), self.model.cfg.hidden), dtype=np.float32)
        self._eval()
        with torch.inference_mode():
            for lo in range(0, len(t_idx), EVAL_BATCH):
                sl = slice(lo, lo + EVAL_BATCH)
                out[sl] = self._summary(fs, t_idx[sl], k_idx[sl]).numpy()
        return out

    def _summary(self, fs: FeatureSet, t: np.ndarray, k: np.ndarray) -> torch.Tensor:
        """``model.summary(scaler.transform(x), mask)`` of one batch, bit for bit, from the input
        built in one buffer (``models.lstm_infer``); under inference mode."""
        inp, mask = lstm_input(fs, self.scaler, t, k, self.seq_len)
        return self.model.pool(lstm_eval(self.model.lstm, inp), torch.from_numpy(mask))

    def _eval(self) -> TickerLSTMModel:
        """The model in eval mode (``eval()`` only when some module is not: it sets every
        module's flag through ``nn.Module.__setattr__``, measured ~25 us a call)."""
        if any(m.training for m in self._modules):
            self.model.eval()
        return self.model

    @functools.cached_property
    def _modules(self) -> tuple[nn.Module, ...]:
        return tuple(self.model.modules())

    @functools.cached_property
    def _tokens(self) -> dict[str, int]:
        return token_lookup(self.vocab)

    def to_checkpoint(self, **extra: Any) -> dict[str, Any]:
        """A plain dict for ``torch.save`` (loadable with ``weights_only=True``)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "window": self.window,
            "model_config": {k: getattr(self.model.cfg, k) for k in LSTM_SHAPE},
            "n_features": self.model.n_features,
            "feature_names": list(self.feature_names),
            "vocab": list(self.vocab),
            "seq_len": self.seq_len,
            "y_scale": float(self.y_scale),
            "scaler": self.scaler.to_dict(),
            "state_dict": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            **extra,
        }

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> ModelBundle:
        """Rebuild from ``to_checkpoint`` output (the model in eval mode)."""
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"checkpoint format={ckpt.get('format')}, expected {CHECKPOINT_FORMAT}"
            )
        cfg = ModelConfig(**ckpt["model_config"])
        model = TickerLSTMModel(ckpt["n_features"], len(ckpt["vocab"]), cfg)
        model.load_state_dict(ckpt["state_dict"])
        model.eval()
        return cls(
            model=model,
            scaler=Scaler.from_dict(ckpt["scaler"]),
            vocab=tuple(ckpt["vocab"]),
            feature_names=tuple(ckpt["feature_names"]),
            seq_len=int(ckpt["seq_len"]),
            y_scale=float(ckpt["y_scale"]),
            window=str(ckpt.get("window", "")),
        )


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A window's ``model.pt`` (loaded with ``weights_only=True``: plain data and tensors only)."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)
