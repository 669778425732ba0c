"""`wfsim pretrain --memory-mb`: features built in day blocks and spilled to disk give the same
registry and models (only the freshness stamp is missing: a spilled run has no Panel hash)."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from models.features import block_days
from simulator.cli import main

pytestmark = pytest.mark.e2e

CONFIG = "windows: {initial: 40, step: 20}\nmodel: {family: ridge}\n"


def _invoke(*args: str) -> None:
    res = CliRunner().invoke(main, ["--log-level", "warning", *args])
    assert res.exit_code == 0, res.output


def _digest(models) -> dict[str, str]:
    """Every file of a registry except the wall-clock keys, by content."""
    out = {}
    for p in sorted(models.rglob("*")):
        if p.suffix == ".json":
            d = json.loads(p.read_text(encoding="utf-8"))
            for w in [d, *d.get("windows", [])]:
                for key in ("training_time_s", "created", "finished", "elapsed_s"):
                    w.pop(key, None)
            out[p.name] = json.dumps(d, sort_keys=True)
        elif p.is_file() and p.name != ".lock":
            out[str(p.relative_to(models))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_a_budget_that_splits_the_days_changes_no_byte(tmp_path):
    eps, store, cfg = tmp_path / "eps", tmp_path / "st", tmp_path / "c.yaml"
    _invoke(
        "episodes", "synth", "--days", "80", "--tickers", "20", "--seed", "3", "--out", str(eps)
    )
    _invoke("episodes", "ingest", str(eps), "--store", str(store))
    cfg.write_text(CONFIG)
    assert block_days(1, 22, 50, 80) < 80  # 1 MB: more than one block of days, and spilled
    runs = {}
    for name, extra in (("whole", ()), ("blocked", ("--memory-mb", "1"))):
        models = tmp_path / name
        _invoke("pretrain", "--store", str(store), "--models", str(models), "--config", str(cfg),
                *extra)  # fmt: skip
        runs[name] = _digest(models)
    assert "verified.json" in runs["whole"] and "verified.json" not in runs["blocked"]
    runs["whole"].pop("verified.json")
    assert runs["blocked"] == runs["whole"]
    assert any(k.endswith("predictions.parquet") for k in runs["whole"])
