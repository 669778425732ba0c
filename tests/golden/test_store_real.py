"""The store on the 691 real episodes: size, manifest, exact round trip, Panel contents."""

from __future__ import annotations

import numpy as np
import pytest

from episodes.reader import read_episode, read_episodes
from episodes.schema import SIGNALS
from episodes.store import ingest, load_episodes, load_panel, open_store
from simulator.kernels.reference import ref_strength

pytestmark = pytest.mark.golden

ROWS = {
    "daily": 691,
    "prices": 350214,
    "signals": 1045662,
    "risk": 44578,
    "decisions": 350042,
    "positions": 266089,
    "trades": 350214,
    "replacements": 6339,
}
# Tickers named only by Buffett/Ackman signal keys (LLM output), never in a portfolio or price list.
EXTRA_TICKERS = {
    "ACM", "CTL", "Ebay", "FB", "H", "INCBY", "INCH", "INICY", "INT", "INT.C", "M", "NAQ", "NW",
    "RJ", "RJFA", "RJf", "Uber",
}  # fmt: skip
# >= 20 days, including every documented quirk (README §3, §4, §7).
ROUND_TRIP_DAYS = [
    "2022-04-01",  # first day: empty book, cash 100000 (an int in the JSON)
    "2022-04-04",
    "2022-04-05",  # negative cash after covers
    "2022-07-06",  # hold with quantity != 0 (EOG, INCY)
    "2022-07-07",  # first NaN valuation confidence
    "2022-07-20",  # NVDA buy while short, replacement earlier in the loop
    "2022-09-26",  # lowest NAV
    "2023-02-27",  # MTB long and short
    "2023-03-21",
    "2023-08-15",  # 31 positions, SLB both sides
    "2023-08-16",
    "2023-10-31",  # negative Buffett confidences
    "2024-01-02",
    "2024-03-28",
    "2024-06-14",
    "2024-09-03",
    "2024-11-29",  # highest NAV
    "2024-12-20",
    "2024-12-23",  # eligible-order reshuffle (set size crosses 512)
    "2024-12-24",
    "2024-12-30",
    "2024-12-31",  # last day
]


def test_manifest_and_size(real_store):
    st = open_store(real_store)
    m = st.manifest
    assert (m["n_days"], m["first_date"], m["last_date"]) == (691, "2022-04-01", "2024-12-31")
    assert m["tables"] == ROWS
    assert len(m["portfolio_tickers"]) == 556 and m["portfolio_tickers"][-2:] == ["SHY", "TLT"]
    assert set(st.tickers) - set(m["portfolio_tickers"]) == EXTRA_TICKERS
    assert st.size_bytes() <= 15e6


def test_round_trip_on_real_days(real_store, real_episode_dir):
    assert len(ROUND_TRIP_DAYS) >= 20
    stored = load_episodes(real_store, ROUND_TRIP_DAYS)
    for date, ep in zip(ROUND_TRIP_DAYS, stored, strict=True):
        assert ep == read_episode(real_episode_dir / f"episode_{date}.json").drop_reasoning(), date


def test_round_trip_of_every_day(real_store, real_episode_dir):
    assert load_episodes(real_store) == [
        e.drop_reasoning() for e in read_episodes(real_episode_dir, workers=2)
    ]


def test_round_trip_with_reasoning(real_episode_dir, tmp_path):
    files = [real_episode_dir / f"episode_{d}.json" for d in ROUND_TRIP_DAYS[:3]]
    ingest(files, tmp_path / "store", with_reasoning=True, workers=1)
    assert load_episodes(tmp_path / "store") == [read_episode(f) for f in files]


def test_panel_axes_and_chain(real_store):
    p = load_panel(real_store)
    assert p.n_days == 691 and p.n_tickers == 556 + len(EXTRA_TICKERS)
    assert list(p.tickers[-2:]) == ["SHY", "TLT"] and p.is_bond.sum() == 2
    per_day = p.eligible.sum(axis=1)
    assert (per_day.min(), per_day.max()) == (492, 512)
    assert np.array_equal(p.cash_before[1:], p.cash_after[:-1])
    assert p.cash_before[0] == 100000.0 and not p.long_before[0].any()
    assert np.array_equal(np.diff(p.order_ptr), per_day + 2)
    assert np.isfinite(p.open[p.eligible]).all() and (p.close[p.eligible] > 0).all()
    assert np.array_equal(p.risk_base, p.cash_before)  # README §2.2: portfolio_value == cash


def test_strength_matches_the_reference(real_store, real_episode_dir):
    p = load_panel(real_store)
    ki = p.ticker_index()
    for t in (0, 100, 400, 690):
        ep = read_episode(real_episode_dir / f"episode_{p.dates[t]}.json")
        cover = [dict(zip(s.tickers, s.signal, strict=True)) for s in ep.analysts]
        risk = set(ep.risk.tickers)
        for tk in set(ep.risk.tickers) | set(ep.eligible):
            votes = [SIGNALS[c[tk]] for c in cover if tk in c] + ([0] if tk in risk else [])
            assert p.strength[t, ki[tk]] == ref_strength(votes), (t, tk)


def test_replacement_victims_are_weakest(real_store):
    """README §5.4: every recorded victim is no stronger than any position held all day, and every
    newcomer is strictly stronger than its victim (by the Panel's strength)."""
    p = load_panel(real_store)
    n = 0
    for t in range(p.n_days):
        r = slice(p.repl_ptr[t], p.repl_ptr[t + 1])
        held = (p.long_before[t] > 0) | (p.short_before[t] > 0)
        same = (p.long_before[t] == p.long_after[t]) & (p.short_before[t] == p.short_after[t])
        stable = held & same & ~p.is_bond
        victims, newcomers = p.repl_victim_k[r], p.repl_new_k[r]
        if stable.any():
            assert (p.strength[t, victims] <= p.strength[t, stable].min()).all(), t
        assert (p.strength[t, newcomers] > p.strength[t, victims]).all(), t
        n += len(victims)
    assert n == ROWS["replacements"]


@pytest.mark.slow
def test_incremental_and_tar_ingest_equal_the_fresh_store(real_store, real_episode_dir, tmp_path):
    from tests.conftest import EPISODES_TAR

    files = sorted(real_episode_dir.glob("episode_*.json"))
    ingest(files[:100], tmp_path / "inc")
    rep = ingest(real_episode_dir, tmp_path / "inc")
    assert (rep.n_new, rep.n_unchanged) == (591, 100)
    fresh = {f.name: f.read_bytes() for f in real_store.iterdir()}
    assert {f.name: f.read_bytes() for f in (tmp_path / "inc").iterdir()} == fresh
    ingest(EPISODES_TAR, tmp_path / "tar")
    assert {f.name: f.read_bytes() for f in (tmp_path / "tar").iterdir()} == fresh
