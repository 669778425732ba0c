"""Leakage audit table: ranks, daily rank IC, planted leaks and planted next-day signals."""

from __future__ import annotations

import numpy as np
import pytest

from models.audit import ACTION_SIGN, audit_table, recorded_fields
from models.config import FeatureConfig
from models.features import build_features
from models.ic import daily_ic_grid
from simulator.kernels.records import ACTION_CODES
from tests.unit.models.panel_factory import make_panel, replace


@pytest.fixture(scope="module")
def panel():
    return make_panel(n_days=60, n_stocks=30, seed=5)


def test_daily_rank_ic_extremes():
    a = np.tile(np.arange(8.0), (3, 1))
    b = np.stack([a[0] ** 3, -a[1], a[2]])
    b[2, 2:] = np.nan  # 2 pairs left < MIN_NAMES_PER_DAY
    ic = daily_ic_grid(a, b).rank_ic
    assert ic[0] == pytest.approx(1.0) and ic[1] == pytest.approx(-1.0) and np.isnan(ic[2])


def test_action_sign_follows_the_record_codes():
    sign = {"hold": 0, "buy": 1, "sell": -1, "short": -1, "cover": 1}
    for name, code in ACTION_CODES.items():
        assert ACTION_SIGN[code] == sign[name]


def test_table_shape_and_kinds(panel):
    fs = build_features(panel, FeatureConfig())
    tab = audit_table(panel, fs)
    rec = recorded_fields(panel)
    assert list(tab.index) == list(rec) + [f"x.{n}" for n in fs.names]
    for r in ("same_oc", "same_oo", "next_oc", "next_oo"):
        assert {f"ic_{r}", f"t_{r}"} <= set(tab.columns)
    assert tab.loc["forward_looking.vix", "kind"] == "time-series"
    assert tab.loc["x.vix", "kind"] == "time-series"
    assert tab.loc["x.ret1", "kind"] == "cross-section"
    assert (tab["source"] == "feature").sum() == len(fs.names)
    assert tab["same_day_leak"].dtype == bool


def test_risk_price_leak_is_flagged(panel):
    """risk_price = close of t: its same-day IC is high and flagged; random fields are not."""
    tab = audit_table(panel, build_features(panel, FeatureConfig()))
    row = tab.loc["risk.price"]
    assert row["ic_same_oc"] > 0.5 and row["same_day_leak"]
    assert abs(row["ic_next_oc"]) < 0.3
    assert not tab.drop(index="risk.price")["same_day_leak"].any()


def test_planted_next_day_signal_is_not_a_leak(panel):
    """A field that predicts the next day's open->close return: high next IC, no flag."""
    nxt = np.full(panel.close.shape, np.nan)
    nxt[:-1] = (panel.close / panel.open - 1)[1:]
    planted = replace(panel, strength=np.where(panel.eligible & np.isfinite(nxt), nxt, 0.0))
    tab = audit_table(planted, build_features(planted, FeatureConfig()))
    row = tab.loc["strength"]
    assert row["ic_next_oc"] > 0.8 and abs(row["ic_same_oc"]) < 0.3
    assert not row["same_day_leak"]
    strict_row = tab.loc["x.strength"]
    assert strict_row["ic_same_oc"] > 0.8  # lagged one episode: predicts the day it serves


def test_cross_section_rows_equal_daily_ic_of_each_field(panel):
    """The audit's cached return ranks give the same rank IC as ``daily_ic_grid`` field by field."""
    from models.audit import GROUPS, _returns
    from models.ic import mean_t

    fs = build_features(panel, FeatureConfig())
    tab = audit_table(panel, fs)
    rets = _returns(panel)
    fields = dict(recorded_fields(panel))
    fields.update({f"x.{n}": np.where(fs.has_data, fs.x[:, :, j], np.nan)
                   for j, n in enumerate(fs.names)})  # fmt: skip
    checked = 0
    for name, values in fields.items():
        if tab.loc[name, "kind"] != "cross-section":
            continue
        for a, b in GROUPS.values():
            v = np.where(np.isfinite(rets[a]) & np.isfinite(rets[b]), values, np.nan)
            for r in (a, b):
                m, t, _ = mean_t(daily_ic_grid(v, rets[r]).rank_ic)
                np.testing.assert_allclose([tab.loc[name, f"ic_{r}"], tab.loc[name, f"t_{r}"]],
                                           [m, t], rtol=1e-12)  # fmt: skip
                checked += 1
    assert checked > 200
