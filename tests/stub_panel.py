"""Test-only: a small random Panel (every field filled consistently) for the replay unit tests.

Stands in for ``episodes.store.load_panel`` / ``episodes.synth``: prices follow random walks,
the universe drops a ticker now and then (and one drop has no price at all), the risk list is
a random subset, and the baseline's book is a random but continuous long book with bonds.
"""

from __future__ import annotations

import numpy as np

from episodes.panel import BONDS, Panel


def make_panel(n_days: int = 60, n_stocks: int = 40, seed: int = 0) -> Panel:
    """A consistent random Panel: ``n_stocks`` stocks then SHY, TLT."""
    rng = np.random.default_rng(seed)
    T, K = n_days, n_stocks + len(BONDS)
    tickers = np.array([f"S{i:03d}" for i in range(n_stocks)] + list(BONDS), dtype=object)
    is_bond = np.zeros(K, bool)
    is_bond[n_stocks:] = True
    close = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.015, (T, K)), axis=0)) * rng.uniform(0.5, 2, K)
    open_ = close * np.exp(rng.normal(0, 0.008, (T, K)))
    open_[1:] = close[:-1] * np.exp(rng.normal(0, 0.006, (T - 1, K)))
    eligible = rng.random((T, K)) > 0.03
    eligible[:, is_bond] = False
    unpriced = ~eligible & (rng.random((T, K)) < 0.5)
    unpriced[:, is_bond] = False
    open_[unpriced] = np.nan
    close[unpriced] = np.nan
    on_risk = eligible & (rng.random((T, K)) < 0.4)
    risk_base = rng.uniform(50_000, 120_000, T)
    risk_limit = np.where(on_risk, rng.uniform(0.02, 0.08, (T, K)) * risk_base[:, None], np.nan)
    sig = rng.integers(-1, 2, (6, T, K)).astype(np.int8)
    has_sig = rng.random((6, T, K)) < 0.6
    conf = np.where(has_sig, rng.uniform(0, 100, (6, T, K)), np.nan)
    # baseline: continuous long book (before[t] == after[t-1]) with bonds
    after = np.where(rng.random((T, K)) < 0.3, rng.integers(1, 50, (T, K)), 0).astype(np.int64)
    after[:, n_stocks:] = rng.integers(0, 400, (T, len(BONDS)))
    before = np.zeros_like(after)
    before[1:] = after[:-1]
    order_lists = [np.concatenate([rng.permutation(np.flatnonzero(eligible[t])),
                                   np.flatnonzero(is_bond)]) for t in range(T)]  # fmt: skip
    order_ptr = np.zeros(T + 1, np.int64)
    order_ptr[1:] = np.cumsum([len(o) for o in order_lists])
    z = np.zeros((T, K))
    zi = np.zeros((T, K), np.int64)
    zk = np.zeros(K)
    cash = rng.uniform(20_000, 60_000, T)
    return Panel(
        dates=np.datetime64("2023-01-02") + np.arange(T).astype("timedelta64[D]"),
        tickers=tickers,
        is_bond=is_bond,
        order_ptr=order_ptr,
        order_idx=np.concatenate(order_lists).astype(np.int32),
        eligible=eligible,
        open=open_,
        close=close,
        has_signal=has_sig,
        signal=np.where(has_sig, sig, 0).astype(np.int8),
        confidence=conf,
        on_risk=on_risk,
        risk_limit=risk_limit,
        risk_base=risk_base,
        risk_price=np.where(on_risk, close, np.nan),
        strength=rng.uniform(0, 0.5, (T, K)),
        macro_stock_alloc=rng.choice([0.5, 0.6, 0.7], T),
        fwd_stock_alloc=rng.uniform(0.4, 0.7, T),
        vix=rng.uniform(12, 30, T),
        has_decision=eligible.copy(),
        action=np.zeros((T, K), np.int8),
        quantity=zi.copy(),
        cash_before=np.concatenate([[100_000.0], cash[:-1]]),
        cash_after=cash,
        margin_before=np.zeros(T),
        margin_after=np.zeros(T),
        long_before=before,
        short_before=zi.copy(),
        long_after=after,
        short_after=zi.copy(),
        lcb_after=z.copy(),
        scb_after=z.copy(),
        smu_after=z.copy(),
        rg_long_after=z.copy(),
        rg_short_after=z.copy(),
        lcb_before0=zk.copy(),
        scb_before0=zk.copy(),
        smu_before0=zk.copy(),
        rg_long_before0=zk.copy(),
        rg_short_before0=zk.copy(),
        portfolio_return=np.zeros(T),
        long_exposure=np.zeros(T),
        short_exposure=np.zeros(T),
        gross_exposure=np.zeros(T),
        net_exposure=np.zeros(T),
        trade_ptr=np.zeros(T + 1, np.int64),
        trade_k=np.zeros(0, np.int32),
        trade_qty=np.zeros(0, np.int64),
        repl_ptr=np.zeros(T + 1, np.int64),
        repl_new_k=np.zeros(0, np.int32),
        repl_victim_k=np.zeros(0, np.int32),
    )
