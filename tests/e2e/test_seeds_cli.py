"""`wfsim seeds`: pretrain + replay per seed, one comparison with mean ± std per strategy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main
from tests.e2e.test_demo import TINY

pytestmark = pytest.mark.e2e


def _synth_store(tmp_path, config: dict) -> tuple[CliRunner, Path, Path, Path]:
    """``config`` as YAML and its synthetic store ingested: runner, cfg, store, out."""
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(config))
    runner = CliRunner()
    eps, store, out = tmp_path / "eps", tmp_path / "store", tmp_path / "out"
    res = runner.invoke(main, ["episodes", "synth", "--out", str(eps), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["episodes", "ingest", str(eps), "--store", str(store)])
    assert res.exit_code == 0, res.output
    return runner, cfg, store, out


def test_seeds_aggregates_each_strategy_over_seeds(tmp_path):
    runner, cfg, store, out = _synth_store(tmp_path, TINY)
    args = ["seeds", "--store", str(store), "--out", str(out), "--seeds", "2", "--config", str(cfg)]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, [*args, "--info-set", "recorded", "--seeds", "1"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "comparison-strict.csv")
    rows = dict(zip(table["label"], table["n_runs"], strict=True))
    assert rows["lstm[strict] (x2)"] == 2 and rows["random (x2)"] == 2 and rows["llm"] == 1
    assert table.loc[table["label"] == "lstm[strict] (x2)", "total_return_std"].notna().all()
    assert (out / "runs" / "lstm-recorded-0" / "summary.json").is_file()
    html = (out / "report.html").read_text()
    assert "lstm[strict]" in html and "lstm[recorded]" in html


def test_seeds_completes_under_another_account_with_the_counterfactual(tmp_path):
    from tests.e2e.test_demo import ACCOUNT

    runner, cfg, store, out = _synth_store(tmp_path, TINY | ACCOUNT)
    args = ["seeds", "--store", str(store), "--out", str(out), "--seeds", "1", "--config", str(cfg)]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "comparison-strict.csv")
    rows = dict(zip(table["label"], table["strategy"], strict=True))
    assert rows["llm"] == "llm" and rows["llm-counterfactual"] == "llm[counterfactual]"
    fees = dict(zip(table["label"], table["fees_paid"], strict=True))
    assert fees["llm-counterfactual"] > fees["llm"]
    assert "llm[counterfactual]" in (out / "report.html").read_text()
