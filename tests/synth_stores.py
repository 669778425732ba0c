"""A synthetic episode store for test fixtures: synth JSON + ingest under a fresh tmp dir."""

from __future__ import annotations

from pathlib import Path

from episodes.config import SynthConfig
from episodes.store import ingest
from episodes.synth import write_episodes


def synth_store(tmp_path_factory, name: str, days: int, tickers: int, seed: int = 0) -> Path:
    """The store of ``SynthConfig(days=days, tickers=tickers)`` at ``seed`` (JSON kept beside)."""
    root = tmp_path_factory.mktemp(name)
    write_episodes(root / "eps", SynthConfig(days=days, tickers=tickers), seed)
    ingest(root / "eps", root / "store")
    return root / "store"
