"""Features, targets, prediction points, sequences, scaling and the purge."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from models.config import FeatureConfig
from models.features import (
    PRICE_FEATURES,
    Scaler,
    build_features,
    feature_names,
    gather_sequences,
    split_train_val,
    train_samples,
)
from models.windows import ExpandingWindows, Window
from simulator.core.errors import LookaheadError
from tests.unit.models.panel_factory import make_panel, replace

STRICT = FeatureConfig(info_set="strict")
RECORDED = FeatureConfig(info_set="recorded")


@pytest.fixture(scope="module")
def panel():
    return make_panel(n_days=40, n_stocks=12, seed=3)


@pytest.fixture(scope="module")
def fs(panel):
    return build_features(panel, STRICT)


def col(fs, name):
    return fs.x[:, :, fs.names.index(name)]


def test_shapes_types_and_finiteness(panel, fs):
    t_n, k_n = panel.open.shape
    assert fs.names == feature_names(STRICT) and len(set(fs.names)) == len(fs.names)
    assert fs.x.shape == (t_n, k_n, len(fs.names)) and fs.x.dtype == np.float32
    assert np.isfinite(fs.x).all()
    assert fs.y.dtype == np.float32 and fs.label_end.dtype == np.int64
    assert not fs.x[~fs.has_data].any()  # rows without data are zero


def test_ranks_can_be_switched_off(panel):
    names = feature_names(FeatureConfig(ranks=False))
    assert not any(n.endswith("_rank") for n in names)
    assert build_features(panel, FeatureConfig(ranks=False)).x.shape[2] == len(names)


def test_has_data_is_priced_on_the_previous_day(panel, fs):
    priced = np.isfinite(panel.close) & np.isfinite(panel.open)
    expected = np.zeros_like(fs.has_data)
    expected[1:] = priced[:-1] & ~panel.is_bond
    np.testing.assert_array_equal(fs.has_data, expected)


def test_price_features_use_closes_up_to_t_minus_1(panel, fs):
    c, o = panel.close, panel.open
    t, k = 25, 0
    assert np.isfinite(c[:, k]).all()  # the factory's stock 0 is always priced
    assert col(fs, "ret1")[t, k] == np.float32(c[t - 1, k] / c[t - 2, k] - 1)
    assert col(fs, "ret5")[t, k] == np.float32(c[t - 1, k] / c[t - 6, k] - 1)
    assert col(fs, "ret20")[t, k] == np.float32(c[t - 1, k] / c[t - 21, k] - 1)
    assert col(fs, "gap")[t, k] == np.float32(o[t - 1, k] / c[t - 2, k] - 1)
    assert col(fs, "intraday")[t, k] == np.float32(c[t - 1, k] / o[t - 1, k] - 1)
    ma5 = c[t - 5 : t, k].mean()
    assert col(fs, "ma5_dist")[t, k] == pytest.approx(c[t - 1, k] / ma5 - 1, rel=1e-5)
    r = c[t - 20 : t, k] / c[t - 21 : t - 1, k] - 1
    assert col(fs, "vol20")[t, k] == pytest.approx(r.std(ddof=1), rel=1e-5)


def test_closes_carry_forward_over_unpriced_days():
    p = make_panel(n_days=12, n_stocks=3, seed=1)
    close, open_ = p.close.copy(), p.open.copy()
    close[:, 0] = np.arange(1, 13) * 10.0
    open_[:, 0] = close[:, 0]
    close[7, 0] = open_[7, 0] = np.nan  # ticker 0 unpriced on day 7
    fs = build_features(replace(p, close=close, open=open_), STRICT)
    assert not fs.has_data[8, 0] and fs.has_data[9, 0]
    assert col(fs, "ret1")[9, 0] == np.float32(90.0 / 70.0 - 1)  # close(8) vs close(6)
    assert col(fs, "px_stale20")[9, 0] == np.float32(1 / 9)  # 1 unpriced of days 0..8


def test_missing_history_gives_zero_and_flag(fs):
    early = fs.has_data[1]  # day 1: one close in the past, no 1-day return yet
    assert (col(fs, "px_missing")[1][early] == 1).all()
    assert (col(fs, "ret1")[1][early] == 0).all()
    assert (col(fs, "px20_missing")[5][fs.has_data[5]] == 1).all()


def test_analyst_mapping(panel, fs):
    a, short = 4, "buffett"  # has negative confidences in the factory
    t_src = slice(0, -1)  # strict: day t uses episode t-1
    has = fs.has_data[1:]
    conf = panel.confidence[a][t_src]
    cov = panel.has_signal[a][t_src]
    got = col(fs, f"{short}_conf")[1:]
    expected = np.where(cov & np.isfinite(conf), np.clip(conf, 0, 100) / 100, 0)
    np.testing.assert_allclose(got[has], expected[has], rtol=1e-6)
    assert (panel.confidence[a] < 0).any() and got.min() >= 0 and got.max() <= 1
    np.testing.assert_array_equal(col(fs, f"{short}_dir")[1:][has], panel.signal[a][t_src][has])
    val_missing = col(fs, "val_conf_missing")[1:]
    nan_conf = panel.has_signal[3][t_src] & np.isnan(panel.confidence[3][t_src])
    assert nan_conf[has].any()
    np.testing.assert_array_equal(val_missing[has] == 1, nan_conf[has])
    assert (col(fs, "val_conf")[1:][has & nan_conf] == 0).all()


def test_risk_limit_fraction_and_daily_agents(panel, fs):
    has = fs.has_data[1:]
    frac = np.where(panel.on_risk, panel.risk_limit / panel.risk_base[:, None], 0)[:-1]
    np.testing.assert_allclose(col(fs, "risk_limit_frac")[1:][has], frac[has], rtol=1e-6)
    vix = col(fs, "vix")
    t = np.flatnonzero(fs.has_data.any(axis=1))
    for tt in t:
        assert (vix[tt][fs.has_data[tt]] == np.float32(panel.vix[tt - 1])).all()


def test_risk_price_never_enters_the_features(panel):
    moved = replace(panel, risk_price=panel.risk_price * 3.0)
    for cfg in (STRICT, RECORDED):
        assert build_features(moved, cfg).x.tobytes() == build_features(panel, cfg).x.tobytes()


AGENT_COLS = ("tech_dir", "ackman_conf", "val_conf_missing", "strength", "risk_limit_frac", "vix")


@pytest.mark.parametrize("name", AGENT_COLS)
def test_strict_is_recorded_lagged_one_episode(panel, fs, name):
    rec = build_features(panel, RECORDED)
    both = fs.has_data[1:] & rec.has_data[:-1]
    np.testing.assert_array_equal(col(fs, name)[1:][both], col(rec, name)[:-1][both])


def test_price_features_do_not_depend_on_the_info_set(panel, fs):
    rec = build_features(panel, RECORDED)
    for n in PRICE_FEATURES:
        np.testing.assert_array_equal(col(fs, n), col(rec, n))


def test_prediction_points(panel, fs):
    strict = np.zeros_like(fs.sample)
    strict[1:] = panel.on_risk[:-1] & panel.eligible[1:]
    np.testing.assert_array_equal(fs.sample, strict & fs.has_data)
    rec = build_features(panel, RECORDED)
    np.testing.assert_array_equal(rec.sample, panel.on_risk & rec.has_data)
    assert fs.sample.any() and not fs.sample[0].any()


def test_ranks_are_centred_and_monotone(fs):
    for n in ("ret5", "vol20"):
        v, r = col(fs, n), col(fs, f"{n}_rank")
        assert r.min() >= -0.5 and r.max() <= 0.5
        t = 30
        m = fs.has_data[t]
        order = np.argsort(v[t][m], kind="stable")
        assert np.all(np.diff(r[t][m][order]) >= 0)
        assert r[t][m].min() == -0.5 and r[t][m].max() == 0.5


@pytest.mark.parametrize("h", [1, 2, 5])
def test_target_is_open_to_open(panel, h):
    fs = build_features(panel, FeatureConfig(horizon=h))
    t_n = panel.n_days
    with np.errstate(invalid="ignore"):
        expected = (panel.open[h:] / panel.open[:-h] - 1).astype(np.float32)
    np.testing.assert_array_equal(fs.y[: t_n - h], expected)
    assert np.isnan(fs.y[t_n - h :]).all()
    np.testing.assert_array_equal(fs.label_end, np.arange(t_n) + h)
    assert fs.horizon == h


def test_gather_sequences(fs):
    t = np.array([2, 30, 39])
    k = np.array([0, 5, 11])
    x, mask = gather_sequences(fs, t, k, seq_len=6)
    assert x.shape == (3, 6, len(fs.names)) and mask.shape == (3, 6) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, -1], fs.x[t, k])  # step L-1 is day t
    np.testing.assert_array_equal(x[1, 0], fs.x[25, 5])
    assert not mask[0, :3].any()  # before day 0
    np.testing.assert_array_equal(mask[1], fs.has_data[25:31, 5])
    assert not x[~mask].any()


def test_scaler_round_trip(fs):
    rows = fs.x[fs.has_data]
    sc = Scaler(fs.names).fit(rows)
    z = sc.transform(rows)
    assert z.dtype == np.float32
    varying = rows.std(axis=0) > 0
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0)[varying], 1, rtol=1e-4)
    assert (sc.std_[~varying] == 1).all()  # constant features are only centred
    back = Scaler.from_dict(json.loads(json.dumps(sc.to_dict())))
    assert back.names == fs.names
    assert back.transform(fs.x).tobytes() == sc.transform(fs.x).tobytes()


def test_scaler_errors():
    with pytest.raises(ValueError, match="not fitted"):
        Scaler().transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n=0"):
        Scaler().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="expected 2 names"):
        Scaler(("a", "b")).fit(np.zeros((4, 3)))


# --- purge at window edges -------------------------------------------------------------------


def dense(panel, h):
    """A FeatureSet where every (t, k) with a known label is a sample (edges always populated)."""
    fs = build_features(panel, FeatureConfig(horizon=h))
    return dataclasses.replace(fs, sample=np.isfinite(fs.y))


@pytest.mark.parametrize(
    ("h", "train", "serve", "last_day"),
    [
        (1, range(0, 20), range(20, 25), 18),  # label of 19 ends at open(20), known AT the open
        (2, range(0, 20), range(20, 25), 17),
        (5, range(0, 20), range(20, 25), 14),
        (1, range(5, 25), range(25, 30), 23),  # sliding window
        (3, range(0, 30), range(30, 40), 26),
    ],
)
def test_train_samples_purge_at_window_edge(panel, h, train, serve, last_day):
    fs = dense(panel, h)
    t, k = train_samples(fs, Window("w000", train, serve))
    assert t.max() == last_day and t.min() == train.start
    assert (fs.label_end[t] < serve.start).all()
    assert (fs.label_end[t] == serve.start - 1).any()  # the boundary day is kept ...
    assert not np.isin(np.arange(last_day + 1, serve.start), t).any()  # ... the next h are not
    assert fs.sample[t, k].all() and np.isfinite(fs.y[t, k]).all()
    assert np.all(np.diff(t) >= 0)
    assert last_day == Window("w", train, serve).purged(h)[-1]


def test_train_samples_follow_the_splitter(panel, fs):
    for w in ExpandingWindows(initial=20, step=7).split(panel.n_days):
        t, _ = train_samples(fs, w)
        assert t.max() < w.serve.start - fs.horizon and t.min() >= w.train.start


def test_train_samples_reject_overlapping_window(fs):
    with pytest.raises(LookaheadError, match="train_stop=25, serve_start=20"):
        train_samples(fs, Window("w009", range(0, 25), range(20, 30)))


@pytest.mark.parametrize(("h", "frac"), [(1, 0.15), (2, 0.2), (3, 0.3)])
def test_split_train_val_is_purged(panel, h, frac):
    fs = dense(panel, h)
    t, k = train_samples(fs, Window("w", range(0, 30), range(30, 35)))
    (tt, tk), (vt, vk) = split_train_val(t, k, fs, frac)
    n_days = t.max() - t.min() + 1
    v = t.max() + 1 - max(1, round(frac * n_days))
    assert vt.min() == v and vt.max() == t.max()
    assert (fs.label_end[tt] < v).all() and tt.max() == v - h - 1
    dropped = (t < v) & (fs.label_end[t] >= v)
    assert len(tt) + len(vt) + dropped.sum() == len(t)
    assert set(zip(tt, tk, strict=True)).isdisjoint(zip(vt, vk, strict=True))


def test_split_train_val_errors(fs):
    t = np.array([3, 3, 4])
    with pytest.raises(ValueError, match="val_frac"):
        split_train_val(t, t, fs, 0.0)
    with pytest.raises(ValueError, match="non-empty training part"):
        split_train_val(t, t, fs, 0.9)
