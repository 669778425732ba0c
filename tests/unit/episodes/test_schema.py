"""Episode model and the dict codec: equality (NaN included), round trip, structural errors."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from episodes.decode import episode_from_dict
from episodes.schema import ANALYSTS, NAN, canon_nan
from simulator.core.errors import EpisodeError
from tests.episode_encode import episode_to_dict
from tests.episode_factory import episode, episode_json


def test_equal_episodes_with_nan_compare_equal():
    a, b = episode("2022-04-01"), episode("2022-04-01")
    assert a.analysts[3].confidence[1] is NAN
    assert a == b and hash(a) == hash(b)


def test_source_does_not_take_part_in_equality():
    a = episode("2022-04-01")
    assert dataclasses.replace(a, source="x.json") == a


def test_a_changed_value_breaks_equality():
    a = episode("2022-04-01")
    b = dataclasses.replace(a, portfolio_return=1e-16)
    assert a != b


def test_drop_reasoning_blanks_only_llm_decisions():
    a = episode("2022-04-01").drop_reasoning()
    assert set(a.decisions.reasoning) == {""}
    assert a.fixed_income.shy.reasoning == "bond hold"
    assert a.forward.reasoning == "normal VIX"


def test_order_is_eligible_then_bonds():
    assert episode("2022-04-01").order() == ("CCC", "AAA", "BBB", "SHY", "TLT")


def test_canon_nan_maps_every_nan_to_the_singleton():
    assert canon_nan(float("nan")) is NAN
    assert canon_nan(1.5) == 1.5


def test_dict_round_trip_keeps_key_order():
    d = episode_json("2022-04-01")
    back = episode_to_dict(episode_from_dict(d, "f.json"))
    assert list(back["agent_signals"]) == list(d["agent_signals"])
    assert list(back["llm_decisions"]) == list(d["llm_decisions"])
    assert episode_from_dict(back, "f.json") == episode_from_dict(d, "f.json")


def test_none_confidence_is_the_rewritten_nan():
    d = episode_json("2022-04-01")
    d["agent_signals"][ANALYSTS[0]]["CCC"]["confidence"] = None
    ep = episode_from_dict(d, "f.json")
    assert ep.analysts[0].confidence[0] is NAN


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("market_data"), r"f\.json: 2022-04-01: market_data: missing section"),
        (
            lambda d: d["agent_signals"].pop("valuation_agent"),
            r"f\.json: 2022-04-01: agent_signals\.valuation_agent: missing section",
        ),
        (
            lambda d: d["llm_decisions"]["AAA"].update(quantity="3"),
            r"f\.json: 2022-04-01: llm_decisions\.AAA\.quantity: expected int",
        ),
        (
            lambda d: d["portfolio_after"]["positions"]["BBB"].pop("short"),
            r"f\.json: 2022-04-01: portfolio_after\.positions\.BBB\.short: missing",
        ),
        (
            lambda d: d["market_data"]["evaluation_prices"].pop("AAA"),
            r"market_data\.evaluation_prices: keys differ from execution_prices",
        ),
        (
            lambda d: d["market_data"]["execution_prices"].update(AAA="1.0"),
            r"market_data\.execution_prices\.AAA: expected num",
        ),
    ],
)
def test_structural_problems_name_file_date_and_field(mutate, message):
    d = copy.deepcopy(episode_json("2022-04-01"))
    mutate(d)
    with pytest.raises(EpisodeError, match=message):
        episode_from_dict(d, "f.json")


def test_all_missing_sections_are_named():
    d = episode_json("2022-04-01")
    del d["metadata"], d["llm_decisions"]
    with pytest.raises(EpisodeError, match="missing=llm_decisions,metadata"):
        episode_from_dict(d, "f.json")
