"""Where a registry's planned windows run: in this process (``run_local``) or as Ray tasks
(``run_ray``); both hand each finished ``WindowOutput`` to the driver's ``on_done``, which writes
it atomically. With warm start a window gets its predecessor's output (or ObjectRef)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from models.feature_file import portable, reopen
from models.mapped import release
from models.pretrain import WindowOutput, run_window, warm_start
from models.registry import WindowEntry
from models.windows import Window
from simulator.core.errors import ConfigError
from simulator.core.omp import SPINCOUNT

if TYPE_CHECKING:
    from models.pretrain import _Ctx

__all__ = ["task_cpus", "Job", "run_local", "run_ray", "ray_session", "require_ray"]


Job = tuple[int, Window, WindowEntry]


def run_local(jobs: list[Job], ctx: _Ctx, on_done: Callable, workers: int, address) -> None:
    """Windows in plan order, in this process; the previous output feeds the warm start."""
    outputs: dict[int, WindowOutput] = {}
    warm = warm_start(ctx.cfg)
    for i, w, e in jobs:
        prev = outputs.pop(i - 1, None) if (i - 1) in outputs else ctx.prev_from_disk(i)
        out = run_window(w, ctx.fs, ctx.tickers, ctx.dates, ctx.cfg, e.seed, prev)
        release(ctx.fs.x)  # a spilled x: drop the window's pages (models.mapped)
        on_done(out)
        if warm:
            outputs[i] = out


def require_ray() -> None:
    """Import Ray or raise a ``ConfigError`` saying how to install it (``--backend ray``)."""
    try:
        import ray  # noqa: F401  (optional extra: wfsim[ray])
    except ImportError as exc:
        raise ConfigError(
            "--backend",
            "ray is not installed",
            got="ray",
            error=str(exc),
            fix="pip install 'wfsim[ray]', or use --backend local",
        ) from None


def task_cpus(threads: int, workers: int, address: str | None) -> int:
    """CPUs a training task asks Ray for: its torch threads, capped by the local instance's
    ``workers`` or, on a cluster, by the largest alive node's CPUs (a task asking for more than
    any node has would wait forever). Call inside ``ray_session``."""
    if not address:
        return max(1, min(threads, workers))
    import ray  # optional extra: wfsim[ray]

    node_cpus = [n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
    return max(1, min(threads, int(max(node_cpus, default=1))))


def task_gpus(device: str) -> int:
    """GPUs a training task asks Ray for: one when it trains on CUDA (``train.device``; Ray hides
    the GPUs from a task that asks for none), else none."""
    return 1 if device == "cuda" else 0


def run_ray(jobs: list[Job], ctx: _Ctx, on_done: Callable, workers: int, address) -> None:
    """Each window a Ray task; with warm start a task gets its predecessor's ObjectRef."""
    import ray  # optional extra: wfsim[ray]

    with ray_session(workers, address):
        cpus = task_cpus(ctx.cfg.train.torch_threads, workers, address)
        gpus = task_gpus(ctx.cfg.train.device)
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(_ray_window)
        fs_ref = ray.put(portable(ctx.fs))  # a spilled x travels as its path
        refs: dict[int, Any] = {}
        warm = warm_start(ctx.cfg)
        for i, w, e in jobs:
            prev = refs[i - 1] if warm and (i - 1) in refs else ctx.prev_from_disk(i)
            refs[i] = task.remote(w, fs_ref, ctx.tickers, ctx.dates, ctx.cfg, e.seed, prev)
        pending = list(refs.values())
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(ray.get(done[0]))


def _ray_window(window: Window, fs, *args) -> WindowOutput:
    """``run_window`` in a Ray task: a spilled ``x`` is mapped from its path, its pages dropped
    after the window (as ``run_local``)."""
    fs = reopen(fs)
    try:
        return run_window(window, fs, *args)
    finally:
        release(fs.x)


@contextlib.contextmanager
def ray_session(workers: int, address: str | None) -> Iterator[None]:
    """Ray for the block: joins the cluster at ``address`` or starts a local one with ``workers``
    CPUs, unless Ray is already initialised; shuts down only what it started."""
    import ray  # optional extra: wfsim[ray]

    started = not ray.is_initialized()
    if started and address:  # the cluster's workers bound libgomp's spin too (simulator.core.omp)
        names = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
        env = {k: os.environ[k] for k in names if k in os.environ} or {"GOMP_SPINCOUNT": SPINCOUNT}
        ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": env})
    elif started:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        if started:
            ray.shutdown()
