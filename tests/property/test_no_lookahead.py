"""No look-ahead: perturbing what is unknown before the open of t leaves x[t] unchanged.

Recorded information set: every price at or after the open of t, the books from t, and the agent
fields of episodes after t. Strict: every field of every episode from t on (prices, agents, risk
list, eligible list, decisions, books). In both, ``x[:t+1]`` and ``has_data[:t+1]`` stay
byte-identical, and so does every label that ends before t (``label_end < t``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config import FeatureConfig
from models.features import build_features
from tests.unit.models.panel_factory import make_panel

PANEL = make_panel(n_days=36, n_stocks=10, seed=11)
T_N = PANEL.n_days
PRICES = ("open", "close", "risk_price")
AGENT_FIELDS = (
    "has_signal", "signal", "confidence", "on_risk", "risk_limit", "risk_base", "strength",
    "macro_stock_alloc", "fwd_stock_alloc", "vix", "has_decision", "action", "quantity",
)  # fmt: skip
OPEN_FIELDS = ("eligible",)  # known at the open of t: strict may not use them for x[t] either
# the features read no book: perturbed from t in both information sets
BOOK_FIELDS = (
    "cash_before", "cash_after", "long_before", "short_before", "long_after", "short_after",
    "lcb_after", "scb_after", "rg_long_after", "portfolio_return", "long_exposure", "net_exposure",
)  # fmt: skip


def _perturb(a: np.ndarray, start: int, rng: np.random.Generator) -> np.ndarray:
    """Scramble the part of ``a`` on days >= start (day axis 0, or 1 for [6, T, K] arrays)."""
    out = a.copy()
    view = out[:, start:] if a.ndim == 3 else out[start:]
    if view.size == 0:
        return out
    if a.dtype == bool:
        view[...] = rng.random(view.shape) < 0.5
    elif np.issubdtype(a.dtype, np.integer):
        view[...] = rng.integers(-1, 5, view.shape).astype(a.dtype)
    else:
        new = view * rng.uniform(0.2, 5.0, view.shape) + rng.normal(0, 1, view.shape)
        new[rng.random(view.shape) < 0.15] = np.nan  # tickers going unpriced / absent
        view[...] = new
    return out


def _perturbed(info_set: str, t: int, seed: int):
    rng = np.random.default_rng(seed)
    changes = {f: _perturb(getattr(PANEL, f), t, rng) for f in PRICES}
    agents_from = t if info_set == "strict" else t + 1
    for f in AGENT_FIELDS:
        changes[f] = _perturb(getattr(PANEL, f), agents_from, rng)
    for f in BOOK_FIELDS:
        changes[f] = _perturb(getattr(PANEL, f), t, rng)
    if info_set == "strict":
        for f in OPEN_FIELDS:
            changes[f] = _perturb(getattr(PANEL, f), t, rng)
    return dataclasses.replace(PANEL, **changes)


BASE = {
    i: build_features(PANEL, FeatureConfig(info_set=i, horizon=2)) for i in ("strict", "recorded")
}


@settings(max_examples=40, deadline=None)
@given(
    info_set=st.sampled_from(["strict", "recorded"]),
    t=st.integers(0, T_N - 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_features_of_t_ignore_everything_from_the_open_of_t(info_set, t, seed):
    base = BASE[info_set]
    moved = build_features(
        _perturbed(info_set, t, seed), FeatureConfig(info_set=info_set, horizon=2)
    )
    assert moved.x[: t + 1].tobytes() == base.x[: t + 1].tobytes()
    assert moved.has_data[: t + 1].tobytes() == base.has_data[: t + 1].tobytes()
    known = base.label_end < t  # labels complete before the open of t
    assert moved.y[known].tobytes() == base.y[known].tobytes()
    if info_set == "strict":
        assert (moved.sample[:t] == base.sample[:t]).all()
    else:
        assert (moved.sample[: t + 1] == base.sample[: t + 1]).all()


@pytest.mark.parametrize("info_set", ["strict", "recorded"])
def test_the_perturbation_is_seen_later(info_set):
    """Guard against a vacuous test: the same perturbation does change x after t."""
    t = 15
    moved = build_features(_perturbed(info_set, t, 7), FeatureConfig(info_set=info_set, horizon=2))
    assert moved.x[t + 1 :].tobytes() != BASE[info_set].x[t + 1 :].tobytes()
    assert not np.array_equal(moved.y[t - 2 :], BASE[info_set].y[t - 2 :], equal_nan=True)


def test_recorded_uses_episode_t_agents():
    """Recorded mode reads episode t's agents: perturbing them changes x[t]; strict does not."""
    t = 20
    rng = np.random.default_rng(0)
    changes = {f: _perturb(getattr(PANEL, f), t, rng) for f in AGENT_FIELDS}
    moved = dataclasses.replace(PANEL, **changes)
    rec = build_features(moved, FeatureConfig(info_set="recorded", horizon=2))
    strict = build_features(moved, FeatureConfig(info_set="strict", horizon=2))
    assert rec.x[t].tobytes() != BASE["recorded"].x[t].tobytes()
    assert strict.x[t].tobytes() == BASE["strict"].x[t].tobytes()
