"""The constrained weight map of ``lstm-portfolio``: scores -> portfolio weights, day by day.

Weights are fractions of NAV on the K ticker axis (float64, differentiable in the scores). One
day's map (``day_weights``), in this order:

1. **support**: the ``top_k`` candidates with the highest score (long-only) or ``|score|``
   (long/short); ties: the lower ticker index.
2. **raw weights** on the support: ``softmax(score)`` (long-only) or ``tanh(score)`` scaled to
   gross 1 (long/short).
3. **mean-variance layer** (``risk_aversion`` gamma > 0): ``w = argmax w'mu - 1/2 w'(I +
   gamma Sigma)w = (I + gamma Sigma)^-1 mu`` on the support, ``mu`` the raw weights; ``Sigma`` the
   covariance of the support's daily close-to-close returns (feature ``ret1``: close(d-1) /
   close(d-2) - 1 at row d) over the last ``cov_days`` rows up to day t, shrunk toward its
   diagonal: ``(1 - shrink) S + shrink diag(S)``. All of it is known before the open of t.
4. **sign**: long-only clamps at 0. Then gross ``sum |w|`` scaled to 1.
5. **max weight**: ``|w| <= max_weight``; the excess goes to the uncapped names in proportion
   (water-filling), so gross = ``min(1, n_names * max_weight)``.
6. **max turnover** (``turnover_step``): if ``sum |w - prev| > max_turnover``, the target is
   recomputed with its support restricted to the held names plus the best ``top_k - held`` new
   ones, and blended: ``prev + a (w - prev)``, ``a = max_turnover / sum |w - prev|`` (a without
   gradient). A blend of two maps' outputs keeps the sign, cap, gross <= 1 and <= top_k names.

``weight_path`` runs the map over consecutive days: day t rebalances when ``t % rebalance == 0``
or it is the path's first day (no previous weights: no turnover limit); other days hold
(``rebalances``). A path may continue another: ``prev``, the weights of the day before its first.
"""

from __future__ import annotations

import numpy as np
import torch

from models.config import PortfolioConfig

__all__ = [
    "day_weights",
    "turnover_step",
    "weight_path",
    "rebalances",
    "shrunk_cov",
    "sharpe_loss",
    "portfolio_returns",
]


def _topk_mask(key: torch.Tensor, cand: torch.Tensor, k: int) -> torch.Tensor:
    """[K] bool: the ``k`` candidates with the largest ``key`` (ties: lower index)."""
    kk = key.detach().cpu().numpy()
    idx = np.flatnonzero(cand.cpu().numpy())
    order = idx[np.lexsort((idx, -kk[idx]))][:k]
    out = torch.zeros(len(kk), dtype=torch.bool)
    out[torch.as_tensor(order, dtype=torch.long)] = True
    return out


def shrunk_cov(ret: torch.Tensor, shrink: float) -> torch.Tensor:
    """``(1 - shrink) S + shrink diag(S)`` of returns ``ret`` [L, n] (S: sample covariance)."""
    r = ret - ret.mean(dim=0, keepdim=True)
    s = r.T @ r / max(1, ret.shape[0] - 1)
    return (1.0 - shrink) * s + shrink * torch.diag(torch.diagonal(s))


def _cap(w: torch.Tensor, cap: float, n: int) -> torch.Tensor:
    """Water-filling of ``|w|`` (gross 1) at ``cap``: the excess goes to uncapped names."""
    a, sign = w.abs(), torch.sign(w)
    for _ in range(n):
        over = a > cap
        if not bool(over.any()):
            break
        excess = (a - cap).clamp(min=0.0).sum()
        a = torch.where(over, torch.full_like(a, cap), a)
        free = (a < cap) & (a > 0)
        if not bool(free.any()):
            break
        room = torch.where(free, a, torch.zeros_like(a))
        a = a + excess * room / room.sum()
    return sign * a.clamp(max=cap)


def day_weights(
    score: torch.Tensor, cand: torch.Tensor, pc: PortfolioConfig, ret: torch.Tensor | None = None
) -> torch.Tensor:
    """Steps 1-5 of the module doc: [K] weights from [K] scores, ``cand`` [K] bool.

    ``ret`` [cov_days, K]: past daily returns for the mean-variance layer (needed when
    ``pc.risk_aversion > 0``).
    """
    score = score.double()
    key = score if pc.long_only else score.abs()
    sup = _topk_mask(key, cand, pc.top_k)
    w = torch.zeros_like(score)
    if not bool(sup.any()):
        return w
    s = score[sup]
    raw = torch.softmax(s, dim=0) if pc.long_only else torch.tanh(s)
    if pc.risk_aversion > 0:
        if ret is None:
            raise ValueError("day_weights: risk_aversion > 0 needs the past returns (ret=None)")
        sigma = shrunk_cov(ret[:, sup].double(), pc.shrink)
        eye = torch.eye(len(raw), dtype=raw.dtype)
        raw = torch.linalg.solve(eye + pc.risk_aversion * sigma, raw)
    if pc.long_only:
        raw = raw.clamp(min=0.0)
    gross = raw.abs().sum()
    if not float(gross.detach()) > 0:
        return w
    w = w.index_put((sup.nonzero().squeeze(1),), raw / gross)
    return _cap(w, pc.max_weight, pc.top_k)


def turnover_step(
    score: torch.Tensor,
    cand: torch.Tensor,
    prev: torch.Tensor | None,
    pc: PortfolioConfig,
    ret: torch.Tensor | None = None,
) -> torch.Tensor:
    """One rebalance from ``prev`` [K] (None: free): ``day_weights`` within ``max_turnover``
    (step 6 of the module doc)."""
    w = day_weights(score, cand, pc, ret)
    if prev is None:
        return w
    if float((w - prev).abs().sum().detach()) <= pc.max_turnover:
        return w
    held = prev != 0
    room = max(pc.top_k - int(held.sum()), 0)
    key = (score if pc.long_only else score.abs()).double()
    new = _topk_mask(key, cand & ~held, room) if room else torch.zeros_like(held)
    w = day_weights(score, cand & (held | new), pc, ret)
    d = float((w - prev).abs().sum().detach())
    a = min(1.0, pc.max_turnover / d) if d > 0 else 1.0
    return prev + a * (w - prev)


def rebalances(t: int, prev: torch.Tensor | None, pc: PortfolioConfig) -> bool:
    """Whether day ``t`` of a path rebalances: its first day (``prev`` None) or ``t % rebalance
    == 0``; on other days the weights hold (and the day's scores are not needed)."""
    return prev is None or t % pc.rebalance == 0


def weight_path(
    scores: torch.Tensor,
    cand: torch.Tensor,
    days: np.ndarray,
    pc: PortfolioConfig,
    rets: torch.Tensor | None = None,
    prev: torch.Tensor | None = None,
) -> torch.Tensor:
    """[D, K] weights of the consecutive days ``days`` (module doc): ``scores`` [D, K],
    ``cand`` [D, K] bool, ``rets`` [D, cov_days, K] (mean-variance layer only); ``prev`` [K]: the
    weights of the day before ``days[0]`` when the path continues one (None: a new path)."""
    out: list[torch.Tensor] = []
    for i, t in enumerate(np.asarray(days).tolist()):
        if not rebalances(t, prev, pc):
            w = prev
        else:
            w = turnover_step(scores[i], cand[i], prev, pc, None if rets is None else rets[i])
        out.append(w)
        prev = w
    return torch.stack(out)


def portfolio_returns(w: torch.Tensor, y: torch.Tensor, cost_rate: float) -> torch.Tensor:
    """[D] daily returns ``sum_k w y`` (``y`` NaN -> 0) minus ``cost_rate * sum |w_d - w_d-1|``
    (from the path's second day)."""
    r = (w * torch.nan_to_num(y.double(), nan=0.0)).sum(dim=1)
    turn = (w[1:] - w[:-1]).abs().sum(dim=1)
    return torch.cat([r[:1], r[1:] - cost_rate * turn])


def sharpe_loss(w: torch.Tensor, y: torch.Tensor, cost_rate: float) -> torch.Tensor:
    """Negative Sharpe ratio (mean / std, per day, not annualised) of ``portfolio_returns``."""
    r = portfolio_returns(w, y, cost_rate)
    return -(r.mean() / (r.std() + 1e-8))
