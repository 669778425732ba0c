"""`wfsim episodes synth`: files, determinism, config + flag precedence, error path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main

pytestmark = pytest.mark.e2e


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(p for p in folder.rglob("*") if p.is_file()):  # benchmarks/ included
        h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


def test_synth_writes_the_same_files_on_rerun(tmp_path):
    runner = CliRunner()
    args = ["episodes", "synth", "--days", "8", "--tickers", "15", "--seed", "3"]
    first = runner.invoke(main, [*args, "--out", str(tmp_path / "a")])
    second = runner.invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert first.exit_code == 0, first.output
    assert "a: 8 episodes (episode_2022-04-01.json .. episode_2022-04-12.json)" in first.output
    assert second.exit_code == 0 and _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_flags_override_the_config_file(tmp_path):
    runner = CliRunner()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("seed: 9\nsynth:\n  days: 6\n  tickers: 30\n  start: '2023-01-02'\n")
    out = tmp_path / "eps"
    res = runner.invoke(
        main, ["episodes", "synth", "--config", str(cfg), "--tickers", "10", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    files = sorted(out.glob("episode_*.json"))
    assert files[0].name == "episode_2023-01-02.json" and len(files) == 6
    assert sorted(p.name for p in (out / "benchmarks").iterdir()) == [
        "daily_risk_free_rate.csv",
        "spy_returns.csv",
    ]
    ep = json.loads(files[0].read_text())
    assert len(ep["portfolio_before"]["positions"]) == 10 + 2
    assert res.output.rstrip().endswith("seed 9")


def test_invalid_size_is_a_one_line_error(tmp_path):
    res = CliRunner().invoke(
        main, ["episodes", "synth", "--days", "1", "--out", str(tmp_path / "e")]
    )
    assert res.exit_code == 1
    assert "synth: days=1, expected >= 2" in res.output
    assert not (tmp_path / "e").exists()
