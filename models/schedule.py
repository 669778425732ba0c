"""Many registries at once: the independent pretrains of a study (family × seed) as Ray tasks.

With warm start the windows of one registry form a chain, so Ray gains little inside a pretrain;
the cells of a study are independent. ``pretrain_cells`` plans every registry on the driver
(holding each one's lock), sends one task per registry that still has windows to train, and
writes each returned window atomically on the driver (``Planned.record``), so the registries equal
those of ``pretrain`` run one after another. A task reads the store itself from ``store`` (a path
every node sees: a shared file system) and checks that its windows hash as the driver's did.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import structlog

from models.backends import ray_session, require_ray, task_cpus, task_gpus
from models.config import PretrainConfig
from models.pretrain import (
    BACKENDS,
    LOCK_FILE,
    Planned,
    PretrainResult,
    WindowOutput,
    plan_registry,
    plan_windows,
    prepare,
    pretrain,
    run_window,
    warm_start,
)
from simulator.core.errors import ConfigError, RegistryError
from simulator.core.locks import writer_lock

__all__ = ["pretrain_cells", "train_chain"]

log = structlog.get_logger(__name__)


def train_chain(
    store: str, cfg: PretrainConfig, jobs: Sequence[tuple[int, str, str]], prev: dict[int, Any]
) -> list[WindowOutput]:
    """One registry's windows ``jobs`` (index, window id, data hash), in plan order, on the
    store at ``store``; with warm start window i starts from window i-1's output, or from
    ``prev[i]`` (its saved checkpoint) when i-1 was not trained here.

    Raises RegistryError when the store seen here hashes differently from the driver's."""
    data = prepare(Path(store), cfg)
    plan = plan_windows(data, cfg)
    outputs: list[WindowOutput] = []
    last: dict[int, WindowOutput] = {}
    for i, wid, dhash in jobs:
        w, e = plan[i]
        if w.id != wid or e.data_hash != dhash:
            raise RegistryError(store, "the store a worker reads differs from the driver's",
                                window=wid, got=e.data_hash, expected=dhash)  # fmt: skip
        init = last.pop(i - 1, None) or prev.get(i)
        out = run_window(w, data.fs, data.tickers, data.dates, cfg, e.seed, init)
        outputs.append(out)
        if warm_start(cfg):
            last[i] = out
    return outputs


def _chain_args(p: Planned) -> tuple[list[tuple[int, str, str]], dict[int, Any]]:
    todo = {i for i, _, _ in p.jobs}
    jobs = [(i, w.id, e.data_hash) for i, w, e in p.jobs]
    prev = {i: p.ctx.prev_from_disk(i) for i in todo if (i - 1) not in todo}
    return jobs, {i: c for i, c in prev.items() if c is not None}


def pretrain_cells(
    store: Path,
    cells: Sequence[tuple[Path, PretrainConfig]],
    *,
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    force: bool = False,
) -> list[PretrainResult]:
    """Pretrain every ``(models_dir, cfg)`` of ``cells`` on the store directory ``store``.

    ``local``: one ``pretrain`` after another. ``ray``: one Ray task per registry with windows
    to train (``train_chain``), as many at once as the cluster has CPUs (``ray.init(address)``,
    or a local Ray with ``workers`` CPUs); the driver writes the windows as tasks finish.
    Both give the same registries (hashes)."""
    if backend not in BACKENDS:
        raise ConfigError("--backend", "unknown backend", got=backend, expected="local or ray")
    if workers < 1:
        raise ConfigError("--workers", "must be >= 1", got=workers)
    if backend == "local":
        return [pretrain(store, m, cfg, force=force) for m, cfg in cells]
    require_ray()  # before any lock or plan is written
    with ExitStack() as stack:
        planned = []
        for models_dir, cfg in cells:
            lock = writer_lock(Path(models_dir) / LOCK_FILE, owner=str(models_dir),
                               cls=RegistryError, wait=False)  # fmt: skip
            stack.enter_context(lock)
            planned.append(plan_registry(Path(store), Path(models_dir), cfg, "ray", force))
        _run_cells(Path(store), planned, workers, address)
        return [p.finish() for p in planned]


def _run_cells(store: Path, planned: list[Planned], workers: int, address: str | None) -> None:
    import ray  # optional extra: wfsim[ray]

    with ray_session(workers, address):
        refs = {}
        for p in planned:
            if p.jobs:
                cpus = task_cpus(p.ctx.cfg.train.torch_threads, 1, address)  # local: 1 per cell
                gpus = task_gpus(p.ctx.cfg.train.device)
                task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(train_chain)
                jobs, prev = _chain_args(p)
                refs[task.remote(str(store.resolve()), p.ctx.cfg, jobs, prev)] = p
        log.info("cells_submitted", tasks=len(refs), cells=len(planned))
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for out in ray.get(done[0]):
                refs[done[0]].record(out)
