"""train_window: seeding, purge, scaler on training rows only, epoch draws, warm start."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models.train import epoch_draw, split_window, train_window
from models.windows import Window
from tests.unit.models.planted import planted
from tests.unit.models.test_pretrain import tiny


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    return planted(n_days=90, n_tickers=20)


W0 = Window("w000", range(0, 60), range(60, 75))
W1 = Window("w001", range(0, 75), range(75, 90))


def _state(res):
    return {k: v.clone() for k, v in res.bundle.model.state_dict().items()}


def test_same_seed_same_weights_other_seed_other_weights(data):
    cfg = tiny(**{"train.max_epochs": 2})
    a = _state(train_window(W0, data.fs, data.tickers, cfg, seed=3))
    b = _state(train_window(W0, data.fs, data.tickers, cfg, seed=3))
    c = _state(train_window(W0, data.fs, data.tickers, cfg, seed=4))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_training_labels_end_before_the_first_served_day(data):
    split = split_window(W0, data.fs, 0.15)
    le = data.fs.label_end
    assert le[split.train_t].max() < split.val_t.min()
    assert le[split.val_t].max() < W0.serve.start
    assert split.train_t.max() < split.val_t.min()


def test_scaler_sees_only_training_rows(data):
    cfg = tiny(**{"train.max_epochs": 1})
    res = train_window(W0, data.fs, data.tickers, cfg, seed=1)
    split = res.split
    rows = data.fs.x[split.train_t, split.train_k].astype(np.float64)
    np.testing.assert_allclose(res.bundle.scaler.mean_, rows.mean(axis=0))
    # changing validation and serve days leaves the scaler unchanged
    x = data.fs.x.copy()
    x[split.val_t.min() :] += 100.0
    moved = dataclasses.replace(data.fs, x=x)
    res2 = train_window(W0, moved, data.tickers, cfg, seed=1)
    np.testing.assert_array_equal(res2.bundle.scaler.mean_, res.bundle.scaler.mean_)


def test_vocab_is_the_training_tickers(data):
    res = train_window(W0, data.fs, data.tickers, tiny(**{"train.max_epochs": 1}), seed=1)
    seen = sorted({data.tickers[k] for k in res.split.train_k})
    assert res.bundle.vocab == ("<unseen>", *seen)


@pytest.mark.parametrize(
    ("n", "budget", "recent", "expect_n"),
    [(50, 0, 5, 50), (50, 80, 5, 50), (200, 64, 3, 64)],
)
def test_epoch_draw_sizes(n, budget, recent, expect_n):
    t = np.sort(np.random.default_rng(0).integers(0, 40, n))
    idx = epoch_draw(np.random.default_rng(1), t, budget, recent)
    assert len(idx) == expect_n == len(set(idx.tolist()))


def test_epoch_draw_always_holds_the_recent_days_and_is_seeded():
    t = np.repeat(np.arange(40), 10)  # 400 samples, 10 per day
    idx = epoch_draw(np.random.default_rng(1), t, 100, 3)
    assert set(np.flatnonzero(t >= 37)) <= set(idx.tolist())
    again = epoch_draw(np.random.default_rng(1), t, 100, 3)
    np.testing.assert_array_equal(idx, again)


def test_epoch_draw_samples_the_recent_days_when_they_exceed_the_budget():
    """Universe-wide training: 5 recent days x 10 samples > a budget of 20. Each epoch draws a
    seeded random 20 of the 50 recent samples (the older days' share, budget - recent, is 0);
    over epochs every recent sample is visited, not always the same first 20."""
    t = np.repeat(np.arange(30), 10)
    recent = set(np.flatnonzero(t >= 25).tolist())
    rng = np.random.default_rng(3)
    draws = [epoch_draw(rng, t, 20, 5) for _ in range(12)]
    for idx in draws:
        assert len(idx) == 20 == len(set(idx.tolist())) and set(idx.tolist()) <= recent
    assert len({tuple(sorted(d.tolist())) for d in draws}) > 1
    assert set(np.concatenate(draws).tolist()) == recent
    again = np.random.default_rng(3)
    np.testing.assert_array_equal(draws[0], epoch_draw(again, t, 20, 5))


def test_warm_start_fine_tunes_from_the_previous_window(data):
    cfg = tiny(**{"train.max_epochs": 3, "train.warm_epochs": 1})
    first = train_window(W0, data.fs, data.tickers, cfg, seed=1)
    warm = train_window(W1, data.fs, data.tickers, cfg, seed=2, init=first.bundle.to_checkpoint())
    assert warm.warm and warm.epochs == 1
    cold_cfg = tiny(**{"train.max_epochs": 3, "train.warm_start": False})
    cold = train_window(
        W1, data.fs, data.tickers, cold_cfg, seed=2, init=first.bundle.to_checkpoint()
    )
    assert not cold.warm
    assert cold.epochs >= 1 and cold.bundle.vocab == warm.bundle.vocab


def test_warm_start_with_zero_improvement_keeps_the_initial_state(data):
    cfg = tiny(**{"train.warm_epochs": 1, "train.lr": 1e-12})
    first = train_window(W0, data.fs, data.tickers, cfg, seed=1)
    warm = train_window(W1, data.fs, data.tickers, cfg, seed=2, init=first.bundle.to_checkpoint())
    prev = first.bundle.model.state_dict()
    # shared tickers keep their embedding row; LSTM weights are the previous window's (± lr 1e-12)
    torch.testing.assert_close(warm.bundle.model.lstm.weight_hh_l0, prev["lstm.weight_hh_l0"])
    shared = [t for t in warm.bundle.vocab[1:] if t in first.bundle.vocab]
    for name in shared[:5]:
        i, j = warm.bundle.vocab.index(name), first.bundle.vocab.index(name)
        torch.testing.assert_close(warm.bundle.model.embed.weight[i], prev["embed.weight"][j])
