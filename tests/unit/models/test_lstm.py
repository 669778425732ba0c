"""TickerLSTMModel and ModelBundle: shapes, masking, seeded init, vocabulary, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.config import ModelConfig
from models.features import Scaler
from models.lstm import (
    UNSEEN,
    ModelBundle,
    TickerLSTMModel,
    build_vocab,
    remap_state,
    token_ids,
)
from tests.unit.models.planted import planted

SMALL = ModelConfig(hidden=8, layers=2, dropout=0.0, embed_dim=3)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _inputs(b=5, steps=6, f=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, steps, f, generator=g)
    mask = torch.rand(b, steps, generator=g) > 0.3
    mask[:, -1] = True
    return x, mask, torch.arange(b) % 3


@pytest.mark.parametrize("attention", [False, True])
def test_forward_shape_and_masked_steps_are_ignored(attention):
    cfg = ModelConfig(hidden=8, layers=2, dropout=0.0, embed_dim=3, attention=attention)
    model = TickerLSTMModel(4, 3, cfg, seed=1).eval()
    x, mask, tok = _inputs()
    out = model(x, mask, tok)
    assert out.shape == (5,)
    noisy = x.clone()
    noisy[~mask] = 1e3  # whatever sits under the mask must not matter
    torch.testing.assert_close(model(noisy, mask, tok), out, rtol=0, atol=0)


def test_init_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = TickerLSTMModel(4, 3, SMALL, seed=5)
    assert torch.rand(1) == before
    b = TickerLSTMModel(4, 3, SMALL, seed=5)
    c = TickerLSTMModel(4, 3, SMALL, seed=6)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert not torch.equal(a.lstm.weight_hh_l0, c.lstm.weight_hh_l0)


def test_vocab_is_sorted_with_unseen_first_and_unknown_maps_to_zero():
    vocab = build_vocab(["C", "A", "B", "D"], np.array([0, 1, 0]))
    assert vocab == (UNSEEN, "A", "C")
    np.testing.assert_array_equal(token_ids(vocab, ["C", "ZZZ", "A"]), [2, 0, 1])


def test_remap_state_moves_rows_by_name_and_seeds_new_tickers_from_unseen():
    model = TickerLSTMModel(4, 3, SMALL, seed=1)
    old_vocab = (UNSEEN, "A", "B")
    state = remap_state(model.state_dict(), old_vocab, (UNSEEN, "B", "NEW", "A"))
    emb = model.embed.weight.detach()
    torch.testing.assert_close(state["embed.weight"], emb[[0, 2, 0, 1]], rtol=0, atol=0)
    assert torch.equal(state["lstm.weight_hh_l0"], model.lstm.weight_hh_l0.detach())


def _bundle(data, seed=1):
    fs = data.fs
    scaler = Scaler(fs.names).fit(fs.x[fs.sample])
    model = TickerLSTMModel(len(fs.names), 4, SMALL, seed=seed)
    vocab = (UNSEEN, "T00", "T01", "T02")
    return ModelBundle(model, scaler, vocab, fs.names, 5, 0.02, "w000")


def test_checkpoint_round_trip_predicts_identically(tmp_path):
    data = planted(n_days=30, n_tickers=6)
    bundle = _bundle(data)
    t, k = np.nonzero(data.fs.sample[20:25])
    t = t + 20
    pred = bundle.predict(data.fs, t, k, data.tickers)
    path = tmp_path / "model.pt"
    torch.save(bundle.to_checkpoint(), path)
    from models.lstm import load_checkpoint

    again = ModelBundle.from_checkpoint(load_checkpoint(path))
    assert again.vocab == bundle.vocab and again.window == "w000"
    np.testing.assert_array_equal(again.predict(data.fs, t, k, data.tickers), pred)
    assert pred.dtype == np.float32 and np.all(np.isfinite(pred))


def test_predict_is_per_row_independent_of_the_batch():
    data = planted(n_days=30, n_tickers=6)
    bundle = _bundle(data)
    t, k = np.nonzero(data.fs.sample[10:30])
    t = t + 10
    full = bundle.predict(data.fs, t, k, data.tickers)
    one = bundle.predict(data.fs, t[3:4], k[3:4], data.tickers)
    np.testing.assert_allclose(one, full[3:4], rtol=1e-5, atol=1e-7)


def test_predict_refuses_other_features():
    data = planted(n_days=30, n_tickers=6)
    bundle = _bundle(data)
    other = type(data.fs)(("a", "b", "c", "d"), *[getattr(data.fs, n) for n in
                          ("x", "has_data", "sample", "y", "label_end", "horizon")])  # fmt: skip
    with pytest.raises(ValueError, match="feature names differ"):
        bundle.predict(other, np.array([20]), np.array([0]), data.tickers)


def test_from_checkpoint_rejects_an_unknown_format():
    data = planted(n_days=30, n_tickers=6)
    ckpt = _bundle(data).to_checkpoint()
    ckpt["format"] = 99
    with pytest.raises(ValueError, match="format=99"):
        ModelBundle.from_checkpoint(ckpt)
