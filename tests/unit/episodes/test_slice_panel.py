"""slice_panel: the Panel of a day range equals the Panel of a store ingested from those days."""

import shutil

import numpy as np
import pytest

from episodes.config import SynthConfig
from episodes.panel import slice_panel
from episodes.store import ingest, load_panel
from episodes.synth import write_episodes

CFG = SynthConfig(days=30, tickers=10, new_listings=0.25, delistings=0.25)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("slice")
    write_episodes(root / "eps", CFG, 3)
    ingest(root / "eps", root / "full")
    files = sorted(p for p in (root / "eps").iterdir() if p.suffix == ".json")
    (root / "part").mkdir()
    for p in files[11:23]:  # days 11..22: a first day whose before-state is a carried book
        shutil.copy(p, root / "part" / p.name)
    ingest(root / "part", root / "sub")
    return load_panel(root / "full"), load_panel(root / "sub")


def test_slice_equals_the_panel_of_the_days_alone(stores):
    full, sub = stores
    got = slice_panel(full, range(11, 23))
    assert got.n_days == sub.n_days == 12
    np.testing.assert_array_equal(got.dates, sub.dates)
    cols = np.searchsorted(full.tickers.astype(str), sub.tickers.astype(str))
    assert list(full.tickers[cols]) == list(sub.tickers)
    remap = np.full(full.n_tickers, -1)
    remap[cols] = np.arange(sub.n_tickers)
    for name, v in vars(sub).items():
        g = getattr(got, name)
        if name in ("tickers", "is_bond"):
            continue
        if name in ("order_idx", "trade_k", "repl_new_k", "repl_victim_k"):
            np.testing.assert_array_equal(remap[g], v, err_msg=name)
        elif name.endswith("_before0"):
            np.testing.assert_array_equal(g[cols], v, err_msg=name)
            assert not np.any(np.delete(g, cols)), name  # no position outside the sub universe
        elif v.ndim >= 2:
            np.testing.assert_array_equal(g[..., cols], v, err_msg=name)
        else:
            np.testing.assert_array_equal(g, v, err_msg=name)


def test_whole_range_is_the_panel_and_bad_ranges_raise(stores):
    full, _ = stores
    same = slice_panel(full, range(full.n_days))
    for name, v in vars(full).items():
        np.testing.assert_array_equal(getattr(same, name), v, err_msg=name)
    for bad in (range(-1, 3), range(0, full.n_days + 1), range(0, 10, 2)):
        with pytest.raises(ValueError, match="slice_panel"):
            slice_panel(full, bad)
