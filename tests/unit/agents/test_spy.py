"""SPY buy-and-hold benchmark series."""

from __future__ import annotations

import numpy as np
import pytest

from agents.spy import load_spy_returns, spy_equity
from simulator.core.errors import WfsimError
from tests.conftest import BENCHMARKS

D = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")


def test_compounds_the_returns_of_the_replayed_dates_only():
    r = np.array([0.10, 0.50, -0.20])
    nav = spy_equity(D[[0, 2]], D, r, 1000.0, fee_rate=0.01)
    np.testing.assert_allclose(nav, [1000 * 0.99 * 1.1, 1000 * 0.99 * 1.1 * 0.8])


def test_a_missing_date_raises():
    with pytest.raises(WfsimError, match="no SPY return.*2024-01-05"):
        spy_equity(np.array(["2024-01-05"], dtype="datetime64[D]"), D, np.zeros(3), 1.0)


def test_loads_the_benchmark_csv(tmp_path):
    p = tmp_path / "spy.csv"
    p.write_text("Date,SPY\n2024-01-03,0.5\n2024-01-02,0.25\n")
    d, r = load_spy_returns(p)
    assert d.tolist() == list(D[:2].tolist()) and r.tolist() == [0.25, 0.5]
    with pytest.raises(WfsimError, match="not found"):
        load_spy_returns(tmp_path / "nope.csv")


@pytest.mark.skipif(not (BENCHMARKS / "spy_returns.csv").exists(), reason="no benchmarks")
def test_real_spy_file_covers_2022_to_2024():
    d, r = load_spy_returns(BENCHMARKS / "spy_returns.csv")
    assert str(d[0]) == "2022-01-04" and str(d[-1]) == "2024-12-31"
    assert np.isfinite(r).all() and np.abs(r).max() < 0.2
