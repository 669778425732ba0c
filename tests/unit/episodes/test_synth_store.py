"""The synth's direct store writer equals synth JSON + ingest, table by table; delistings."""

import json

import numpy as np
import pandas as pd
import pytest

from episodes.benchmarks import BENCH_DIR
from episodes.config import SynthConfig
from episodes.reader import read_episodes
from episodes.store import MANIFEST, ingest, load_panel, open_store
from episodes.synth import write_episodes
from episodes.synth_market import generate_market
from episodes.synth_store import write_synth_store
from episodes.tables import TABLES
from simulator.core.errors import StoreError

CFG = SynthConfig(days=40, tickers=12, new_listings=0.25, delistings=0.25)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_store")
    write_episodes(root / "eps", CFG, 5)
    ingest(root / "eps", root / "ingested")
    write_synth_store(root / "direct", CFG, 5, block=7)  # blocks straddle the chain
    return root


def test_direct_store_equals_synth_json_plus_ingest_table_by_table(both):
    a, b = open_store(both / "ingested"), open_store(both / "direct")
    assert a.manifest == b.manifest
    for name in TABLES:
        pd.testing.assert_frame_equal(
            a.read_table(name).to_pandas(), b.read_table(name).to_pandas()
        )
    bench = sorted(p.name for p in (both / "direct" / BENCH_DIR).iterdir())
    assert bench and all(
        (both / "direct" / BENCH_DIR / n).read_bytes()
        == (both / "eps" / BENCH_DIR / n).read_bytes()
        for n in bench
    )


def test_direct_store_refuses_a_non_empty_path(both):
    with pytest.raises(StoreError, match="exists and is not empty"):
        write_synth_store(both / "direct", CFG, 5)
    manifest = json.loads((both / "direct" / MANIFEST).read_text())
    assert manifest["n_days"] == CFG.days


def test_delisted_stocks_are_closed_out_and_leave_the_prices(both):
    mkt = generate_market(CFG, 5)
    out = np.flatnonzero(mkt.delisted < CFG.days)
    assert 1 <= len(out) <= 3  # round(0.25 * 12), less those listed too late to last 20 days
    panel = load_panel(both / "direct")
    eps = read_episodes(both / "eps")
    for k in out:
        x, day = mkt.tickers[k], int(mkt.delisted[k])
        assert day >= CFG.days // 2
        after = [e for e in eps[day:] if x in e.prices.tickers]
        # at most the delisting day itself (to close a held position); then never again
        assert all(e.date == eps[day].date for e in after)
        pos = eps[-1].after
        i = pos.tickers.index(x)
        assert pos.long[i] == 0 and pos.short[i] == 0
        assert np.isnan(panel.close[day + 1 :, list(panel.tickers).index(x)]).all()


def test_delistings_default_leaves_the_market_unchanged():
    base = generate_market(SynthConfig(days=30, tickers=8), 1)
    with_field = generate_market(SynthConfig(days=30, tickers=8, delistings=0.0), 1)
    assert (base.delisted == 30).all()
    assert np.array_equal(base.eligible, with_field.eligible)


def test_delistings_out_of_range_is_refused():
    with pytest.raises(ValueError, match="delistings=1.5"):
        SynthConfig(delistings=1.5)


def test_a_held_stock_is_closed_on_its_delisting_day_and_never_priced_again():
    from episodes.synth import DELISTED, generate_episodes

    cfg = SynthConfig(days=60, tickers=20, delistings=0.5, signal_ic=0.2)
    mkt = generate_market(cfg, 0)
    eps = list(generate_episodes(cfg, 0))
    closed = [
        (t, x)
        for t, e in enumerate(eps)
        for x, d in e["llm_decisions"].items()
        if d["reasoning"] == DELISTED
    ]
    assert closed  # this seed holds delisted stocks
    for t, x in closed:
        assert t == mkt.delisted[mkt.tickers.index(x)]
        assert eps[t]["metadata"]["executed_trades"][x] != 0
        assert all(x not in e["market_data"]["execution_prices"] for e in eps[t + 1 :])
    for k in np.flatnonzero(mkt.delisted < cfg.days):  # held or not: gone after the day
        x = mkt.tickers[k]
        gone = eps[int(mkt.delisted[k]) + 1 :]
        assert all(x not in e["market_data"]["execution_prices"] for e in gone), x


def _cvar_whole(close):
    """The risk manager's CVaR factor over all days at once (the formula before day blocks)."""
    from episodes.synth_market import CVAR_DAYS

    ret = close[1:] / close[:-1] - 1.0
    win = np.lib.stride_tricks.sliding_window_view(ret, CVAR_DAYS, axis=0)
    n_tail = int(np.ceil(0.05 * CVAR_DAYS))
    cvar = np.partition(win, n_tail - 1, axis=2)[:, :, :n_tail].mean(axis=2)
    factor = 1.0 - 0.1 * np.minimum(np.abs(cvar) / 0.15, 1.0)
    return np.vstack([np.ones((CVAR_DAYS, close.shape[1])), factor])


@pytest.mark.parametrize("cells", [1, 7, 64, 1 << 16])
def test_cvar_factor_in_day_blocks_equals_the_whole_array(monkeypatch, cells):
    from episodes import synth_market

    rng = np.random.default_rng(3)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.03, (150, 9)), axis=0))
    close[rng.random(close.shape) < 0.02] = np.nan  # gaps: NaN windows stay NaN
    monkeypatch.setattr(synth_market, "_BLOCK_CELLS", cells)
    got = synth_market._cvar_factor(close)
    assert got.shape == (150, 9) and got.tobytes() == _cvar_whole(close).tobytes()


def test_direct_store_bytes_do_not_depend_on_the_block(both, tmp_path):
    write_synth_store(tmp_path / "one", CFG, 5, block=1)
    write_synth_store(tmp_path / "auto", CFG, 5)  # block_days(12) = 64 > 40 days: one block
    for name in [*(f"{t}.parquet" for t in TABLES), MANIFEST]:
        ref = (both / "direct" / name).read_bytes()
        assert (tmp_path / "one" / name).read_bytes() == ref, name
        assert (tmp_path / "auto" / name).read_bytes() == ref, name
