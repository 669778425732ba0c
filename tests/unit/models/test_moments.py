"""Chunked training fits (``models.moments``): the one-shot bytes, a chunk of rows at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from models import moments
from models.families.ridge import ridge_fit, ridge_fit_rows
from models.features import Scaler
from models.mapped import take
from models.moments import CHUNK_ROWS, column_moments, normal_equations, spans
from models.pretrain import pretrain
from simulator.config import load_config
from tests.registry_files import TINY as REG_TINY
from tests.registry_files import registry_files, tiny_store


def _data(seed: int, n: int, f: int) -> np.ndarray:
    """float32 rows of very different scales and signs (sums that round differently by order)."""
    rng = np.random.default_rng(seed)
    scale = np.exp(rng.normal(scale=3.0, size=(n, f)))
    return (rng.normal(size=(n, f)) * scale + rng.normal(size=f) * 100).astype(np.float32)


def _reader(x: np.ndarray, asked: list | None = None):
    def read(lo: int, hi: int) -> np.ndarray:
        if asked is not None:
            asked.append((lo, hi))
        return x[lo:hi]

    return read


def _one_shot(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.asarray(x, dtype=np.float64)  # what Scaler.fit / ridge_fit computed before chunks
    return rows.mean(axis=0), rows.std(axis=0)


def _ridge_reference(x: np.ndarray, y: np.ndarray, alpha: float):
    """ridge_fit as it was before chunking (the formula the pins were written with)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    z = (x - mean) / std
    intercept = float(y.mean())
    coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - intercept))
    return mean, std, coef, np.float64(intercept)


def test_spans_cover_every_row_once_the_last_partial():
    assert spans(0, 4) == []
    assert spans(8, 4) == [(0, 4), (4, 8)]
    assert spans(9, 4) == [(0, 4), (4, 8), (8, 9)]
    assert spans(3) == [(0, 3)] and CHUNK_ROWS == 2**16  # fixed: not the memory budget


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    f=st.integers(2, 7),
    chunk=st.integers(1, 450),
)
def test_chunked_moments_are_the_one_shot_bytes(seed, n, f, chunk):
    x = _data(seed, n, f)
    asked: list = []
    mean, std = column_moments(_reader(x, asked), n, chunk)
    ref_mean, ref_std = _one_shot(x)
    assert mean.tobytes() == ref_mean.tobytes() and std.tobytes() == ref_std.tobytes()
    assert max(hi - lo for lo, hi in asked) <= chunk  # never more than a chunk at once


@settings(max_examples=40, deadline=None)
@given(
    x=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 60), st.integers(2, 5)),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    ),
    chunk=st.integers(1, 61),
)
def test_chunked_moments_of_any_finite_floats_are_the_one_shot_bytes(x, chunk):
    # zeros of both signs, constant columns, float32 extremes (squares stay finite in float64)
    mean, std = column_moments(_reader(x), len(x), chunk)
    ref_mean, ref_std = _one_shot(x)
    assert mean.tobytes() == ref_mean.tobytes() and std.tobytes() == ref_std.tobytes()


@pytest.mark.parametrize(("chunk", "f"), [(1, 50), (3, 50), (1000, 50), (4096, 50), (2**16, 50),
                                          (999, 2), (4096, 3)])  # fmt: skip
def test_chunked_moments_of_many_rows_are_the_one_shot_bytes(chunk, f):
    x = _data(7, 70_001, f)  # more rows than one CHUNK_ROWS chunk, an odd tail
    mean, std = column_moments(_reader(x), len(x), chunk)
    ref_mean, ref_std = _one_shot(x)
    assert mean.tobytes() == ref_mean.tobytes() and std.tobytes() == ref_std.tobytes()


def test_one_column_is_exact_up_to_a_chunk_and_deterministic_above():
    x = _data(3, 5000, 1)  # numpy sums one column pairwise: one chunk is its own code
    assert column_moments(_reader(x), 5000, 5000)[1].tobytes() == _one_shot(x)[1].tobytes()
    a, b = (column_moments(_reader(x), 5000, 77) for _ in range(2))
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    np.testing.assert_allclose(a[1], _one_shot(x)[1], rtol=1e-12)


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match=r"column_moments: no rows \(n=0"):
        column_moments(_reader(np.zeros((0, 3))), 0)
    with pytest.raises(ValueError, match=r"normal_equations: no rows \(n=0"):
        normal_equations(_reader(np.zeros((0, 3))), 0, np.zeros(0), np.zeros(3), np.ones(3))


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_scaler_fit_points_is_fit_on_the_gathered_rows(monkeypatch, chunk):
    x = _data(11, 30 * 9, 6).reshape(30, 9, 6)
    rng = np.random.default_rng(chunk)
    t, k = rng.integers(0, 30, 200), rng.integers(0, 9, 200)
    ref = Scaler(tuple("abcdef")).fit(take(x, t, k))
    monkeypatch.setattr(moments, "CHUNK_ROWS", chunk)
    got = Scaler(tuple("abcdef")).fit_points(x, t, k)
    assert got.to_dict() == ref.to_dict()
    assert got.mean_.tobytes() == ref.mean_.tobytes() and got.std_.tobytes() == ref.std_.tobytes()


def test_ridge_up_to_a_chunk_is_the_unchunked_formula_byte_for_byte():
    x, rng = _data(5, 300, 8), np.random.default_rng(5)
    y = rng.normal(size=300)
    for alpha in (0.0, 1.0, 1e3):
        got, ref = ridge_fit(x, y, alpha), _ridge_reference(x, y, alpha)
        assert [a.tobytes() for a in got] == [np.asarray(r).tobytes() for r in ref]


@pytest.mark.parametrize("chunk", [1, 7, 64, 299])
def test_chunked_ridge_is_deterministic_and_equals_the_one_shot_fit(monkeypatch, chunk):
    x, rng = _data(6, 300, 8), np.random.default_rng(6)
    y = x.astype(np.float64) @ rng.normal(size=8) + rng.normal(size=300)
    ref = _ridge_reference(x, y, 1.0)
    monkeypatch.setattr(moments, "CHUNK_ROWS", chunk)
    asked: list = []
    a = ridge_fit_rows(_reader(x, asked), 300, y, 1.0)
    b = ridge_fit_rows(_reader(x), 300, y, 1.0)
    assert [v.tobytes() for v in a] == [v.tobytes() for v in b]  # fixed chunks: same bytes
    assert a[0].tobytes() == ref[0].tobytes() and a[1].tobytes() == ref[1].tobytes()  # exact
    np.testing.assert_allclose(a[2], ref[2], rtol=1e-9, atol=1e-12)  # Z'Z: sums of chunks
    assert float(a[3]) == float(ref[3])
    assert max(hi - lo for lo, hi in asked) <= chunk


# --- whole windows: a tiny spilled store, the registry with chunks of a few rows ---------------

TINY = REG_TINY | {"features.memory_mb": 1}  # spilled: x is a memmap, read via models.mapped


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tiny_store(tmp_path_factory, "chunks")


_files = registry_files


def test_lstm_registry_is_the_same_bytes_for_any_chunk_size(store, tmp_path, monkeypatch):
    torch.set_num_threads(1)
    cfg = load_config(overrides={**TINY, "model.family": "lstm"}).pretrain_config()
    one = pretrain(store, tmp_path / "one", cfg)  # a window's few hundred points: one chunk
    assert 300 < max(e.metrics["n_train"] for e in one.entries) < CHUNK_ROWS
    monkeypatch.setattr(moments, "CHUNK_ROWS", 37)  # the scaler now sums 37 rows at a time
    pretrain(store, tmp_path / "chunked", cfg)
    assert _files(tmp_path / "one") == _files(tmp_path / "chunked")


def test_ridge_family_reads_a_chunk_at_a_time_deterministically(store, tmp_path, monkeypatch):
    from models.families import tabular

    cfg = load_config(overrides={**TINY, "model.family": "ridge"}).pretrain_config()
    one = pretrain(store, tmp_path / "one", cfg)
    monkeypatch.setattr(moments, "CHUNK_ROWS", 37)
    asked: list[int] = []
    real = tabular.rows

    def spy(fs, t, k, lags):
        asked.append(len(t))
        return real(fs, t, k, lags)

    monkeypatch.setattr(tabular, "rows", spy)
    a = pretrain(store, tmp_path / "a", cfg)
    assert asked and max(asked) <= 37  # never the window's whole design matrix
    pretrain(store, tmp_path / "b", cfg)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")  # fixed chunks: the same bytes
    for e1, ea in zip(one.entries, a.entries, strict=True):
        np.testing.assert_allclose(ea.metrics["val_mse"], e1.metrics["val_mse"], rtol=1e-9)
