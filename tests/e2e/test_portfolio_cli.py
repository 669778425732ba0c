"""`wfsim pretrain --model lstm-portfolio` on synthetic episodes with a planted signal (signal_ic
0.2): its holdings carry the planted alpha; `wfsim replay --strategy lstm-portfolio` runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from episodes.config import SynthConfig
from episodes.synth_market import generate_market
from simulator.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SYNTH = {"days": 250, "tickers": 60, "signal_ic": 0.2}
CONFIG = (
    "windows: {initial: 130, step: 30}\nfeatures: {seq_len: 10}\ntrain: {max_epochs: 4}\n"
    "model: {family: lstm-portfolio, portfolio: {hidden: 16, top_k: 10, max_weight: 0.2}}\n"
)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pf")
    (root / "s.yaml").write_text(f"synth: {{signal_ic: {SYNTH['signal_ic']}}}\n")
    (root / "cfg.yaml").write_text(CONFIG)
    runner = CliRunner()
    for args in (
        ["episodes", "synth", "--config", str(root / "s.yaml"), "--days", str(SYNTH["days"]),
         "--tickers", str(SYNTH["tickers"]), "--seed", "3", "--out", str(root / "eps")],
        ["episodes", "ingest", str(root / "eps"), "--store", str(root / "st")],
        ["pretrain", "--store", str(root / "st"), "--models", str(root / "m"),
         "--config", str(root / "cfg.yaml")],
    ):  # fmt: skip
        res = runner.invoke(main, args)
        assert res.exit_code == 0, res.output
    return root


def test_holdings_carry_the_planted_alpha(models):
    """Per served day: the weight-weighted planted alpha of the held names (alpha[t, k] drives
    open(t) -> open(t+1), unit variance across names); its mean over days has t > 3."""
    mkt = generate_market(SynthConfig(**SYNTH), 3)
    col = {name: k for k, name in enumerate(mkt.tickers[: SYNTH["tickers"]])}
    reg = json.loads((models / "m" / "registry.json").read_text())
    p = pd.concat([pd.read_parquet(models / "m" / e["path"] / "predictions.parquet")
                   for e in reg["windows"]])  # fmt: skip
    p = p[p.pred > 0]
    a = mkt.alpha[p.t.to_numpy(), p.ticker.map(col).to_numpy()]
    per_day = (p.assign(wa=p.pred * a).groupby("t").wa.sum() / p.groupby("t").pred.sum()).to_numpy()
    t_stat = per_day.mean() / per_day.std(ddof=1) * np.sqrt(len(per_day))
    print(
        f"planted alpha of holdings: mean {per_day.mean():.3f}, t {t_stat:.1f}, days {len(per_day)}"
    )
    assert t_stat > 3


def test_replay_lstm_portfolio_runs_end_to_end(models):
    out = models / "run"
    args = ["replay", "--strategy", "lstm-portfolio", "--store", str(models / "st"),
            "--models", str(models / "m"), "--config", str(models / "cfg.yaml"),
            "--out", str(out)]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replay"]["predictions"] > 0
    trades = pd.read_csv(out / "trades.csv")
    assert len(trades) > 20
