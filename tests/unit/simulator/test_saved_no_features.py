"""Saved predictions served without building the features (issue 13, replay performance).

The first replay of a registry on a Panel checks the saved files' data hashes on the features and
stamps the result (``models.freshness``); later replays on the same Panel and code trust the stamp
and never call ``build_features``. Anything the stamp does not vouch for builds them as before.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from structlog.testing import capture_logs

import models.features
import models.freshness
import models.serve
from models.features import build_features
from models.freshness import STAMP, panel_hash, read_stamp
from models.infoset import InfoSet, has_data
from models.pretrain import pretrain
from simulator.loop import run_replay
from simulator.strategies import make_strategy, model_predictor
from tests.unit.simulator.test_loop import perturb
from tests.unit.simulator.test_saved_predictions import CFG, LIVE, MOVED, PANEL


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("models")
    pretrain(PANEL, path, CFG)
    return path


@pytest.fixture
def reg(pristine, tmp_path):
    """A writable copy of the pretrained registry, without a stamp."""
    path = shutil.copytree(pristine, tmp_path / "models")
    (path / STAMP).unlink()  # pretrain stamped it (test_pretrain_stamps_...)
    return path


class Counter:
    """``build_features`` that counts its calls (or raises, when ``forbid``)."""

    def __init__(self, forbid: bool = False) -> None:
        self.calls, self.forbid = 0, forbid

    def __call__(self, panel, cfg):
        self.calls += 1
        if self.forbid:
            raise AssertionError("build_features called on the saved-predictions path")
        return build_features(panel, cfg)


def patch_features(monkeypatch, forbid: bool = False) -> Counter:
    counter = Counter(forbid)
    monkeypatch.setattr(models.features, "build_features", counter)
    monkeypatch.setattr(models.serve, "build_features", counter)
    return counter


def replay(panel, reg, cfg=CFG):
    pred = model_predictor(panel, reg, cfg)
    return run_replay(panel, make_strategy("lstm", cfg), cfg, predictor=pred)


def same(a, b) -> None:
    for name in a.fills.dtype.names:
        np.testing.assert_array_equal(a.fills[name], b.fills[name])
    np.testing.assert_array_equal(a.marks.nav, b.marks.nav)
    np.testing.assert_array_equal(a.n_pred, b.n_pred)
    assert a.orders.tobytes() == b.orders.tobytes() and a.skipped == b.skipped == {}


def test_second_replay_builds_no_features_and_is_identical(reg, monkeypatch):
    first = patch_features(monkeypatch)
    ref = replay(PANEL, reg)
    assert first.calls == 1 and read_stamp(reg)["panel"] == panel_hash(PANEL)
    patch_features(monkeypatch, forbid=True)
    same(replay(PANEL, reg), ref)


def test_pretrain_stamps_the_registry_so_the_first_replay_builds_no_features(
    pristine, reg, tmp_path, monkeypatch
):
    stamped = shutil.copytree(pristine, tmp_path / "stamped")
    assert read_stamp(stamped)["panel"] == panel_hash(PANEL)
    ref = replay(PANEL, reg)  # no stamp: builds the features, checks, stamps
    assert read_stamp(reg) == read_stamp(stamped)  # the stamp a replay's own check writes
    patch_features(monkeypatch, forbid=True)
    same(replay(PANEL, stamped), ref)


@pytest.mark.parametrize(
    "change",
    ["no stamp", "other panel", "other code", "no code", "other entry", "garbage stamp"],
)
def test_what_the_stamp_does_not_vouch_for_builds_the_features(reg, monkeypatch, change):
    replay(PANEL, reg)  # writes the stamp
    panel = PANEL
    if change == "no stamp":
        (reg / STAMP).unlink()
    elif change == "other panel":  # a past close moved: same shapes, other content
        panel = perturb(PANEL, 50, ("close",))
    elif change == "other code":
        monkeypatch.setattr(models.serve, "code_hash", lambda: "0" * 16)
    elif change == "no code":  # sources unreadable: the stamp is neither trusted nor rewritten
        monkeypatch.setattr(models.serve, "code_hash", lambda: None)
        code = read_stamp(reg)["code"]
        (reg / STAMP).write_text((reg / STAMP).read_text().replace(f'"{code}"', "null"))
    elif change == "other entry":
        text = (reg / STAMP).read_text().replace(read_stamp(reg)["data_hash"], "0" * 16)
        (reg / STAMP).write_text(text)
    else:
        (reg / STAMP).write_text("{not json")
    counter = patch_features(monkeypatch)
    replay(panel, reg)
    assert counter.calls == 1
    if change == "no code":
        assert read_stamp(reg)["code"] is None  # not rewritten either


def test_a_stamp_never_makes_a_stale_window_fresh(reg):
    """A stamp of PANEL does not vouch for a Panel whose later days moved: those windows are
    still served live (``predictions_stale``), exactly as without a stamp."""
    replay(PANEL, reg)
    moved = perturb(PANEL, 50, MOVED)
    with capture_logs() as logs:
        got = replay(moved, reg)
    stale = sorted(x["window"] for x in logs if x["event"] == "predictions_stale")
    assert stale == ["w000", "w001"]
    (reg / STAMP).unlink()
    with capture_logs() as logs:
        same(replay(moved, reg), got)
    assert sorted(x["window"] for x in logs if x["event"] == "predictions_stale") == stale


def test_live_serving_still_builds_the_features(reg, monkeypatch):
    replay(PANEL, reg)
    counter = patch_features(monkeypatch)
    replay(PANEL, reg, LIVE)
    assert counter.calls == 1


def test_unwritable_registry_serves_all_the_same(reg, monkeypatch):
    def refuse(*_a, **_k):
        raise PermissionError("read-only")

    monkeypatch.setattr(models.freshness, "write_atomic", refuse)
    ref = replay(PANEL, reg)
    assert not (reg / STAMP).exists()
    same(replay(PANEL, reg), ref)


@pytest.mark.parametrize("info_set", ["strict", "recorded"])
def test_points_without_features_equal_the_features_points(info_set):
    """``infoset.has_data`` and the prediction points the saved path checks against are exactly
    ``FeatureSet.has_data`` and ``FeatureSet.sample``."""
    cfg = type(CFG.features)(info_set=info_set)
    fs = build_features(PANEL, cfg)
    known = has_data(PANEL)
    np.testing.assert_array_equal(known, fs.has_data)
    np.testing.assert_array_equal(
        InfoSet.resolve(info_set).prediction_points(PANEL, known), fs.sample
    )
