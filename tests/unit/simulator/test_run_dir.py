"""A run directory is written whole: temp directory renamed into place, with a manifest of hashes.

A replay killed (or out of disk) during export must leave the previous run intact, never the new
trades beside the old equity and summary.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pytest

import simulator.results.export as export
from simulator.results.export import (
    MANIFEST,
    equity_table,
    export_run,
    trades_table,
    verify_run,
    write_csv,
)
from simulator.runs import RunOutput
from tests.unit.simulator.test_export import DATES, DAYS, TICKERS, fills, marks

EXTRA = {"reconcile.csv": pa.table({"date": pa.array(["2024-01-04"]), "field": ["cash"]})}


def run(strategy: str = "test", scale: float = 1.0) -> RunOutput:
    m = marks()
    m = m._replace(nav=m.nav * scale)
    return RunOutput(strategy, DAYS, DATES, TICKERS, fills(), m, 1000.0,
                     np.array([1, 0]), np.array([0, 1]))  # fmt: skip


def snapshot(path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_manifest_lists_every_file_with_its_sha256(tmp_path):
    paths = export_run(tmp_path / "r", run(), {"config_hash": "abc"}, EXTRA)
    doc = json.loads(paths[MANIFEST].read_text())["files"]
    on_disk = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert sorted([*doc, MANIFEST]) == on_disk == sorted(paths)
    assert "reconcile.csv" in doc
    for name, entry in doc.items():
        data = (tmp_path / "r" / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert verify_run(tmp_path / "r") == []
    (tmp_path / "r" / "equity.csv").write_text("tampered\n")
    (tmp_path / "r" / "stray.txt").write_text("x")
    assert verify_run(tmp_path / "r") == ["equity.csv", "stray.txt"]


def test_files_are_the_bytes_the_writers_produce(tmp_path):
    """The move to a temp directory changes no byte of the exports (goldens hash them)."""
    r = run()
    export_run(tmp_path / "r", r, {})
    write_csv(tmp_path / "t.csv", trades_table(r.fills, r.days, r.dates, r.tickers))
    write_csv(tmp_path / "e.csv", equity_table(r.dates, r.marks, r.initial_nav))
    assert (tmp_path / "r" / "trades.csv").read_bytes() == (tmp_path / "t.csv").read_bytes()
    assert (tmp_path / "r" / "equity.csv").read_bytes() == (tmp_path / "e.csv").read_bytes()


@pytest.mark.parametrize("fail_on", ["write_parquet", "write_json"])
def test_a_failed_export_leaves_the_previous_run_whole(tmp_path, monkeypatch, fail_on):
    """Out of disk half-way through a rerun: the directory still holds the old run, bit for bit,
    and no temp directory is left beside it."""
    out = tmp_path / "r"
    export_run(out, run("old"), {"seed": 1}, EXTRA)
    before = snapshot(out)
    real, calls = getattr(export, fail_on), []

    def flaky(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(export, fail_on, flaky)
    with pytest.raises(OSError, match="No space left"):
        export_run(out, run("new", scale=1.5), {"seed": 2})
    assert snapshot(out) == before
    assert verify_run(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_rerun_replaces_the_directory_whole(tmp_path):
    out = tmp_path / "r"
    export_run(out, run("old"), {}, EXTRA)
    export_run(out, run("new", scale=1.5), {})
    assert "reconcile.csv" not in {p.name for p in out.iterdir()}  # nothing of the old run
    assert json.loads((out / "summary.json").read_text())["strategy"] == "new"
    assert verify_run(out) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["r"]
