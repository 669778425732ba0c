"""Family ``lstm-portfolio``: an LSTM with multi-head attention over time that scores the day's
consensus tickers; the constrained weight map of ``models.portfolio`` turns the scores into
portfolio weights. Its "prediction" of a point (t, k) is k's weight of NAV on day t.

Training, per window, end to end: the purged training days (``split_window``) in blocks of
``batch_days`` consecutive days (block order shuffled per epoch, seeded); each block's weight path
(``weight_path``, the same map as serving, turnover limit and rebalancing included) is scored by
``sharpe_loss``: minus mean / std of the daily portfolio returns ``sum_k w y`` (y = open(t) ->
open(t+h), labels all known before the serve start) net of ``cost_rate * turnover``. Adam with
``train.lr``, ``grad_clip``, ``weight_decay``; early stopping on the validation part's Sharpe
ratio (``train.patience``), keeping the best state. No warm start.

Serving a day t of the window's serve range runs the path from the serve start to t (the first
serve day rebalances freely: a new model), one forward of each rebalancing day's points alone, so
saved and live predictions are the same computation; a day before the serve start is its own
one-day path. The predictor keeps the path's days already computed for the ``FeatureSet`` it was
last asked about (the same object: its arrays are taken as fixed; another object starts a new
path), so a replay serving days in order pays one day's forward and map step per day, not the
whole path again; a day's weights do not depend on which days were asked before (each day's
forward sees only its own points; test).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import structlog
import torch
from torch import nn

from episodes.account import RECORDED_ACCOUNT
from models.config import PortfolioConfig
from models.families import FamilyBase, Fitted, header, split_sizes
from models.features import FeatureSet, Scaler, gather_sequences
from models.lstm_fused import fused_lstm
from models.portfolio import portfolio_returns, rebalances, sharpe_loss, weight_path
from models.train import split_window

__all__ = ["FAMILY", "PortfolioNet", "PortfolioPredictor", "PortfolioFamily"]

log = structlog.get_logger(__name__)

FORMAT = 1
RET_FEATURE = "ret1"  # close(t-1)/close(t-2) - 1: the mean-variance layer's covariance input


class PortfolioNet(nn.Module):
    """LSTM over the last ``seq_len`` steps (features + mask channel), then multi-head attention
    with day t's output as the query over all unmasked steps (residual), then a linear score."""

    def __init__(
        self, n_features: int, pc: PortfolioConfig, seed: int | None = None, kernel: str = "torch"
    ) -> None:
        super().__init__()
        self.n_features = int(n_features)
        # train.lstm_kernel: "fused" runs the LSTM's training passes through models.lstm_fused
        # (same parameters: the checkpoint does not depend on it); inference is nn.LSTM's
        self.kernel = kernel
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.lstm = nn.LSTM(self.n_features + 1, pc.hidden, pc.layers, batch_first=True,
                                dropout=pc.dropout if pc.layers > 1 else 0.0)  # fmt: skip
            self.attn = nn.MultiheadAttention(
                pc.hidden, pc.heads, dropout=pc.dropout, batch_first=True
            )
            self.head = nn.Linear(pc.hidden, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` [B, L, F], ``mask`` [B, L] bool (step L-1 = day t, always unmasked) -> [B]."""
        m = mask.unsqueeze(-1).to(x.dtype)
        inp = torch.cat([x * m, m], dim=-1)
        if self.kernel == "fused" and torch.is_grad_enabled():
            out = fused_lstm(self.lstm, inp)
        else:
            out, _ = self.lstm(inp)
        q = out[:, -1:]
        a, _ = self.attn(q, out, out, key_padding_mask=~mask, need_weights=False)
        return self.head(a[:, 0] + q[:, 0]).squeeze(-1)


@dataclass(frozen=True, eq=False)
class _Days:
    """What a weight path needs: per-day scores, candidates, past returns, targets."""

    net: PortfolioNet
    fs: FeatureSet
    mean: np.ndarray
    std: np.ndarray
    seq_len: int
    pc: PortfolioConfig

    def inputs(self, days: np.ndarray, cand: np.ndarray) -> tuple[torch.Tensor, ...]:
        """Scores [D, K] (one forward over all points), candidates [D, K], returns or None."""
        tt, kk = np.nonzero(cand)
        scores = torch.zeros(cand.shape, dtype=torch.float64)
        if len(tt):
            x, mask = gather_sequences(self.fs, days[tt], kk, self.seq_len)
            x = ((x - self.mean) / self.std).astype(np.float32)
            s = self.net(torch.from_numpy(x), torch.from_numpy(mask))
            scores = scores.index_put((torch.from_numpy(tt), torch.from_numpy(kk)), s.double())
        return scores, torch.from_numpy(cand), self.past_returns(days)

    def past_returns(self, days: np.ndarray) -> torch.Tensor | None:
        """[D, cov_days, K] ``ret1`` of rows d-cov_days+1 .. d (0 before day 0): before t's open."""
        if self.pc.risk_aversion == 0:
            return None
        names = list(self.fs.names)
        if RET_FEATURE not in names:
            raise ValueError(f"lstm-portfolio: risk_aversion > 0 needs feature {RET_FEATURE!r}")
        j = names.index(RET_FEATURE)
        rows = days[:, None] + np.arange(1 - self.pc.cov_days, 1)[None, :]
        r = np.where((rows >= 0)[..., None], self.fs.x[np.maximum(rows, 0), :, j], 0.0)
        return torch.from_numpy(r.astype(np.float64))

    def path(self, days: np.ndarray, cand: np.ndarray) -> torch.Tensor:
        scores, c, rets = self.inputs(days, cand)
        return weight_path(scores, c, days, self.pc, rets)

    def step(self, d: int, prev: torch.Tensor | None) -> torch.Tensor:
        """Day ``d``'s weights [K] after ``prev`` (None: a new path): one forward of d's points
        alone, none on a day that holds."""
        if not rebalances(d, prev, self.pc):
            return prev
        day = np.array([d], dtype=np.int64)
        scores, c, rets = self.inputs(day, self.fs.sample[d : d + 1])
        return weight_path(scores, c, day, self.pc, rets, prev)[0]


class _PathMemo:
    """The serve path's weights already computed (row i: serve start + i) for one FeatureSet,
    held by weak reference (never pickled: a copy starts empty)."""

    def __init__(self) -> None:
        self._fs: weakref.ref | None = None
        self._rows: list[torch.Tensor] = []

    def __reduce__(self):
        return _PathMemo, ()

    def rows(self, fs: FeatureSet) -> list[torch.Tensor]:
        if self._fs is None or self._fs() is not fs:
            self._fs, self._rows = weakref.ref(fs), []
        return self._rows


@dataclass(frozen=True, eq=False)
class PortfolioPredictor:
    """A loaded ``lstm-portfolio`` window: weights of NAV for the points asked (module doc)."""

    net: PortfolioNet
    scaler: Scaler
    feature_names: tuple[str, ...]
    seq_len: int
    pc: PortfolioConfig
    serve_start: int
    _memo: _PathMemo = field(default_factory=_PathMemo, repr=False)

    def predict(
        self, fs: FeatureSet, t_idx: np.ndarray, k_idx: np.ndarray, tickers: Sequence[str]
    ) -> np.ndarray:
        if tuple(fs.names) != self.feature_names:
            raise ValueError("PortfolioPredictor.predict: feature names differ from the model's")
        t_idx, k_idx = np.asarray(t_idx, np.int64), np.asarray(k_idx, np.int64)
        out = np.zeros(len(t_idx), np.float32)
        if not len(t_idx):
            return out
        days = _Days(self.net, fs, self.scaler.mean_.astype(np.float32),
                     self.scaler.std_.astype(np.float32), self.seq_len, self.pc)  # fmt: skip
        if self.net.training:
            self.net.eval()
        with torch.inference_mode():
            for start, stop in _paths(np.unique(t_idx), self.serve_start):
                if start < self.serve_start:  # a day before the serve start: its own path
                    rows = [days.step(start, None)]
                else:
                    rows = self._memo.rows(fs)
                    while len(rows) <= stop - start:
                        rows.append(days.step(start + len(rows), rows[-1] if rows else None))
                sel = (t_idx >= start) & (t_idx <= stop)
                asked = np.unique(t_idx[sel])
                w = torch.stack([rows[d - start] for d in asked.tolist()]).numpy()
                out[sel] = w[np.searchsorted(asked, t_idx[sel]), k_idx[sel]]
        return out


def _paths(days: np.ndarray, serve_start: int) -> list[tuple[int, int]]:
    """Paths (first, last day) covering ``days``: serve start -> last day; earlier days alone."""
    early = [(int(d), int(d)) for d in days if d < serve_start]
    late = days[days >= serve_start]
    return early + ([(serve_start, int(late.max()))] if len(late) else [])


def _blocks(days: np.ndarray, size: int) -> list[np.ndarray]:
    return [days[i : i + size] for i in range(0, len(days), size) if len(days[i : i + size]) > 1]


def _cand(fs: FeatureSet, t: np.ndarray, k: np.ndarray, days: np.ndarray) -> np.ndarray:
    """[D, K] bool: the sample points (t, k) of each of ``days``."""
    out = np.zeros((len(days), fs.x.shape[1]), dtype=bool)
    pos = np.searchsorted(days, t)
    out[pos, k] = True
    return out


def _fit(net, data: _Days, train: tuple, val: tuple, tc: Any, rng, window_id: str):
    """Adam over the blocks; early stopping on validation Sharpe, keeping the best state."""
    (tr_days, tr_cand), (va_days, va_cand) = train, val
    y_tr = torch.from_numpy(data.fs.y[tr_days].astype(np.float64))
    y_va = torch.from_numpy(data.fs.y[va_days].astype(np.float64))
    opt = torch.optim.Adam(net.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    best, best_state, best_epoch, bad, epoch = -np.inf, None, 0, 0, 0
    blocks = _blocks(np.arange(len(tr_days)), data.pc.batch_days)
    for epoch in range(1, tc.max_epochs + 1):
        net.train()
        for b in rng.permutation(len(blocks)):
            i = blocks[b]
            loss = sharpe_loss(data.path(tr_days[i], tr_cand[i]), y_tr[i], data.pc.cost_rate)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), tc.grad_clip)
            opt.step()
        net.eval()
        with torch.no_grad():
            r = portfolio_returns(data.path(va_days, va_cand), y_va, data.pc.cost_rate)
            sharpe = float(r.mean() / (r.std() + 1e-8))
        log.debug("epoch_finished", window=window_id, epoch=epoch, val_sharpe=sharpe)
        if sharpe > best:
            best, best_epoch, bad = sharpe, epoch, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
            if bad >= tc.patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return epoch, best_epoch, best


class PortfolioFamily(FamilyBase):
    name = "lstm-portfolio"
    warm_start = False

    def _fit(self, window, fs, tickers, cfg, seed, init) -> tuple[dict[str, Any], Any, dict]:
        pc, tc = cfg.model.portfolio, cfg.train
        if cfg.model.target != "raw":
            raise ValueError(f"lstm-portfolio: model.target={cfg.model.target!r}, expected 'raw'")
        if pc.top_k > RECORDED_ACCOUNT.max_positions:
            raise ValueError(
                f"lstm-portfolio: top_k={pc.top_k}, "
                f"expected <= {RECORDED_ACCOUNT.max_positions} (the books' cap)"
            )
        if pc.cost_rate is None:  # one source: the recording's fee rate
            pc = dataclasses.replace(pc, cost_rate=RECORDED_ACCOUNT.fee_rate)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        if tc.device == "cpu" and not torch.are_deterministic_algorithms_enabled():
            torch.use_deterministic_algorithms(True)
        torch.set_num_threads(tc.torch_threads)
        split = split_window(window, fs, tc.val_frac)
        scaler = Scaler(fs.names).fit_points(fs.x, split.train_t, split.train_k)  # chunked
        net = PortfolioNet(len(fs.names), pc, seed=seed, kernel=tc.lstm_kernel)
        seq_len = cfg.features.seq_len
        mean, std = scaler.mean_.astype(np.float32), scaler.std_.astype(np.float32)
        data = _Days(net, fs, mean, std, seq_len, pc)
        parts = []
        for t, k in ((split.train_t, split.train_k), (split.val_t, split.val_k)):
            days = np.arange(int(t.min()), int(t.max()) + 1)
            parts.append((days, _cand(fs, t, k, days)))
        epochs, best_epoch, val_sharpe = _fit(net, data, parts[0], parts[1], tc, rng, window.id)
        pred = PortfolioPredictor(net, scaler, tuple(fs.names), seq_len, pc, window.serve.start)
        ckpt = {
            **header(FORMAT, self.name, window, dataclasses.asdict(pc), fs),
            "seq_len": seq_len,
            "serve_start": int(window.serve.start),
            "scaler": scaler.to_dict(),
            "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
        }
        metrics = {
            "val_sharpe": val_sharpe,
            "epochs": epochs,
            "best_epoch": best_epoch,
            **split_sizes(len(split.train_t), len(split.val_t)),
        }
        return ckpt, pred, metrics

    def fit(self, window, fs, tickers, cfg, seed, init=None) -> Fitted:
        out = super().fit(window, fs, tickers, cfg, seed, init)
        log.info("window_trained", window=window.id, family=self.name, epochs=out.metrics["epochs"],
                 val_sharpe=round(out.metrics["val_sharpe"], 4),
                 elapsed_s=round(out.elapsed_s, 2))  # fmt: skip
        return out

    def load(self, checkpoint: dict[str, Any]) -> PortfolioPredictor:
        if checkpoint.get("format") != FORMAT:
            raise ValueError(f"lstm-portfolio checkpoint format={checkpoint.get('format')}, "
                             f"expected {FORMAT}")  # fmt: skip
        pc = PortfolioConfig(**checkpoint["config"])
        net = PortfolioNet(len(checkpoint["feature_names"]), pc)
        net.load_state_dict(checkpoint["state_dict"])
        net.eval()
        return PortfolioPredictor(net, Scaler.from_dict(checkpoint["scaler"]),
                                  tuple(checkpoint["feature_names"]), int(checkpoint["seq_len"]),
                                  pc, int(checkpoint["serve_start"]))  # fmt: skip


FAMILY = PortfolioFamily()
