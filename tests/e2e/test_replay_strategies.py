"""`wfsim replay --strategy lstm|random|flat` on synthetic episodes: exports, reruns, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main

pytestmark = pytest.mark.e2e

TINY = """\
windows: {initial: 40, step: 20}
features: {seq_len: 5}
model: {hidden: 4, layers: 1, embed_dim: 2, dropout: 0.0}
train: {max_epochs: 1, warm_epochs: 1, max_samples_per_epoch: 256, max_val_samples: 128}
"""


def _invoke(*args: str):
    return CliRunner().invoke(main, ["--log-level", "warning", *args])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("strategies")
    eps, store, models, cfg = root / "eps", root / "store", root / "models", root / "tiny.yaml"
    cfg.write_text(TINY)
    for args in (
        ("episodes", "synth", "--days", "80", "--tickers", "30", "--seed", "3", "--out", str(eps)),
        ("episodes", "ingest", str(eps), "--store", str(store), "--workers", "1"),
        ("pretrain", "--store", str(store), "--models", str(models), "--config", str(cfg)),
    ):
        res = _invoke(*args)
        assert res.exit_code == 0, res.output
    return store, models, cfg


@pytest.mark.parametrize("strategy", ["lstm", "random", "flat"])
def test_strategy_reruns_are_byte_identical(world, tmp_path: Path, strategy):
    store, models, cfg = world
    extra = ["--models", str(models)] if strategy == "lstm" else []
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        res = _invoke("replay", "--strategy", strategy, "--store", str(store), "--config",
                      str(cfg), "--out", str(out), *extra)  # fmt: skip
        assert res.exit_code == 0, res.output
        assert res.stdout.startswith(f"{strategy}: 40 days, ")
    for f in sorted(p for p in outs[0].rglob("*") if p.is_file()):  # benchmarks/ included
        rel = f.relative_to(outs[0])
        assert f.read_bytes() == (outs[1] / rel).read_bytes(), rel
    names = {f.name for f in outs[0].iterdir()}
    assert {"trades.csv", "equity.csv", "positions.csv", "windows.csv", "summary.json"} <= names
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["strategy"] == strategy and summary["replay"]["first_day"] == 40
    with open(outs[0] / "windows.csv", newline="") as fh:
        assert [r["window"] for r in csv.DictReader(fh)] == ["w000", "w001"]


def test_random_seed_changes_the_trades(world, tmp_path: Path):
    store, _, cfg = world
    for seed in ("1", "2"):
        res = _invoke("replay", "--strategy", "random", "--store", str(store), "--config",
                      str(cfg), "--seed", seed, "--out", str(tmp_path / seed))  # fmt: skip
        assert res.exit_code == 0, res.output
    assert (tmp_path / "1" / "trades.csv").read_bytes() != (
        tmp_path / "2" / "trades.csv"
    ).read_bytes()


def test_lstm_without_models_is_a_one_line_error(world, tmp_path: Path):
    store, _, cfg = world
    res = _invoke("replay", "--strategy", "lstm", "--store", str(store), "--config", str(cfg),
                  "--out", str(tmp_path / "x"))  # fmt: skip
    assert res.exit_code == 1
    assert "--models: strategy 'lstm' needs pretrained models" in res.output
