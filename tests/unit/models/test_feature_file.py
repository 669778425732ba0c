"""Spilled features (``models.feature_file``): the same arrays and registry as in memory."""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from episodes.config import SynthConfig
from episodes.panel import slice_panel
from episodes.store import load_panel
from episodes.synth_store import write_synth_store
from models import pretrain as pretrain_mod
from models.config import FeatureConfig
from models.feature_file import (
    FS_MASK_BYTES,
    PANEL_BYTES,
    PREFIX,
    SUFFIX,
    MappedX,
    block_span,
    build_feature_file,
    open_spilled,
    portable,
    reopen,
    spill_needed,
)
from models.features import build_features, feature_names
from models.mapped import is_mapped
from models.pretrain import pretrain
from simulator.config import load_config
from simulator.core.errors import StoreError
from tests.registry_files import TINY, registry_files, tiny_store
from tests.unit.models.panel_factory import make_panel

ARRAYS = ("x", "has_data", "sample", "y", "label_end")


def _same(a, b) -> None:
    for n in ARRAYS:
        x, y = getattr(a, n), getattr(b, n)
        assert x.shape == y.shape and x.dtype == y.dtype, n
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes(), n
    assert a.names == b.names and a.horizon == b.horizon


@pytest.mark.parametrize("block", [1, 2, 7, 23, 60])
@pytest.mark.parametrize(("info_set", "horizon", "ranks"), [("strict", 1, True),
                         ("recorded", 1, False), ("strict", 5, True)])  # fmt: skip
def test_blocks_from_day_range_panels_equal_build_features(
    tmp_path, block, info_set, horizon, ranks
):
    panel = make_panel(n_days=60, n_stocks=8, seed=block)
    cfg = FeatureConfig(info_set=info_set, horizon=horizon, ranks=ranks)
    asked: list[range] = []

    def loader(days: range):
        asked.append(days)
        return slice_panel(panel, days)

    fs = build_feature_file(loader, 60, panel.n_tickers, cfg, tmp_path / "x.f32", block=block)
    _same(fs, build_features(panel, cfg))
    assert is_mapped(fs.x) and not fs.x.flags.writeable
    assert max(len(r) for r in asked) <= block + 1 + horizon  # never the whole store at once


def test_block_span_reads_one_day_before_and_horizon_after():
    assert block_span(30, 40, 100, FeatureConfig()) == range(29, 41)
    assert block_span(30, 40, 100, FeatureConfig(info_set="recorded", horizon=3)) == range(29, 43)
    assert block_span(95, 100, 100, FeatureConfig(horizon=5)) == range(94, 100)


def test_a_loader_of_the_wrong_days_is_a_store_error(tmp_path):
    panel = make_panel(n_days=20, n_stocks=4)
    with pytest.raises(StoreError, match="another shape"):
        build_feature_file(lambda r: panel, 20, panel.n_tickers, FeatureConfig(), tmp_path / "x",
                           block=5)  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_spill_needed_follows_the_budget():
    cfg = FeatureConfig(memory_mb=1)
    per_day = 50 * (len(feature_names(cfg)) * 4 + 3 * (PANEL_BYTES + FS_MASK_BYTES))
    fits = 2**20 // per_day  # days of 50 tickers whose Panel + x fit 1 MB
    assert not spill_needed(cfg, fits, 50) and spill_needed(cfg, fits + 1, 50)
    assert not spill_needed(FeatureConfig(memory_mb=0), 10**5, 10**4)


def test_panel_bytes_per_ticker_day(tmp_path):
    """PANEL_BYTES = the bytes of a loaded Panel's day x ticker arrays per ticker-day."""
    write_synth_store(tmp_path / "store", SynthConfig(days=12, tickers=6), 1)
    p = load_panel(tmp_path / "store")
    per_day = [
        a.nbytes
        for f in dataclasses.fields(p)
        if isinstance(a := getattr(p, f.name), np.ndarray) and a.size >= p.n_days * p.n_tickers
    ]
    assert sum(per_day) == PANEL_BYTES * p.n_days * p.n_tickers
    fs = build_features(p, FeatureConfig())
    masks = fs.has_data.nbytes + fs.sample.nbytes + fs.y.nbytes
    assert masks == FS_MASK_BYTES * p.n_days * p.n_tickers


# --- a tiny store whose x (120 x 52 x 51 float32 = 1.2 MB) exceeds a 1 MB budget ---------------


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tiny_store(tmp_path_factory, "spill")


_files = registry_files


def test_open_spilled_equals_the_whole_panel(store, tmp_path):
    cfg = FeatureConfig(memory_mb=1)
    panel = load_panel(store)
    fs, tickers, dates = open_spilled(store, cfg, tmp_path / "x.f32")
    _same(fs, build_features(panel, cfg))
    assert tickers == [str(t) for t in panel.tickers] and (dates == panel.dates).all()
    assert open_spilled(store, FeatureConfig(memory_mb=5), tmp_path / "y.f32") is None


@pytest.mark.parametrize("family", ["ridge", "lstm"])
def test_spilled_pretrain_writes_the_in_memory_registry(store, tmp_path, family):
    torch.set_num_threads(1)
    mem = load_config(overrides={**TINY, "model.family": family, "features.memory_mb": 0})
    spill = load_config(overrides={**TINY, "model.family": family, "features.memory_mb": 1})
    a, b = pretrain(store, tmp_path / "mem", mem.pretrain_config()), None
    seen = []
    real = pretrain_mod.run_window

    def spy(window, fs, *args, **kw):
        seen.append(is_mapped(fs.x))
        return real(window, fs, *args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("models.backends.run_window", spy)
        b = pretrain(store, tmp_path / "spill", spill.pretrain_config())
    assert seen == [True] * len(b.entries) and len(seen) == 2
    assert [e.weights_hash for e in a.entries] == [e.weights_hash for e in b.entries]
    mem_files, spill_files = _files(tmp_path / "mem"), _files(tmp_path / "spill")
    assert "verified.json" in mem_files and "verified.json" not in spill_files  # no Panel hash
    mem_files.pop("verified.json")
    assert spill_files == mem_files  # registry, weights, predictions, metadata: byte for byte


def test_the_spill_file_is_removed_on_error_and_leftovers_first(store, tmp_path):
    cfg = load_config(overrides={**TINY, "model.family": "ridge", "features.memory_mb": 1})
    models = tmp_path / "models"
    models.mkdir()
    left = models / f"{PREFIX}999999{SUFFIX}"
    left.write_bytes(b"killed run")
    spilled: list[Path] = []

    def boom(window, fs, *args, **kw):
        spilled.append(Path(fs.x.filename))
        assert spilled[0].is_file()
        raise RuntimeError("planted")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("models.backends.run_window", boom)
        with pytest.raises(RuntimeError, match="planted"):
            pretrain(store, models, cfg.pretrain_config())
    assert spilled and not spilled[0].exists() and not left.exists()
    assert not [p for p in models.iterdir() if p.suffix in (SUFFIX, ".tmp")]


def test_a_spilled_x_travels_as_its_path(tmp_path):
    """What a Ray task receives: the file's path, not the array (a memmap pickles whole)."""
    panel = make_panel(n_days=40, n_stocks=30)
    fs = build_feature_file(lambda r: slice_panel(panel, r), 40, panel.n_tickers, FeatureConfig(),
                            tmp_path / "x.f32", block=9)  # fmt: skip
    moved = portable(fs)
    assert isinstance(moved.x, MappedX) and moved.x.path == str(tmp_path / "x.f32")
    assert len(pickle.dumps(moved.x)) < 1000 < fs.x.nbytes // 10
    back = reopen(pickle.loads(pickle.dumps(moved)))
    assert is_mapped(back.x) and not back.x.flags.writeable
    _same(back, fs)
    plain = build_features(panel, FeatureConfig())
    assert portable(plain) is plain and reopen(plain) is plain
    gone = dataclasses.replace(moved, x=MappedX(str(tmp_path / "nope.f32"), (1,), "<f4"))
    with pytest.raises(StoreError, match="every Ray node shares"):
        reopen(gone)


@pytest.mark.ray
@pytest.mark.slow
def test_ray_on_spilled_features_writes_the_local_registry(store, tmp_path, local_ray):
    cfg = load_config(overrides={**TINY, "model.family": "ridge", "features.memory_mb": 1})
    pretrain(store, tmp_path / "local", cfg.pretrain_config())
    put, sent = local_ray.put, []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local_ray, "put", lambda v, **kw: sent.append(v) or put(v, **kw))
        res = pretrain(store, tmp_path / "ray", cfg.pretrain_config(), backend="ray", workers=2)
    assert len(res.trained) == 2
    assert [type(v.x) for v in sent] == [MappedX]  # the tasks got the path, not the array
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    assert "verified.json" not in _files(tmp_path / "ray")  # it did spill
    assert not list((tmp_path / "ray").glob(f"{PREFIX}*"))  # and removed the file


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_run_local_releases_a_windows_pages(tmp_path, monkeypatch):
    """After each window the spilled x's pages leave the process (models.backends.run_local)."""
    from models.backends import run_local
    from tests.unit.models.test_mapped import _resident_kb

    panel = make_panel(n_days=200, n_stocks=60, seed=4)
    path = tmp_path / "x.f32"
    fs = build_feature_file(lambda r: slice_panel(panel, r), 200, panel.n_tickers,
                            FeatureConfig(), path, block=50)  # fmt: skip
    resident = []

    def touch_all(window, fs, *args):
        assert float(np.asarray(fs.x).sum()) != 0.0  # a plain read: every page mapped in
        resident.append(_resident_kb(path))
        return window

    monkeypatch.setattr("models.backends.run_window", touch_all)
    monkeypatch.setattr("models.backends.warm_start", lambda cfg: False)
    ctx = SimpleNamespace(fs=fs, tickers=None, dates=None, cfg=None, prev_from_disk=lambda i: None)
    after = []
    run_local([(0, "w0", SimpleNamespace(seed=0)), (1, "w1", SimpleNamespace(seed=1))], ctx,
              lambda out: after.append(_resident_kb(path)), 1, None)  # fmt: skip
    assert min(resident) >= fs.x.nbytes // 1024 - 4 and after == [0, 0]
