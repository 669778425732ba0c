"""wfsim tune: a planted best ridge alpha is found; serve-day data cannot change the search."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.pretrain import PretrainData, plan_windows
from models.tune import TUNE_FILE, tune, with_value
from simulator.config import load_config
from simulator.core.errors import ConfigError
from tests.unit.models.planted import planted

pytest.importorskip("optuna")

TINY = {"model.family": "ridge", "features.seq_len": 5, "windows.initial": 60,
        "windows.step": 20}  # fmt: skip
SPACE = {"model.ridge.alpha": {"low": 1e-2, "high": 1e6, "log": True}}
SEARCHED = ["w000", "w001"]  # the search scores these; w002's serve days are never read


def _cfg():
    return load_config(overrides=TINY).pretrain_config()


def test_planted_alpha_is_found(tmp_path):
    """Planted: y = 0.01 (x0 + 0.5 x1[t-1]) + N(0, 0.01), ~1,000 training rows per window and 4
    standardised inputs, so shrinkage is harmless up to alpha ~ 1e2 and erases the signal beyond
    ~1e4 (validation MSE -> var(y)): the best alpha is < 1e2, every trial >= 1e4 scores worse."""
    res = tune(planted(), _cfg(), SPACE, trials=15, seed=0, models_dir=tmp_path)
    t = res.trials
    assert res.best["model.ridge.alpha"] < 1e2
    big = t[t["model.ridge.alpha"] >= 1e4]
    assert len(big) and (big["val_mse"] > res.best_score * 1.05).all()
    assert (tmp_path / TUNE_FILE).is_file()


def _perturb_after(data: PretrainData, day: int) -> PretrainData:
    fs = data.fs
    rng = np.random.default_rng(7)
    x, y = fs.x.copy(), fs.y.copy()
    x[day:] = rng.normal(0, 3, x[day:].shape).astype(x.dtype)
    y[day:] = rng.normal(0, 0.5, y[day:].shape).astype(y.dtype)
    return data._replace(fs=dataclasses.replace(fs, x=x, y=y))


def test_serve_day_data_does_not_change_the_search(tmp_path):
    data, cfg = planted(), _cfg()
    plan = {e.id: e for _, e in plan_windows(data, cfg)}
    last = plan[SEARCHED[-1]]
    first_unseen = last.serve[0]  # after its validation labels (label_end_max < serve start)
    assert last.label_end_max < first_unseen
    tune(data, cfg, SPACE, trials=8, seed=3, windows=SEARCHED, models_dir=tmp_path / "a")
    tune(_perturb_after(data, first_unseen), cfg, SPACE, trials=8, seed=3, windows=SEARCHED,
         models_dir=tmp_path / "b")  # fmt: skip
    a, b = ((tmp_path / d / TUNE_FILE).read_bytes() for d in ("a", "b"))
    assert a == b
    # the same perturbation from the last validation day of the searched windows on shows
    tune(_perturb_after(data, last.val[1] - 1), cfg, SPACE, trials=8, seed=3, windows=SEARCHED,
         models_dir=tmp_path / "c")  # fmt: skip
    assert (tmp_path / "c" / TUNE_FILE).read_bytes() != a


def test_default_search_reads_nothing_any_window_serves(tmp_path):
    """By default only the first window is searched: the setting may pretrain every window.
    (Found by a look-ahead audit: searching all windows let w001's validation days - w000's serve
    days - choose the alpha w000 then served with: 0.10 -> 4,626 when they were perturbed.)"""
    import json

    data, cfg = planted(), _cfg()
    first = plan_windows(data, cfg)[0][1]
    a = tune(data, cfg, SPACE, trials=6, seed=3, models_dir=tmp_path / "a")
    assert a.serves_from == (first.label_end_max + 1, str(data.dates[first.label_end_max + 1]))
    assert a.serves_from[0] <= first.serve[0]  # before any window's first serve day
    doc = json.loads((tmp_path / "a" / TUNE_FILE).read_text())
    assert doc["windows"] == ["w000"] and doc["serves_from"]["day"] == a.serves_from[0]
    tune(_perturb_after(data, first.serve[0]), cfg, SPACE, trials=6, seed=3,
         models_dir=tmp_path / "b")  # fmt: skip
    assert (tmp_path / "a" / TUNE_FILE).read_bytes() == (tmp_path / "b" / TUNE_FILE).read_bytes()
    # searching w000 and w001 reads w000's serve days: it says so
    both = tune(data, cfg, SPACE, trials=2, seed=3, windows=SEARCHED)
    w001 = plan_windows(data, cfg)[1][1]
    assert both.serves_from[0] == w001.label_end_max + 1 > first.serve[0]
    with pytest.raises(ConfigError, match="unknown window .*window=w099"):
        tune(data, cfg, SPACE, trials=1, windows=["w099"])


def test_unknown_key_is_refused_before_any_trial():
    with pytest.raises(ConfigError, match="unknown config key"):
        with_value(_cfg(), "model.ridge.alfa", 1.0)


def test_an_integer_key_needs_an_integer_range():
    """A float range on ``model.ridge.lags`` sampled lags=2.0976 and ran it (a CLI audit)."""
    cfg = _cfg()
    with pytest.raises(ConfigError, match="an integer key has a float range .*model.ridge.lags"):
        tune(planted(), cfg, {"model.ridge.lags": {"low": 1, "high": 3}}, trials=1)
    with pytest.raises(ConfigError, match="an integer key got a fraction"):
        with_value(cfg, "model.ridge.lags", 2.5)
    assert with_value(cfg, "model.ridge.lags", 2.0).model.ridge.lags == 2
    assert type(with_value(cfg, "model.ridge.lags", 2.0).model.ridge.lags) is int


def test_a_malformed_space_file_is_a_config_error_naming_it(tmp_path):
    from click.testing import CliRunner

    from simulator.cli import main

    space = tmp_path / "space.yaml"
    space.write_text("model.ridge.alpha: {low: 1, high: [\n")
    args = ["tune", "--store", str(tmp_path), "--models", str(tmp_path / "m"), "--space",
            str(space)]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{space}: not valid YAML" in res.output
