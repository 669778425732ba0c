"""User errors through the CLI (issue 15 points 7, 10): one line on stderr, exit 1, no traceback."""

from __future__ import annotations

import tarfile

import pytest
from click.testing import CliRunner

from episodes.store_fs import lock_file
from simulator.cli import main
from simulator.core.errors import StoreError
from simulator.core.locks import writer_lock
from tests.episode_factory import DATES, write_days

pytestmark = pytest.mark.e2e


def _run(args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res, res.output + (res.stderr if res.stderr_bytes is not None else "")


def _clean_exit_1(res, out):
    assert res.exit_code == 1, out
    assert isinstance(res.exception, SystemExit), res.exception  # no traceback
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("replay:\n  initial_cash: .inf\n", "replay.initial_cash: not a finite number"),
        ("decision:\n  threshold: .nan\n", "decision.threshold: not a finite number"),
        ("train:\n  lr: .nan\n", "train.lr: not a finite number"),
        ("train:\n  grad_clip: -1.0\n", "train: grad_clip=-1.0, expected > 0"),
        ("train:\n  weight_decay: -0.1\n", "train: weight_decay=-0.1, expected >= 0"),
        ("synth:\n  start: not-a-date\n", "synth: start='not-a-date', expected a date"),
        ("seed: -1\n", "config: seed=-1, expected in [0, 2**31)"),
        ("seed: 2147483648\n", "config: seed=2147483648, expected in [0, 2**31)"),
    ],
)
def test_bad_numeric_config_values(tmp_path, yaml_text, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text, encoding="utf-8")
    res, out = _run(["episodes", "synth", "--days", "3", "--out", tmp_path / "o", "--config", cfg])
    _clean_exit_1(res, out)
    assert message in out
    assert not (tmp_path / "o").exists()


def test_non_utf8_config(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b"seed: 1\n# caf\xe9\n")
    res, out = _run(["episodes", "synth", "--out", tmp_path / "o", "--config", cfg])
    _clean_exit_1(res, out)
    assert "c.yaml: not UTF-8 text" in out


@pytest.mark.parametrize("flag", ["-5", str(2**31)])
def test_out_of_range_seed_flag(tmp_path, flag):
    res, out = _run(["episodes", "synth", "--days", "3", "--out", tmp_path / "o", "--seed", flag])
    _clean_exit_1(res, out)
    assert f"seed={flag}, expected in [0, 2**31)" in out


def test_truncated_archive(tmp_path):
    write_days(tmp_path / "src", DATES)
    path = tmp_path / "days.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        tar.add(tmp_path / "src", "episodes")
    path.write_bytes(path.read_bytes()[:200])
    for cmd in (["validate", path], ["ingest", path, "--store", tmp_path / "st"]):
        res, out = _run(["episodes", *cmd])
        _clean_exit_1(res, out)
        assert "days.tar.xz: unreadable archive" in out and "Aborted" not in out


def test_glob_source_validates_and_ingests(tmp_path):
    write_days(tmp_path / "src", DATES)
    pattern = tmp_path / "src" / "episode_2022-04-0[14].json"
    res, out = _run(["episodes", "validate", pattern])
    assert res.exit_code == 0 and "2 episodes, 2 clean, 0 problems" in out, out
    res, out = _run(["episodes", "ingest", pattern, "--store", tmp_path / "st"])
    assert res.exit_code == 0 and "2 days (2 new" in out, out


def test_ingest_into_a_locked_store(tmp_path):
    write_days(tmp_path / "src", DATES)
    store = tmp_path / "st"
    with writer_lock(lock_file(store), owner="x", cls=StoreError, command="wfsim other"):
        res, out = _run(["episodes", "ingest", tmp_path / "src", "--store", store])
    _clean_exit_1(res, out)
    assert "st: locked by another writer" in out and "wfsim other" in out and "--wait" in out
