"""train.lstm_kernel: fused — the fused LSTM layer equals nn.LSTM (outputs and every gradient),
is bitwise deterministic at 1 and 2 threads, and enters the config hash only once set."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch

from models.lstm import load_checkpoint
from models.lstm_fused import fused_lstm
from models.pretrain import prepare, pretrain
from simulator.config import config_hash, load_config
from simulator.core.hashing import plain, sha256_file
from tests.synth_stores import synth_store

SHAPES = [  # batch, steps, inputs, hidden, layers
    (7, 5, 3, 8, 1),
    (1, 1, 4, 6, 2),
    (33, 20, 51, 128, 2),  # the default model on the real store's 50 features + mask
]


def _lstm(n_in: int, hid: int, layers: int, dropout: float = 0.2) -> torch.nn.LSTM:
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(n_in, hid, layers, batch_first=True, dropout=dropout if layers > 1 else 0)
    with torch.no_grad():  # larger biases than the default init: saturated and open gates
        for name, p in lstm.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-1.5, 1.5)
    return lstm


def _fwd_bwd(lstm, fn, x, seed: int = 1) -> list[torch.Tensor]:
    torch.manual_seed(seed)  # the same dropout masks for both kernels
    lstm.zero_grad(set_to_none=True)
    xg = x.clone().requires_grad_(True)
    out = fn(xg)
    w = torch.linspace(-1.0, 1.0, out.shape[-1])
    ((out * w).sum(dim=(0, 2)) * torch.arange(1.0, out.shape[1] + 1)).sum().backward()
    return [out.detach(), xg.grad, *(p.grad for p in lstm.parameters())]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize(("b", "steps", "n_in", "hid", "layers"), SHAPES)
def test_fused_equals_nn_lstm_outputs_and_every_gradient(b, steps, n_in, hid, layers, train):
    lstm = _lstm(n_in, hid, layers).train(train)
    x = torch.randn(b, steps, n_in)
    want = _fwd_bwd(lstm, lambda v: lstm(v)[0], x)
    got = _fwd_bwd(lstm, lambda v: fused_lstm(lstm, v), x)
    names = ["output", "input", *(n for n, _ in lstm.named_parameters())]
    for name, a, g in zip(names, want, got, strict=True):
        scale = float(a.abs().max())
        torch.testing.assert_close(g, a, rtol=1e-4, atol=1e-5 * scale, msg=name)


def test_fused_inference_equals_its_training_forward_and_nn_lstm():
    lstm = _lstm(51, 32, 2).eval()
    x = torch.randn(60, 20, 51)
    with torch.inference_mode():
        fast, ref = fused_lstm(lstm, x), lstm(x)[0]
    with torch.enable_grad():
        graph = fused_lstm(lstm, x.clone().requires_grad_(True)).detach()
    assert torch.equal(fast, graph)  # one forward code path: same bits with or without autograd
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-6)


def test_the_fused_model_trains_fused_and_infers_with_nn_lstm():
    from models.config import ModelConfig
    from models.lstm import TickerLSTMModel

    cfg = ModelConfig(hidden=16, embed_dim=4)
    nets = {k: TickerLSTMModel(5, 3, cfg, seed=0, kernel=k) for k in ("torch", "fused")}
    x, mask, tok = torch.randn(9, 6, 5), torch.rand(9, 6) > 0.3, torch.tensor([0, 1, 2] * 3)
    with torch.no_grad():
        outs = [net.eval()(x, mask, tok) for net in nets.values()]
    assert torch.equal(*outs)  # predict and validation: nn.LSTM's forward, the same bits
    grads = []
    for net in nets.values():
        net.eval()(x, mask, tok).sum().backward()
        grads.append(net.lstm.weight_hh_l0.grad)
    assert not torch.equal(*grads)  # with autograd: the fused kernel (other float bits)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="kernel='cudnn'"):
        TickerLSTMModel(5, 3, cfg, kernel="cudnn")


def _digest(threads: int, shape) -> str:
    b, steps, n_in, hid, layers = shape
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        lstm = _lstm(n_in, hid, layers).train()
        x = torch.randn(b, steps, n_in, generator=torch.Generator().manual_seed(2))
        h = hashlib.sha256()
        for t in _fwd_bwd(lstm, lambda v: fused_lstm(lstm, v), x):
            h.update(t.numpy().tobytes())
        return h.hexdigest()
    finally:
        torch.set_num_threads(before)


# + a default batch; + batches of 5, 9, 11 rows: MKL's sgemm gave other bits at 1 and 2 threads
# there until they were padded (lstm_fused.MIN_ROWS)
THREAD_SHAPES = [
    *SHAPES,
    (256, 20, 51, 128, 2),
    (5, 3, 4, 16, 2),
    (9, 4, 13, 16, 1),
    (11, 2, 3, 8, 2),
]


@pytest.mark.parametrize("shape", THREAD_SHAPES)
def test_fused_gradients_are_the_same_bytes_at_one_and_two_threads(shape):
    assert _digest(1, shape) == _digest(2, shape) == _digest(1, shape)


@pytest.mark.parametrize("n", [7, 60, 500])
def test_fused_inference_is_the_same_bytes_at_one_and_two_threads(n):
    lstm = _lstm(51, 32, 2).eval()
    x = torch.randn(n, 20, 51, generator=torch.Generator().manual_seed(3))
    before, outs = torch.get_num_threads(), []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with torch.inference_mode():
                outs.append(fused_lstm(lstm, x))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(*outs)


def test_fused_rejects_what_it_does_not_implement():
    lstm = torch.nn.LSTM(3, 4, 1, batch_first=False)
    with pytest.raises(ValueError, match="batch_first=False"):
        fused_lstm(lstm, torch.randn(2, 3, 3))


def test_lstm_kernel_option_is_hashed_only_once_set():
    base = load_config()
    fused = load_config(overrides={"train.lstm_kernel": "fused"})
    assert base.train.lstm_kernel == "torch" and "lstm_kernel" not in plain(base.train)
    assert plain(fused.train)["lstm_kernel"] == "fused"
    assert config_hash(fused) != config_hash(base)
    with pytest.raises(Exception, match="lstm_kernel"):
        load_config(overrides={"train.lstm_kernel": "cudnn"})
    with pytest.raises(Exception, match="CPU only"):
        load_config(overrides={"train.lstm_kernel": "fused", "train.device": "cuda"})


TINY = {
    "windows.initial": 40, "windows.step": 20, "features.seq_len": 5, "model.hidden": 16,
    "model.layers": 2, "model.embed_dim": 4, "train.max_epochs": 2, "train.warm_epochs": 1,
    "train.max_samples_per_epoch": 256,
}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return synth_store(tmp_path_factory, "fused", days=80, tickers=12)


def _pretrain(store, out, kernel: str, threads: int) -> dict[str, str]:
    before = torch.get_num_threads()
    cfg = load_config(
        overrides={**TINY, "train.lstm_kernel": kernel, "train.torch_threads": threads}
    )
    try:
        pretrain(store, out, cfg.pretrain_config())
    finally:
        torch.set_num_threads(before)
    files = sorted(p for p in out.rglob("*") if p.name in ("model.pt", "predictions.parquet"))
    return {str(p.relative_to(out)): sha256_file(p) for p in files}


def test_fused_pretrain_is_deterministic_across_threads_and_serves_its_saved_predictions(
    store, tmp_path
):
    from models.manager import WalkForwardModelManager

    one = _pretrain(store, tmp_path / "f1", "fused", 1)
    two = _pretrain(store, tmp_path / "f2", "fused", 2)
    _pretrain(store, tmp_path / "t1", "torch", 1)
    assert len(one) == 4 and one == two
    for k in (k for k in one if k.endswith("model.pt")):  # the same model, other float bits
        got, want = (load_checkpoint(tmp_path / d / k)["state_dict"] for d in ("f1", "t1"))
        assert any(not torch.equal(got[n], want[n]) for n in want)
        for n in want:
            torch.testing.assert_close(got[n], want[n], rtol=1e-3, atol=1e-4)
    mgr = WalkForwardModelManager(tmp_path / "f1")
    cfg = load_config(overrides={**TINY, "train.lstm_kernel": "fused"})
    fs = prepare(store, cfg.pretrain_config()).fs
    entry = mgr.registry.entries[-1]
    day = entry.serve[0] + 1
    saved = pd.read_parquet(tmp_path / "f1" / entry.path / "predictions.parquet")
    _, pred = mgr.predict(day, fs)
    np.testing.assert_array_equal(pred, saved[saved["t"] == day]["pred"].to_numpy())
