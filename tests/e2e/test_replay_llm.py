"""`wfsim replay --strategy llm` on synthetic episodes: reconciles every day, stable exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main

pytestmark = pytest.mark.e2e


def _invoke(*args: str):
    return CliRunner().invoke(main, ["--log-level", "warning", *args])


def test_synthetic_baseline_replays_exactly(tmp_path: Path):
    eps, store = tmp_path / "eps", tmp_path / "store"
    res = _invoke("episodes", "synth", "--days", "40", "--tickers", "30", "--seed", "3",
                  "--out", str(eps))  # fmt: skip
    assert res.exit_code == 0, res.output
    res = _invoke("episodes", "ingest", str(eps), "--store", str(store), "--workers", "1")
    assert res.exit_code == 0, res.output
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        res = _invoke("replay", "--strategy", "llm", "--store", str(store), "--out", str(out))
        assert res.exit_code == 0, res.output
        assert res.stdout.startswith("llm: reconciled 40/40 days, 0 mismatches; final NAV ")
    for f in sorted(outs[0].iterdir()):
        assert f.read_bytes() == (outs[1] / f.name).read_bytes(), f.name
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["reconcile"] == {"days": 40, "days_ok": 40, "mismatches": 0}
    assert summary["seed"] == 42 and len(summary["config_hash"]) == 16


def test_replay_rejects_an_unknown_strategy(tmp_path: Path):
    res = _invoke(
        "replay", "--strategy", "oracle", "--store", str(tmp_path), "--out", str(tmp_path)
    )
    assert res.exit_code == 2
    assert "Invalid value for '--strategy'" in res.output
