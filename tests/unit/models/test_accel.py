"""train.device and train.precision (models.accel): config rules, the bf16 path on the CPU, and,
where a GPU is visible, CUDA training (skipped without one: CI has none, never a dependency)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.accel import to_device, train_device
from models.config import PretrainConfig
from models.train import train_window
from simulator.config import config_hash, load_config
from simulator.core.errors import ConfigError
from simulator.core.hashing import plain
from tests.unit.models import test_train
from tests.unit.models.test_pretrain import tiny

W0 = test_train.W0
_one_thread, data = test_train._one_thread, test_train.data  # test_train's fixtures, shared


def _fit(data, **extra):
    cfg = tiny(**{"train.max_epochs": 2, "train.torch_threads": 1, **extra})
    return train_window(W0, data.fs, data.tickers, cfg, seed=3).bundle


def _points(data) -> tuple[np.ndarray, np.ndarray]:
    """Every (day, ticker) of W0's served days."""
    n = len(data.tickers)
    return np.repeat(np.arange(60, 75), n), np.tile(np.arange(n), 15)


def _pred(bundle, data) -> np.ndarray:
    t, k = _points(data)
    return bundle.predict(data.fs, t, k, data.tickers)


def _y(data) -> np.ndarray:
    t, k = _points(data)
    return data.fs.y[t, k]


def test_precision_is_hashed_only_once_set_and_validated():
    base = load_config()
    bf16 = load_config(overrides={"train.precision": "bf16"})
    assert base.train.precision == "fp32" and "precision" not in plain(base.train)
    assert plain(bf16.train)["precision"] == "bf16"
    assert config_hash(bf16) != config_hash(base)
    with pytest.raises(ConfigError, match=r"^train: precision=.fp16., expected one of"):
        load_config(overrides={"train.precision": "fp16"})
    with pytest.raises(ConfigError, match="fp32 only"):
        load_config(overrides={"train.precision": "bf16", "train.lstm_kernel": "fused"})


@pytest.mark.parametrize(("device", "precision"), [("cuda", "fp32"), ("cpu", "bf16")])
def test_lstm_portfolio_refuses_cuda_and_bf16_naming_the_key(device, precision):
    over = {"model.family": "lstm-portfolio", "train.device": device, "train.precision": precision}
    with pytest.raises(ConfigError, match=r"^train\.device: family lstm-portfolio .*fp32 only"):
        load_config(overrides=over)
    cfg = load_config(overrides={"model.family": "lstm-portfolio"}).pretrain_config()
    with pytest.raises(ValueError, match="lstm-portfolio"):  # the API's own check, one rule
        PretrainConfig(model=cfg.model, train=load_config(overrides=over | {
            "model.family": "lstm"}).train)  # fmt: skip
    for family in ("lstm", "lstm-universe", "embed-gbm", "ridge", "gbm"):
        load_config(overrides={**over, "model.family": family})  # accepted


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error of a machine without CUDA")
def test_cuda_without_a_gpu_is_a_config_error_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match=r"^train\.device: CUDA is not available here"):
        train_device("cuda")
    from models.pretrain import pretrain

    cfg = tiny(**{"train.device": "cuda"})
    with pytest.raises(ConfigError, match="train.device"):
        pretrain(tmp_path / "no-store", tmp_path / "models", cfg)  # before reading the store
    assert not (tmp_path / "models").exists()


def test_to_device_on_the_cpu_is_the_same_tensors():
    ts = (torch.zeros(2), torch.ones(3))
    assert all(a is b for a, b in zip(to_device(ts, torch.device("cpu")), ts, strict=True))


def test_bf16_on_the_cpu_is_deterministic_and_changes_only_the_float_bits(data):
    fp32 = _fit(data)
    a, b = _fit(data, **{"train.precision": "bf16"}), _fit(data, **{"train.precision": "bf16"})
    sa, sb, s32 = (m.model.state_dict() for m in (a, b, fp32))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # same seed, same bytes
    assert not all(torch.equal(sa[k], s32[k]) for k in sa)  # autocast took effect
    assert all(v.dtype == torch.float32 and v.device.type == "cpu" for v in sa.values())
    pa, p32 = _pred(a, data), _pred(fp32, data)
    # same init, same draws: bfloat16's 8-bit mantissa moves the weights a little, not the model
    assert np.corrcoef(pa, p32)[0, 1] > 0.9  # measured 0.996
    assert np.corrcoef(pa, _y(data))[0, 1] > 0.3  # the planted signal learned (0.54, fp32 0.54)


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_training_repeats_and_comes_back_to_the_cpu(data, precision):
    a = _fit(data, **{"train.device": "cuda", "train.precision": precision})
    b = _fit(data, **{"train.device": "cuda", "train.precision": precision})
    cpu = _fit(data)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(v.device.type == "cpu" and v.dtype == torch.float32 for v in sa.values())
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # deterministic on one GPU
    assert np.corrcoef(_pred(a, data), _pred(cpu, data))[0, 1] > 0.9
    assert np.corrcoef(_pred(a, data), _y(data))[0, 1] > 0.3


def test_ray_training_tasks_ask_for_a_gpu_only_on_cuda():
    from models.backends import task_gpus

    assert task_gpus("cuda") == 1 and task_gpus("cpu") == 0  # Ray hides GPUs from the others
