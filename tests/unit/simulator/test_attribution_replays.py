"""The attribution identity on synthetic replays: every strategy against the llm baseline, and
`wfsim gap` on them (output, --out JSON, errors)."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from simulator import pipeline
from simulator.cli import main
from simulator.config import load_config
from simulator.results.attribution import PARTS

BASE = {"synth.days": 70, "synth.tickers": 30, "windows.initial": 40, "seed": 5}
RUNS = {  # name -> (strategy, config overrides)
    "llm": ("llm", {}),
    "random": ("random", {}),
    "random-mirror": ("random", {"replay.sync": "mirror", "replay.max_positions": 6}),
    "flat": ("flat", {}),
    "counterfactual": ("llm-counterfactual", {"replay.fee_rate": 0.001, "replay.max_positions": 8}),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("gap")
    cfg = load_config(overrides=BASE)
    pipeline.synth(root / "eps", cfg)
    pipeline.ingest(root / "eps", root / "store", workers=1)
    for name, (strategy, over) in RUNS.items():
        res = pipeline.replay(
            strategy, root / "store", root / name, load_config(overrides=BASE | over)
        )
        assert res.error is None
    return root


@pytest.mark.parametrize("name", [n for n in RUNS if n != "llm"])
def test_parts_sum_to_the_gap_on_synthetic_replays(world, name):
    res = pipeline.gap(world / name, world / "llm", world / "store")
    att = res.attribution
    assert att.n_days == (70 if name == "counterfactual" else 30)
    for col in ("run", "baseline", "gap"):
        parts = att.parts.loc[list(PARTS), col]
        assert abs(math.fsum(parts) - att.parts.loc["total", col]) <= 1e-9, col
        assert abs(parts["residual"]) <= 1e-8, (col, parts["residual"])  # rounding only
    if name == "flat":  # a flat run makes nothing: the gap is minus the baseline, part by part
        assert att.parts["run"].abs().max() == 0.0
        assert att.parts["gap"].to_numpy() == pytest.approx(-att.parts["baseline"], abs=1e-9)


def test_the_synthetic_runs_exercise_every_part(world):
    """Sync closes, bonds, cap rejections: the parts above are not vacuously zero."""
    mirror = pipeline.gap(world / "random-mirror", world / "llm", world / "store")
    assert mirror.attribution.parts.loc["sync", "run"] != 0.0
    assert mirror.attribution.parts.loc["bonds", "run"] != 0.0
    cf = pipeline.gap(world / "counterfactual", world / "llm", world / "store")
    cons = cf.constraints["counterfactual"]
    assert cons.loc["cap-rejected", "records"] > 0 and cons.loc["cap-rejected", "notional"] > 0
    assert cf.attribution.parts.loc["costs", "gap"] < 0  # twice the fee
    assert cf.attribution.scale == 1.0


def test_gap_command(world, tmp_path):
    args = [
        str(world / "random"),
        "--baseline",
        str(world / "llm"),
        "--store",
        str(world / "store"),
    ]
    res = CliRunner().invoke(
        main, ["--log-level", "warning", "gap", *args, "--out", str(tmp_path / "g.json")]
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("gap: random vs llm, 30 days")
    assert [ln.split()[0] for ln in lines[2:10]] == [*PARTS, "total"]
    assert "constraints: random" in res.stdout and "constraints: llm" in res.stdout
    got = json.loads((tmp_path / "g.json").read_text())
    assert got["days"] == 30 and len(got["daily"]["date"]) == 30
    assert math.fsum(got["parts"][p]["gap"] for p in PARTS) == pytest.approx(
        got["parts"]["total"]["gap"], abs=1e-9
    )
    bad = CliRunner().invoke(main, ["gap", *args, "--out", str(tmp_path / "g.csv")])
    assert bad.exit_code == 2 and "expected a .json file" in bad.output
    (tmp_path / "empty").mkdir()
    missing = CliRunner().invoke(main, ["gap", str(tmp_path / "empty"), *args[1:]])
    assert missing.exit_code == 1 and "no equity.csv" in missing.output


def test_gap_on_a_mapped_panel_is_the_same(world, monkeypatch, tmp_path):
    """Past the budget `wfsim gap` prices from a mapped Panel (simulator.panel_map), as a replay."""
    from simulator import panel_map

    want = pipeline.gap(world / "random", world / "llm", world / "store")
    monkeypatch.setattr(panel_map, "plan", lambda *_: 4)  # force the mapped path, 4-day blocks
    monkeypatch.setattr(pipeline.tempfile, "tempdir", str(tmp_path))
    with capture_logs() as logs:
        got = pipeline.gap(world / "random", world / "llm", world / "store")
    assert [e for e in logs if e["event"] == "panel_mapped"]
    assert got.attribution.parts.equals(want.attribution.parts)
    assert got.constraints.keys() == want.constraints.keys()
    assert all(got.constraints[k].equals(want.constraints[k]) for k in want.constraints)
    assert list(tmp_path.iterdir()) == []  # the mapped Panel's temp dir is gone
