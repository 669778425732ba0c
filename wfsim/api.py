"""The public Python API: one function per `wfsim` command, built on ``simulator.pipeline``.

Every function takes paths and keyword options named like the command's flags, returns a pandas
DataFrame or a small result object, prints nothing and logs nothing unless
``configure_logging()`` was called. ``config`` is a YAML path, a ``RunConfig`` or a dict of dotted
overrides (``{"windows.initial": 40}``); ``seed`` overrides the config's seed.

Example (a notebook; the same chain as `wfsim demo`, smaller)::

    import wfsim
    cfg = {"synth.days": 120, "synth.tickers": 20, "windows.initial": 60, "windows.step": 30}
    wfsim.synth("eps", config=cfg)
    wfsim.ingest("eps", "store")
    wfsim.pretrain("store", "models", config=cfg)
    run = wfsim.replay("lstm", "store", "runs/lstm", models="models", config=cfg)
    run.equity.nav.plot()
    wfsim.compare(["runs/lstm"])          # a DataFrame, one row per run, plus SPY
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "configure_logging",
    "load_config",
    "synth",
    "ingest",
    "pretrain",
    "models_report",
    "replay",
    "Replay",
    "compare",
    "report",
    "demo",
    "seeds",
    "study",
]


def _drop(_logger: Any, _name: str, _event: dict) -> dict:
    import structlog

    raise structlog.DropEvent


def _silence() -> None:
    """Drop every structlog event until ``configure_logging`` is called (structlog's default
    would print them on stdout); an application that configured structlog keeps its setup."""
    import structlog

    if not structlog.is_configured():
        structlog.configure(processors=[_drop])


def configure_logging(level: str = "info", json: bool | None = None) -> None:
    """Show wfsim's structlog events on stderr from ``level`` up (JSON lines when ``json``,
    default: when stderr is not a tty). Off until called."""
    from simulator.core.logs import configure_logging as configure

    configure(level, json)


def load_config(config: Any = None, seed: int | None = None, *, preset: str | None = None):
    """A ``RunConfig`` from a YAML path, a dict of dotted overrides or a ``RunConfig`` (returned
    as is, with ``seed`` applied), on top of ``configs/<preset>.yaml`` when given."""
    from simulator.config import RunConfig, load_preset
    from simulator.config import load_config as load

    if isinstance(config, RunConfig):
        return config if seed is None else dataclasses.replace(config, seed=seed)
    path = Path(config) if isinstance(config, str | Path) else None
    overrides = dict(config) if isinstance(config, Mapping) else {}
    if seed is not None:
        overrides["seed"] = seed
    return load(path, overrides, preset=load_preset(preset) if preset else None)


def synth(out: str | Path, *, config: Any = None, seed: int | None = None) -> list[Path]:
    """`wfsim episodes synth`: synthetic episodes (+ ``benchmarks/`` SPY and rf) into ``out``."""
    from simulator import pipeline

    return pipeline.synth(Path(out), load_config(config, seed))


def ingest(src: str | Path, store: str | Path, **options: Any):
    """`wfsim episodes ingest`: validate ``src`` and add its days to ``store`` (options: replace,
    with_reasoning, workers, wait). Returns the ``IngestReport``."""
    from simulator import pipeline

    return pipeline.ingest(Path(src), Path(store), **options)


def pretrain(
    store: str | Path,
    models: str | Path,
    *,
    config: Any = None,
    seed: int | None = None,
    family: str | None = None,
    mlflow: str | None = None,
    mlflow_experiment: str = "wfsim",
    **options: Any,
):
    """`wfsim pretrain`: one model per walk-forward window (options: backend, workers, address,
    force, wait). Returns the ``PretrainResult`` (``.entries``, ``.trained``, ``.skipped``).
    ``mlflow``: also log the registry to this MLflow store (`wfsim pretrain --mlflow`)."""
    from simulator import pipeline
    from simulator.config import config_to_dict
    from simulator.tracking import open_tracker, pretrain_record

    cfg = load_config(config, seed)
    if family is not None:
        cfg = dataclasses.replace(cfg, model=load_config({"model.family": family}).model)
    tracker = open_tracker(mlflow, mlflow_experiment)  # before anything is written
    res = pipeline.pretrain(Path(store), Path(models), cfg, **options)
    if tracker is not None:
        tracker.record(pretrain_record, Path(models), config_to_dict(cfg))
    return res


def models_report(models: str | Path):
    """`wfsim models report`: a DataFrame of OOS metrics per window, then mean and pooled rows."""
    from models.evaluate import report_frame

    return report_frame(Path(models))


@dataclasses.dataclass(frozen=True)
class Replay:
    """A replay's outcome: its directory, final NAV, summary.json, and the daily equity table."""

    out: Path
    final_nav: float
    summary: dict[str, Any]
    line: str

    @property
    def equity(self):
        """equity.parquet as a DataFrame indexed by date (nav, cash, exposures, daily_return)."""
        import pandas as pd

        return pd.read_parquet(self.out / "equity.parquet").set_index("date")

    @property
    def trades(self):
        """trades.parquet as a DataFrame (one row per decided order and its fill)."""
        import pandas as pd

        return pd.read_parquet(self.out / "trades.parquet")


def replay(
    strategy: str,
    store: str | Path,
    out: str | Path,
    *,
    models: str | Path | None = None,
    config: Any = None,
    seed: int | None = None,
    allow_gaps: bool = False,
    mlflow: str | None = None,
    mlflow_experiment: str = "wfsim",
) -> Replay:
    """`wfsim replay`: run ``strategy`` (llm, llm-counterfactual, lstm, random, flat) and export
    it into ``out``. Raises the run's error (e.g. ``ReconcileError``) after the exports.
    ``mlflow``: also log the run to this MLflow store (`wfsim replay --mlflow`)."""
    from simulator import pipeline
    from simulator.tracking import open_tracker, replay_record

    cfg = load_config(config, seed)
    tracker = open_tracker(mlflow, mlflow_experiment)  # before anything is written
    res = pipeline.replay(
        strategy, Path(store), Path(out), cfg, Path(models) if models else None,
        allow_gaps=allow_gaps,
    )  # fmt: skip
    if tracker is not None:
        tracker.record(replay_record, Path(out))
    if res.error is not None:
        raise res.error
    summary = json.loads((Path(out) / "summary.json").read_text(encoding="utf-8"))
    return Replay(Path(out), res.final_nav, summary, res.line)


def _frame(comp):
    """The comparison as a DataFrame indexed by label; ``.attrs``: dates and notes."""
    import pandas as pd

    from simulator.results.compare import comparison_records

    frame = pd.DataFrame(comparison_records(comp)).set_index("label")
    frame.attrs["notes"] = list(comp.notes)
    frame.attrs["dates"] = (str(comp.dates[0].date()), str(comp.dates[-1].date()), len(comp.dates))
    return frame


def compare(
    run_dirs: Sequence[str | Path],
    *,
    benchmarks: str | Path | None = None,
    table: str | Path | None = None,
    benchmark: str = "spy",
    reference: Sequence[str] = (),
):
    """`wfsim compare`: one row per run (seeds as mean, ``<metric>_std``) plus SPY, over the common
    dates. ``benchmarks``: folder of the SPY/rf CSVs (default: the runs' own ``benchmarks/``);
    ``table``: also write it (.csv or .json). ``frame.attrs["notes"]`` lists what is missing."""
    from simulator import pipeline

    res = pipeline.compare(
        [Path(p) for p in run_dirs], Path(table) if table else None, benchmark=benchmark,
        benchmarks_dir=Path(benchmarks) if benchmarks else None, reference=tuple(reference),
    )  # fmt: skip
    return _frame(res.table)


def report(
    run_dirs: Sequence[str | Path],
    html: str | Path = "report.html",
    *,
    benchmarks: str | Path | None = None,
    benchmark: str = "spy",
    reference: Sequence[str] = (),
) -> list[Path]:
    """`wfsim report`: the self-contained HTML report (+ PNGs beside it); the written paths."""
    from simulator import pipeline

    return pipeline.report(
        [Path(p) for p in run_dirs], Path(html), benchmark=benchmark,
        benchmarks_dir=Path(benchmarks) if benchmarks else None, reference=tuple(reference),
    )  # fmt: skip


def demo(out: str | Path = "wfsim-demo", *, config: Any = None, seed: int | None = None):
    """`wfsim demo`: the whole chain on synthetic data (demo preset under ``config``); returns the
    comparison DataFrame of its runs (``frame.attrs["paths"]``: everything it wrote)."""
    from simulator import pipeline
    from simulator.config import DEMO_PRESET

    cfg = load_config(config, seed, preset=DEMO_PRESET)
    paths = pipeline.demo(Path(out), cfg)
    runs = [p for p in paths if p.parent.name == "runs"]
    frame = compare(runs, benchmarks=Path(out) / "store" / "benchmarks")
    frame.attrs["paths"] = paths
    return frame


def seeds(
    store: str | Path,
    out: str | Path,
    *,
    seeds: int | Sequence[int] = 3,
    config: Any = None,
    benchmarks: str | Path | None = None,
):
    """`wfsim seeds`: pretrain + replay per seed, then the comparison (returned as a DataFrame)."""
    from simulator import pipeline

    seed_list = range(seeds) if isinstance(seeds, int) else list(seeds)
    comp = pipeline.seeds(
        Path(store), Path(out), load_config(config), seed_list,
        benchmarks_dir=Path(benchmarks) if benchmarks else None,
    )  # fmt: skip
    return _frame(comp.table)


def study(
    store: str | Path,
    out: str | Path,
    *,
    families: Sequence[str] | str = ("lstm", "ridge", "gbm"),
    seeds: int | Sequence[int] = 3,
    config: Any = None,
    benchmarks: str | Path | None = None,
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    mlflow: str | None = None,
    mlflow_experiment: str = "wfsim",
):
    """`wfsim study`: every family × seed pretrained and replayed on the same days (resumable),
    plus the LLM, random and SPY rows. Returns the study table as a DataFrame indexed by row
    (``llm``, ``ridge (x3)``, ``ridge-0``, ..., ``random (x3)``, ``SPY``); ``frame.attrs``:
    ``csv`` path, ``ran`` and ``skipped`` counts. ``families``: names or one comma-separated
    string; ``seeds``: a count (0..n-1) or the seeds themselves."""
    import pandas as pd

    from simulator.config import config_to_dict
    from simulator.study import study as run_study
    from simulator.tracking import open_tracker, study_record

    if isinstance(families, str):
        families = [f.strip() for f in families.split(",") if f.strip()]
    seed_list = range(seeds) if isinstance(seeds, int) else list(seeds)
    cfg = load_config(config)
    tracker = open_tracker(mlflow, mlflow_experiment)  # before anything is written
    inputs = {"benchmarks_dir": Path(benchmarks)} if benchmarks else {}
    res = run_study(
        Path(store), Path(out), cfg, tuple(families), seed_list,
        backend=backend, workers=workers, address=address, **inputs,
    )  # fmt: skip
    if tracker is not None:
        tracker.record(study_record, Path(out), config_to_dict(cfg), tuple(families), seed_list)
    frame = pd.DataFrame(res.rows)
    frame = frame.set_index("row")
    frame.attrs.update(csv=res.csv, ran=res.ran, skipped=res.skipped)
    return frame


_silence()
