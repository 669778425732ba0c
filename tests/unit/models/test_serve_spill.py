"""Live serving on a store whose features exceed the budget: built spilled (models.serve
``serving_features``), the same values and the same replay, nothing left on disk, pages handed
back while serving."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from episodes.store import load_panel
from models import serve
from models.features import build_features
from models.freshness import STAMP
from models.mapped import is_mapped
from simulator import panel_map, pipeline
from simulator.config import load_config
from tests.synth_stores import (  # noqa: F401  (fixtures: store, models)
    REPLAY_TINY,
    replay_built_fixture,
    replay_models_fixture,
    replay_store_fixture,
)

TINY = REPLAY_TINY
CFG = load_config(overrides=TINY)


def _spill(monkeypatch) -> None:
    monkeypatch.setattr(serve, "spill_needed", lambda *_: True)


def test_spilled_serving_features_equal_the_in_memory_ones(store, tmp_path, monkeypatch):
    panel = load_panel(store)
    want = build_features(panel, CFG.features)
    _spill(monkeypatch)
    monkeypatch.setattr(serve.tempfile, "tempdir", str(tmp_path))
    got = serve.serving_features(panel, CFG.features)
    assert is_mapped(got.x) and list(tmp_path.iterdir()) == []  # mapped, its file removed
    for f in dataclasses.fields(want):
        a, b = getattr(want, f.name), getattr(got, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), f.name
        else:
            assert a == b, f.name


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.mark.parametrize("mapped", [False, True])
def test_replay_without_a_stamp_serves_from_spilled_features(
    store, models, tmp_path, monkeypatch, mapped
):
    """No verified.json: the replay builds the features to check the saved predictions (and
    serves live ones for ``replay.predictions: live``); spilled, the exported bytes are the same."""
    for mode in ("saved", "live"):
        cfg = load_config(overrides=TINY | {"replay.predictions": mode})
        (models / STAMP).unlink(missing_ok=True)
        pipeline.replay("lstm", store, tmp_path / mode / "mem" / "run", cfg, models)
        (models / STAMP).unlink(missing_ok=True)  # the in-memory replay may have stamped it
        with monkeypatch.context() as m:
            _spill(m)
            if mapped:
                m.setattr(panel_map, "plan", lambda *_: 4)
            released: list[np.ndarray] = []
            m.setattr(serve, "release", released.append)
            with capture_logs() as logs:
                pipeline.replay("lstm", store, tmp_path / mode / "map" / "run", cfg, models)
        events = [e["event"] for e in logs]
        assert "features_spilled" in events and "predictions_stale" not in events
        if mode == "live":  # live serving hands x's pages back every RELEASE_DAYS days
            assert sum(is_mapped(a) and a.ndim == 3 for a in released) >= 30 // serve.RELEASE_DAYS
        summary = json.loads((tmp_path / mode / "map" / "run" / "summary.json").read_text())
        assert summary["replay"]["predictions"] > 0
        want, got = _files(tmp_path / mode / "mem" / "run"), _files(tmp_path / mode / "map" / "run")
        assert got.keys() == want.keys() and [n for n in want if got[n] != want[n]] == []
        assert sorted(p.name for p in (tmp_path / mode / "map").iterdir()) == ["run"]
