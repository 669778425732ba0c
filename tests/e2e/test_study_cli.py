"""`wfsim study`: families × seeds on one tiny synthetic store; the table, the rerun that skips
everything done, and the redo of a corrupted or unfinished family × seed."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from models.config import FAMILIES as ALL_FAMILIES
from simulator.cli import main
from tests.e2e.test_demo import TINY

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # ~35 s first run on 2 loaded cores

FAMILIES = ("lstm", "ridge")
KEYS = ("ic_pooled", "ic_mean", "rank_ic", "rank_ic_t", "icir", "ic_t", "accuracy")
KEYS += ("total_return",)
KEYS += ("sharpe_rf", "max_drawdown", "turnover", "fees_paid", "pretrain_s_per_window")


def _benchmarks(folder: Path) -> Path:
    """SPY and a risk-free rate on every calendar day of 2022 (synthetic, seeded)."""
    folder.mkdir()
    days = pd.date_range("2022-01-01", "2022-12-31", freq="D")
    rng = np.random.default_rng(0)
    spy = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "SPY": rng.normal(0, 0.01, len(days))})
    spy.to_csv(folder / "spy_returns.csv", index=False)
    rf = pd.DataFrame({"risk_free_rate": np.full(len(days), 1e-4)}, index=days.strftime("%Y-%m-%d"))
    rf.to_csv(folder / "daily_risk_free_rate.csv")
    return folder


def run_study(root: Path, config: dict, families: str, seeds: int) -> tuple[list[str], str]:
    """synth + ingest ``config`` under ``root``, then `wfsim study`; its arguments and output."""
    (root / "tiny.yaml").write_text(yaml.safe_dump(config))
    runner = CliRunner()
    for args in (
        ["episodes", "synth", "--out", str(root / "eps"), "--config", str(root / "tiny.yaml")],
        ["episodes", "ingest", str(root / "eps"), "--store", str(root / "store")],
    ):
        res = runner.invoke(main, ["--log-level", "warning", *args])
        assert res.exit_code == 0, res.output
    args = ["study", "--store", str(root / "store"), "--out", str(root / "out"),
            "--families", families, "--seeds", str(seeds), "--config", str(root / "tiny.yaml"),
            "--benchmarks", str(_benchmarks(root / "bench"))]  # fmt: skip
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    return args, res.output


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    args, output = run_study(root, TINY, ",".join(FAMILIES), 2)
    return root, args, output


def _files(out: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file of the runs and registries."""
    return {
        str(p.relative_to(out)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for sub in ("runs", "models")
        for p in sorted((out / sub).rglob("*"))
        if p.is_file()
    }


def test_the_table_has_every_family_and_seed_with_the_baselines(done):
    root, _, output = done
    table = pd.read_csv(root / "out" / "study.csv")
    rows = dict(zip(table["row"], table["kind"], strict=True))
    for f in FAMILIES:
        assert rows[f"{f} (x2)"] == "family"
        assert rows[f"{f}-0"] == rows[f"{f}-1"] == "seed"
    assert rows["llm"] == "baseline" and rows["random (x2)"] == "family" and rows["SPY"]
    fam = table.set_index("row")
    for key in KEYS:
        seeds = fam.loc[["lstm-0", "lstm-1"], key].to_numpy()
        assert fam.loc["lstm (x2)", key] == pytest.approx(seeds.mean()), key
        assert fam.loc["lstm (x2)", f"{key}_std"] == pytest.approx(seeds.std(ddof=1)), key
    assert fam.loc["lstm-0", "total_return"] != fam.loc["lstm-1", "total_return"]
    assert np.isfinite(fam.loc["llm", "sharpe_rf"]) and np.isnan(fam.loc["llm", "ic_mean"])
    assert fam.loc["random (x2)", "n_seeds"] == 2 and np.isfinite(fam.loc["SPY", "total_return"])
    assert re.search(r"^lstm \(x2\) .*±", output, re.M)  # the terminal table: mean ± std
    assert "study: 7 runs, 7 run, 0 skipped" in output
    html = (root / "out" / "report.html").read_text()
    assert 'id="study"' in html and "ridge (x2)" in html


def test_a_rerun_skips_everything_done_and_redoes_a_broken_cell(done):
    root, args, _ = done
    out = root / "out"
    before = _files(out)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "study: 7 runs, 0 run, 7 skipped" in res.output
    assert _files(out) == before  # nothing rewritten: same bytes and same mtimes
    (out / "runs" / "lstm-1" / "summary.json").write_text("{")  # a corrupted run
    (out / "models" / "ridge-0" / "w001" / "model.pt").unlink()  # an unfinished registry
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "study: 7 runs, 2 run, 5 skipped" in res.output
    after = _files(out)
    redone = {k for k in after if k.startswith(("runs/lstm-1/", "runs/ridge-0/"))}
    redone |= {k for k in after if k.startswith("models/ridge-0/w001/")}
    resumed = {f"models/{c}/{f}" for c in ("lstm-1", "ridge-0") for f in (".lock", "registry.json")}
    kept = set(after) - redone - resumed
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}  # untouched
    for k in redone | resumed:  # redone, deterministically: the same bytes again
        if not k.endswith("/metadata.json"):  # it records the wall-clock training time
            assert after[k][0] == before[k][0], k
    for k in redone:
        assert after[k][1] > before[k][1], k


def test_cell_done_requires_the_same_config(done):
    from simulator.config import load_config
    from simulator.study import cell_done

    root, _, _ = done
    cfg = load_config(root / "tiny.yaml")
    assert cell_done(root / "out" / "runs" / "llm", cfg)
    other = load_config(root / "tiny.yaml", {"replay.fee_rate": 0.001})
    assert not cell_done(root / "out" / "runs" / "llm", other)


def test_an_unknown_family_is_a_usage_error_listing_the_valid_ones(tmp_path):
    res = CliRunner().invoke(
        main,
        [
            "study",
            "--store",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--families",
            "lstm,nope",
        ],  # fmt: skip
    )
    assert res.exit_code == 2
    assert "unknown=nope" in res.output and ",".join(ALL_FAMILIES) in res.output
    args = ["study", "--store", str(tmp_path), "--out", str(tmp_path / "o"), "--families",
            "ridge,ridge"]  # fmt: skip
    assert "repeated=ridge" in CliRunner().invoke(main, args).output


def test_under_the_eligible_universe_the_ic_columns_score_the_served_universe(tmp_path):
    """``replay.universe: eligible``: a family's IC columns are those of the live predictions on
    every (day, ticker) its replay was given (cached in OUT/served), not of the registry's
    consensus points; a rerun reads the cache, a cache with another key is computed again."""
    import json

    import pyarrow.parquet as pq

    from simulator.study_quality import SERVED_KEY, ic_quality, model_metrics

    config = {**TINY, "replay": {"universe": "eligible"}}
    args, output = run_study(tmp_path, config, "ridge", 1)
    out = tmp_path / "out"
    cache = out / "served" / "ridge-0.parquet"
    served = pd.read_parquet(cache)
    row = pd.read_csv(out / "study.csv").set_index("row").loc["ridge-0"]
    want = ic_quality(served["t"].to_numpy(), served["pred"].to_numpy(), served["y"].to_numpy())
    for key, value in want.items():
        assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key  # CSV: 10 digits
    registry = model_metrics(out / "models" / "ridge-0")
    n_saved = sum(len(pd.read_parquet(p)) for p in (out / "models").rglob("predictions.parquet"))
    assert len(served) > 1.5 * n_saved
    assert registry["ic_pooled"] != pytest.approx(row["ic_pooled"])  # other points, other IC
    assert "live predictions on the served universe" in output
    key = json.loads(pq.read_schema(cache).metadata[SERVED_KEY])  # another store: computed again
    store = json.loads((tmp_path / "store" / "manifest.json").read_text())["content_hash"]
    assert key["store"] == store
    stamp, table = cache.stat().st_mtime_ns, (out / "study.csv").read_bytes()
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert cache.stat().st_mtime_ns == stamp and (out / "study.csv").read_bytes() == table
    pd.DataFrame({"t": [0]}).to_parquet(cache)  # no key: not this cell's points
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(cache).equals(served) and (out / "study.csv").read_bytes() == table


def test_a_setting_one_family_refuses_stops_before_anything_is_written(tmp_path):
    from simulator.config import DEFAULT_YAML

    preset = str(DEFAULT_YAML.parent / "breadth.yaml")
    args = ["study", "--store", str(tmp_path), "--out", str(tmp_path / "o"), "--config", preset,
            "--families", "ridge,lstm-portfolio"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1
    assert "train_points='universe' does not fit family='lstm-portfolio'" in res.output
    assert "drop the family" in res.output and not (tmp_path / "o").exists()
