"""`wfsim study --families lstm-portfolio` on a tiny synthetic store: the family's row exists and
its replay was made by the portfolio decision maker (weights of NAV -> shares), not by `lstm`;
`wfsim report` of that run shows the per-window direction metrics beside the window IC."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from models.config import FAMILY_STRATEGIES
from simulator.cli import main
from tests.e2e.test_demo import TINY
from tests.e2e.test_study_cli import run_study

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = TINY | {"model": TINY["model"] | {"portfolio": {"hidden": 8, "top_k": 5}}}


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    root = tmp_path_factory.mktemp("study-pf")
    run_study(root, CONFIG, "ridge,lstm-portfolio", 1)
    return root


def test_each_family_replays_through_its_own_strategy():
    assert FAMILY_STRATEGIES["lstm-portfolio"] == "lstm-portfolio"
    assert {FAMILY_STRATEGIES[f] for f in FAMILY_STRATEGIES if f != "lstm-portfolio"} == {"lstm"}


def test_the_portfolio_row_exists_and_its_replay_is_the_portfolio_decision_maker(done):
    table = pd.read_csv(done / "out" / "study.csv").set_index("row")
    assert table.loc["lstm-portfolio (x1)", "kind"] == "family"
    assert np.isfinite(table.loc["lstm-portfolio-0", ["ic_mean", "accuracy", "total_return"]]).all()
    runs = done / "out" / "runs"
    pf = json.loads((runs / "lstm-portfolio-0" / "summary.json").read_text())
    assert pf["strategy"] == "lstm-portfolio"
    assert pf["config"]["model"]["family"] == "lstm-portfolio"
    assert json.loads((runs / "ridge-0" / "summary.json").read_text())["strategy"] == "lstm"
    # weights of NAV -> shares: long only (the default portfolio), at most top_k names
    pos = pd.read_csv(runs / "lstm-portfolio-0" / "positions.csv")
    assert (pos["n_short"] == 0).all() and pos["n_long"].max() <= 5 and pos["n_long"].max() > 0


def test_report_of_the_run_has_the_direction_table(done):
    run = done / "out" / "runs" / "lstm-portfolio-0"
    windows = pd.read_csv(run / "windows.csv")
    assert {"accuracy", "precision", "recall", "f1"} <= set(windows.columns)
    assert windows["accuracy"].between(0, 1).all()
    out = done / "r.html"
    res = CliRunner().invoke(main, ["--log-level", "warning", "report", str(run), "--html",
                                    str(out), "--no-interactive"])  # fmt: skip
    assert res.exit_code == 0, res.output
    section = out.read_text()
    section = section[section.index('<h2 id="windows">') :]
    for col in ("rank_ic", "accuracy", "precision", "recall", "f1"):
        assert f"<th>{col}</th>" in section, col
    assert f"<td>{windows.loc[0, 'accuracy']:.3f}</td>" in section
