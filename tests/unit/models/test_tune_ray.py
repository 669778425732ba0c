"""wfsim tune --backend ray: Ray Tune finds the planted alpha, equals the local search for the same
seed and space, and serve-day data cannot change its choice; missing Ray fails before any write."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from models.pretrain import plan_windows
from models.tune import TUNE_FILE, tune
from simulator.core.errors import ConfigError
from tests.unit.models.planted import planted
from tests.unit.models.test_tune import SEARCHED, SPACE, _cfg, _perturb_after

pytest.importorskip("optuna")

TRIALS, SEED = 6, 0
RAY = {"workers": 2}  # joins the test's local Ray (local_ray), which stays up across the tests


@pytest.fixture(scope="module")
def ray_run(local_ray, tmp_path_factory):
    """One Ray Tune search over the searched windows of the planted data, and its folder."""
    out = tmp_path_factory.mktemp("ray")
    res = tune(planted(), _cfg(), SPACE, trials=TRIALS, seed=SEED, windows=SEARCHED,
               models_dir=out, ray=RAY)  # fmt: skip
    return res, out


@pytest.mark.ray
@pytest.mark.slow  # a local Ray and Ray Tune's start: ~20 s
def test_ray_tune_finds_the_planted_alpha(ray_run):
    """The planted signal (``test_tune``): shrinkage is harmless below alpha ~ 1e2 and erases the
    signal beyond ~1e3, so the best alpha is < 1e2 and every trial >= 1e3 scores worse."""
    res, out = ray_run
    t = res.trials
    assert len(t) == TRIALS and list(t["trial"]) == list(range(TRIALS))
    assert res.best["model.ridge.alpha"] < 1e2
    big = t[t["model.ridge.alpha"] >= 1e3]
    assert len(big) and (big["val_mse"] > res.best_score * 1.05).all()
    assert sorted(p.name for p in out.iterdir()) == [TUNE_FILE]  # Tune's own files removed


@pytest.mark.ray
@pytest.mark.slow  # a local Ray and Ray Tune's start: ~20 s
def test_ray_tune_equals_the_local_search(ray_run, tmp_path):
    """One trial at a time, Ray Tune's OptunaSearch asks the same seeded TPE sampler with the same
    history as optuna's own loop: the whole table, the choice and tune.json are identical."""
    res, out = ray_run
    local = tune(planted(), _cfg(), SPACE, trials=TRIALS, seed=SEED, windows=SEARCHED,
                 models_dir=tmp_path)  # fmt: skip
    assert res.best == local.best and res.best_score == local.best_score
    assert res.trials.equals(local.trials)
    assert (out / TUNE_FILE).read_bytes() == (tmp_path / TUNE_FILE).read_bytes()


@pytest.mark.ray
@pytest.mark.slow  # a local Ray and Ray Tune's start: ~20 s
def test_ray_tune_ignores_serve_day_data(ray_run, tmp_path):
    """Serve days of the searched windows rewritten: the same file. The same rewrite from the
    last validation day on changes it (the test can fail)."""
    res, out = ray_run
    data, cfg = planted(), _cfg()
    last = {e.id: e for _, e in plan_windows(data, cfg)}[SEARCHED[-1]]
    for name, day in (("serve", last.serve[0]), ("val", last.val[1] - 1)):
        tune(_perturb_after(data, day), cfg, SPACE, trials=TRIALS, seed=SEED, windows=SEARCHED,
             models_dir=tmp_path / name, ray=RAY)  # fmt: skip
    a = (out / TUNE_FILE).read_bytes()
    assert (tmp_path / "serve" / TUNE_FILE).read_bytes() == a
    assert (tmp_path / "val" / TUNE_FILE).read_bytes() != a


@pytest.mark.parametrize(
    ("missing", "message"),
    [("ray", "ray is not installed"), ("ray.tune", "ray tune is not installed")],
)
def test_missing_ray_fails_before_anything_is_written(missing, message, tmp_path, monkeypatch):
    from simulator.cli import main

    monkeypatch.setitem(sys.modules, missing, None)  # import -> ImportError
    with pytest.raises(ConfigError, match=message):
        tune(planted(), _cfg(), SPACE, trials=1, models_dir=tmp_path / "m", ray=RAY)
    space = tmp_path / "space.yaml"
    space.write_text("model.ridge.alpha: {low: 0.01, high: 1000000, log: true}\n")
    args = ["tune", "--store", str(tmp_path), "--models", str(tmp_path / "m"), "--space",
            str(space), "--backend", "ray"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1 and message in res.output
    assert not (tmp_path / "m").exists()
