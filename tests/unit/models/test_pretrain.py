"""pretrain: plan first, resume, skip, stale detection, determinism, Ray = local, planted signal."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from models.evaluate import report_frame
from models.pretrain import plan_windows, pretrain
from models.registry import REGISTRY_FILE, Registry
from simulator.config import load_config
from simulator.core.errors import ConfigError, RegistryError
from tests.unit.models.planted import planted

TINY = {
    "features.seq_len": 5,
    "windows.initial": 60,
    "windows.step": 20,
    "model.hidden": 16,
    "model.layers": 1,
    "model.embed_dim": 4,
    "train.lr": 0.01,
    "train.batch_size": 64,
    "train.max_epochs": 6,
    "train.patience": 3,
    "train.warm_epochs": 2,
    "train.max_samples_per_epoch": 0,
}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def tiny(**extra):
    return load_config(overrides={**TINY, **extra})


@pytest.fixture(scope="module")
def data():
    return planted()


def _registry(path):
    return (path / REGISTRY_FILE).read_text()


def test_plan_covers_every_window_with_purged_ranges(data):
    plan = plan_windows(data, tiny())
    assert [e.id for _, e in plan] == ["w000", "w001", "w002"]
    for w, e in plan:
        assert e.serve == (w.serve.start, w.serve.stop)
        assert e.train[1] <= e.val[0] and e.label_end_max < e.serve[0]
        assert e.status == "planned" and len({e.seed for _, e in plan}) == 3


def test_pretrain_trains_all_then_skips_all(data, tmp_path):
    first = pretrain(data, tmp_path, tiny())
    assert first.trained == ("w000", "w001", "w002") and first.skipped == ()
    assert all(e.status == "done" for e in first.entries)
    for e in first.entries:
        assert {p.name for p in (tmp_path / e.id).iterdir()} == {
            "model.pt",
            "metadata.json",
            "predictions.parquet",
        }
    before = _registry(tmp_path)
    second = pretrain(data, tmp_path, tiny())
    assert second.trained == () and len(second.skipped) == 3
    assert _registry(tmp_path) == before


def test_same_seed_gives_identical_registry_and_weights(data, tmp_path):
    pretrain(data, tmp_path / "a", tiny())
    pretrain(data, tmp_path / "b", tiny())
    assert _registry(tmp_path / "a") == _registry(tmp_path / "b")
    other = pretrain(data, tmp_path / "c", tiny(seed=7))
    a = Registry.load(tmp_path / "a")
    assert [e.weights_hash for e in a.entries] != [e.weights_hash for e in other.entries]


def test_resume_after_a_lost_window_gives_the_same_registry(data, tmp_path):
    pretrain(data, tmp_path / "full", tiny())
    run = tmp_path / "run"
    pretrain(data, run, tiny())
    # as if killed after w000: w001/w002 never written, registry still says planned for them
    reg = Registry.load(run)
    for e in reg.entries[1:]:
        shutil.rmtree(run / e.id)
        reg.replace(type(e).from_dict({**e.to_dict(), "status": "planned", "files": {}}))
    reg.save()
    res = pretrain(data, run, tiny())
    assert res.trained == ("w001", "w002")
    assert _registry(run) == _registry(tmp_path / "full")


def test_a_corrupted_window_is_retrained(data, tmp_path):
    pretrain(data, tmp_path, tiny())
    before = _registry(tmp_path)
    (tmp_path / "w001" / "model.pt").write_bytes(b"torn")
    res = pretrain(data, tmp_path, tiny())
    assert res.trained == ("w001",) and _registry(tmp_path) == before


def test_stale_config_raises_unless_forced(data, tmp_path):
    pretrain(data, tmp_path, tiny())
    with pytest.raises(RegistryError, match=r"stale .*window=w000, changed=config_hash"):
        pretrain(data, tmp_path, tiny(**{"model.hidden": 8}))
    res = pretrain(data, tmp_path, tiny(**{"model.hidden": 8}), force=True)
    assert res.trained == ("w000", "w001", "w002")


def test_stale_data_raises(data, tmp_path):
    pretrain(data, tmp_path, tiny())
    changed = planted(seed=1)
    with pytest.raises(RegistryError, match="changed=data_hash"):
        pretrain(changed, tmp_path, tiny())


def test_planted_signal_is_recovered_out_of_sample(data, tmp_path):
    pretrain(data, tmp_path, tiny())
    pooled = report_frame(tmp_path).set_index("window").loc["pooled"]
    assert pooled["ic"] > 0.3 and pooled["ic_t"] > 3
    assert pooled["accuracy"] > 0.6


def test_metadata_records_dates_hashes_and_metrics(data, tmp_path):
    res = pretrain(data, tmp_path, tiny())
    e = res.entries[0]
    meta = json.loads((tmp_path / "w000" / "metadata.json").read_text())
    assert meta["serve_dates"] == list(e.serve_dates) == [str(data.dates[60]), str(data.dates[79])]
    assert meta["data_hash"] == e.data_hash and meta["features"] == list(data.fs.names)
    assert set(meta["oos"]) >= {"accuracy", "precision", "recall", "f1", "ic", "rank_ic"}
    assert e.metrics["oos"] == meta["oos"] and "torch" in meta["versions"]


def test_bad_backend_is_a_config_error(data, tmp_path):
    with pytest.raises(ConfigError, match="unknown backend"):
        pretrain(data, tmp_path, tiny(), backend="spark")


@pytest.mark.ray
@pytest.mark.slow
def test_ray_backend_gives_the_local_registry(data, tmp_path, local_ray):
    pretrain(data, tmp_path / "local", tiny())
    res = pretrain(data, tmp_path / "ray", tiny(), backend="ray", workers=2)
    assert res.trained == ("w000", "w001", "w002")
    assert _registry(tmp_path / "ray") == _registry(tmp_path / "local")
    cold = tiny(**{"train.warm_start": False})
    pretrain(data, tmp_path / "cold_local", cold)
    pretrain(data, tmp_path / "cold_ray", cold, backend="ray", workers=2)
    assert _registry(tmp_path / "cold_ray") == _registry(tmp_path / "cold_local")
    assert _registry(tmp_path / "cold_ray") != _registry(tmp_path / "ray")


@pytest.mark.ray
@pytest.mark.slow
def test_ray_resume_warm_starts_from_the_saved_window(data, tmp_path, local_ray):
    pretrain(data, tmp_path / "local", tiny())
    run = tmp_path / "run"
    pretrain(data, run, tiny())
    shutil.rmtree(run / "w002")  # lost: w002 must warm-start from w001's saved model.pt
    res = pretrain(data, run, tiny(), backend="ray", workers=2)
    assert res.trained == ("w002",)
    assert _registry(run) == _registry(tmp_path / "local")
