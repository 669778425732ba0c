"""`wfsim pretrain` and `wfsim models report`: train walk-forward models, show OOS metrics.

Results (registry path, tables) go to stdout; logs go to stderr.
"""

from __future__ import annotations

from pathlib import Path

import click

from models.config import FAMILIES
from simulator.cli.options import config_option, mlflow_options, seed_option, store_option
from simulator.core.logs import get_logger

__all__ = ["COMMANDS", "pretrain_cmd", "models_group"]

log = get_logger(__name__)

_FLOAT = "{:.3f}".format


def _table(frame) -> str:
    return frame.to_string(index=False, float_format=_FLOAT, na_rep="-")


@click.command("pretrain")
@store_option()
@click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Registry directory (created if absent).",
)
@config_option("config_path")
@seed_option()
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: windows in sequence here; ray: one Ray task per window.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=2,
    show_default=True,
    help="CPUs of a local Ray instance (ray backend).",
)
@click.option("--address", default=None, help="Address of a running Ray cluster (ray backend).")
@click.option("--force", is_flag=True, help="Retrain windows whose store or config changed.")
@click.option("--wait", is_flag=True, help="If another pretrain holds MODELS, wait (else exit 1).")
@click.option(
    "--memory-mb",
    type=click.IntRange(0),
    default=None,
    help="Memory budget of loading + feature building, MB (features.memory_mb, default 512; 0: "
    "none); past it the features are spilled to a file under MODELS. Same output.",
)
@click.option(
    "--model",
    "family",
    type=click.Choice(list(FAMILIES)),
    default=None,
    help="Model family (model.family) [default: the config's, lstm].",
)
@mlflow_options
def pretrain_cmd(
    store: Path,
    models_dir: Path,
    config_path: Path | None,
    seed: int | None,
    backend: str,
    workers: int,
    address: str | None,
    force: bool,
    wait: bool = False,
    memory_mb: int | None = None,
    family: str | None = None,
    mlflow: str | None = None,
    mlflow_experiment: str = "wfsim",
) -> None:
    """Train one model per walk-forward window of the store; skip windows already done.

    Writes MODELS/registry.json (the plan first, then each window as it finishes) and
    MODELS/<window>/{model.pt, metadata.json, predictions.parquet}. Killing it is safe: a rerun
    resumes. Prints the registry path and one row per window (OOS IC and direction accuracy);
    "trained" says "kept predecessor" for a warm-started window whose best epoch was 0.

    \b
    Example:
      wfsim pretrain --store store --models models --seed 1 --model ridge
    """
    from simulator import pipeline
    from simulator.config import config_hash, load_config

    overrides = {"seed": seed} if seed is not None else {}
    if family is not None:
        overrides["model.family"] = family
    if memory_mb is not None:
        overrides["features.memory_mb"] = memory_mb
    cfg = load_config(config_path, overrides)
    from simulator.tracking import open_tracker

    tracker = open_tracker(mlflow, mlflow_experiment)  # before anything is written
    import structlog

    structlog.contextvars.bind_contextvars(config_hash=config_hash(cfg), seed=cfg.seed)
    opts = {
        "backend": backend,
        "workers": workers,
        "address": address,
        "force": force,
        "wait": wait,
    }
    res = pipeline.pretrain(store, models_dir, cfg, click.echo, **opts)
    rows = [
        {
            "window": e.id,
            "serve": f"{e.serve_dates[0]}..{e.serve_dates[1]}",
            "status": e.status,
            "trained": _trained(e, res.trained),
            "ic": e.metrics.get("oos", {}).get("ic"),
            "accuracy": e.metrics.get("oos", {}).get("accuracy"),
        }
        for e in res.entries
    ]
    import pandas as pd

    click.echo(_table(pd.DataFrame(rows)))
    if tracker is not None:
        from simulator.config import config_to_dict
        from simulator.tracking import pretrain_record

        run_id = tracker.record(pretrain_record, models_dir, config_to_dict(cfg))
        click.echo(f"mlflow run {run_id} ({tracker.uri})")


def _trained(entry, trained: tuple[str, ...]) -> str:
    """ "yes" for a window trained by this call, "kept predecessor" when its warm start never beat
    the predecessor's weights (best epoch 0), "" for a window skipped as already done."""
    from models.evaluate import KEPT, weights_status

    if entry.id not in trained:
        return ""
    return KEPT if weights_status(entry.metrics) == KEPT else "yes"


@click.group("models")
def models_group() -> None:
    """Pretrained walk-forward models: report their out-of-sample quality.

    \b
    Example:
      wfsim models report --models models
    """


@models_group.command("report")
@click.option(
    "--models",
    "models_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Registry directory (from `wfsim pretrain`).",
)
def report_cmd(models_dir: Path) -> None:
    """Print OOS metrics per window (from its saved predictions), then a mean and a pooled row.

    Columns: n predictions with a known outcome; direction accuracy; precision, recall, F1 of the
    "up" class; IC and rank IC (daily cross-sectional, mean) with their t-statistics; weights:
    "trained", or "kept predecessor" for a warm-started window whose best epoch was 0 (its
    predecessor's weights were never beaten on validation and serve unchanged).

    \b
    Example:
      wfsim models report --models models
    """
    from models.evaluate import report_frame

    click.echo(_table(report_frame(models_dir)))


COMMANDS: list[click.Command] = [pretrain_cmd, models_group]
