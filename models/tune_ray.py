"""``wfsim tune --backend ray``: the same seeded TPE search run by Ray Tune (``Tuner`` +
``OptunaSearch``), each trial a Ray task scoring ``models.tune.score_trial``, the local objective.

Determinism: TPE proposes each trial from the trials already finished. With ``concurrency=1``
(the default) Ray Tune asks for trial *n* only after trial *n*-1 is told, so the seeded sampler sees
the same history as ``optuna.Study.optimize`` and the table equals the local one. With more trials
at once, what has finished when a trial is proposed depends on timing, so only the first
``n_startup_trials`` (10, drawn at random from the seeded sampler) are reproducible.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.backends import ray_session, require_ray, task_gpus
from models.pretrain import PretrainData
from models.tune import Param, sampler, score_trial, suggest
from simulator.core.errors import ConfigError

__all__ = ["require_ray_tune", "search"]

TRIAL = "trial"  # the optuna trial number, carried in each Ray Tune trial's config
METRIC = "val_mse"


def require_ray_tune() -> None:
    """Import Ray Tune and its optuna searcher, or raise a ``ConfigError`` saying how to install."""
    require_ray()
    try:
        import optuna  # noqa: F401  (the tune extra)
        import ray.tune  # noqa: F401  (ray[tune]: pydantic, tensorboardX)
        from ray.tune.search.optuna import OptunaSearch  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "--backend",
            "ray tune is not installed",
            got="ray",
            error=str(exc),
            fix="pip install 'wfsim[ray,tune]', or use --backend local",
        ) from None


class _Space:
    """OptunaSearch's define-by-run space (a picklable callable: Tune checkpoints its searcher)."""

    def __init__(self, params: list[Param]) -> None:
        self.params = params

    def __call__(self, trial: Any) -> dict:
        for p in self.params:
            suggest(trial, p)
        return {TRIAL: trial.number}


def _trial(config: dict, data: PretrainData, cfg: Any, windows: Sequence[str] | None) -> None:
    from ray import tune

    values = {k: v for k, v in config.items() if k != TRIAL}
    tune.report(score_trial(data, cfg, values, windows))


def search(
    data: PretrainData,
    cfg: Any,
    params: list[Param],
    *,
    trials: int,
    seed: int,
    windows: Sequence[str] | None,
    storage: Path | None,
    workers: int = 2,
    address: str | None = None,
    concurrency: int = 1,
) -> list[dict]:
    """Run ``trials`` Ray Tune trials; return one row per trial (``trial``, the values, the score),
    in trial order. Ray Tune's files go to a temporary folder under ``storage`` (default: the
    system's temp dir), removed when the search ends, failed or not."""
    if concurrency < 1 or workers < 1:
        raise ConfigError("tune", "must be >= 1", concurrency=concurrency, workers=workers)
    if storage is not None:
        Path(storage).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".ray-tune-", dir=storage))
    try:
        with ray_session(workers, address):
            cpus = cfg.train.torch_threads if address else min(cfg.train.torch_threads, workers)
            tuner = _tuner(data, cfg, params, (trials, seed, windows), cpus, concurrency, tmp)
            try:
                with contextlib.redirect_stdout(sys.stderr):  # Tune's banner: stdout is the table
                    grid = tuner.fit()
            finally:
                _drop_staging(tmp.name)
            if grid.errors:
                raise grid.errors[0]
            return sorted((_row(r, params) for r in grid), key=lambda row: row[TRIAL])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _tuner(data, cfg, params, run: tuple, cpus: int, concurrency: int, tmp: Path) -> Any:
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    trials, seed, windows = run
    need = {"cpu": cpus, "gpu": task_gpus(cfg.train.device)}  # a CUDA trial: one GPU
    fn = tune.with_resources(
        tune.with_parameters(_trial, data=data, cfg=cfg, windows=windows), need
    )
    algo = OptunaSearch(_Space(params), metric=METRIC, mode="min", sampler=sampler(seed))
    return tune.Tuner(
        fn,
        tune_config=tune.TuneConfig(
            search_alg=algo,
            num_samples=trials,
            reuse_actors=True,
            max_concurrent_trials=concurrency,
        ),
        run_config=tune.RunConfig(name=tmp.name, storage_path=str(tmp.resolve()), verbose=0),
    )


def _drop_staging(name: str) -> None:
    """Remove this experiment's staging folders from the driver's Ray session folder
    (``<session>/artifacts/<time>/<name>``: Tune stages there before copying to the storage)."""
    from ray.train._internal.storage import _get_ray_train_session_dir  # no public accessor

    root = Path(_get_ray_train_session_dir())
    for d in root.glob(f"*/{name}"):
        shutil.rmtree(d, ignore_errors=True)
        with contextlib.suppress(OSError):
            d.parent.rmdir()  # the job's time folder, if nothing else is in it


def _row(result: Any, params: list[Param]) -> dict:
    m = result.metrics
    return {TRIAL: result.config[TRIAL], **{p.key: result.config[p.key] for p in params},
            "val_mse": m["val_mse"], "val_ic": m["val_ic"]}  # fmt: skip
