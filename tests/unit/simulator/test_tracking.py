"""simulator.tracking: which store a `--mlflow URI` means, and a refused store as one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.tracking import ARTIFACTS, DB_NAME, Tracker, TrackingError, resolve_uri


def test_a_directory_is_a_sqlite_store_with_its_artifacts_inside(tmp_path):
    tracking, artifacts = resolve_uri(str(tmp_path / "mlruns"))
    assert tracking == f"sqlite:///{tmp_path / 'mlruns' / DB_NAME}"
    assert artifacts == (tmp_path / "mlruns" / ARTIFACTS).as_uri()


def test_a_sqlite_uri_keeps_its_artifacts_beside_the_database(tmp_path):
    tracking, artifacts = resolve_uri(f"sqlite:///{tmp_path}/db/x.db")
    assert tracking == f"sqlite:///{tmp_path / 'db' / 'x.db'}"
    assert Path(artifacts.removeprefix("file://")) == tmp_path / "db" / ARTIFACTS


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "file:///tmp/somewhere"])
def test_other_uris_go_to_mlflow_as_they_are(uri):
    assert resolve_uri(uri) == (uri, None)


def test_a_refused_store_is_one_line_naming_the_uri(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    uri = (tmp_path / "fs").as_uri()  # mlflow 3.17's plain-file store: refused by default
    with pytest.raises(TrackingError) as err:
        Tracker.open(uri)
    text = str(err.value)
    assert text.startswith("--mlflow: cannot open the store") and f"uri={uri}" in text
    assert "\n" not in text
