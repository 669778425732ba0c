"""Validator rules on a tiny synthetic sequence: each problem's exact location, and the quirks of
the real recording that must NOT be reported."""

from __future__ import annotations

import dataclasses

import pytest

from episodes.schema import Decisions, Portfolio, Prices
from episodes.validate import check_episode, check_sequence, validate_episodes
from tests.episode_factory import DATES, episode, episode_json, write_day, write_days


def _msgs(errs) -> list[str]:
    return [str(e) for e in errs]


def test_clean_sequence_has_no_problem(tmp_path):
    write_days(tmp_path, DATES)
    rep = validate_episodes(tmp_path)
    assert rep.ok and rep.summary() == "4 episodes, 4 clean, 0 problems"


def test_recorded_quirks_are_not_problems():
    ep = episode(DATES[0], cash=-9464.68)  # negative cash (README §5.3)
    assert ep.decisions.quantity[:3] == (3, 0, -1)  # hold with quantity, buy -1
    assert ep.analysts[3].confidence[1] != ep.analysts[3].confidence[1]  # NaN confidence
    d = ep.decisions  # a risk-list ticker without a decision acts as hold
    ep = dataclasses.replace(ep, decisions=Decisions(*(c[1:] for c in dataclasses.astuple(d))))
    assert check_episode(ep) == []


def _with_prices(ep, i, value):
    p = ep.prices
    return dataclasses.replace(
        ep, prices=Prices(p.tickers, p.open[:i] + (value,) + p.open[i + 1 :], p.close)
    )


@pytest.mark.parametrize("price", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_price(price):
    ep = dataclasses.replace(_with_prices(episode(DATES[0]), 1, price), source="f.json")
    assert _msgs(check_episode(ep)) == [
        f"f.json: {DATES[0]}: market_data.execution_prices.AAA: price is not finite > 0 "
        f"(price={price})"
    ]


def test_unknown_action_and_decision_outside_the_universe():
    ep = episode(DATES[0])
    d = ep.decisions
    dec = Decisions(
        d.tickers + ("ZZZ", "YYY"),
        ("hold", "jump", "buy", "hold", "hold", "buy", "hold"),
        d.quantity + (1, 1),
        d.confidence + (0.0, 0.0),
        d.reasoning + ("", ""),
    )
    msgs = _msgs(check_episode(dataclasses.replace(ep, decisions=dec, source="f.json")))
    assert msgs == [
        f"f.json: {DATES[0]}: llm_decisions.AAA.action: unknown action "
        "(action=jump, expected hold|buy|sell|short|cover)",
        f"f.json: {DATES[0]}: llm_decisions.ZZZ: decision for a ticker outside the day's universe "
        "(action=buy, expected eligible_tickers + SHY, TLT)",
    ]  # YYY holds: allowed


def test_held_ticker_without_price():
    ep = episode(DATES[0])
    keep = [i for i, t in enumerate(ep.prices.tickers) if t != "AAA"]
    p = Prices(
        *(tuple(c[i] for i in keep) for c in (ep.prices.tickers, ep.prices.open, ep.prices.close))
    )
    ep = dataclasses.replace(ep, prices=p, eligible=("CCC", "BBB"), source="f.json")
    assert _msgs(check_episode(ep)) == [
        f"f.json: {DATES[0]}: portfolio_{side}.positions.AAA: held ticker has no price "
        "(long=2, short=0)"
        for side in ("before", "after")
    ]


def test_execution_order_must_be_eligible_then_bonds():
    ep = dataclasses.replace(episode(DATES[0]), eligible=("AAA", "CCC", "BBB"), source="f.json")
    assert _msgs(check_episode(ep)) == [
        f"f.json: {DATES[0]}: market_data.execution_prices: tickers differ from "
        "metadata.eligible_tickers + SHY, TLT (position=0, got=CCC, expected AAA)"
    ]


def test_duplicate_and_out_of_order_dates():
    a, b, c = (dataclasses.replace(episode(d), source=f"{d}.json") for d in DATES[:3])
    msgs = _msgs(check_sequence([a, b, b, a, c]))
    assert msgs == [
        f"{DATES[1]}.json: {DATES[1]}: date: duplicate date (previous={DATES[1]}.json: {DATES[1]})",
        f"{DATES[0]}.json: {DATES[0]}: date: out of order (previous={DATES[1]}.json: {DATES[1]})",
    ]


def _port(p: Portfolio, **changes) -> Portfolio:
    return dataclasses.replace(p, **changes)


@pytest.mark.parametrize(
    ("changes", "field", "got", "prev"),
    [
        ({"cash": 999.5}, "portfolio_before.cash", 999.5, 1000.0),
        ({"long": (3, 0, 0, 0, 0)}, "portfolio_before.positions.AAA.long", 3, 2),
        (
            {"long_cost_basis": (9.0, 0.0, 0.0, 0.0, 0.0)},
            "portfolio_before.positions.AAA.long_cost_basis",
            9.0,
            10.0,
        ),
        (
            {"rg_short": (0.0, 0.0, 0.0, 0.0, 7.0)},
            "portfolio_before.realized_gains.TLT.short",
            7.0,
            0.0,
        ),
    ],
)
def test_chain_break_reports_the_first_differing_field(changes, field, got, prev):
    a = episode(DATES[0])
    b = episode(DATES[1])
    b = dataclasses.replace(b, before=_port(b.before, **changes), source="b.json")
    assert _msgs(check_sequence([a, b])) == [
        f"b.json: {DATES[1]}: {field}: breaks the chain "
        f"(got={got}, previous_after={prev}, expected == portfolio_after of {DATES[0]})"
    ]


def test_one_problem_per_ticker_even_when_several_fields_differ():
    a = episode(DATES[0])
    b = episode(DATES[1])
    b = dataclasses.replace(b, before=_port(b.before, long=(0,) * 5, long_cost_basis=(0.0,) * 5))
    assert len(check_sequence([a, b])) == 1


@pytest.mark.parametrize("action", ["buy", "sell", "short", "cover", "hold"])
def test_any_non_positive_quantity_is_the_no_op_of_section_5_2(action):
    """README §5.2: "hold and q <= 0 are no-ops returning 0" - not only the recorded buy -1."""
    ep = episode(DATES[0])
    d = ep.decisions
    dec = dataclasses.replace(d, action=(action, *d.action[1:]), quantity=(-7, *d.quantity[1:]))
    assert check_episode(dataclasses.replace(ep, decisions=dec)) == []


def _rekeyed(p: Portfolio, keys: tuple[str, ...]) -> Portfolio:
    """``p`` with its per-ticker columns in the order of ``keys`` (a new key: an empty row)."""
    old = {k: i for i, k in enumerate(p.tickers)}
    cols = {}
    for f in dataclasses.fields(p):
        col = getattr(p, f.name)
        if isinstance(col, tuple) and f.name != "tickers":
            cols[f.name] = tuple(col[old[k]] if k in old else type(col[0])(0) for k in keys)
    return dataclasses.replace(p, tickers=keys, **cols)


def test_portfolio_after_must_keep_the_day_s_keys():
    ep = episode(DATES[0])
    grown = ("AAA", "BBB", "CCC", "DDD", "SHY", "TLT")
    bad = dataclasses.replace(ep, after=_rekeyed(ep.after, grown), source="f.json")
    assert _msgs(check_episode(bad)) == [
        f"f.json: {DATES[0]}: portfolio_after.positions: tickers differ from the day's "
        "portfolio_before (n=6, added=['DDD'], missing=[])"
    ]


def test_portfolio_keys_in_another_order_are_named_as_such():
    a, b = episode(DATES[0]), episode(DATES[1])
    order = ("BBB", "AAA", "CCC", "SHY", "TLT")
    b = dataclasses.replace(
        b, before=_rekeyed(b.before, order), after=_rekeyed(b.after, order), source="b.json"
    )
    assert _msgs(check_sequence([a, b])) == [
        f"b.json: {DATES[1]}: portfolio_before.positions: tickers differ from the previous "
        "portfolio_after (position=0, got=BBB, expected_key=AAA, order=differs)"
    ]


def test_validator_collects_every_problem_of_every_file(tmp_path):
    write_days(tmp_path, DATES)
    (tmp_path / f"episode_{DATES[1]}.json").write_text('{"date": ')  # truncated
    bad = episode_json(DATES[3])
    bad["market_data"]["execution_prices"]["BBB"] = -2.0
    bad["llm_decisions"]["SHY"]["action"] = "moon"
    write_day(tmp_path, bad)
    rep = validate_episodes(tmp_path)
    assert rep.summary() == "4 episodes, 2 clean, 3 problems"
    assert [str(e).split(": ")[2] for e in rep.problems] == [
        "json",
        "market_data.execution_prices.BBB",
        "llm_decisions.SHY.action",
    ]


def test_key_diff_names_added_missing_order_or_a_repeated_key():
    from episodes.rules import key_diff

    assert key_diff(("A", "C"), ("A", "B")) == {"n": 2, "added": ["C"], "missing": ["B"]}
    assert key_diff(("B", "A"), ("A", "B")) == {
        "position": 0, "got": "B", "expected_key": "A", "order": "differs"
    }  # fmt: skip
    assert key_diff(("A", "A", "B"), ("A", "B")) == {"n": 3, "expected_n": 2}
