"""Store: round trip, incremental append, changed days, refusal, atomicity, determinism, Panel."""

from __future__ import annotations

import json

import numpy as np
import pytest

import episodes.store as store_mod
from episodes.schema import NAN
from episodes.store import ingest, load_episode, load_episodes, load_panel, open_store
from episodes.table_io import TableWriters
from episodes.tables import TABLES
from simulator.core.errors import EpisodeError, StoreError
from tests.episode_factory import DATES, episode, episode_json, write_day, write_days


def _snapshot(path):
    return {f.name: f.read_bytes() for f in sorted(path.iterdir())}


def test_round_trip_equals_the_json_episodes(tmp_path):
    write_days(tmp_path / "src", DATES)
    rep = ingest(tmp_path / "src", tmp_path / "store", workers=1)
    assert (rep.n_days, rep.n_new) == (4, 4)
    eps = load_episodes(tmp_path / "store")
    assert eps == [episode(d).drop_reasoning() for d in DATES]
    assert eps[0].analysts[3].confidence[1] is NAN


def test_with_reasoning_keeps_decision_reasoning(tmp_path):
    write_days(tmp_path / "src", DATES[:2])
    ingest(tmp_path / "src", tmp_path / "store", with_reasoning=True, workers=1)
    assert load_episode(tmp_path / "store", DATES[1]) == episode(DATES[1])
    with pytest.raises(StoreError, match="another --with-reasoning"):
        ingest(tmp_path / "src", tmp_path / "store", workers=1)


def test_manifest_and_tables(tmp_path):
    write_days(tmp_path / "src", DATES)
    ingest(tmp_path / "src", tmp_path / "store", workers=1)
    m = open_store(tmp_path / "store").manifest
    assert m["dates"] == list(DATES) and m["tickers"] == ["AAA", "BBB", "CCC", "SHY", "TLT"]
    assert set(m["tables"]) == set(TABLES) and m["tables"]["prices"] == 4 * 5
    assert sorted(f.name for f in (tmp_path / "store").iterdir()) == sorted(
        [f"{t}.parquet" for t in TABLES] + ["manifest.json"]
    )


def test_incremental_superset_appends_only_new_days(tmp_path):
    src = tmp_path / "src"
    write_days(src, DATES[:2])
    ingest(src, tmp_path / "inc", workers=1)
    write_days(src, DATES)
    rep = ingest(src, tmp_path / "inc", workers=1)
    assert (rep.n_days, rep.n_new, rep.n_unchanged) == (4, 2, 2)
    ingest(src, tmp_path / "fresh", workers=1)
    assert _snapshot(tmp_path / "inc") == _snapshot(
        tmp_path / "fresh"
    )  # same bytes as a fresh build


def test_rerun_without_new_days_writes_nothing(tmp_path):
    write_days(tmp_path / "src", DATES)
    ingest(tmp_path / "src", tmp_path / "store", workers=1)
    before = _snapshot(tmp_path / "store")
    rep = ingest(tmp_path / "src", tmp_path / "store", workers=1)
    assert (rep.n_new, rep.n_unchanged) == (0, 4)
    assert _snapshot(tmp_path / "store") == before


def test_ingest_is_deterministic(tmp_path):
    write_days(tmp_path / "src", DATES)
    ingest(tmp_path / "src", tmp_path / "a", workers=1)
    ingest(tmp_path / "src", tmp_path / "b", workers=2)
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")


def test_changed_day_needs_replace(tmp_path):
    src = tmp_path / "src"
    write_days(src, DATES)
    ingest(src, tmp_path / "store", workers=1)
    before = _snapshot(tmp_path / "store")
    d = episode_json(DATES[3])
    d["portfolio_return"] = 0.001
    write_day(src, d)
    with pytest.raises(StoreError, match=rf"{DATES[3]}: day content differs from the store"):
        ingest(src, tmp_path / "store", workers=1)
    assert _snapshot(tmp_path / "store") == before
    rep = ingest(src, tmp_path / "store", replace=True, workers=1)
    assert (rep.n_replaced, rep.n_unchanged) == (1, 3)
    assert load_episode(tmp_path / "store", DATES[3]).portfolio_return == 0.001


def test_invalid_source_writes_nothing(tmp_path):
    src = tmp_path / "src"
    write_days(src, DATES)
    bad = episode_json(DATES[2])
    bad["market_data"]["execution_prices"]["AAA"] = 0.0
    write_day(src, bad)
    with pytest.raises(
        EpisodeError, match=r"execution_prices\.AAA: price is not finite > 0"
    ) as exc:
        ingest(src, tmp_path / "store", workers=1)
    assert len(exc.value.problems) == 1
    assert not (tmp_path / "store").exists()


def test_new_day_must_chain_with_the_stored_days(tmp_path):
    src = tmp_path / "src"
    write_days(src, DATES[:2])
    ingest(src, tmp_path / "store", workers=1)
    before = _snapshot(tmp_path / "store")
    write_day(tmp_path / "more", episode_json(DATES[2], cash=5.0))
    with pytest.raises(EpisodeError, match=r"portfolio_before\.cash: breaks the chain"):
        ingest(tmp_path / "more", tmp_path / "store", workers=1)
    assert _snapshot(tmp_path / "store") == before


def test_failure_mid_ingest_leaves_the_old_store_intact(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_days(src, DATES[:2])
    ingest(src, tmp_path / "store", workers=1)
    before = _snapshot(tmp_path / "store")
    write_days(src, DATES)
    calls = []

    def failing(self, name, tab):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(self, name, tab)

    real = TableWriters.append
    monkeypatch.setattr(TableWriters, "append", failing)
    with pytest.raises(StoreError, match="disk full"):
        ingest(src, tmp_path / "store", workers=1)
    assert _snapshot(tmp_path / "store") == before
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".store")]
    assert left == [".store.lock"]  # no temp dir left (the lock file stays)


def test_failure_on_a_fresh_store_leaves_no_store(tmp_path, monkeypatch):
    write_days(tmp_path / "src", DATES)
    monkeypatch.setattr(TableWriters, "append", lambda *_a: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(StoreError):
        ingest(tmp_path / "src", tmp_path / "store", workers=1)
    assert not (tmp_path / "store").exists()


def test_refuses_a_directory_that_is_not_a_store(tmp_path):
    write_days(tmp_path / "src", DATES)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(StoreError, match="exists and is not an episode store"):
        ingest(tmp_path / "src", tmp_path / "other", workers=1)
    with pytest.raises(StoreError, match="not an episode store"):
        open_store(tmp_path / "other")


def test_unknown_date_is_a_store_error(tmp_path):
    write_days(tmp_path / "src", DATES[:2])
    ingest(tmp_path / "src", tmp_path / "store", workers=1)
    with pytest.raises(StoreError, match="date not in store"):
        load_episode(tmp_path / "store", "2030-01-01")


def test_panel_fields(tmp_path):
    write_days(tmp_path / "src", DATES)
    ingest(tmp_path / "src", tmp_path / "store", workers=1)
    p = load_panel(tmp_path / "store")
    ki = p.ticker_index()
    assert p.dates.dtype == np.dtype("datetime64[D]") and p.n_days == 4
    assert list(p.tickers) == ["AAA", "BBB", "CCC", "SHY", "TLT"]
    assert p.is_bond.tolist() == [False, False, False, True, True]
    assert [p.tickers[k] for k in p.order(1)] == ["CCC", "AAA", "BBB", "SHY", "TLT"]
    assert p.eligible[0].tolist() == [True, True, True, False, False]
    assert p.open[0, ki["AAA"]] == 10.5 and p.close[0, ki["TLT"]] == 91.0
    assert p.signal[0, 0, ki["CCC"]] == 1 and p.signal[0, 0, ki["BBB"]] == -1
    assert np.isnan(p.confidence[3, 0, ki["AAA"]]) and p.confidence[3, 0, ki["BBB"]] == -5.0
    assert p.on_risk[:, ki["AAA"]].all() and not p.on_risk[:, ki["BBB"]].any()
    assert p.risk_base.tolist() == [1.0] * 4
    # AAA: six neutral votes + the risk manager's neutral vote -> 0; CCC: six bullish -> 1
    assert p.strength[0, ki["AAA"]] == 0.0 and p.strength[0, ki["CCC"]] == 1.0
    assert p.action[0, ki["BBB"]] == 1 and p.quantity[0, ki["BBB"]] == -1
    assert p.has_decision[0].all()
    assert p.long_before[:, ki["AAA"]].tolist() == [2] * 4 and p.lcb_after[2, ki["AAA"]] == 10.0
    assert p.rg_long_before0[ki["AAA"]] == 1.5 and p.rg_long_after[3, ki["AAA"]] == 1.5
    assert p.cash_before.tolist() == [1000.0] * 4 and p.vix.tolist() == [18.5] * 4
    assert p.trade_ptr.tolist() == [0, 5, 10, 15, 20] and p.repl_ptr.tolist() == [0] * 5


def test_manifest_is_plain_json(tmp_path):
    write_days(tmp_path / "src", DATES[:2])
    ingest(tmp_path / "src", tmp_path / "store", workers=1)
    m = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert m["schema_version"] == store_mod.SCHEMA_VERSION and len(m["content_hash"]) == 64


def test_reserialised_file_with_the_same_content_is_unchanged(tmp_path):
    src = tmp_path / "src"
    write_days(src, DATES)
    ingest(src, tmp_path / "store", workers=1)
    before = _snapshot(tmp_path / "store")
    path = src / f"episode_{DATES[2]}.json"
    path.write_text(json.dumps(json.loads(path.read_text()), indent=4))  # other bytes, same day
    rep = ingest(src, tmp_path / "store", workers=1)
    assert (rep.n_new, rep.n_replaced, rep.n_unchanged) == (0, 0, 4)
    assert _snapshot(tmp_path / "store") == before
