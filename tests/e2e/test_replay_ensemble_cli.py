"""`wfsim replay --strategy lstm --models M1 --models M2`: a seed ensemble, recorded in summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_replay_strategies import _invoke, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e


def test_repeated_models_serve_an_ensemble_recorded_in_the_summary(world, tmp_path: Path):  # noqa: F811
    store, models, cfg = world
    common = ("replay", "--strategy", "lstm", "--store", str(store), "--config", str(cfg))
    res = _invoke(*common, "--out", str(tmp_path / "one"), "--models", str(models))
    assert res.exit_code == 0, res.output
    res = _invoke(*common, "--out", str(tmp_path / "two"), "--models", str(models),
                  "--models", str(models))  # fmt: skip
    assert res.exit_code == 0, res.output
    one = json.loads((tmp_path / "one" / "summary.json").read_text())
    two = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert "ensemble" not in one
    assert two["ensemble"] == {"members": [str(models), str(models)], "n": 2}
    # the mean of a registry with itself is the registry: same trades
    assert (tmp_path / "one" / "trades.csv").read_bytes() == (
        tmp_path / "two" / "trades.csv"
    ).read_bytes()
