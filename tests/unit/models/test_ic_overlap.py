"""IC t-statistics of a horizon-h target: the daily ICs overlap, so the plain t overstates;
``mean_t(values, lag=h-1)`` is overlap-robust (Hansen-Hodrick, Newey-West when that variance is
not positive), and the registry and study reports use it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.ic import mean_t


def test_lag_zero_is_the_plain_t():
    v = np.array([0.1, -0.3, 0.25, np.nan, 0.05, 0.2])
    assert mean_t(v, 0) == mean_t(v)
    assert mean_t(np.array([0.5]), 3) == (0.5, math.nan, 1)


def test_by_hand():
    v = np.array([1.0, 2.0, 4.0, 3.0])
    e = v - 2.5
    g0, g1 = e @ e / 4, e[1:] @ e[:-1] / 4  # 1.25, 0.0625 (lag 1: Hansen-Hodrick, weight 1)
    assert mean_t(v, 1) == (2.5, pytest.approx(2.5 / math.sqrt((g0 + 2 * g1) / 4), rel=1e-12), 4)
    w = np.array([1.0, -1.0, 1.0, -1.0, 1.2])  # negative lag-1 autocovariance: HH's variance
    e = w - w.mean()  # is not positive, so Newey-West's (Bartlett weight 1/2)
    g0, g1 = e @ e / 5, e[1:] @ e[:-1] / 5
    assert g0 + 2 * g1 <= 0
    assert mean_t(w, 1)[1] == pytest.approx(w.mean() / math.sqrt((g0 + g1) / 5), rel=1e-12)


def test_on_overlapping_sums_the_newey_west_t_is_calibrated_and_the_plain_t_is_not():
    """Series with no mean whose values share h - 1 innovations (h = 5, like daily ICs of a
    5-day return): over 400 draws the plain t's spread is ~sqrt(5) (2.45), the overlap-robust
    one's near 1 (1.12; Bartlett weights at lag 4 gave 1.34)."""
    rng = np.random.default_rng(0)
    h, n = 5, 300
    plain, hac = [], []
    for _ in range(400):
        z = rng.normal(size=n + h - 1)
        v = np.convolve(z, np.ones(h), mode="valid")  # v_t = z_t + ... + z_{t+h-1}
        plain.append(mean_t(v)[1])
        hac.append(mean_t(v, h - 1)[1])
    assert np.std(plain) > 1.8
    assert 0.85 < np.std(hac) < 1.25


def test_the_registry_records_a_horizon_above_one_and_its_reports_use_it(tmp_path):
    from models.evaluate import report_frame
    from models.ic import daily_ic
    from models.pretrain import pretrain
    from models.registry import Registry
    from simulator.study_quality import model_metrics
    from tests.unit.models.test_families import PANEL, cfg_of

    pretrain(PANEL, tmp_path / "h1", cfg_of("ridge"))
    assert "horizon" not in Registry.load(tmp_path / "h1").info  # registry bytes as before
    pretrain(PANEL, tmp_path / "h3", cfg_of("ridge", **{"features.horizon": 3}))
    assert Registry.load(tmp_path / "h3").info["horizon"] == 3

    p = pd.concat(
        pd.read_parquet(f) for f in sorted((tmp_path / "h3").rglob("predictions.parquet"))
    )
    ok = np.isfinite(p["y"].to_numpy())
    days = daily_ic(p["t"].to_numpy()[ok], p["pred"].to_numpy()[ok], p["y"].to_numpy()[ok])
    want = mean_t(days.ic, 2)[1]
    assert want != pytest.approx(mean_t(days.ic)[1])  # the overlap changes the t
    pooled = report_frame(tmp_path / "h3").set_index("window").loc["pooled"]
    assert pooled["ic_t"] == pytest.approx(want, rel=1e-12)
    assert model_metrics(tmp_path / "h3")["ic_t"] == pytest.approx(want, rel=1e-12)
