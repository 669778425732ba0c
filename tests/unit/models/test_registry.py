"""Registry: seeds, hashes, entry round trip, atomic save, plan merge (skip, stale, force)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.config import ModelConfig
from models.registry import (
    REGISTRY_FILE,
    Registry,
    WindowEntry,
    data_hash,
    sections_hash,
    window_seed,
)
from simulator.core.errors import RegistryError


def _entry(i=0, **kw):
    base = dict(
        id=f"w{i:03d}",
        train=(0, 40),
        val=(41, 50),
        serve=(50 + 10 * i, 60 + 10 * i),
        train_dates=("2022-04-01", "2022-05-26"),
        val_dates=("2022-05-30", "2022-06-09"),
        serve_dates=("2022-06-10", "2022-06-23"),
        label_end_max=50,
        seed=window_seed(42, f"w{i:03d}"),
        data_hash="d" * 16,
        config_hash="c" * 16,
    )
    return WindowEntry(**{**base, **kw})


def _done(root, e):
    d = root / e.id
    d.mkdir(parents=True, exist_ok=True)
    (d / "metadata.json").write_text("{}")
    (d / "model.pt").write_bytes(b"weights")
    from models.registry import sha256_file

    return dataclasses.replace(e, status="done", files={"model.pt": sha256_file(d / "model.pt")})


def test_window_seed_is_a_stable_32_bit_hash():
    assert window_seed(42, "w000") == 410639090  # sha256(b"42:w000")[:4], little-endian
    assert window_seed(42, "w000") != window_seed(43, "w000")
    assert 0 <= window_seed(1, "w999") < 2**32


def test_data_hash_sees_values_shapes_dtypes_and_labels():
    a = np.arange(6, dtype=np.float32)
    h = data_hash([a], ["x"])
    assert h == data_hash([a.copy()], ["x"])
    assert h != data_hash([a.reshape(2, 3)], ["x"])
    assert h != data_hash([a.astype(np.float64)], ["x"])
    assert h != data_hash([a], ["y"])
    b = a.copy()
    b[5] = np.nextafter(b[5], np.float32(10))
    assert h != data_hash([b], ["x"])


def test_sections_hash_follows_config_values():
    assert sections_hash({"model": ModelConfig()}) == sections_hash({"model": ModelConfig()})
    assert sections_hash({"model": ModelConfig()}) != sections_hash(
        {"model": ModelConfig(hidden=8)}
    )


def test_entry_round_trips_through_dict():
    e = _entry(metrics={"oos": {"ic": 0.1}})
    assert WindowEntry.from_dict(e.to_dict()) == e
    assert e.to_dict()["path"] == "w000"


def test_save_load_and_missing_registry(tmp_path):
    reg = Registry(tmp_path, [_entry(0), _entry(1)], {"seed": 42})
    reg.save()
    again = Registry.load(tmp_path)
    assert again.entries == reg.entries and again.info == {"seed": 42}
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind
    with pytest.raises(RegistryError, match="no model registry.*wfsim pretrain"):
        Registry.load(tmp_path / "nowhere")
    (tmp_path / REGISTRY_FILE).write_text("{not json")
    with pytest.raises(RegistryError, match="not valid JSON"):
        Registry.load(tmp_path)


def test_merge_plan_skips_verified_done_entries(tmp_path):
    done = _done(tmp_path, _entry(0))
    reg = Registry(tmp_path, [done, _entry(1)], {})
    todo = reg.merge_plan([_entry(0), _entry(1)], force=False)
    assert todo == ["w001"] and reg.entries[0] is done


def test_merge_plan_retrains_a_done_entry_whose_files_changed(tmp_path):
    done = _done(tmp_path, _entry(0))
    (tmp_path / "w000" / "model.pt").write_bytes(b"torn")
    reg = Registry(tmp_path, [done], {})
    assert reg.merge_plan([_entry(0)], force=False) == ["w000"]
    assert reg.entries[0].status == "planned"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"config_hash": "e" * 16}, "config_hash"), ({"data_hash": "f" * 16}, "data_hash"),
     ({"serve": (51, 60)}, "serve")],
)  # fmt: skip
def test_merge_plan_refuses_stale_entries_unless_forced(tmp_path, change, field):
    reg = Registry(tmp_path, [_done(tmp_path, _entry(0))], {})
    with pytest.raises(RegistryError, match=f"stale.*window=w000, changed={field}.*--force"):
        reg.merge_plan([_entry(0, **change)], force=False)
    assert reg.merge_plan([_entry(0, **change)], force=True) == ["w000"]


def test_merge_plan_refuses_to_drop_finished_windows(tmp_path):
    reg = Registry(tmp_path, [_done(tmp_path, _entry(0)), _done(tmp_path, _entry(1))], {})
    with pytest.raises(RegistryError, match="window=w001, changed=window no longer planned"):
        reg.merge_plan([_entry(0)], force=False)


def test_clean_leftovers_removes_only_temp_artifacts(tmp_path):
    (tmp_path / ".w003.abc.tmp").mkdir()
    (tmp_path / ".registry.json.x1.tmp").write_text("torn")
    (tmp_path / ".w001.q.old").mkdir()
    (tmp_path / "w000").mkdir()
    (tmp_path / "registry.json").write_text("{}")
    assert Registry(tmp_path, [], {}).clean_leftovers() == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json", "w000"]
