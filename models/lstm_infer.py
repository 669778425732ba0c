"""The ticker-LSTM's inference path with as little Python and numpy around its forward as it takes.

``ModelBundle.predict`` (and the embed-gbm encoder's ``embeddings``) used to run
``gather_sequences`` -> ``Scaler.transform`` -> ``model(x, mask, tok)``, which builds the LSTM
input ``cat([x * m, m])`` in torch. ``lstm_input`` builds that same input in one float32 buffer
from one gather; ``lstm_eval`` runs the LSTM op on it without ``nn.LSTM.forward``'s Python, and
``ModelBundle`` finishes with the model's own ``pool`` and ``head_out``. The float operations are
the same ones, in the same order, so the predictions are bitwise equal
(``tests/unit/models/test_lstm_infer.py`` checks it against the old path); what is gone is the
copies and checks between them.

Why it is the same: a step's scaled value is ``float32((float64(x) - mean) / std)`` (what
``Scaler.transform`` computes); the old input was that value times the mask channel ``m``
(float32). Where ``m = 1`` the product is the value itself. Where ``m = 0`` the gathered ``x``
had been set to 0, so the product is ``float32((0 - mean) / std) * 0``: a signed zero that
depends on the feature only (``zero_row``), written into the masked steps here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.features import FeatureSet, Scaler
from models.mapped import take

__all__ = ["lstm_input", "lstm_eval", "head_eval", "zero_row", "token_lookup"]


def zero_row(scaler: Scaler) -> np.ndarray:
    """[F] float32: the old input's value at a masked step, ``float32((0 - mean) / std) * 0``.

    >>> s = Scaler(("a", "b", "c"))
    >>> s.mean_, s.std_ = np.array([1.0, -1.0, 0.0]), np.array([2.0, 2.0, 1.0])
    >>> np.signbit(zero_row(s)).tolist()
    [True, False, False]
    """
    if scaler.mean_ is None or scaler.std_ is None:
        raise ValueError("zero_row: scaler not fitted (call fit on the training rows first)")
    return ((0.0 - scaler.mean_) / scaler.std_).astype(np.float32) * np.float32(0)


def lstm_input(
    fs: FeatureSet, scaler: Scaler, t: np.ndarray, k: np.ndarray, seq_len: int
) -> tuple[torch.Tensor, np.ndarray]:
    """The LSTM input [N, L, F+1] float32 of the points ``(t[i], k[i])`` and their mask [N, L].

    Equal bit for bit to ``cat([xs * m, m], -1)`` with ``x, mask = gather_sequences(fs, t, k,
    seq_len)``, ``xs = scaler.transform(x)``, ``m = mask`` as float32 (module doc). Steps before
    day 0 or without ``has_data`` are masked.
    """
    if scaler.mean_ is None or scaler.std_ is None:
        raise ValueError("lstm_input: scaler not fitted (call fit on the training rows first)")
    n, f = len(t), scaler.mean_.shape[0]
    days = t[:, None] + np.arange(1 - seq_len, 1, dtype=np.int64)
    valid = days >= 0
    days = np.where(valid, days, 0)
    mask = valid & fs.has_data[days, k[:, None]]
    scaled = np.subtract(take(fs.x, days, k[:, None]), scaler.mean_)  # float64, as transform
    np.divide(scaled, scaler.std_, out=scaled)
    out = torch.empty((n, seq_len, f + 1), dtype=torch.float32)
    buf = out.numpy()  # torch's allocation: aligned as the old torch.cat output was
    xs = buf[..., :f]
    np.copyto(xs, scaled, casting="same_kind")  # float64 -> float32, as astype
    xs[~mask] = zero_row(scaler)
    buf[..., f] = mask
    return out, mask


def token_lookup(vocab: Sequence[str]) -> dict[str, int]:
    """Name -> vocabulary index (``models.lstm.token_ids``'s map, built once per model)."""
    return {name: i for i, name in enumerate(vocab)}


def lstm_eval(lstm: nn.LSTM, inp: torch.Tensor) -> torch.Tensor:
    """``lstm(inp)[0]`` of an eval-mode, batch-first ``nn.LSTM`` without projections: the op
    ``nn.LSTM.forward`` calls (``torch.lstm``, zero initial state, its own flat weights and
    flags), without its Python checks (measured ~30 us a call, 1 thread)."""
    if lstm.proj_size or not lstm.batch_first or lstm.training:
        raise ValueError(f"lstm_eval: expected an eval-mode batch-first LSTM, got {lstm}")
    lstm._update_flat_weights()  # as nn.LSTM.forward: rebinds weights replaced since
    h0 = torch.zeros(lstm.num_layers * (1 + lstm.bidirectional), inp.shape[0], lstm.hidden_size)
    return torch.lstm(inp, (h0, h0), lstm._flat_weights, lstm.bias, lstm.num_layers,
                      lstm.dropout, False, lstm.bidirectional, True)[0]  # fmt: skip


def head_eval(model: nn.Module, pooled: torch.Tensor, tok: torch.Tensor) -> torch.Tensor:
    """``TickerLSTMModel.head_out(pooled, tok)`` in eval mode by the functional ops its modules
    call (``Embedding``; ``Linear -> ReLU -> Dropout -> Linear``, dropout the identity in eval),
    without the module calls: a model left in train mode is refused."""
    first, _, drop, last = model.head
    if drop.training:
        raise ValueError("head_eval: the head is in train mode (expected eval)")
    z = torch.cat([pooled, F.embedding(tok, model.embed.weight)], dim=-1)
    return F.linear(
        torch.relu(F.linear(z, first.weight, first.bias)), last.weight, last.bias
    ).squeeze(-1)
