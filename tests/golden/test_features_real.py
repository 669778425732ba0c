"""Features and the leakage audit on the 691 real episodes (the real_store fixture)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from episodes.store import load_panel
from models.audit import audit_table
from models.config import FeatureConfig
from models.features import build_features, train_samples
from models.ic import daily_ic_grid
from models.windows import ExpandingWindows

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def panel(real_store):
    return load_panel(real_store)


@pytest.fixture(scope="module")
def strict(panel):
    return build_features(panel, FeatureConfig(info_set="strict"))


@pytest.fixture(scope="module")
def recorded(panel):
    return build_features(panel, FeatureConfig(info_set="recorded"))


def feature_ic(fs, name: str) -> float:
    """Mean daily rank IC of a raw feature with the target over the prediction points."""
    v = np.where(fs.sample, fs.x[:, :, fs.names.index(name)], np.nan)
    ic = daily_ic_grid(v, np.where(fs.sample, fs.y, np.nan)).rank_ic
    return float(np.nanmean(ic))


def test_features_on_691_days(panel, strict, recorded):
    assert panel.n_days == 691
    for fs in (strict, recorded):
        assert fs.x.shape == (691, panel.n_tickers, len(fs.names))
        assert np.isfinite(fs.x).all()
        assert 40_000 < fs.sample.sum() < 50_000  # ~64 consensus tickers a day
        assert np.isfinite(fs.y[fs.sample]).mean() > 0.99
    # the strict sample set is yesterday's risk list: days whose list changed differ
    assert (strict.sample != recorded.sample).any()


def test_windows_on_real_days(panel, strict):
    ws = list(ExpandingWindows(initial=250, step=21).split(panel.n_days))
    assert len(ws) == 21 and ws[-1].serve == range(670, 691)
    t, _ = train_samples(strict, ws[0])
    assert t.max() == 248 and len(t) > 10_000  # h = 1: day 249's label needs open(250)


def test_real_prices_after_t_do_not_reach_x_t(panel, strict):
    t = 400
    rng = np.random.default_rng(0)
    moved = dataclasses.replace(
        panel,
        open=np.concatenate([panel.open[:t], panel.open[t:] * rng.uniform(0.5, 2, (691 - t, 1))]),
        close=np.concatenate([panel.close[:t], panel.close[t:] * 3.0]),
        risk_price=np.concatenate([panel.risk_price[:t], panel.risk_price[t:] * 3.0]),
        on_risk=np.concatenate([panel.on_risk[:t], ~panel.on_risk[t:]]),
    )  # fmt: skip
    fs = build_features(moved, FeatureConfig(info_set="strict"))
    assert fs.x[: t + 1].tobytes() == strict.x[: t + 1].tobytes()


@pytest.mark.parametrize("name", ["ret1", "ret5", "ret20", "gap", "tech_dir", "strength"])
def test_strict_feature_ics_are_small(strict, name):
    """No raw strict feature predicts the open->open target with a leak-sized IC."""
    ic = feature_ic(strict, name)
    assert np.isfinite(ic) and abs(ic) < 0.03


def test_audit_finds_the_risk_price_leak(panel, strict):
    tab = audit_table(panel, strict)
    row = tab.loc["risk.price"]
    assert row["ic_same_oc"] > 0.8 and row["same_day_leak"]  # close of t, README §6
    assert abs(row["ic_next_oc"]) < 0.01
    assert not tab.loc[tab["source"] == "feature", "same_day_leak"].any()


def test_recorded_agent_features_know_more_about_the_same_day(recorded):
    """Technical signals of episode t rank day t's open->open return better than the next day's."""
    v = np.where(recorded.has_data, recorded.x[:, :, recorded.names.index("tech_dir")], np.nan)
    oc = np.full(v.shape, np.nan)
    same = daily_ic_grid(v, recorded.y).rank_ic  # open(t) -> open(t+1)
    oc[:-1] = recorded.y[1:]
    nxt = daily_ic_grid(v, oc).rank_ic
    assert np.nanmean(same) > 2 * abs(np.nanmean(nxt))
