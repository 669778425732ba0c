"""Test-only: a registry directory's files as digests, and the tiny spilled-pretrain setup that
several model tests share (a store whose ``x``, 120 x 52 x 51 float32 = 1.2 MB, exceeds 1 MB)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from episodes.config import SynthConfig
from episodes.synth_store import write_synth_store

TINY = {
    "features.seq_len": 5,
    "windows.initial": 80,
    "windows.step": 20,
    "model.hidden": 8,
    "model.layers": 1,
    "model.embed_dim": 4,
    "train.max_epochs": 2,
    "train.batch_size": 64,
    "train.max_samples_per_epoch": 0,
}


def tiny_store(tmp_path_factory, name: str) -> Path:
    """The 120-day, 50-ticker synthetic store (listings and delistings) of the spill tests."""
    path = tmp_path_factory.mktemp(name) / "store"
    write_synth_store(path, SynthConfig(days=120, tickers=50, new_listings=0.2, delistings=0.2), 3)
    return path


def registry_files(root: Path) -> dict[str, str]:
    """sha256 of every file (metadata.json without its training time, the one timed field)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != ".lock":
            data = p.read_bytes()
            if p.name == "metadata.json":
                meta = json.loads(data)
                assert meta.pop("training_time_s") >= 0
                data = json.dumps(meta, sort_keys=True).encode()
            out[str(p.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out
