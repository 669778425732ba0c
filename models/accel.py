"""Where and how a window's model trains: ``train.device`` (cpu, cuda) and ``train.precision``
(fp32, bf16).

The trainers (``models.train``, ``models.finetune``) build the model on the CPU, move it to the
training device, train there, and hand back a CPU model in float32: saving, predicting and serving
never see the device. ``bf16`` is mixed precision (``torch.autocast``): the weights, the optimizer
and the loss stay float32, the matrix products run in bfloat16; bfloat16 keeps float32's exponent,
so no loss scaling is needed.

On the CPU, outputs are byte-identical for the same inputs and seed (``torch.use_deterministic_
algorithms``). On CUDA, cuDNN's LSTM and cuBLAS are asked to be deterministic too
(``CUBLAS_WORKSPACE_CONFIG`` set before CUDA starts); the same GPU model and library versions then
repeat, but CUDA's float bits differ from the CPU's: a registry trained there is a different
registry (``device`` and ``precision`` are part of the config hash).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from simulator.core.errors import ConfigError

__all__ = ["train_device", "autocast", "to_device", "use_deterministic"]


def train_device(device: str) -> torch.device:
    """``torch.device`` of ``train.device``; a clear error when CUDA is asked for and absent."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "train.device", "CUDA is not available here", value=device, torch=torch.__version__,
            cuda_build=torch.version.cuda, expected="a CUDA build of torch and a visible GPU",
            fix="set train.device: cpu",
        )  # fmt: skip
    return torch.device(device)


def use_deterministic(device: torch.device) -> None:
    """Deterministic kernels on ``device`` (once per process; the first call takes seconds)."""
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's deterministic mode
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    if not torch.are_deterministic_algorithms_enabled():
        # first call imports torch._dynamo (seconds); on CUDA a kernel with no deterministic
        # version warns instead of stopping the run
        torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Mixed precision for the forward pass and loss when ``precision == "bf16"``."""
    if precision == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


def to_device(tensors: tuple[torch.Tensor, ...], device: torch.device) -> tuple[torch.Tensor, ...]:
    """``tensors`` on ``device``: those already there as they are (so the same tensors on the
    CPU), the others as pinned, asynchronous copies."""
    return tuple(
        t if t.device == device else t.pin_memory().to(device, non_blocking=True) for t in tensors
    )
