"""Exports for other tools: per-ticker holdings (pyfolio shape), units.json, versions.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.results.export import verify_run

pytestmark = pytest.mark.e2e


def _invoke(*args: str):
    res = CliRunner().invoke(main, ["--log-level", "warning", *args])
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    eps, store = root / "eps", root / "store"
    _invoke("episodes", "synth", "--days", "50", "--tickers", "20", "--seed", "4", "--out",
            str(eps))  # fmt: skip
    _invoke("episodes", "ingest", str(eps), "--store", str(store), "--workers", "1")
    runs = {}
    for strategy in ("llm", "random"):
        runs[strategy] = root / f"run-{strategy}"
        _invoke("replay", "--strategy", strategy, "--store", str(store), "--seed", "2",
                "--out", str(runs[strategy]))  # fmt: skip
    return store, runs


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, index_col="date", parse_dates=["date"])


@pytest.mark.parametrize("strategy", ["llm", "random"])
def test_holdings_values_sum_to_nav_and_exposures(world, strategy):
    _, runs = world
    run = runs[strategy]
    equity = _read(run / "equity.csv")
    value = _read(run / "holdings_value.csv")
    shares = _read(run / "holdings_shares.csv")
    assert value.index.equals(equity.index) and shares.index.equals(equity.index)
    assert list(value.columns[:-1]) == list(shares.columns) and value.columns[-1] == "cash"
    assert len(shares.columns) > 0 and (shares.to_numpy() != 0).any()
    np.testing.assert_allclose(value.sum(axis=1), equity["nav"], rtol=1e-12)
    tickers = value.drop(columns="cash")
    np.testing.assert_allclose(tickers.clip(lower=0).sum(axis=1), equity["long_exposure"],
                               rtol=1e-9, atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(-tickers.clip(upper=0).sum(axis=1), equity["short_exposure"],
                               rtol=1e-9, atol=1e-6)  # fmt: skip
    assert not ((tickers != 0).to_numpy() & (shares == 0).to_numpy()).any()


def test_holdings_shares_follow_the_trades(world):
    _, runs = world
    run = runs["random"]
    trades = pd.read_csv(run / "trades.csv", parse_dates=["date"])
    shares = _read(run / "holdings_shares.csv")
    sign = trades["action"].map({"buy": 1, "sell": -1, "short": -1, "cover": 1}).fillna(0)
    flow = (sign * trades["filled_qty"]).groupby([trades["date"], trades["ticker"]]).sum()
    held = flow.unstack(fill_value=0).reindex(shares.index, fill_value=0).cumsum()
    held = held.reindex(columns=shares.columns, fill_value=0)
    pd.testing.assert_frame_equal(held.astype("int64"), shares, check_names=False,
                                  check_freq=False)  # fmt: skip


def test_units_and_versions_are_listed_in_the_manifest(world):
    _, runs = world
    run = runs["llm"]
    units = json.loads((run / "units.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    assert units["equity.csv"]["nav"] == "money"
    assert set(units["metrics"]) <= set(summary["metrics"])
    assert "not annualised" in units["metrics"]["turnover"]
    manifest = json.loads((run / "manifest.json").read_text())["files"]
    for name in ("units.json", "versions.json", "holdings_value.csv", "holdings_shares.csv"):
        assert name in manifest
    assert verify_run(run) == []


def test_torch_is_recorded_only_when_already_imported(world, tmp_path):
    store, _ = world
    code = (
        "import sys, torch\n"  # imported by the caller: recorded
        "from simulator.results.holdings import run_versions\n"
        "print('torch' in run_versions(('numpy',)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    code = (
        "import sys\n"
        "from simulator.results.holdings import run_versions\n"
        "v = run_versions(('numpy',))\n"
        "print('torch' in v, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]  # not recorded, and not imported for it
