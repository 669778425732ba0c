"""`wfsim pretrain --model ridge|gbm` on synthetic episodes with a planted signal: OOS IC clearly
> 0, and `wfsim replay --strategy lstm --models M` serves the family's models."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from simulator.cli import main

pytestmark = pytest.mark.e2e

CONFIG = "windows: {initial: 130, step: 30}\nmodel: {gbm: {num_threads: 1}}\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("fam")
    (root / "s.yaml").write_text("synth: {signal_ic: 0.2}\n")
    (root / "cfg.yaml").write_text(CONFIG)
    runner = CliRunner()
    for args in (
        ["episodes", "synth", "--config", str(root / "s.yaml"), "--days", "250",
         "--tickers", "60", "--seed", "3", "--out", str(root / "eps")],
        ["episodes", "ingest", str(root / "eps"), "--store", str(root / "st")],
    ):  # fmt: skip
        res = runner.invoke(main, args)
        assert res.exit_code == 0, res.output
    return root


def _pooled(output: str) -> dict[str, float]:
    lines = output.strip().splitlines()
    header, pooled = lines[0].split(), lines[-1].split()
    return {c: float(pooled[header.index(c)]) for c in ("ic", "ic_t", "rank_ic")}


@pytest.mark.parametrize("family", ["ridge", "gbm"])
def test_family_recovers_the_planted_signal_and_replays_as_lstm(store, tmp_path, family):
    runner = CliRunner()
    models = tmp_path / "m"
    res = runner.invoke(main, ["pretrain", "--store", str(store / "st"), "--models", str(models),
                               "--config", str(store / "cfg.yaml"), "--model", family])  # fmt: skip
    assert res.exit_code == 0, res.output
    reg = json.loads((models / "registry.json").read_text())
    assert reg["model"]["family"] == family and len(reg["windows"]) == 4
    res = runner.invoke(main, ["models", "report", "--models", str(models)])
    assert res.exit_code == 0, res.output
    pooled = _pooled(res.output)
    print(family, pooled)
    assert pooled["ic"] > 0.08 and pooled["ic_t"] > 4  # planted 0.2; figures in the report
    # the replay's config has no model section: it adopts the registry's family
    plain = tmp_path / "plain.yaml"
    plain.write_text("windows: {initial: 130, step: 30}\n")
    res = runner.invoke(main, ["replay", "--strategy", "lstm", "--store", str(store / "st"),
                               "--models", str(models), "--config", str(plain),
                               "--out", str(tmp_path / "run")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("lstm: 120 days, ")


def test_unknown_family_is_a_usage_error(store, tmp_path):
    res = CliRunner().invoke(main, ["pretrain", "--store", str(store / "st"), "--models",
                                    str(tmp_path / "m"), "--model", "svm"])  # fmt: skip
    assert res.exit_code == 2 and "'svm' is not one of" in res.output


def test_seeds_with_a_family_pretrains_and_replays_it(store, tmp_path):
    out = tmp_path / "out"
    args = ["seeds", "--store", str(store / "st"), "--out", str(out), "--seeds", "1",
            "--config", str(store / "cfg.yaml"), "--model", "ridge"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    reg = json.loads((out / "models-0" / "registry.json").read_text())
    assert reg["model"]["family"] == "ridge"
    assert (out / "runs" / "ridge-0" / "summary.json").is_file()
    assert not (out / "runs" / "lstm-0").exists()
