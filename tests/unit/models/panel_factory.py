"""Test-only: a small random Panel with every field filled, for the feature and audit tests.

Prices follow random walks; tickers leave and rejoin the universe (unpriced meanwhile); the six
analysts cover random subsets with the real quirks (valuation NaN confidences, negative Buffett
confidences); the risk list is a subset of the eligible tickers; risk_price is the close of t.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from episodes.panel import ANALYSTS, BONDS, Panel


def make_panel(n_days: int = 40, n_stocks: int = 12, seed: int = 0) -> Panel:
    """A consistent random Panel: ``n_stocks`` stocks then SHY, TLT; stock 0 is always eligible."""
    rng = np.random.default_rng(seed)
    t_n, k_n = n_days, n_stocks + len(BONDS)
    is_bond = np.zeros(k_n, dtype=bool)
    is_bond[n_stocks:] = True
    close = 40.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (t_n, k_n)), axis=0))
    open_ = np.empty_like(close)
    open_[0] = close[0] * np.exp(rng.normal(0, 0.01, k_n))
    open_[1:] = close[:-1] * np.exp(rng.normal(0, 0.01, (t_n - 1, k_n)))
    eligible = (rng.random((t_n, k_n)) > 0.15) & ~is_bond
    eligible[:, 0] = True
    priced = eligible | is_bond
    open_[~priced] = np.nan
    close[~priced] = np.nan
    order_ptr = np.zeros(t_n + 1, dtype=np.int64)
    order_ptr[1:] = np.cumsum(priced.sum(axis=1))
    order_idx = np.concatenate([np.flatnonzero(eligible[t]).tolist() + [n_stocks, n_stocks + 1]
                                for t in range(t_n)]).astype(np.int32)  # fmt: skip
    f = _agents(rng, eligible, close)
    zeros, izeros = np.zeros((t_n, k_n)), np.zeros((t_n, k_n), dtype=np.int64)
    zk, zt = np.zeros(k_n), np.zeros(t_n)
    return Panel(
        dates=np.datetime64("2022-04-01") + np.arange(t_n).astype("timedelta64[D]"),
        tickers=np.array([f"S{i:02d}" for i in range(n_stocks)] + list(BONDS), dtype=object),
        is_bond=is_bond, order_ptr=order_ptr, order_idx=order_idx, eligible=eligible,
        open=open_, close=close, **f,
        cash_before=np.full(t_n, 1e5), cash_after=np.full(t_n, 1e5), margin_before=zt,
        margin_after=zt, long_before=izeros, short_before=izeros, long_after=izeros,
        short_after=izeros, lcb_after=zeros, scb_after=zeros, smu_after=zeros, rg_long_after=zeros,
        rg_short_after=zeros, lcb_before0=zk, scb_before0=zk, smu_before0=zk, rg_long_before0=zk,
        rg_short_before0=zk, portfolio_return=zt, long_exposure=zt, short_exposure=zt,
        gross_exposure=zt, net_exposure=zt, trade_ptr=np.zeros(t_n + 1, dtype=np.int64),
        trade_k=np.zeros(0, np.int32), trade_qty=np.zeros(0, np.int64),
        repl_ptr=np.zeros(t_n + 1, dtype=np.int64), repl_new_k=np.zeros(0, np.int32),
        repl_victim_k=np.zeros(0, np.int32),
    )  # fmt: skip


def _agents(rng: np.random.Generator, eligible: np.ndarray, close: np.ndarray) -> dict:
    """Agent-derived fields of each episode (analysts, risk manager, portfolio agents, LLM)."""
    t_n, k_n = eligible.shape
    a_n = len(ANALYSTS)
    has = np.zeros((a_n, t_n, k_n), dtype=bool)
    has[:2] = eligible  # technical and sentiment cover every eligible ticker
    has[2:] = eligible & (rng.random((a_n - 2, t_n, k_n)) < 0.5)
    signal = np.where(has, rng.integers(-1, 2, (a_n, t_n, k_n)), 0).astype(np.int8)
    conf = np.where(has, rng.uniform(0, 100, (a_n, t_n, k_n)), np.nan)
    conf[3][has[3] & (rng.random((t_n, k_n)) < 0.1)] = np.nan  # valuation NaN confidences
    conf[4][has[4] & (rng.random((t_n, k_n)) < 0.05)] = -10.0  # negative Buffett confidences
    on_risk = eligible & (rng.random((t_n, k_n)) < 0.4)
    risk_base = rng.uniform(5e4, 1.5e5, t_n)
    action = np.where(on_risk, rng.integers(0, 5, (t_n, k_n)), 0).astype(np.int8)
    return {
        "has_signal": has,
        "signal": signal,
        "confidence": conf,
        "on_risk": on_risk,
        "risk_limit": np.where(
            on_risk, risk_base[:, None] * rng.uniform(0.03, 0.07, (t_n, k_n)), np.nan
        ),  # fmt: skip
        "risk_base": risk_base,
        "risk_price": np.where(on_risk, close, np.nan),
        "strength": np.where(eligible, rng.uniform(0, 1, (t_n, k_n)), 0.0),
        "macro_stock_alloc": rng.choice([0.5, 0.6, 0.7], t_n),
        "fwd_stock_alloc": rng.uniform(0.4, 0.7, t_n),
        "vix": rng.uniform(12, 35, t_n),
        "has_decision": eligible.copy(),
        "action": action,
        "quantity": np.where(action > 0, rng.integers(1, 50, (t_n, k_n)), 0).astype(np.int64),
    }


def replace(panel: Panel, **fields: np.ndarray) -> Panel:
    """A copy of ``panel`` with some fields replaced."""
    return dataclasses.replace(panel, **fields)
