"""`wfsim tune`: optuna over the model config, scored on the windows' validation slices only."""

from __future__ import annotations

from pathlib import Path

import click

from simulator.cli.options import config_option, store_option
from simulator.config import load_config, read_yaml

__all__ = ["COMMANDS", "tune"]


@click.command()
@store_option()
@click.option("--models", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Registry directory: tune.json is written next to registry.json.")  # fmt: skip
@click.option("--space", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True,
              help="YAML: {config.key: {low, high, log, int} | {choices}}.")  # fmt: skip
@click.option("--trials", type=click.IntRange(1), default=20, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="TPE sampler seed.")
@click.option("--windows", default=None,
              help="Comma-separated window ids to score (default: the first window, whose labels "
              "end before any window serves). A later window's validation days are earlier "
              "windows' serve days: the setting is then free of look-ahead only from the date "
              "printed as 'serves from'.")  # fmt: skip
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the trials table as CSV here.")  # fmt: skip
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: optuna here; ray: the same search run by Ray Tune.")  # fmt: skip
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
              help="CPUs of a local Ray instance (ray backend, no --address).")  # fmt: skip
@click.option("--address", default=None, help="Address of a running Ray cluster (ray backend).")
@click.option("--concurrency", type=click.IntRange(1), default=1, show_default=True,
              help="Ray Tune trials at once; above 1 the TPE trials depend on timing.")  # fmt: skip
@config_option()
def tune(store, models, space, trials, seed, windows, csv_path, backend, workers, address,
         concurrency, config) -> None:  # fmt: skip
    """Search the model config (optuna TPE, seeded) on the validation slices inside the searched
    windows' training ranges. Prints the trials, the best setting and the first day a model
    pretrained with it may serve ('serves from': after every searched window's labels).

    \b
    Example:
      wfsim tune --store S --models M --space space.yaml --trials 20 \\
          --config ridge.yaml                # ridge.yaml: model: {family: ridge}

    \b
    Example space.yaml:
      model.ridge.alpha: {low: 0.01, high: 1000000, log: true}

    \b
    --backend ray: the same trials through Ray Tune (OptunaSearch, the same seeded sampler and
    objective); with --concurrency 1 the table equals the local one.
    """

    from models.tune import tune as run_tune
    from models.tune import tune_csv
    from simulator.core.atomic import write_atomic

    cfg = load_config(config).pretrain_config()
    spec = read_yaml(space)
    ids = [w.strip() for w in windows.split(",")] if windows else None
    ray = {"workers": workers, "address": address, "concurrency": concurrency}
    res = run_tune(store, cfg, spec, trials=trials, seed=seed, windows=ids, models_dir=models,
                   ray=ray if backend == "ray" else None)  # fmt: skip
    click.echo(res.trials.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    click.echo(f"best: {res.best} (mean validation MSE {res.best_score:.6g})")
    day, date = res.serves_from
    click.echo(f"serves from: {date or 'past the store'} (day {day}): the search read every "
               "earlier day; only windows serving from then on may use this setting")  # fmt: skip
    click.echo(f"wrote {res.path}")
    if csv_path is not None:
        click.echo(f"wrote {write_atomic(csv_path, tune_csv(res))}")


COMMANDS: list[click.Command] = [tune]
