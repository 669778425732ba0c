"""Risk analytics of the recorded LLM run (benchmarks CSV, 2022-04-01 .. 2024-12-31), pinned."""

from __future__ import annotations

import empyrical as ep
import pytest

from simulator.results.benchmarks import (
    RECORDED_RUN_FILE,
    SPY_FILE,
    load_mas_runs,
    load_return_csv,
    load_spy,
)
from simulator.results.compare import series_run
from simulator.results.compare_risk import compare_risk
from simulator.results.risk import FACTOR_FILES, load_factors
from tests.conftest import BENCHMARKS

pytestmark = [
    pytest.mark.golden,
    pytest.mark.skipif(not BENCHMARKS.is_dir(), reason=f"benchmarks not found at {BENCHMARKS}"),
]

LABEL = "recorded"


@pytest.fixture(scope="module")
def recorded():
    r = load_return_csv(BENCHMARKS / RECORDED_RUN_FILE)
    factors = {k: load_factors(BENCHMARKS / f) for k, f in FACTOR_FILES.items()}
    spy = load_spy(BENCHMARKS / SPY_FILE)
    rc = compare_risk([series_run(LABEL, r)], r.index, benchmark=spy, factors=factors)
    return r, rc


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("var95", 0.011992836191263),
        ("cvar95", 0.020049228695936),
        ("var99", 0.024035937667799),
        ("cvar99", 0.033828211596872),
        ("beta", 0.3185279226790718),
        ("ff3_alpha_ann", -0.04251792834850007),
        ("ff3_alpha_t", -0.6748200109711266),
        ("ff3_beta_Mkt-RF", 0.39999313237276035),
        ("ff5_alpha_ann", -0.04875282218647587),
        ("ff5_alpha_t", -0.775253029921511),
        ("psr", 0.6182320532170303),
    ],
)
def test_recorded_run_risk(recorded, key, expected):
    assert recorded[1].rows[LABEL][key] == pytest.approx(expected, rel=1e-9)


def test_recorded_run_var_equals_empyrical(recorded):
    r, rc = recorded
    assert rc.rows[LABEL]["var95"] == pytest.approx(-ep.value_at_risk(r, 0.05), abs=1e-14)
    assert rc.rows[LABEL]["cvar99"] == pytest.approx(
        -ep.conditional_value_at_risk(r, 0.01), abs=1e-14
    )


def test_recorded_run_regimes_and_stress(recorded):
    _, rc = recorded
    assert rc.regime_days == {"bull": 313, "bear": 96, "sideways": 280, "unknown": 2}
    stress = rc.stress[LABEL].set_index("window")
    assert stress.loc["2022 bear market", "max_drawdown"] == pytest.approx(-0.2790750795297722)
    assert list(stress.index) == [
        "2022 bear market",
        "2023 March banking stress",
        "Aug 2024 volatility spike",
    ]


def test_dsr_of_the_five_llm_runs():
    mas = load_mas_runs(BENCHMARKS)
    runs = [series_run(k, v, strategy=k) for k, v in mas.items()]
    dates = runs[0].returns.index
    for run in runs[1:]:
        dates = dates.intersection(run.returns.index)
    rc = compare_risk(runs, dates)
    dsr = {k: row["dsr"] for k, row in rc.rows.items()}
    assert dsr["mas-20250731_233942"] == pytest.approx(0.4822529340839868, rel=1e-9)
    assert all(dsr[k] < rc.rows[k]["psr"] for k in dsr)  # deflating by 5 trials lowers it
