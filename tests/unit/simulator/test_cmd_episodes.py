"""`wfsim episodes validate|ingest|info` on a tiny synthetic sequence (exit codes and outputs)."""

from __future__ import annotations

import tarfile

from click.testing import CliRunner

from simulator.cli import main
from simulator.cli.episodes import COMMANDS, episodes_group
from tests.episode_factory import DATES, episode_json, write_day, write_days


def _run(*args: str):
    return CliRunner().invoke(main, [*args])


def test_group_is_exported():
    assert COMMANDS == [episodes_group] and episodes_group.name == "episodes"
    assert {"validate", "ingest", "info"} <= set(episodes_group.commands)


def test_validate_clean_and_dirty(tmp_path):
    write_days(tmp_path, DATES)
    res = _run("episodes", "validate", str(tmp_path))
    assert res.exit_code == 0 and res.output.strip() == "4 episodes, 4 clean, 0 problems"
    bad = episode_json(DATES[1])
    bad["llm_decisions"]["AAA"]["action"] = "hodl"
    write_day(tmp_path, bad)
    res = _run("episodes", "validate", str(tmp_path))
    assert res.exit_code == 1
    assert res.output.splitlines() == [
        f"episode_{DATES[1]}.json: {DATES[1]}: llm_decisions.AAA.action: unknown action "
        "(action=hodl, expected hold|buy|sell|short|cover)",
        "4 episodes, 3 clean, 1 problems",
    ]


def test_ingest_then_info(tmp_path):
    write_days(tmp_path / "src", DATES)
    res = _run("episodes", "ingest", str(tmp_path / "src"), "--store", str(tmp_path / "s"))
    assert res.exit_code == 0, res.output
    assert "4 days (4 new, 0 replaced, 0 unchanged)" in res.output
    res = _run("episodes", "info", str(tmp_path / "s"))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "days         4" in lines and f"dates        {DATES[0]} .. {DATES[3]}" in lines
    assert "tickers/day  min 3, median 3, max 3 (eligible)" in lines
    assert "actions      hold 16, buy 4, sell 0, short 0, cover 0" in lines
    assert any(line.startswith("  prices") and line.endswith("20 rows") for line in lines)


def test_info_on_a_mapped_store_prints_the_same(tmp_path, monkeypatch):
    """Past the budget `episodes info` reads a mapped Panel (simulator.panel_map): same lines."""
    from simulator import panel_map

    write_days(tmp_path / "src", DATES)
    assert (
        _run("episodes", "ingest", str(tmp_path / "src"), "--store", str(tmp_path / "s")).exit_code
        == 0
    )
    want = _run("episodes", "info", str(tmp_path / "s")).output
    monkeypatch.setattr(panel_map, "plan", lambda *_: 1)  # mapped, one-day blocks
    got = _run("episodes", "info", str(tmp_path / "s"))
    assert got.exit_code == 0 and '"panel_mapped"' in got.output  # the event (stderr, mixed in)
    assert [ln for ln in got.output.splitlines() if not ln.startswith("{")] == want.splitlines()


def test_info_on_a_directory_and_an_archive(tmp_path):
    paths = write_days(tmp_path / "episodes", DATES[:2])
    with tarfile.open(tmp_path / "e.tar.xz", "w:xz") as tar:
        for p in paths:
            tar.add(p, arcname=f"episodes/{p.name}")
    for src in (tmp_path / "episodes", tmp_path / "e.tar.xz"):
        res = _run("episodes", "info", str(src))
        assert res.exit_code == 0, res.output
        assert "days         2" in res.output.splitlines()


def test_ingest_refusal_lists_problems_and_exits_1(tmp_path):
    write_days(tmp_path / "src", DATES[:2])
    (tmp_path / "src" / f"episode_{DATES[1]}.json").write_text("[")
    res = _run("episodes", "ingest", str(tmp_path / "src"), "--store", str(tmp_path / "s"))
    assert res.exit_code == 1
    assert f"episode_{DATES[1]}.json: {DATES[1]}: json: invalid JSON" in res.output
    assert not (tmp_path / "s").exists()
