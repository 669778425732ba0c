"""holdings_tables by day blocks: the same tables, bit for bit, as the one-shot computation it
replaced (kept below as the reference), at every block size, on random runs with NaN closes,
tickers never held, days without fills and several fills of one ticker on one day."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import simulator.results.holdings as holdings
from simulator.kernels.records import fill_dt
from simulator.runs import Marks, RunOutput


def _reference_shares(run: RunOutput) -> np.ndarray:
    """[n, K] signed shares after each day in one pass, as ``holdings._shares`` computed them."""
    n, n_k = len(run.days), len(run.tickers)
    f = run.fills
    if n == 0 or len(f) == 0:
        return np.zeros((n, n_k), dtype=np.int64)
    row = np.searchsorted(np.asarray(run.days), f["day"])
    last = np.full((n, n_k), -1, dtype=np.int64)
    np.maximum.at(last, (row, f["k"]), np.arange(len(f)))
    np.maximum.accumulate(last, axis=0, out=last)
    out = (f["long_after"] - f["short_after"]).astype(np.int64)[np.maximum(last, 0)]
    out[last < 0] = 0
    return out


def _reference(run: RunOutput, close: np.ndarray) -> dict[str, pa.Table]:
    """holdings_tables as it was: dense [days, held] arrays, one reduction over all of them."""
    shares = _reference_shares(run)
    held = np.flatnonzero((shares != 0).any(axis=0))
    px = np.asarray(close[np.ix_(np.asarray(run.days), held)], dtype=np.float64)
    value = np.where(shares[:, held] != 0, shares[:, held] * np.nan_to_num(px), 0.0)
    names = [str(run.tickers[k]) for k in held]
    dates = pa.array(np.asarray(run.dates, "datetime64[D]"))
    nav = np.asarray(run.marks.nav, dtype=np.float64)
    cash = nav - value.sum(axis=1) if len(held) else nav
    sh = {"date": dates} | {n: shares[:, k] for n, k in zip(names, held, strict=True)}
    val = {"date": dates} | {n: value[:, j] for j, n in enumerate(names)} | {"cash": cash}
    return {"holdings_shares.csv": pa.table(sh), "holdings_value.csv": pa.table(val)}


def _run(seed: int, n_days: int, n_k: int, n_fills: int) -> tuple[RunOutput, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = np.arange(3, 3 + n_days)
    f = np.zeros(n_fills, fill_dt)
    f["day"] = np.sort(rng.choice(days, n_fills))
    f["k"] = rng.integers(0, max(1, n_k - 2), n_fills)  # the last two tickers are never filled
    f["long_after"] = np.where(rng.random(n_fills) < 0.5, rng.integers(0, 900, n_fills), 0)
    f["short_after"] = np.where(f["long_after"] == 0, rng.integers(0, 50, n_fills), 0)
    close = rng.lognormal(3.0, 1.0, (3 + n_days + 2, n_k)) * 1.37
    close[rng.random(close.shape) < 0.05] = np.nan
    nav = rng.normal(1e6, 1e4, n_days)
    z = np.zeros(n_days)
    dates = np.datetime64("2020-01-01") + days
    tickers = np.array([f"T{k}" for k in range(n_k)], dtype=object)
    marks = Marks(nav, z, z, z, z, z, z)
    run = RunOutput("test", days, dates, tickers, f, marks, 1e6, z.astype(int), z.astype(int))
    return run, close


CASES = [(0, 40, 9, 120), (1, 300, 37, 2_000), (2, 7, 5, 0), (3, 1, 4, 3)]


@pytest.mark.parametrize("rows", [1, 5, 256, 10_000])
@pytest.mark.parametrize(("seed", "n_days", "n_k", "n_fills"), CASES)
def test_blocks_give_the_one_shot_tables(monkeypatch, rows, seed, n_days, n_k, n_fills):
    monkeypatch.setattr(holdings, "HOLDINGS_ROWS", rows)
    run, close = _run(seed, n_days, n_k, n_fills)
    got, want = holdings.holdings_tables(run, close), _reference(run, close)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].schema == want[name].schema, name
        for g, w in zip(got[name].columns, want[name].columns, strict=True):
            assert g.to_numpy().tobytes() == w.to_numpy().tobytes(), name


@pytest.mark.parametrize("rows", [1, 3, 256, 10_000])
@pytest.mark.parametrize(("seed", "n_days", "n_k", "n_fills"), CASES)
def test_share_blocks_are_the_one_pass_shares(rows, seed, n_days, n_k, n_fills):
    run, _ = _run(seed, n_days, n_k, n_fills)
    blocks = list(holdings._share_blocks(run, rows))
    assert [b.start for b, _ in blocks] == list(range(0, n_days, rows))
    got = np.concatenate([s for _, s in blocks]) if blocks else np.zeros((0, n_k), np.int64)
    np.testing.assert_array_equal(got, _reference_shares(run))
    assert got.dtype == np.int64


@pytest.mark.parametrize("rows", [1, 7, 256])
@pytest.mark.parametrize(("seed", "n_days", "n_k", "n_fills"), [*CASES, (4, 0, 3, 0)])
def test_streamed_holdings_files_are_the_one_shot_files(
    tmp_path, monkeypatch, rows, seed, n_days, n_k, n_fills
):
    """write_csv of the streamed tables writes the bytes the whole reference tables give."""
    from simulator.results.export import write_csv

    monkeypatch.setattr(holdings, "HOLDINGS_ROWS", rows)
    run, close = _run(seed, n_days, n_k, n_fills)
    streams, want = holdings.holdings_streams(run, close), _reference(run, close)
    assert streams.keys() == want.keys()
    for name, table in want.items():
        got = write_csv(tmp_path / f"got-{name}", streams[name]).read_bytes()
        assert got == write_csv(tmp_path / f"want-{name}", table).read_bytes(), name
        assert streams[name].names == tuple(table.column_names)
