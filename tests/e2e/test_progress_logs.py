"""Progress bars only on a terminal (not in CliRunner / CI), rounded one-line logs, a short demo."""

from __future__ import annotations

import io
import json

import pytest
import structlog
import yaml
from click.testing import CliRunner

from simulator.cli import main
from simulator.cli.progress import TqdmReporter, wanted
from simulator.config import load_config
from simulator.core import progress
from simulator.core.logs import round_floats
from tests.e2e.test_demo import TINY as demo_tiny

pytestmark = pytest.mark.e2e

TINY = demo_tiny | {"train": {**demo_tiny["train"], "max_epochs": 2}}
MAX_LINES = 40
"""The tiny demo's whole output (stdout + stderr, JSON logs) measured 40 lines: one screen (was 63,
and > 110 before the path lists were collapsed). The demo prints the compact comparison and points
to the report (and `wfsim compare`) for the risk, regime and stress tables."""


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    res = CliRunner().invoke(main, ["--log-json", "demo", "--out", str(root / "d"),
                                    "--config", str(cfg)])  # fmt: skip
    structlog.reset_defaults()
    assert res.exit_code == 0, res.output
    return root, cfg, res.output


def test_bars_only_on_a_terminal_outside_ci():
    assert wanted(FakeTTY(), {}) is True
    assert wanted(FakeTTY(), {"CI": "true"}) is False
    assert wanted(io.StringIO(), {}) is False


def test_no_bar_characters_under_clirunner(demo):
    _, _, output = demo
    assert "\r" not in output and "it/s" not in output and "win/s" not in output


def test_demo_output_fits_one_screen_one_json_line_per_event(demo):
    _, _, output = demo
    lines = output.splitlines()
    assert len(lines) <= MAX_LINES, "\n".join(lines)
    events = [json.loads(ln) for ln in lines if ln.startswith("{")]
    assert len(events) >= 5 and all("event" in e for e in events)
    for e in events:  # rounded: no float with more than 4 significant digits below 1000
        for v in e.values():
            if isinstance(v, float) and abs(v) < 1000 and v != 0:
                assert len(f"{v:.10g}".lstrip("-0.").replace(".", "")) <= 4, e


def test_nested_bars_on_a_terminal(demo):
    from models.pretrain import pretrain

    root, cfg, _ = demo
    run_cfg = load_config(cfg)
    pcfg = run_cfg.pretrain_config()
    tty = FakeTTY()
    with progress.use(TqdmReporter(tty, mininterval=0)):
        pretrain(root / "d" / "store", root / "models-tty", pcfg)
    drawn = tty.getvalue()
    assert "windows" in drawn and "2/2" in drawn  # window k of N
    assert "w000" in drawn and "ep" in drawn  # the window's epochs bar
    assert "epoch 1/2" in drawn and "loss=" in drawn  # the epoch's batches bar
    assert "<" in drawn  # tqdm's elapsed<remaining (ETA)


def test_round_floats_processor():
    ev = round_floats(None, "info", {"event": "x", "nav": 100234.5678, "ic": 0.0123456, "n": 3})
    assert ev == {"event": "x", "nav": 100234.57, "ic": 0.01235, "n": 3}


def test_demo_points_to_the_report_for_the_risk_tables(demo):
    root, _, output = demo
    assert "risk, regimes and stress tables: " in output and "report.html" in output
    assert "Risk (same common dates)" not in output  # in the report, not on the terminal
    assert (root / "d" / "report.html").is_file()
