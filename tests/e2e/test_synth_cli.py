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


def test_synth_store_writes_the_ingested_store(tmp_path):
    """`synth --store S` == `synth --out D` + `ingest D --store S2` (manifest), with delistings."""
    runner = CliRunner()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("synth:\n  new_listings: 0.2\n  delistings: 0.2\n")
    args = ["episodes", "synth", "--config", str(cfg), "--days", "30", "--tickers", "10"]
    res = runner.invoke(main, [*args, "--store", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "s: 30 days, 12 tickers, seed 42" in res.output
    assert runner.invoke(main, [*args, "--out", str(tmp_path / "eps")]).exit_code == 0
    res = runner.invoke(
        main, ["episodes", "ingest", str(tmp_path / "eps"), "--store", str(tmp_path / "s2")]
    )
    assert res.exit_code == 0, res.output
    a, b = (json.loads((tmp_path / n / "manifest.json").read_text()) for n in ("s", "s2"))
    assert a == b
    again = runner.invoke(main, [*args, "--store", str(tmp_path / "s")])
    assert again.exit_code == 1 and "exists and is not empty" in again.output


def test_synth_needs_exactly_one_of_out_and_store(tmp_path):
    res = CliRunner().invoke(main, ["episodes", "synth", "--days", "5"])
    assert res.exit_code == 2 and "exactly one of --out DIR or --store S" in res.output
