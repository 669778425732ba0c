"""Synthetic episodes: recorded schema, agent rules, reconciling books, planted signal, files."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from episodes.config import SynthConfig
from episodes.panel import ANALYSTS, BONDS
from episodes.synth import dumps_episode, generate_episodes, write_episodes
from episodes.synth_market import generate_market
from episodes.validate import validate_episodes
from simulator.core.errors import EpisodeError
from tests.synth_replay import EPISODES_TAR, first_real_episodes, replay_episodes

SMALL = SynthConfig(days=30, tickers=12)
CAPPED = SynthConfig(days=60, tickers=80)  # enough tickers to reach the 30-position cap
VOTE = {"bullish": 1, "bearish": -1, "neutral": 0}
CURVE_W = {"very_steep": 0.2, "steep": 0.3, "normal": 0.5, "flat": 0.6, "inverted": 0.8,
           "deeply_inverted": 0.9}  # fmt: skip


@pytest.fixture(scope="module")
def small() -> list[dict]:
    return list(generate_episodes(SMALL, 7))


@pytest.fixture(scope="module")
def capped() -> list[dict]:
    return list(generate_episodes(CAPPED, 3))


def _held(portfolio: dict) -> list[str]:
    return [
        x
        for x, v in portfolio["positions"].items()
        if x not in BONDS and (v["long"] > 0 or v["short"] > 0)
    ]


def _same(a, b) -> bool:
    """Deep equality that also checks key order and int/float types, with NaN == NaN."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


# --- files: names, determinism, atomicity ------------------------------------------------------


def test_files_are_named_by_business_day(tmp_path):
    paths = write_episodes(tmp_path / "eps", SMALL, 7)
    written = sorted(p.name for p in (tmp_path / "eps").glob("episode_*.json"))
    assert [p.name for p in paths] == written
    dates = np.array([p.name[len("episode_") : -len(".json")] for p in paths], "datetime64[D]")
    assert len(dates) == SMALL.days and np.all(np.diff(dates) > np.timedelta64(0, "D"))
    assert np.is_busday(dates).all()
    assert str(dates[0]) == "2022-04-01"
    assert all(
        json.loads(p.read_bytes())["date"] == str(d) for p, d in zip(paths, dates, strict=True)
    )


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(x for x in folder.rglob("*") if x.is_file()):  # episodes + benchmarks/
        h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path):
    write_episodes(tmp_path / "a", SMALL, 11)
    write_episodes(tmp_path / "b", SMALL, 11)
    write_episodes(tmp_path / "c", SMALL, 12)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    import episodes.synth as synth

    calls = []

    def boom(ep):
        calls.append(ep["date"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return dumps_episode(ep)

    monkeypatch.setattr(synth, "dumps_episode", boom)
    with pytest.raises(KeyboardInterrupt):
        synth.write_episodes(tmp_path / "eps", SMALL, 1)
    assert list(tmp_path.iterdir()) == []


def test_rewrite_replaces_the_run_but_refuses_foreign_folders(tmp_path):
    write_episodes(tmp_path / "eps", SMALL, 1)
    write_episodes(tmp_path / "eps", SynthConfig(days=5, tickers=6), 2)
    assert len(list((tmp_path / "eps").glob("episode_*.json"))) == 5
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(EpisodeError, match="refusing to replace.*found=notes.txt"):
        write_episodes(tmp_path / "mine", SMALL, 1)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(EpisodeError, match="refusing to replace"):
        write_episodes(tmp_path / "mine" / "notes.txt", SMALL, 1)


def test_json_round_trip_keeps_types_order_and_bare_nan(capped):
    n_nan = 0
    for ep in capped:
        blob = dumps_episode(ep)
        assert b"null" not in blob
        n_nan += blob.count(b"NaN")
        assert _same(ep, json.loads(blob))
    assert n_nan > 0  # valuation confidences, as recorded


# --- schema ------------------------------------------------------------------------------------


def test_synthetic_episodes_validate_clean(tmp_path):
    write_episodes(tmp_path / "eps", CAPPED, 3)
    report = validate_episodes(tmp_path / "eps")
    assert report.ok, report.problems[:3]
    assert report.n_episodes == CAPPED.days


def _skeleton(obj, universe: set[str], path: str, out: dict) -> None:
    """Collapse ticker keys to <T>; record key orders of dicts and leaf types, per path."""
    if isinstance(obj, dict):
        keys = tuple(dict.fromkeys("<T>" if k in universe else k for k in obj))
        out.setdefault(path, set()).add(keys)
        for k, v in obj.items():
            _skeleton(v, universe, f"{path}.{'<T>' if k in universe else k}", out)
    elif isinstance(obj, list):
        out.setdefault(path, set()).add("list")
        for v in obj:
            _skeleton(v, universe, f"{path}[]", out)
    else:
        out.setdefault(path, set()).add(type(obj).__name__)


def _skeletons(episodes: list[dict]) -> dict:
    out: dict = {}
    for ep in episodes:
        universe = set(ep["portfolio_before"]["positions"])
        _skeleton(ep, universe, "", out)
    return out


@pytest.mark.golden
@pytest.mark.skipif(not EPISODES_TAR.exists(), reason="real episodes not found")
def test_schema_matches_the_real_recording_key_by_key(capped):
    real = _skeletons(first_real_episodes(3))
    ours = _skeletons(capped)
    assert sorted(ours) == sorted(real)  # the same paths (ticker keys collapsed)
    bad = {p: (ours[p], real[p]) for p in ours if not ours[p] <= real[p]}
    assert not bad  # every key order and leaf type we write occurs in the recording


def test_universe_keys_and_execution_order(capped):
    stocks = [f"S{k:03d}" for k in range(CAPPED.tickers)]
    for ep in capped:
        for side in ("portfolio_before", "portfolio_after"):
            assert list(ep[side]["positions"]) == stocks + list(BONDS)
            assert list(ep[side]["realized_gains"]) == stocks + list(BONDS)
            assert ep[side]["margin_requirement"] == 0.0
        order = ep["metadata"]["eligible_tickers"] + list(BONDS)
        assert list(ep["market_data"]["execution_prices"]) == order
        assert list(ep["market_data"]["evaluation_prices"]) == order
        trades = list(ep["metadata"]["executed_trades"])  # victims may be inserted early
        assert trades[-2:] == list(BONDS) and sorted(trades) == sorted(order)
        if not ep["metadata"]["position_replacements"]:
            assert trades == order


def test_books_chain_from_initial_cash(small):
    assert small[0]["portfolio_before"]["cash"] == 100_000.0
    assert not _held(small[0]["portfolio_before"])
    for prev, ep in zip(small, small[1:], strict=False):
        assert ep["portfolio_before"] == prev["portfolio_after"]


# --- agents ------------------------------------------------------------------------------------


def test_screen_follows_the_post_filter_rules(capped):
    for ep in capped:
        sig, eligible = ep["agent_signals"], ep["metadata"]["eligible_tickers"]
        held, risk = set(_held(ep["portfolio_before"])), sig["risk_management_agent"]
        assert held <= set(eligible) and held <= set(risk)
        assert list(sig["technical_analyst_agent"]) == eligible == list(sig["sentiment_agent"])
        four = [list(sig[a]) for a in ANALYSTS[2:]]
        assert all(keys == four[0] for keys in four) and set(risk) <= set(four[0])
        assert list(risk) == [x for x in eligible if x in risk]  # execution order
        for x in eligible:
            votes = [VOTE[sig[a][x]["signal"]] for a in ANALYSTS if x in sig[a]]
            if x in held:
                continue
            if x in risk:  # a newly proposed ticker: tech == sent and >= 4 same-direction votes
                assert votes[0] == votes[1] != 0 and max(votes.count(1), votes.count(-1)) >= 4
            else:
                assert not any(votes)


def test_risk_manager_limit_formula(capped):
    for ep in capped:
        sig = ep["agent_signals"]
        cash = ep["portfolio_before"]["cash"]
        alloc = (
            sig["macro_agent"]["_portfolio_data"]["stock_allocation"]
            + sig["forward_looking_agent"]["_portfolio_data"]["stock_allocation"]
        ) / 2
        for x, e in sig["risk_management_agent"].items():
            r = e["reasoning"]
            assert r["portfolio_value"] == r["available_cash"] == cash
            assert r["combined_stock_allocation"] == alloc and r["current_position"] == 0.0
            f = r["cvar_adjusted_limit"] / (cash * (3.0 * alloc / 30) * (alloc / 0.6))
            assert 0.9 - 1e-12 <= f <= 1.0 + 1e-12
            assert e["remaining_position_limit"] == min(r["cvar_adjusted_limit"], cash)
            assert e["current_price"] == ep["market_data"]["evaluation_prices"][x]


def test_fixed_income_rule_and_copy_into_decisions(capped):
    for ep in capped:
        fi = ep["agent_signals"]["fixed_income_agent"]["_portfolio_data"]
        curve = fi["bond_analysis"]["yield_curve_analysis"]
        alloc = 1 - fi["bond_analysis"]["bond_allocation_percentage"] / 100
        capital = ep["portfolio_before"]["cash"] * (1 - alloc)
        assert math.isclose(fi["bond_analysis"]["total_bond_capital"], capital, rel_tol=1e-12)
        for bond, w in (("SHY", CURVE_W[curve["curve_shape"]]),
                        ("TLT", 1 - CURVE_W[curve["curve_shape"]])):  # fmt: skip
            target = int(capital * w / ep["market_data"]["evaluation_prices"][bond])
            diff = target - ep["portfolio_before"]["positions"][bond]["long"]
            d = fi[bond]
            assert (d["action"], d["quantity"]) == (
                ("buy" if diff > 0 else "sell" if diff < 0 else "hold"),
                abs(diff),
            )
            assert ep["llm_decisions"][bond] == d and d["confidence"] == 85.0


def test_portfolio_agents_use_the_recorded_levels(small):
    for ep in small:
        macro = ep["agent_signals"]["macro_agent"]["_portfolio_data"]
        fwd = ep["agent_signals"]["forward_looking_agent"]["_portfolio_data"]
        assert macro["stock_allocation"] in (0.5, 0.6, 0.7)
        vix = fwd["current_vix"]
        expected = 0.7 if vix < 15 else 0.6 if vix < 20 else 0.5 if vix < 30 else 0.4
        assert fwd["stock_allocation"] == expected and f"({vix:.1f})" in fwd["reasoning"]


# --- baseline books ----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["small", "capped"])
def test_recorded_books_reconcile_with_the_reference(which, request):
    """Replaying the decisions from the first portfolio_before reproduces every recorded field."""
    assert replay_episodes(request.getfixturevalue(which)) == []


@pytest.mark.golden
@pytest.mark.skipif(not EPISODES_TAR.exists(), reason="real episodes not found")
def test_replay_helper_reconciles_the_first_real_days():
    """The helper above encodes the real rules: it reconciles the recording bit-exactly too."""
    assert replay_episodes(first_real_episodes(6)) == []


def test_baseline_fills_the_book_and_replaces_at_the_cap(capped):
    n_pos = np.array([len(_held(ep["portfolio_after"])) for ep in capped])
    n_repl = sum(len(ep["metadata"]["position_replacements"]) for ep in capped)
    assert n_pos.max() <= 30 and np.median(n_pos[10:]) >= 20
    assert (n_pos == 30).sum() >= 5 and n_repl >= 20
    actions = {d["action"] for ep in capped for d in ep["llm_decisions"].values()}
    assert actions == {"buy", "sell", "short", "cover", "hold"}


# --- the planted signal ------------------------------------------------------------------------


def _daily_ic(feature: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Spearman correlation per day over the tickers where both are finite."""
    out = []
    for f, y in zip(feature, target, strict=True):
        ok = np.isfinite(f) & np.isfinite(y)
        if ok.sum() >= 10 and np.ptp(f[ok]) > 0:
            rf, ry = (np.argsort(np.argsort(v[ok])).astype(float) for v in (f, y))
            out.append(np.corrcoef(rf, ry)[0, 1])
    return np.array(out)


@pytest.mark.parametrize("ic", [0.1, 0.0])
def test_latent_alpha_has_the_configured_ic(ic):
    m = generate_market(SynthConfig(days=300, tickers=100, signal_ic=ic), 5)
    k = len(m.tickers) - 2
    g = np.log(m.open[1:, :k] / m.open[:-1, :k])
    g = g - g.mean(axis=1, keepdims=True)
    daily = [np.corrcoef(m.alpha[t], g[t])[0, 1] for t in range(len(g))]
    assert abs(np.mean(daily) - ic) < 0.015


@pytest.mark.parametrize(
    ("signal_ic", "floors", "min_t"),
    [(0.10, (0.03, 0.02), 4.0), (0.05, (0.015, 0.01), 3.0)],  # 0.05 is the default
)
def test_planted_signal_predicts_next_open_to_open_from_pre_open_information(
    signal_ic, floors, min_t
):
    """Known before the open of t: episode t-1's stored analyst calls and prices up to close t-1.

    Both must rank the open(t) -> open(t+1) returns (execution prices of episodes t and t+1).
    """
    eps = list(generate_episodes(SynthConfig(days=250, tickers=100, signal_ic=signal_ic), 9))
    tickers = [x for x in eps[0]["portfolio_before"]["positions"] if x not in BONDS]
    n, k = len(eps), len(tickers)
    opens, closes, consensus = (np.full((n, k), np.nan) for _ in range(3))
    for t, ep in enumerate(eps):
        md, sig = ep["market_data"], ep["agent_signals"]
        for j, x in enumerate(tickers):
            if x in md["execution_prices"]:
                opens[t, j] = md["execution_prices"][x]
                closes[t, j] = md["evaluation_prices"][x]
                consensus[t, j] = np.mean(
                    [VOTE[sig[a][x]["signal"]] for a in ANALYSTS if x in sig[a]]
                )
    target = opens[2:] / opens[1:-1] - 1.0  # rows t = 1..n-2: open(t) -> open(t+1)
    for name, feature, floor in (
        ("lagged analyst consensus", consensus[:-2], floors[0]),  # episode t-1
        ("previous intraday return", closes[:-2] / opens[:-2] - 1.0, floors[1]),  # day t-1
    ):
        ic = _daily_ic(feature, target)
        t_stat = ic.mean() / ic.std() * np.sqrt(len(ic))
        assert ic.mean() > floor and t_stat > min_t, (name, ic.mean(), t_stat)
