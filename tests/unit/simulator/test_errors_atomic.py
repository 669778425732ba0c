from __future__ import annotations

import pickle

import pytest

from simulator.core.atomic import atomic_dir, atomic_path, write_atomic
from simulator.core.errors import EpisodeError, ReconcileError, WfsimError


def test_error_renders_one_line_and_pickles():
    e = EpisodeError("a.json: 2023-03-14: portfolio.cash", "negative", cash=-12.5, expected=">= 0")
    assert str(e) == "a.json: 2023-03-14: portfolio.cash: negative (cash=-12.5, expected >= 0)"
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is EpisodeError and str(e2) == str(e)
    assert isinstance(ReconcileError("d", "x"), WfsimError)
    assert str(WfsimError("w", "x", fix="do y")) == "w: x; do y"


def test_write_atomic_replaces_whole_file(tmp_path):
    p = tmp_path / "sub" / "f.txt"
    write_atomic(p, "one")
    write_atomic(p, b"two")
    assert p.read_bytes() == b"two"
    assert [f.name for f in p.parent.iterdir()] == ["f.txt"]


def test_atomic_path_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_dir_replaces_or_keeps(tmp_path):
    d = tmp_path / "w000"
    with atomic_dir(d) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(ValueError), atomic_dir(d) as tmp:
        (tmp / "a").write_text("2")
        raise ValueError
    assert (d / "a").read_text() == "1"
    with atomic_dir(d) as tmp:
        (tmp / "b").write_text("3")
    assert sorted(f.name for f in d.iterdir()) == ["b"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["w000"]


def test_atomic_files_get_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0)
    os.umask(umask)
    p = write_atomic(tmp_path / "r.html", "x")
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "a").write_text("1")
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~umask


def test_an_unwritable_output_path_is_one_line_not_a_traceback(tmp_path):
    """An OSError the options could not foresee (a file where a folder must go) was a Python
    traceback from every command (a CLI audit); now ``path: reason (errno=N)``, exit 1."""
    from click.testing import CliRunner

    from simulator.cli import main

    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "eps"
    res = CliRunner().invoke(main, ["episodes", "synth", "--days", "5", "--tickers", "5",
                                    "--out", str(out)])  # fmt: skip
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"Error: {tmp_path / 'afile'}" in res.output and "errno=" in res.output
