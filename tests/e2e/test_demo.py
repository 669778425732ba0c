"""`wfsim demo` end to end on a tiny preset: every artifact appears, reruns are byte-identical."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main

pytestmark = pytest.mark.e2e

TINY = {
    "synth": {"days": 70, "tickers": 15},
    "windows": {"initial": 30, "step": 20},
    "features": {"seq_len": 5},
    "model": {"hidden": 8, "layers": 1, "embed_dim": 4},
    "train": {"max_epochs": 1, "warm_epochs": 1, "max_samples_per_epoch": 256},
}


def _digest(root: Path) -> dict[str, str]:
    files = [
        "runs/llm/trades.csv",
        "runs/lstm/trades.csv",
        "runs/lstm/summary.json",
        "runs/random/trades.csv",
        "runs/random/summary.json",
        "models/registry.json",
    ]
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in files}


def test_demo_runs_the_whole_chain_and_reruns_identically(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    runner = CliRunner()
    res = runner.invoke(main, ["demo", "--out", "d1", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    out = tmp_path / "d1"
    expected = ("config.yaml", "store/manifest.json", "models/registry.json", "report.html")
    expected += ("runs/llm/reconcile.csv", "runs/lstm/windows.csv", "runs/random/equity.csv")
    for f in expected:
        assert (out / f).is_file(), f
    assert "llm: reconciled 70/70 days, 0 mismatches" in res.output
    summary = json.loads((out / "runs/lstm/summary.json").read_text())
    assert summary["strategy"] == "lstm"
    reg = json.loads((out / "models/registry.json").read_text())
    assert len(reg["windows"]) == 2  # serve 30..50, 50..70
    res2 = runner.invoke(main, ["demo", "--out", "d2", "--config", str(cfg)])
    assert res2.exit_code == 0, res2.output
    assert _digest(out) == _digest(tmp_path / "d2")


def test_demo_rejects_a_bad_config_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model:\n  hiden: 3\n")
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "d"), "--config", str(cfg)])
    assert res.exit_code == 1
    assert "model.hiden: unknown key (did you mean model.hidden?)" in res.output
    assert not (tmp_path / "d").exists()


# another account than the recording's: 10 bp, at most 20 positions (the LSTM's cap within it)
ACCOUNT = {"replay": {"fee_rate": 0.001, "max_positions": 20}}  # the decision cap follows it


def test_demo_completes_under_another_account_and_adds_the_counterfactual(tmp_path):
    cfg = tmp_path / "account.yaml"
    cfg.write_text(yaml.safe_dump(TINY | ACCOUNT))
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "d"), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    runs = tmp_path / "d" / "runs"
    assert "llm: reconciled 70/70 days, 0 mismatches (under the recording's account" in res.output
    llm = json.loads((runs / "llm/summary.json").read_text())
    cf = json.loads((runs / "llm-counterfactual/summary.json").read_text())
    assert (
        cf["strategy"] == "llm[counterfactual]"
        and not (runs / "llm-counterfactual/reconcile.csv").exists()
    )
    assert cf["fees_paid"] > 1.9 * llm["fees_paid"]
    lstm = json.loads((runs / "lstm/summary.json").read_text())
    assert lstm["config"]["replay"]["fee_rate"] == 0.001
    assert lstm["config"]["decision"]["max_positions"] is None  # unset: follows the books' cap
    with open(runs / "lstm/positions.csv", newline="") as fh:
        held = [int(r["n_long"]) + int(r["n_short"]) for r in csv.DictReader(fh)]
    assert 0 < max(held) <= 20
    html = (tmp_path / "d" / "report.html").read_text()
    assert "llm[counterfactual]" in html and "never reconciled" in html


def test_demo_refuses_a_books_cap_below_the_decision_cap_before_any_work(tmp_path):
    cfg = tmp_path / "cap.yaml"
    cfg.write_text("replay:\n  max_positions: 20\ndecision:\n  max_positions: 30\n")
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "d"), "--config", str(cfg)])
    assert res.exit_code == 1
    assert "decision.max_positions: exceeds the books' cap (value=30, expected <= " \
           "replay.max_positions=20); lower it, or leave it unset" in res.output  # fmt: skip
    assert not (tmp_path / "d").exists()
