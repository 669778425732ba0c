"""The training FLOP floor of every neural family's window (bench_families' floor rows).

Counted per window from its ``metadata.json`` (the passes actually run, not the plan). A forward is
``bench_pretrain._lstm_flops`` of one sequence (lstm-portfolio: plus ``_infer._mha_flops``); a
forward + backward counts as 3 forwards:

* ``lstm``: epochs x min(n_train, ``train.max_samples_per_epoch``) passes forward + backward and
  (epochs + warm) x min(n_val, ``train.max_val_samples``) validation forwards (a warm start scores
  its epoch 0 too);
* SSL (``model.ssl.method``; only the windows that ran it: a warm start inherits the encoder and
  records no ``ssl_loss``): ssl epochs x min(the window's unlabeled sequences,
  ``ssl.max_samples_per_epoch``) x views (masked 1, contrastive 2) forward + backward; the
  reconstruction and projection heads are not counted;
* ``lstm-universe``: stage 1 as ``lstm`` on the universe's points; a fine-tune
  (``universe.finetune`` not ``none``) adds ``universe.epochs`` x min(ft_n_train, budget) passes
  (forward only under ``frozen``; forward + backward otherwise, which over-counts ``progressive``'s
  early epochs: there the floor is an upper bound) and its validation forwards;
* ``embed-gbm``: its encoder as ``lstm`` (``encoder_epochs``, never warm), then one forward of every
  training and validation point for the embeddings; LightGBM's boosting is not counted (no FLOP
  model for trees), so its floor is the encoder's;
* ``lstm-portfolio``: each epoch runs every training point's sequence forward and backward through
  the LSTM and attention (a block's weight path needs all its points) and forwards every
  validation point; the weight map and the Sharpe loss are not counted.

The floor in seconds = FLOPs / the best ``torch.mm`` rate of the recurrent GEMM's shape at the
training batch (``bench_pretrain._gemm_rate``: ``[train.batch_size, H] x [H, 4H]``; lstm-portfolio:
``[batch_days x mean points a day, H]``), measured in the same process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from _infer import _mha_flops
from bench_pretrain import _lstm_flops

VIEWS = {"masked": 1, "contrastive": 2}


@dataclass(frozen=True)
class Shape:
    """A family's trained network: LSTM inputs (features + the mask channel), hidden, layers, and
    whether an attention over the steps follows (lstm-portfolio)."""

    n_in: int
    hidden: int
    layers: int
    attention: bool = False

    def forward(self, seq_len: int) -> float:
        f = _lstm_flops(1, seq_len, self.n_in, self.hidden, self.layers)
        return f + (_mha_flops(1, seq_len, self.hidden) if self.attention else 0.0)


def shape_of(pred: Any) -> Shape | None:
    """The Shape of a loaded predictor (ModelBundle, embed-gbm's encoder, PortfolioPredictor);
    None for embed-gbm without embeddings (no network)."""
    if hasattr(pred, "net"):
        return Shape(pred.net.n_features + 1, pred.pc.hidden, pred.pc.layers, attention=True)
    m = pred.encoder if hasattr(pred, "encoder") else pred
    if m is None:
        return None
    return Shape(m.model.n_features + 1, m.model.cfg.hidden, m.model.cfg.layers)


def _capped(n: int, cap: int) -> int:
    return min(n, cap or n)


def passes(case: str, v: dict[str, Any], cfg: Any, n_ssl: int) -> dict[str, int]:
    """Sequence passes of one window (``v``: its metadata's ``val``): ``train`` (forward +
    backward), ``fwd_only`` (training passes without a backward), ``val`` and ``embed`` forwards,
    ``ssl`` (forward + backward, views included)."""
    family, _, _ = case.partition("+")
    tc = cfg.train
    out = {"train": 0, "fwd_only": 0, "val": 0, "ssl": 0, "embed": 0}
    if family == "lstm-portfolio":
        out["train"], out["val"] = v["epochs"] * v["n_train"], v["epochs"] * v["n_val"]
        return out
    epochs = v["encoder_epochs"] if family == "embed-gbm" else v["epochs"]
    warm = bool(v.get("warm", False))
    out["train"] = epochs * _capped(v["n_train"], tc.max_samples_per_epoch)
    out["val"] = (epochs + warm) * _capped(v["n_val"], tc.max_val_samples)
    if "ssl_loss" in v:
        sc = cfg.model.ssl
        per_epoch = _capped(n_ssl, sc.max_samples_per_epoch) * VIEWS[sc.method]
        out["ssl"] = len(v["ssl_loss"]) * per_epoch
    if family == "embed-gbm":
        out["embed"] = v["n_train"] + v["n_val"]
    ft = v.get("finetune", "none")
    if family == "lstm-universe" and ft != "none":
        uc = cfg.model.universe
        n = uc.epochs * _capped(v["ft_n_train"], tc.max_samples_per_epoch)
        out["fwd_only" if ft == "frozen" else "train"] += n
        out["val"] += (uc.epochs + (ft != "frozen")) * _capped(v["ft_n_val"], tc.max_val_samples)
    return out


def floor_s(
    case: str, metas: list[dict], cfg: Any, shape: Shape, rate: float, n_ssl: list[int]
) -> tuple[float, str]:
    """The FLOP floor in seconds per window (mean over ``metas``) and a note on what it counts;
    ``n_ssl``: each window's unlabeled sequences (SSL cases)."""
    fwd = shape.forward(cfg.features.seq_len)
    tot = {"train": 0, "fwd_only": 0, "val": 0, "ssl": 0, "embed": 0}
    for meta, n in zip(metas, n_ssl, strict=True):
        for k, x in passes(case, meta["val"], cfg, n).items():
            tot[k] += x
    flops = fwd * (3 * (tot["train"] + tot["ssl"]) + tot["fwd_only"] + tot["val"] + tot["embed"])
    flops /= len(metas)
    counted = ", ".join(f"{x} {k}" for k, x in tot.items() if x)
    note = f"{counted} sample-passes, {flops / 1e9:.2f} GFLOP/window at {rate / 1e9:.1f} GFLOP/s"
    return flops / rate, note
