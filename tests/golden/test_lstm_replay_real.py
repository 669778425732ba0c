"""The LSTM replay on the real episodes with tiny pretrained models.

No look-ahead, the cap, risk and cash rules on every fill, byte-identical reruns, and the
random/flat nulls on the same days.
"""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from episodes.store import load_panel
from simulator.cli import main
from simulator.config import load_config
from simulator.loop import run_replay
from simulator.strategies import make_strategy, model_predictor
from tests.unit.simulator.test_loop import EPISODE_FIELDS, check_fills, orders_upto, perturb

pytestmark = pytest.mark.golden

TINY = """\
windows: {initial: 250, step: 63}
model: {hidden: 8, layers: 1, embed_dim: 4, dropout: 0.0}
train: {max_epochs: 1, warm_epochs: 1, max_samples_per_epoch: 512, max_val_samples: 256,
        batch_size: 128}
"""


def _invoke(*args: str):
    res = CliRunner().invoke(main, ["--log-level", "warning", *args])
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def tiny(real_store, tmp_path_factory):
    """(store, models dir, config path, cfg, panel): tiny models pretrained on the real store."""
    root = tmp_path_factory.mktemp("lstm_real")
    cfg_path = root / "tiny.yaml"
    cfg_path.write_text(TINY)
    models = root / "models"
    _invoke("pretrain", "--store", str(real_store), "--models", str(models),
            "--config", str(cfg_path))  # fmt: skip
    return real_store, models, cfg_path, load_config(cfg_path), load_panel(real_store)


def test_replay_cli_reruns_are_byte_identical_and_respect_the_cap(tiny, tmp_path):
    store, models, cfg_path, _, panel = tiny
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        res = _invoke("replay", "--strategy", "lstm", "--store", str(store), "--models",
                      str(models), "--config", str(cfg_path), "--out", str(out))  # fmt: skip
        assert res.stdout.startswith("lstm: 441 days, ")
    for name in ("trades.csv", "summary.json", "equity.csv", "positions.csv", "windows.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    with open(outs[0] / "positions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 441 and rows[0]["date"] == "2023-03-31"
    n = np.array([int(r["n_long"]) + int(r["n_short"]) for r in rows])
    assert n.max() <= 30 and n.mean() > 10
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["replay"]["model_swaps"] == 6 and summary["replay"]["skipped_days"] == {}
    assert summary["replay"]["predictions"] > 441 * 20
    with open(outs[0] / "windows.csv", newline="") as fh:
        assert [r["window"] for r in csv.DictReader(fh)] == [f"w{i:03d}" for i in range(7)]


def test_every_fill_within_the_risk_limit_and_cash(tiny):
    _, models, _, cfg, panel = tiny
    res = run_replay(panel, make_strategy("lstm", cfg), cfg,
                     predictor=model_predictor(panel, models, cfg))  # fmt: skip
    assert (res.n_long + res.n_short).max() <= 30
    check_fills(panel, res, cfg)
    assert np.isfinite(res.marks.nav).all() and res.days[0] == 250


@pytest.mark.parametrize("t", [250, 400])
def test_perturbing_the_open_and_episode_t_cannot_change_day_t(tiny, t):
    _, models, _, cfg, panel = tiny
    cfg = _mode(cfg, "live")  # a moved store has no saved predictions (see the next test)

    def replay(p):
        return run_replay(p, make_strategy("lstm", cfg), cfg,
                          predictor=model_predictor(p, models, cfg))  # fmt: skip

    base = replay(panel)
    moved = replay(perturb(panel, t, EPISODE_FIELDS + ("open", "close")))
    assert orders_upto(base, t) == orders_upto(moved, t)
    assert orders_upto(base, t + 1) != orders_upto(moved, t + 1)


def orders_on(res, t):
    return res.orders[res.orders["day"] == t].tobytes()


def _mode(cfg, mode):
    return dataclasses.replace(cfg, replay=dataclasses.replace(cfg.replay, predictions=mode))


def test_saved_and_live_predictions_agree_and_so_do_the_decisions(tiny):
    _, models, _, cfg, panel = tiny
    saved, live = (
        model_predictor(panel, models, cfg),
        model_predictor(panel, models, _mode(cfg, "live")),
    )
    got = {t: (saved(t), live(t)) for t in range(250, 691)}
    assert None not in saved._saved.values() and saved.manager.loads == 0
    assert len(saved._saved) == 7
    for (ks, ps), (kl, pl) in got.values():
        np.testing.assert_array_equal(ks, kl)
        np.testing.assert_allclose(ps, pl, rtol=1e-5, atol=1e-5)
    runs = [run_replay(panel, make_strategy("lstm", c), c, predictor=p)
            for c, p in ((cfg, saved), (_mode(cfg, "live"), live))]  # fmt: skip
    # equal up to float rounding (batch shapes differ): a near tie may flip, rarely
    differ = [t for t in range(250, 691) if orders_on(runs[0], t) != orders_on(runs[1], t)]
    assert len(differ) <= 4, differ


def test_nulls_cover_the_same_days(tiny):
    _, _, _, cfg, panel = tiny
    flat = run_replay(panel, make_strategy("flat", cfg), cfg)
    rand = run_replay(panel, make_strategy("random", cfg), cfg)
    assert (flat.marks.nav == cfg.replay.initial_cash).all()
    assert flat.days.tolist() == rand.days.tolist() == list(range(250, 691))
    assert (rand.n_long + rand.n_short).max() <= 30
    check_fills(panel, rand, cfg)
    cut = dataclasses.replace(cfg, replay=dataclasses.replace(cfg.replay, sync="mirror"))
    mirror = run_replay(panel, make_strategy("random", cut), cut)
    assert mirror.sync.n_mirror > 0
