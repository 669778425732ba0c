"""The validator on the real recording: 691 days clean, and every corruption of a real episode
reported as `FILE: DATE: field.path: what` with nothing written by ingest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from episodes.store import ingest
from episodes.validate import validate_episodes
from simulator.cli import main
from simulator.core.errors import EpisodeError

pytestmark = pytest.mark.golden

D1, D2, D3 = "2022-04-01", "2022-04-04", "2022-04-05"
F2 = f"episode_{D2}.json"


def test_the_691_real_episodes_are_clean(real_episode_dir):
    rep = validate_episodes(real_episode_dir, workers=2)
    assert rep.summary() == "691 episodes, 691 clean, 0 problems"


def test_validate_command_on_the_archive():
    from tests.conftest import EPISODES_TAR

    res = CliRunner().invoke(main, ["episodes", "validate", str(EPISODES_TAR)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1] == "691 episodes, 691 clean, 0 problems"


@pytest.fixture()
def days(real_episode_dir, tmp_path) -> Path:
    """Three real days copied into tmp_path/src, plus a store of the first one (tmp_path/store)."""
    src = tmp_path / "src"
    src.mkdir()
    for d in (D1, D2, D3):
        shutil.copy(real_episode_dir / f"episode_{d}.json", src)
    ingest([src / f"episode_{D1}.json"], tmp_path / "store", workers=1)
    return src


def _load(src: Path, date: str = D2) -> dict:
    return json.loads((src / f"episode_{date}.json").read_text())


def _save(src: Path, data: dict, date: str = D2) -> None:
    (src / f"episode_{date}.json").write_text(json.dumps(data, indent=2))


def _snapshot(path: Path) -> dict:
    return {f.name: f.read_bytes() for f in sorted(path.iterdir())}


def _assert_refused(src, tmp_path, expected: list[str], sources=None) -> None:
    """validate reports exactly ``expected``; ingest writes nothing, fresh or incremental."""
    rep = validate_episodes(sources or src)
    assert [str(e) for e in rep.problems] == expected
    res = CliRunner().invoke(main, ["episodes", "validate", str(src)])
    if sources is None:
        assert res.exit_code == 1 and res.output.splitlines()[:-1] == expected
        assert res.output.splitlines()[-1].endswith(f"{len(expected)} problems")
    with pytest.raises(EpisodeError) as exc:
        ingest(sources or src, tmp_path / "fresh", workers=1)
    assert [str(e) for e in exc.value.problems] == expected
    assert not (tmp_path / "fresh").exists()
    before = _snapshot(tmp_path / "store")
    with pytest.raises(EpisodeError):
        ingest(sources or src, tmp_path / "store", workers=1)
    assert _snapshot(tmp_path / "store") == before


def test_truncated_json(days, tmp_path):
    raw = (days / F2).read_bytes()
    (days / F2).write_bytes(raw[: len(raw) // 2])
    rep = validate_episodes(days)
    (msg,) = [str(e) for e in rep.problems]
    assert msg.startswith(f"{F2}: {D2}: json: invalid JSON (error=")
    assert ", at=line " in msg
    _assert_refused(days, tmp_path, [msg])


def test_invalid_json(days, tmp_path):
    raw = (days / F2).read_bytes()
    (days / F2).write_bytes(raw.replace(b'"portfolio_return":', b'"portfolio_return"', 1))
    rep = validate_episodes(days)
    assert "invalid JSON (error=Expecting ':' delimiter" in str(rep.problems[0])
    _assert_refused(days, tmp_path, [str(rep.problems[0])])


def test_missing_section(days, tmp_path):
    d = _load(days)
    del d["market_data"]
    _save(days, d)
    _assert_refused(
        days, tmp_path, [f"{F2}: {D2}: market_data: missing section (missing=market_data)"]
    )


def test_unknown_action(days, tmp_path):
    d = _load(days)
    d["llm_decisions"]["ABBV"]["action"] = "yolo"
    _save(days, d)
    _assert_refused(
        days,
        tmp_path,
        [
            f"{F2}: {D2}: llm_decisions.ABBV.action: unknown action "
            "(action=yolo, expected hold|buy|sell|short|cover)"
        ],
    )


@pytest.mark.parametrize(("which", "price"), [("execution", 0.0), ("evaluation", -3.5)])
def test_non_positive_price(days, tmp_path, which, price):
    d = _load(days)
    d["market_data"][f"{which}_prices"]["PARA"] = price
    _save(days, d)
    _assert_refused(
        days,
        tmp_path,
        [f"{F2}: {D2}: market_data.{which}_prices.PARA: price is not finite > 0 (price={price})"],
    )


def test_non_finite_price(days, tmp_path):
    d = _load(days)
    d["market_data"]["execution_prices"]["PARA"] = float("inf")
    _save(days, d)
    assert b'"PARA": Infinity' in (days / F2).read_bytes()
    _assert_refused(
        days,
        tmp_path,
        [f"{F2}: {D2}: market_data.execution_prices.PARA: price is not finite > 0 (price=inf)"],
    )


def test_held_ticker_without_price(days, tmp_path):
    d = _load(days)
    assert d["portfolio_before"]["positions"]["ABBV"]["long"] == 48
    del d["market_data"]["execution_prices"]["ABBV"], d["market_data"]["evaluation_prices"]["ABBV"]
    d["metadata"]["eligible_tickers"].remove("ABBV")
    _save(days, d)
    _assert_refused(
        days,
        tmp_path,
        [
            f"{F2}: {D2}: portfolio_before.positions.ABBV: held ticker has no price "
            "(long=48, short=0)",
            f"{F2}: {D2}: portfolio_after.positions.ABBV: held ticker has no price "
            "(long=48, short=0)",
        ],
    )


def test_decision_outside_the_universe(days, tmp_path):
    d = _load(days)
    d["llm_decisions"]["ZZZZ"] = {
        "action": "buy",
        "quantity": 5,
        "confidence": 0.9,
        "reasoning": "",
    }
    _save(days, d)
    _assert_refused(
        days,
        tmp_path,
        [
            f"{F2}: {D2}: llm_decisions.ZZZZ: decision for a ticker outside the day's universe "
            "(action=buy, expected eligible_tickers + SHY, TLT)"
        ],
    )


def test_file_name_does_not_match_the_date(days, tmp_path):
    d = _load(days)
    d["date"] = D3
    _save(days, d)
    _assert_refused(
        days, tmp_path, [f"{F2}: {D3}: date: does not match the file name (file_date={D2})"]
    )


def test_duplicate_date(days, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(days / F2, other / F2)
    files = [days / f"episode_{D1}.json", days / F2, other / F2]
    _assert_refused(
        days,
        tmp_path,
        [f"{F2}: {D2}: date: duplicate date (previous={F2}: {D2})"],
        sources=files,
    )


def test_out_of_order_dates(days, tmp_path):
    files = [days / F2, days / f"episode_{D1}.json"]
    _assert_refused(
        days,
        tmp_path,
        [f"episode_{D1}.json: {D1}: date: out of order (previous={F2}: {D2})"],
        sources=files,
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("cash",), "cash"),
        (("positions", "ABBV", "long"), "positions.ABBV.long"),
        (("positions", "ABBV", "long_cost_basis"), "positions.ABBV.long_cost_basis"),
        (("realized_gains", "NFLX", "short"), "realized_gains.NFLX.short"),
    ],
)
def test_chain_break(days, tmp_path, path, field):
    d = _load(days)
    node = d["portfolio_before"]
    for key in path[:-1]:
        node = node[key]
    prev = _load(days, D1)["portfolio_after"]
    for key in path:
        prev = prev[key]
    node[path[-1]] = prev + 1
    _save(days, d)
    _assert_refused(
        days,
        tmp_path,
        [
            f"{F2}: {D2}: portfolio_before.{field}: breaks the chain "
            f"(got={prev + 1}, previous_after={prev}, expected == portfolio_after of {D1})"
        ],
    )


def test_problems_of_several_files_are_all_reported(days, tmp_path):
    d = _load(days)
    d["market_data"]["execution_prices"]["PARA"] = 0.0
    _save(days, d)
    (days / f"episode_{D3}.json").write_text("{")
    rep = validate_episodes(days)
    assert rep.summary() == "3 episodes, 1 clean, 2 problems"
