"""The lstm-portfolio weight map: every constraint on hand-made and hypothesis-drawn inputs, the
mean-variance layer, the rebalance schedule and the Sharpe-ratio loss."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config import PortfolioConfig
from models.portfolio import (
    day_weights,
    portfolio_returns,
    sharpe_loss,
    shrunk_cov,
    turnover_step,
    weight_path,
)

K = 12
TOL = 1e-9


def pc_of(**kw):
    return PortfolioConfig(**({"top_k": 4, "max_weight": 0.4} | kw))


def check(w, cand, pc, prev=None):
    """Every constraint the map promises (module doc of models.portfolio)."""
    w = w.detach().numpy()
    assert np.all(np.abs(w) <= pc.max_weight + TOL)
    assert np.abs(w).sum() <= 1 + TOL
    assert np.count_nonzero(w) <= pc.top_k
    if pc.long_only:
        assert np.all(w >= 0)
    allowed = cand.numpy() if prev is None else cand.numpy() | (prev.numpy() != 0)
    assert np.all(w[~allowed] == 0)
    if prev is not None:
        assert np.abs(w - prev.numpy()).sum() <= pc.max_turnover + TOL


configs = st.builds(
    pc_of,
    long_only=st.booleans(),
    top_k=st.integers(1, 8),
    max_weight=st.floats(0.05, 1.0),
    max_turnover=st.floats(0.05, 2.0),
)
vectors = st.lists(st.floats(-3, 3), min_size=K, max_size=K)
masks = st.lists(st.booleans(), min_size=K, max_size=K)


@settings(max_examples=150, deadline=None)
@given(configs, vectors, masks, vectors, masks)
def test_every_constraint_holds_for_any_scores_and_previous_weights(pc, s0, c0, s1, c1):
    cand0, cand1 = torch.tensor(c0), torch.tensor(c1)
    w0 = turnover_step(torch.tensor(s0), cand0, None, pc)
    check(w0, cand0, pc)
    w1 = turnover_step(torch.tensor(s1), cand1, w0, pc)
    check(w1, cand1, pc, prev=w0)


def test_long_only_top_k_keeps_the_highest_scores_and_fills_to_the_cap():
    s = torch.tensor([3.0, 2.0, 1.0, 0.5, 5.0, 0.0, -1.0, 9.0, 0, 0, 0, 0])
    cand = torch.ones(K, dtype=torch.bool)
    cand[7] = False  # the best score is not a candidate
    w = day_weights(s, cand, pc_of(top_k=3, max_weight=0.5)).numpy()
    assert set(np.flatnonzero(w)) == {0, 1, 4}
    # softmax(5, 3, 2) = .844, .114, .042: 4 capped at .5, excess .344 split .114 : .042
    np.testing.assert_allclose(w.sum(), 1.0)
    assert w[4] == 0.5 and w[0] > w[1] > 0
    np.testing.assert_allclose(w[0] / w[1], np.exp(1.0))


def test_cap_leaves_cash_when_top_k_times_cap_is_below_one():
    s = torch.arange(K, dtype=torch.float64)
    w = day_weights(s, torch.ones(K, dtype=torch.bool), pc_of(top_k=3, max_weight=0.2))
    np.testing.assert_allclose(w.numpy()[[9, 10, 11]], 0.2)
    np.testing.assert_allclose(w.sum().item(), 0.6)


def test_long_short_takes_sides_from_the_scores_sign_at_gross_one():
    s = torch.tensor([2.0, -3.0, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    w = day_weights(s, torch.ones(K, dtype=torch.bool), pc_of(long_only=False, top_k=2)).numpy()
    assert w[0] > 0 > w[1] and np.count_nonzero(w) == 2
    np.testing.assert_allclose(np.abs(w).sum(), 0.8)  # both capped at 0.4
    long_only = day_weights(s, torch.ones(K, dtype=torch.bool), pc_of(top_k=2)).numpy()
    assert np.all(long_only >= 0) and long_only[1] == 0


def test_turnover_limit_blends_toward_the_target_within_top_k():
    pc = pc_of(top_k=2, max_weight=1.0, max_turnover=0.5)
    prev = torch.zeros(K, dtype=torch.float64)
    prev[[0, 1]] = 0.5
    s = torch.zeros(K, dtype=torch.float64)
    s[[5, 6]] = 4.0  # the target wants two new names, the book holds two: no room for them
    w = turnover_step(s, torch.ones(K, dtype=torch.bool), prev, pc).numpy()
    assert set(np.flatnonzero(w)) <= {0, 1}
    s[1] = -5.0  # now name 1 is the worst of the held ones; with room for one new name
    prev[1] = 0.0
    w = turnover_step(s, torch.ones(K, dtype=torch.bool), prev, pc).numpy()
    np.testing.assert_allclose(np.abs(w - prev.numpy()).sum(), 0.5)
    assert np.count_nonzero(w) == 2 and w[0] < 0.5


def test_path_holds_between_rebalance_days_and_limits_turnover_on_them():
    pc = pc_of(rebalance=5, max_turnover=0.3)
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(12, K, generator=g, dtype=torch.float64)
    cand = torch.ones(12, K, dtype=torch.bool)
    days = np.arange(3, 15)  # rebalances on day 3 (the path's start), 5 and 10
    w = weight_path(scores, cand, days, pc).numpy()
    for i, t in enumerate(days[1:], start=1):
        if t % 5:
            np.testing.assert_array_equal(w[i], w[i - 1])
        else:
            assert not np.array_equal(w[i], w[i - 1])
            assert np.abs(w[i] - w[i - 1]).sum() <= 0.3 + TOL


def test_mean_variance_layer_moves_weight_to_the_low_variance_name():
    rng = np.random.default_rng(0)
    ret = np.zeros((60, K))
    ret[:, 0] = rng.normal(0, 0.05, 60)  # volatile
    ret[:, 1] = rng.normal(0, 0.005, 60)  # quiet
    s = torch.zeros(K, dtype=torch.float64)
    cand = torch.zeros(K, dtype=torch.bool)
    cand[[0, 1]] = True
    pc = pc_of(top_k=2, max_weight=1.0)
    plain = day_weights(s, cand, pc).numpy()
    np.testing.assert_allclose(plain[[0, 1]], 0.5)
    mv = day_weights(s, cand, dataclasses.replace(pc, risk_aversion=500.0), torch.tensor(ret))
    assert mv[1] > 0.6 > mv[0] > 0 and abs(mv.sum().item() - 1) < TOL


def test_shrunk_covariance_is_the_sample_covariance_pulled_to_its_diagonal():
    r = torch.tensor([[0.01, 0.02], [0.03, -0.01], [-0.02, 0.0]], dtype=torch.float64)
    s = np.cov(r.numpy(), rowvar=False)
    got = shrunk_cov(r, 0.25).numpy()
    np.testing.assert_allclose(got, 0.75 * s + 0.25 * np.diag(np.diag(s)))


def test_sharpe_loss_is_minus_mean_over_std_of_returns_net_of_turnover_cost():
    w = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    y = torch.tensor([[0.01, 0.02], [0.02, float("nan")], [-0.01, 0.03]], dtype=torch.float64)
    r = portfolio_returns(w, y, 0.001).numpy()
    # day 1: 0.5*0.02 - 0.001 * (0.5 + 0.5); the NaN return counts 0
    np.testing.assert_allclose(r, [0.01, 0.01 - 0.001, 0.01])
    want = -r.mean() / (r.std(ddof=1) + 1e-8)
    np.testing.assert_allclose(sharpe_loss(w, y, 0.001).item(), want, rtol=1e-12)


def test_loss_gradient_reaches_the_scores():
    s = torch.zeros(2, K, dtype=torch.float64, requires_grad=True)
    cand = torch.ones(2, K, dtype=torch.bool)
    y = torch.linspace(-0.02, 0.02, K, dtype=torch.float64).repeat(2, 1)
    y[1] *= 0.5
    loss = sharpe_loss(weight_path(s, cand, np.arange(2), pc_of(top_k=K, max_weight=1.0)), y, 0)
    loss.backward()
    g = s.grad.numpy()
    assert g[0, -1] < 0 < g[0, 0]  # raising the best name's score lowers the loss
