"""A replay over a mapped Panel (simulator.panel_map): the same Panel, the same exported bytes,
its temp file removed, its resident pages handed back by the day loops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from episodes.panel import _RAGGED, slice_panel
from episodes.store import load_panel
from simulator import panel_map, pipeline
from simulator.config import load_config
from simulator.core.errors import ConfigError
from simulator.kernels.records import HOLD
from simulator.loop import run_replay
from simulator.reconcile import replay_recorded
from simulator.results.export import export_run
from simulator.results.holdings import holdings_tables
from simulator.runs import RunOutput
from simulator.strategies import exported_fills, make_strategy
from tests.panel_equal import assert_same_panel
from tests.stub_panel import make_panel
from tests.synth_stores import (  # noqa: F401  (fixtures: store, models)
    REPLAY_TINY,
    replay_built_fixture,
    replay_models_fixture,
    replay_store_fixture,
)

TINY = REPLAY_TINY
CFG = load_config(overrides=TINY)


@pytest.mark.parametrize("block", [1, 3, 7, 69, 70, 200])
def test_mapped_panel_equals_the_loaded_one(store, tmp_path, block):
    want = load_panel(store)
    got = panel_map.map_panel(lambda d: load_panel(store, d), want.n_days, block, tmp_path / "p")
    assert_same_panel(got, want)
    assert isinstance(got.close, np.memmap) and not got.close.flags.writeable
    assert isinstance(got.confidence, np.memmap) and got.confidence.shape[1] == want.n_days
    values = sorted(v for vals in _RAGGED.values() for v in vals)  # the lists' values: files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p", *(f"p.{v}" for v in values)]
    for v in values:  # mapped read-only where there is something to map
        a = getattr(got, v)
        assert len(a) == 0 or (isinstance(a, np.memmap) and not a.flags.writeable), v


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("strategy", ["llm", "llm-counterfactual", "lstm", "random", "flat"])
def test_mapped_replay_exports_the_same_bytes(store, models, tmp_path, monkeypatch, strategy):
    opts = {"models": models} if strategy == "lstm" else {}
    pipeline.replay(strategy, store, tmp_path / "mem" / "run", CFG, **opts)
    monkeypatch.setattr(panel_map, "plan", lambda *_: 4)  # force the mapped path, 4-day blocks
    with capture_logs() as logs:
        pipeline.replay(strategy, store, tmp_path / "map" / "run", CFG, **opts)
    events = [e["event"] for e in logs]
    assert "panel_mapped" in events and "predictions_stale" not in events
    summary = json.loads((tmp_path / "map" / "run" / "summary.json").read_text())
    if strategy == "lstm":  # saved predictions served on every day
        assert summary["replay"]["predictions"] > 0 and not summary["replay"]["skipped_days"]
    want, got = _files(tmp_path / "mem" / "run"), _files(tmp_path / "map" / "run")
    assert "trades.csv" in want and got.keys() == want.keys()
    assert [n for n in want if got[n] != want[n]] == []
    assert sorted(p.name for p in (tmp_path / "map").iterdir()) == ["run"]  # temp dir removed


def test_temp_file_removed_when_the_replay_raises(store, tmp_path, monkeypatch):
    monkeypatch.setattr(panel_map, "plan", lambda *_: 4)
    seen = []
    real = panel_map.map_panel
    monkeypatch.setattr(panel_map, "map_panel", lambda *a: seen.append(a[-1]) or real(*a))
    with pytest.raises(ConfigError, match="needs pretrained models"):
        pipeline.replay("lstm", store, tmp_path / "out" / "run", CFG)  # no --models
    assert len(seen) == 1 and not seen[0].parent.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_small_stores_stay_in_memory(store, tmp_path, monkeypatch):
    monkeypatch.setattr(panel_map, "map_panel", lambda *a: pytest.fail("mapped"))
    with panel_map.replay_panel(store, CFG.features.memory_mb, tmp_path) as panel:
        assert not isinstance(panel.close, np.memmap)
    assert panel_map.plan(512, 1500, 1697) == 54 and panel_map.plan(512, 573, 691) is None


def _resident_kb(path: Path) -> int:
    """kB of ``path``'s mappings resident in this process (/proc/self/smaps)."""
    kb, mine = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if len(head) >= 5 and "-" in head[0] and ":" in head[3]:  # a mapping's header line
            mine = head[-1] == str(path)
        elif mine and head[0] == "Rss:":
            kb += int(head[1])
    return kb


@pytest.fixture
def wide(tmp_path):
    """A 200-day x 300-stock stub Panel, mapped in 16-day blocks, and the bound on what the day
    loops may keep resident: RELEASE_DAYS + 2 days of every mapped field plus 2 pages a field."""
    panel = make_panel(n_days=200, n_stocks=300, seed=1)
    path = tmp_path / "panel.bin"
    mapped = panel_map.map_panel(lambda d: slice_panel(panel, d), 200, 16, path)
    fields = [v for v in vars(mapped).values() if isinstance(v, np.memmap)]
    per_day = sum(v.nbytes for v in fields) / 200
    bound_kb = ((panel_map.RELEASE_DAYS + 2) * per_day + len(fields) * 8192) / 1024
    return mapped, path, bound_kb


def test_event_loop_hands_mapped_pages_back(wide):
    mapped, path, bound_kb = wide
    cfg = load_config(overrides={"windows.initial": 5, "replay.bond_sleeve": "mirror"})
    strategy = make_strategy("random", cfg)
    seen = []
    decide = strategy.decide

    def spy(view):
        if view.t % 4 == 3:  # the day before a release is among them
            seen.append(_resident_kb(path))
        return decide(view)

    strategy.decide = spy
    run_replay(mapped, strategy, cfg)
    assert len(seen) == 49 and max(seen) <= bound_kb, (max(seen), bound_kb)


def test_recorded_replay_hands_mapped_pages_back(wide, monkeypatch):
    from simulator import reconcile

    mapped, path, bound_kb = wide
    seen = []

    class Spy(reconcile.RecordedDecisions):
        def orders(self, t):
            if t % 4 == 3:  # the day before a release is among them
                seen.append(_resident_kb(path))
            return super().orders(t)

    monkeypatch.setattr(reconcile, "RecordedDecisions", Spy)
    replay_recorded(mapped)
    assert len(seen) == 50 and max(seen) <= bound_kb, (max(seen), bound_kb)


@pytest.mark.parametrize("start", [0, 20, 45])
def test_exported_fills_export_the_same_bytes(store, tmp_path, start):
    """The llm runs export ``exported_fills`` (no idle holds): the same files as every fill row,
    also for a book that starts with positions (a run from day ``start``)."""
    full = load_panel(store)
    panel = slice_panel(full, range(start, full.n_days))
    res = replay_recorded(panel)
    kept = exported_fills(res.fills)
    for name, fills in (("all", res.fills), ("kept", kept)):
        run = RunOutput("llm", np.arange(panel.n_days), panel.dates, panel.tickers, fills,
                        res.marks, res.initial_nav, res.n_long, res.n_short)  # fmt: skip
        export_run(tmp_path / name, run, {}, holdings_tables(run, panel.close))
    want, got = _files(tmp_path / "all"), _files(tmp_path / "kept")
    assert [n for n in want if got[n] != want[n]] == [] and got.keys() == want.keys()
    assert len(kept) < len(res.fills) and (kept["action"] == HOLD).any()  # holds of positions
