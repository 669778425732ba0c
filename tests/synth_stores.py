"""A synthetic episode store for test fixtures: synth JSON + ingest under a fresh tmp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from episodes.config import SynthConfig
from episodes.store import ingest
from episodes.synth import write_episodes


def synth_store(tmp_path_factory, name: str, days: int, tickers: int, seed: int = 0) -> Path:
    """The store of ``SynthConfig(days=days, tickers=tickers)`` at ``seed`` (JSON kept beside)."""
    root = tmp_path_factory.mktemp(name)
    write_episodes(root / "eps", SynthConfig(days=days, tickers=tickers), seed)
    ingest(root / "eps", root / "store")
    return root / "store"


# a 70-day, 24-ticker store with a pretrained ridge registry: the replay-on-a-budget tests
REPLAY_TINY = {
    "synth.days": 70, "synth.tickers": 24, "synth.new_listings": 0.2, "synth.delistings": 0.2,
    "windows.initial": 40, "windows.step": 15, "model.family": "ridge", "seed": 3,
}  # fmt: skip


@pytest.fixture(scope="module", name="replay_built")
def replay_built_fixture(tmp_path_factory) -> tuple[Path, Path]:
    """``(store, models)``: the ``REPLAY_TINY`` synthetic store and its pretrained registry."""
    from simulator import pipeline
    from simulator.config import load_config

    cfg = load_config(overrides=REPLAY_TINY)
    root = tmp_path_factory.mktemp("replay")
    store = pipeline.synth_store(root / "store", cfg)
    pipeline.pretrain(store, root / "models", cfg)
    return store, root / "models"


@pytest.fixture(scope="module", name="store")
def replay_store_fixture(replay_built) -> Path:
    """The ``REPLAY_TINY`` store (import it as a module's ``store`` fixture)."""
    return replay_built[0]


@pytest.fixture(scope="module", name="models")
def replay_models_fixture(replay_built) -> Path:
    """The ``REPLAY_TINY`` registry (import it as a module's ``models`` fixture)."""
    return replay_built[1]
