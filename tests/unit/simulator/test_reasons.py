"""Reason codes: one declaration (records.REASONS), and everything the kernels emit is declared."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.books import Books
from simulator.kernels import records
from simulator.kernels.records import R_DECISION, R_SYNC, REASON_NAMES, REASONS, Orders

ROOT = Path(__file__).resolve().parents[3]


def test_codes_and_names_are_unique_and_index_the_names():
    codes = [r.code for r in REASONS]
    names = [r.name for r in REASONS]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    assert sorted(codes) == list(range(len(REASONS)))  # exports take REASON_NAMES[code]
    assert all(REASON_NAMES[r.code] == r.name for r in REASONS)
    assert max(codes) <= np.iinfo(np.int8).max  # fill_dt.reason is int8
    assert all(r.description for r in REASONS)


def test_every_r_constant_is_its_declared_code():
    consts = {n: v for n, v in vars(records).items() if n.startswith("R_")}
    expected = {"R_" + r.name.upper().replace("-", "_"): r.code for r in REASONS}
    assert consts == expected


def _fuzz_reasons(seed: int, n_books: int = 40, n_days: int = 15) -> set[int]:
    """Every reason code the kernels write over random streams that reach every rule."""
    rng = np.random.default_rng(seed)
    K = 8
    is_bond = np.arange(K) >= 6
    seen: set[int] = set()
    for _ in range(n_books):
        cash, margin_rate = float(rng.uniform(-100, 3000)), float(rng.choice([0.0, 0.5]))
        cap = int(rng.integers(1, 4))
        b = Books(K, is_bond, cash, fee_rate=5e-4, margin_rate=margin_rate, max_positions=cap)
        for t in range(n_days):
            n = int(rng.integers(1, 9))
            k, act, vic = (rng.integers(lo, hi, n) for lo, hi in ((0, K), (0, 5), (-1, K)))
            why = rng.choice([R_DECISION, R_SYNC], n).astype(np.int8)
            qty = rng.integers(-2, 60, n)
            o = Orders(k.astype(np.int32), act.astype(np.int8), qty, why, vic.astype(np.int32))
            price = rng.uniform(5, 100, K)
            price[rng.random(K) < 0.1] = np.nan
            price[rng.random(K) < 0.05] = 0.0
            fills = b.execute(t, o, price, rng.integers(0, 4, K).astype(float))
            seen |= set(fills["reason"].tolist())
    return seen


def test_every_code_a_kernel_emits_is_declared_and_every_declared_code_is_emitted():
    seen = _fuzz_reasons(0)
    assert seen <= {r.code for r in REASONS}
    assert seen == {r.code for r in REASONS}  # the fuzz reaches every rule, so the first is tested


def test_readme_reason_table_is_the_declared_one():
    assert records.reasons_markdown() in (ROOT / "README.md").read_text()
