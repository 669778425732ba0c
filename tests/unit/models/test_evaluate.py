"""OOS metrics: direction scores, daily IC / rank IC with t-stats, NaN handling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluate import oos_metrics
from models.ic import daily_ic


def test_direction_scores_by_hand():
    t = np.zeros(6, dtype=int)
    pred = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
    y = np.array([0.1, 0.2, -0.1, -0.1, 0.3, -0.2])
    m = oos_metrics(t, pred, y)
    # up = {0, 1, 4}; predicted up = {0, 1, 2}; TP = 2
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["n"] == 6 and m["days"] == 1


def test_unknown_outcomes_are_left_out():
    m = oos_metrics(np.array([0, 0, 0, 1]), np.array([1.0, 2, 3, 4]), np.array([1.0, 2, 3, np.nan]))
    assert m["n"] == 3 and m["days"] == 1 and m["ic"] == pytest.approx(1.0)
    assert math.isnan(m["ic_t"])  # one day: no t-statistic


def test_no_predicted_up_gives_nan_precision():
    m = oos_metrics(np.zeros(3, int), np.array([-1.0, -2, -3]), np.array([1.0, -1, 2]))
    assert math.isnan(m["precision"]) and m["recall"] == 0.0 and math.isnan(m["f1"])


def test_rank_ic_uses_ranks_and_t_stat_matches_formula():
    rng = np.random.default_rng(0)
    t = np.repeat(np.arange(30), 20)
    y = rng.normal(size=600)
    pred = y + rng.normal(scale=2.0, size=600)
    m = oos_metrics(t, np.exp(pred), y)  # monotone transform: rank IC unchanged, IC lower
    ics = daily_ic(t, pred, y).rank_ic
    assert m["rank_ic"] == pytest.approx(ics.mean())
    assert m["rank_ic_t"] == pytest.approx(ics.mean() / (ics.std(ddof=1) / np.sqrt(30)))
    assert m["rank_ic"] > 0.2 and m["ic"] < m["rank_ic"]


def test_a_missing_or_broken_predictions_file_is_a_registry_error(tmp_path):
    """`wfsim models report` showed a FileNotFoundError / ArrowInvalid traceback (a CLI audit)."""
    import shutil

    from models.evaluate import report_frame
    from models.pretrain import pretrain
    from simulator.core.errors import RegistryError
    from tests.unit.models.test_families import PANEL, cfg_of

    pretrain(PANEL, tmp_path / "m", cfg_of("ridge"))
    shutil.copytree(tmp_path / "m", tmp_path / "b")
    (tmp_path / "m" / "w001" / "predictions.parquet").unlink()
    with pytest.raises(RegistryError, match="predictions file missing .*window=w001"):
        report_frame(tmp_path / "m")
    (tmp_path / "b" / "w001" / "predictions.parquet").write_bytes(b"not parquet")
    with pytest.raises(RegistryError, match="predictions file unreadable"):
        report_frame(tmp_path / "b")
