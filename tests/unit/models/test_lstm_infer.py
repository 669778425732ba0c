"""The inference path of models.lstm_infer: bit for bit the old gather -> transform -> forward."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import models.lstm as lstm_mod
from models.config import ModelConfig
from models.features import FeatureSet, Scaler, gather_sequences
from models.lstm import UNSEEN, ModelBundle, TickerLSTMModel, token_ids
from models.lstm_infer import head_eval, lstm_eval, lstm_input
from models.mapped import ColumnMask, is_mapped

T, K, F, L = 40, 12, 6, 7


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _fs(seed: int = 0) -> FeatureSet:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((T, K, F)) * 3 + 1).astype(np.float32)
    has = rng.random((T, K)) > 0.25  # masked steps inside the sequences
    x[~has] = 0.0
    sample = has & (rng.random((T, K)) > 0.3)
    y = np.zeros((T, K), np.float32)
    return FeatureSet(tuple(f"f{i}" for i in range(F)), x, has, sample, y, np.arange(T) + 1, 1)


def _bundle(fs: FeatureSet, attention: bool, seed: int = 3) -> ModelBundle:
    cfg = ModelConfig(hidden=16, layers=2, dropout=0.1, embed_dim=3, attention=attention)
    model = TickerLSTMModel(F, 6, cfg, seed=seed).eval()
    scaler = Scaler(fs.names).fit(fs.x[:20].reshape(-1, F))
    scaler.mean_[1] = 0.0  # a centred column: (0 - 0) / std = +0 at masked steps
    scaler.std_[2] = np.inf  # a masked column (lstm-universe price-only): x / inf = 0
    vocab = (UNSEEN, "t1", "t3", "t4", "t7", "t9")
    return ModelBundle(model, scaler, vocab, fs.names, L, 0.0317)


def _old_predict(b: ModelBundle, fs, t, k, tickers) -> np.ndarray:
    """The pre-lstm_infer ModelBundle.predict (one batch)."""
    x, mask = gather_sequences(fs, t, k, b.seq_len)
    tok = token_ids(b.vocab, [tickers[j] for j in k])
    with torch.inference_mode():
        pred = b.model(torch.from_numpy(b.scaler.transform(x)), torch.from_numpy(mask),
                       torch.from_numpy(tok))  # fmt: skip
    return pred.numpy() * b.y_scale


def _points(fs):
    t, k = np.nonzero(fs.sample)
    return t.astype(np.int64), k.astype(np.int64)


@pytest.mark.parametrize("attention", [False, True])
def test_predict_is_the_old_path_bit_for_bit(attention):
    fs = _fs()
    b = _bundle(fs, attention)
    tickers = [f"t{j}" for j in range(K)]
    t, k = _points(fs)
    assert t.min() < L  # sequences reaching before day 0 are in the batch
    got = b.predict(fs, t, k, tickers)
    assert got.tobytes() == _old_predict(b, fs, t, k, tickers).tobytes()
    for day in (0, 3, 25, T - 1):  # one day's points, as the manager asks
        kd = np.flatnonzero(fs.sample[day])
        td = np.full(kd.size, day)
        assert (
            b.predict(fs, td, kd, tickers).tobytes()
            == _old_predict(b, fs, td, kd, tickers).tobytes()
        )


def test_batches_and_spilled_or_masked_x_change_no_bit(monkeypatch, tmp_path):
    fs = _fs(1)
    b = _bundle(fs, False, seed=5)
    tickers = [f"t{j}" for j in range(K)]
    t, k = _points(fs)
    monkeypatch.setattr(lstm_mod, "EVAL_BATCH", 7)  # several batches, a short last one
    # the old path batched too (a row's bits may depend on its batch's shape): batch by batch
    parts = [_old_predict(b, fs, t[i : i + 7], k[i : i + 7], tickers) for i in range(0, len(t), 7)]
    want = np.concatenate(parts)
    assert b.predict(fs, t, k, tickers).tobytes() == want.tobytes()
    fs.x.tofile(tmp_path / "x.f32")
    spilled = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="r", shape=fs.x.shape)
    mapped = dataclasses.replace(fs, x=spilled)
    assert is_mapped(mapped.x)
    assert b.predict(mapped, t, k, tickers).tobytes() == want.tobytes()
    keep = np.array([1, 1, 0, 1, 0, 1], np.float32)
    masked = dataclasses.replace(fs, x=ColumnMask(fs.x, keep))
    want_m = np.concatenate(
        [_old_predict(b, masked, t[i : i + 7], k[i : i + 7], tickers) for i in range(0, len(t), 7)]
    )
    assert b.predict(masked, t, k, tickers).tobytes() == want_m.tobytes()


def test_input_has_the_signed_zeros_of_the_old_product():
    fs = _fs(2)
    b = _bundle(fs, False)
    t, k = _points(fs)
    inp, mask = lstm_input(fs, b.scaler, t, k, L)
    x, mask_old = gather_sequences(fs, t, k, L)
    xs = torch.from_numpy(b.scaler.transform(x))
    m = torch.from_numpy(mask_old).unsqueeze(-1).to(xs.dtype)
    old = torch.cat([xs * m, m], dim=-1)
    np.testing.assert_array_equal(mask, mask_old)
    assert inp.numpy().tobytes() == old.numpy().tobytes()  # -0.0 and +0.0 included
    assert np.signbit(old.numpy()[~mask_old][:, :F]).any()  # the test sees signed zeros


def test_summaries_are_the_model_summary_bit_for_bit():
    fs = _fs(3)
    b = _bundle(fs, True)
    t, k = _points(fs)
    x, mask = gather_sequences(fs, t, k, L)
    with torch.inference_mode():
        want = b.model.summary(torch.from_numpy(b.scaler.transform(x)), torch.from_numpy(mask))
    assert b.summaries(fs, t, k).tobytes() == want.numpy().tobytes()


def test_empty_points():
    fs = _fs()
    b = _bundle(fs, False)
    none = np.zeros(0, np.int64)
    assert b.predict(fs, none, none, []).shape == (0,)


def test_a_model_left_in_train_mode_predicts_in_eval_mode():
    fs = _fs(4)
    b = _bundle(fs, False)
    tickers = [f"t{j}" for j in range(K)]
    t, k = _points(fs)
    want = _old_predict(b, fs, t, k, tickers)
    b.model.train()  # dropout 0.1 would move the predictions
    assert b.predict(fs, t, k, tickers).tobytes() == want.tobytes()
    assert not any(m.training for m in b.model.modules())
    b.model.head.train()  # one module alone
    assert b.predict(fs, t, k, tickers).tobytes() == want.tobytes()
    with pytest.raises(ValueError, match="eval-mode"):
        lstm_eval(b.model.lstm.train(), torch.zeros(2, L, F + 1))
    with pytest.raises(ValueError, match="train mode"):
        head_eval(b.model.train(), torch.zeros(2, 16), torch.zeros(2, dtype=torch.long))
