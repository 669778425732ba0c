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
    for f in sorted(p for p in outs[0].rglob("*") if p.is_file()):  # benchmarks/ included
        rel = f.relative_to(outs[0])
        assert f.read_bytes() == (outs[1] / rel).read_bytes(), rel
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["reconcile"] == {"days": 40, "days_ok": 40, "mismatches": 0}
    assert summary["seed"] == 42 and len(summary["config_hash"]) == 16


def test_replay_rejects_an_unknown_strategy(tmp_path: Path):
    res = _invoke(
        "replay", "--strategy", "oracle", "--store", str(tmp_path), "--out", str(tmp_path)
    )
    assert res.exit_code == 2
    assert "Invalid value for '--strategy'" in res.output


ACCOUNT = "replay: {fee_rate: 0.001, max_positions: 20}\ndecision: {max_positions: 20}\n"


def test_llm_reconciles_whatever_the_account_and_the_counterfactual_pays_its_fees(tmp_path: Path):
    eps, store, cfg = tmp_path / "eps", tmp_path / "store", tmp_path / "c.yaml"
    cfg.write_text(ACCOUNT)
    assert _invoke("episodes", "synth", "--days", "40", "--tickers", "30", "--seed", "3",
                   "--out", str(eps)).exit_code == 0  # fmt: skip
    assert _invoke("episodes", "ingest", str(eps), "--store", str(store)).exit_code == 0
    runs = {}
    for strategy in ("llm", "llm-counterfactual"):
        runs[strategy] = out = tmp_path / strategy
        res = _invoke("replay", "--strategy", strategy, "--store", str(store), "--out", str(out),
                      "--config", str(cfg))  # fmt: skip
        assert res.exit_code == 0, res.output
    llm = json.loads((runs["llm"] / "summary.json").read_text())
    cf = json.loads((runs["llm-counterfactual"] / "summary.json").read_text())
    assert llm["reconcile"] == {"days": 40, "days_ok": 40, "mismatches": 0}
    assert llm["account"] == {"fee_rate": 0.0005, "margin_rate": 0.0, "max_positions": 30}
    assert cf["strategy"] == "llm[counterfactual]" and "reconcile" not in cf
    assert cf["counterfactual"]["account"] == {"fee_rate": 0.001, "margin_rate": 0.0,
                                               "max_positions": 20}  # fmt: skip
    assert cf["counterfactual"]["reconciled"] is False
    assert not (runs["llm-counterfactual"] / "reconcile.csv").exists()
    assert cf["fees_paid"] > 1.9 * llm["fees_paid"]
    assert cf["final_nav"] < llm["final_nav"]
    res = _invoke("compare", *map(str, runs.values()), "--benchmark", "none")
    assert res.exit_code == 0, res.output
    assert "\nllm-counterfactual " in res.stdout  # its own row, not averaged with llm
    assert "note: llm-counterfactual: counterfactual, the recorded LLM decisions executed " \
           "under (fee_rate=0.001, margin_rate=0.0, max_positions=20)" in res.stdout  # fmt: skip
    assert "note: llm: under the recording's rules (fee_rate=0.0005" in res.stdout


def test_default_counterfactual_equals_the_llm_replay(tmp_path: Path):
    eps, store = tmp_path / "eps", tmp_path / "store"
    assert _invoke("episodes", "synth", "--days", "30", "--tickers", "25", "--seed", "5",
                   "--out", str(eps)).exit_code == 0  # fmt: skip
    assert _invoke("episodes", "ingest", str(eps), "--store", str(store)).exit_code == 0
    for strategy in ("llm", "llm-counterfactual"):
        res = _invoke("replay", "--strategy", strategy, "--store", str(store),
                      "--out", str(tmp_path / strategy))  # fmt: skip
        assert res.exit_code == 0, res.output
    for f in ("trades.csv", "equity.csv", "positions.csv"):
        assert (tmp_path / "llm" / f).read_bytes() == (
            tmp_path / "llm-counterfactual" / f
        ).read_bytes()
    assert "account" not in json.loads((tmp_path / "llm" / "summary.json").read_text())
