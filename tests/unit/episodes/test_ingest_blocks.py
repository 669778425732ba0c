"""Ingest streamed by blocks of days writes the bytes of a one-shot ingest, whatever the block
size, for fresh stores, appends, interleaved merges and replaced days; errors write nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from episodes.config import SynthConfig
from episodes.reader import FILE_RE
from episodes.store import ingest, load_episodes, open_store
from episodes.synth import write_episodes
from episodes.validate import validate_episodes
from simulator.core.errors import EpisodeError
from tests.episode_factory import episode_json, write_day
from tests.ingest_reference import reference_store, store_bytes

CFG = SynthConfig(days=20, tickers=6, new_listings=0.25, delistings=0.25)
EXTRA = "A0"  # sorts before every synthetic ticker: it shifts every ticker index of the store
WIDE_DAYS = 3  # the last days name EXTRA (eligible and priced, never held)


def _widen(path: Path) -> None:
    """Add ``EXTRA`` to a day's eligible tickers and prices (a valid day with one more ticker)."""
    d = json.loads(path.read_text(encoding="utf-8"))
    d["metadata"]["eligible_tickers"].append(EXTRA)
    md = d["market_data"]
    for side in ("execution_prices", "evaluation_prices"):
        px = md[side]
        stocks = [(k, v) for k, v in px.items() if k not in ("SHY", "TLT")]
        md[side] = dict(stocks + [(EXTRA, 10.0)] + [(b, px[b]) for b in ("SHY", "TLT")])
    path.write_text(json.dumps(d, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """20 synthetic days; the last ``WIDE_DAYS`` name one more ticker than the others."""
    root = tmp_path_factory.mktemp("ingest_blocks")
    write_episodes(root / "plain", CFG, 3)
    shutil.copytree(root / "plain", root / "wide")
    for p in sorted((root / "wide").glob("episode_*.json"))[-WIDE_DAYS:]:
        _widen(p)
    return root


@pytest.fixture(scope="module")
def reference(src) -> Path:
    return reference_store(src / "wide", src / "reference")


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("episode_*.json"))


@pytest.mark.parametrize("block", [1, 2, 7, 10_000])
def test_fresh_store_bytes_do_not_depend_on_the_block(src, reference, tmp_path, block):
    assert open_store(reference).tickers[0] == EXTRA  # the last block moves every index
    ingest(src / "wide", tmp_path / "store", block=block)
    assert store_bytes(tmp_path / "store") == store_bytes(reference)


def test_with_reasoning_in_blocks(src, tmp_path):
    ref = reference_store(src / "wide", tmp_path / "ref", with_reasoning=True)
    ingest(src / "wide", tmp_path / "store", with_reasoning=True, block=3)
    assert store_bytes(tmp_path / "store") == store_bytes(ref)


@pytest.mark.parametrize(("first", "block"), [(9, 4), (1, 2), (19, 7)])
def test_append_in_blocks_equals_one_shot(src, reference, tmp_path, first, block):
    ingest(_files(src / "wide")[:first], tmp_path / "store", block=3)
    rep = ingest(src / "wide", tmp_path / "store", block=block)
    assert (rep.n_new, rep.n_unchanged, rep.n_days) == (20 - first, first, 20)
    assert store_bytes(tmp_path / "store") == store_bytes(reference)


@pytest.mark.parametrize("block", [1, 3])
def test_replacing_the_only_days_of_a_ticker_drops_it(src, tmp_path, block):
    """The wide store's last days are replaced by the plain ones: ``EXTRA`` leaves the store."""
    ref = reference_store(src / "plain", tmp_path / "ref")
    ingest(src / "wide", tmp_path / "store", block=2)
    rep = ingest(src / "plain", tmp_path / "store", replace=True, block=block)
    assert (rep.n_replaced, rep.n_unchanged) == (WIDE_DAYS, 20 - WIDE_DAYS)
    assert store_bytes(tmp_path / "store") == store_bytes(ref)


# --- interleaved merges: all-hold days chain across any gap ------------------------------------

DAYS = [f"2022-05-{d:02d}" for d in range(2, 14)]  # 12 days


def _holds(folder: Path, dates, **kw) -> Path:
    for d in dates:
        write_day(folder, episode_json(d, **kw))
    return folder


@pytest.mark.parametrize("block", [1, 2, 5])
def test_interleaved_merge_equals_one_shot(tmp_path, block):
    ref = reference_store(_holds(tmp_path / "all", DAYS), tmp_path / "ref")
    ingest(_holds(tmp_path / "a", DAYS[2:4] + DAYS[7:9]), tmp_path / "store", block=block)
    rest = DAYS[:2] + DAYS[4:7] + DAYS[9:]
    rep = ingest(_holds(tmp_path / "b", rest), tmp_path / "store", block=block)
    assert (rep.n_new, rep.n_days) == (8, 12)
    assert store_bytes(tmp_path / "store") == store_bytes(ref)


@pytest.mark.parametrize(("where", "n_problems"), [(0, 1), (4, 2), (10, 1)])
def test_a_new_day_must_chain_with_its_stored_neighbours(tmp_path, where, n_problems):
    """Before, between and after the stored days: each side that touches a stored day is checked."""
    ingest(_holds(tmp_path / "a", DAYS[2:4] + DAYS[7:9]), tmp_path / "store", block=2)
    before = store_bytes(tmp_path / "store")
    _holds(tmp_path / "b", [DAYS[where]], cash=5.0)  # the stored days hold cash 1000
    with pytest.raises(EpisodeError, match=r"portfolio_before\.cash: breaks the chain") as exc:
        ingest(tmp_path / "b", tmp_path / "store", block=2)
    assert len(exc.value.problems) == n_problems
    assert store_bytes(tmp_path / "store") == before


# --- errors: every problem reported, nothing written, no temp dir left --------------------------


@pytest.mark.parametrize("block", [1, 4, 100])
def test_a_bad_last_day_writes_nothing(src, tmp_path, block):
    bad = tmp_path / "bad"
    shutil.copytree(src / "plain", bad)
    last = _files(bad)[-1]
    d = json.loads(last.read_text(encoding="utf-8"))
    tk = next(iter(d["market_data"]["execution_prices"]))
    d["market_data"]["execution_prices"][tk] = -1.0
    last.write_text(json.dumps(d), encoding="utf-8")
    date = FILE_RE.fullmatch(last.name).group(1)
    with pytest.raises(EpisodeError, match=rf"{date}: market_data\.execution_prices\.{tk}") as exc:
        ingest(bad, tmp_path / "store", block=block)
    assert list(map(str, exc.value.problems)) == list(map(str, validate_episodes(bad).problems))
    assert not (tmp_path / "store").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".store")] == [".store.lock"]


def test_load_episodes_of_some_dates_equals_the_whole_store(reference):
    whole = load_episodes(reference)
    dates = [whole[5].date, whole[2].date, whole[17].date]
    assert load_episodes(reference, dates) == [whole[5], whole[2], whole[17]]
    assert load_episodes(reference, []) == []
