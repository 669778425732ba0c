"""The chain as library functions: synth → ingest → pretrain → replay → compare → report.

`wfsim demo`, `wfsim seeds` and the commands call these; the CLI only parses options and prints.
Each step reports its one-line result through ``echo`` (a callable; silent by default).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import structlog
import yaml

from simulator.config import RunConfig, config_hash, config_to_dict
from simulator.core.atomic import write_atomic
from simulator.core.errors import WfsimError
from simulator.core.memory import give_back

if TYPE_CHECKING:  # pandas is imported where a step needs it (`wfsim --help` stays light)
    import pandas as pd

__all__ = [
    "Echo",
    "ReplayOutput",
    "Inputs",
    "Compared",
    "synth",
    "synth_store",
    "ingest",
    "pretrain",
    "replay",
    "load_inputs",
    "compare",
    "report",
    "demo",
    "seeds",
    "gap",
    "DEMO_STRATEGIES",
]

log = structlog.get_logger(__name__)

Echo = Callable[[str], None]
DEMO_STRATEGIES = ("llm", "lstm", "random")


def _silent(_: str) -> None:
    """The default ``echo``: library calls print nothing."""


def synth(out: Path, cfg: RunConfig, echo: Echo = _silent) -> list[Path]:
    """Synthetic episodes of ``cfg.synth`` with ``cfg.seed`` into ``out`` (atomic, replaces)."""
    from episodes.synth import write_episodes

    paths = write_episodes(out, cfg.synth, cfg.seed)
    echo(f"{out}: {len(paths)} episodes ({paths[0].name} .. {paths[-1].name}), seed {cfg.seed}")
    return paths


def synth_store(store: Path, cfg: RunConfig, echo: Echo = _silent) -> Path:
    """Synthetic episodes of ``cfg.synth`` written straight into a new store (= synth + ingest)."""
    from episodes.store import open_store
    from episodes.synth_store import write_synth_store

    write_synth_store(store, cfg.synth, cfg.seed)
    st = open_store(store)
    echo(f"{store}: {len(st.dates)} days, {len(st.tickers)} tickers, seed {cfg.seed}")
    return store


def ingest(src: Path, store: Path, echo: Echo = _silent, **options: Any):
    """``episodes.store.ingest`` (options: replace, with_reasoning, workers); its report."""
    from episodes.benchmarks import copy_benchmarks
    from episodes.store import ingest as ingest_days

    rep = ingest_days(src, store, **options)
    copy_benchmarks(src, store)  # synthetic SPY/rf written beside the episodes, if any
    echo(
        f"{rep.path}: {rep.n_days} days ({rep.n_new} new, {rep.n_replaced} replaced, "
        f"{rep.n_unchanged} unchanged), {rep.size_bytes / 1e6:.2f} MB, {rep.elapsed_s:.2f} s"
    )
    return rep


def pretrain(store: Path, models: Path, cfg: RunConfig, echo: Echo = _silent, **options: Any):
    """``models.pretrain.pretrain`` of the run's ``PretrainConfig`` (options: backend, workers,
    address, force); its result."""
    from models.pretrain import pretrain as pretrain_windows

    res = pretrain_windows(store, models, cfg.pretrain_config(), **options)
    echo(
        f"{res.registry_path}: {len(res.entries)} windows "
        f"({len(res.trained)} trained, {len(res.skipped)} skipped) in {res.elapsed_s:.1f} s"
    )
    return res


class ReplayOutput(NamedTuple):
    """A replay's exports: the result line, written paths, final NAV, and the error (if any)
    that must surface once everything is written (e.g. the llm books differ from the recording)."""

    line: str
    paths: dict[str, Path]
    final_nav: float
    error: WfsimError | None


def replay(
    strategy: str,
    store: Path,
    out: Path,
    cfg: RunConfig,
    models: Path | list[Path] | None = None,
    *,
    allow_gaps: bool = False,
) -> ReplayOutput:
    """Run ``strategy`` over the store's days and export it into ``out`` (see `wfsim replay`);
    ``models``: a registry, or a list of them (a seed ensemble).

    Days that no model serves (an unfinished pretrain) raise ``RegistryError`` before anything
    is written, unless ``allow_gaps``: then summary.json gets ``coverage`` (served days / days,
    a note), which compare and report show."""
    from episodes.benchmarks import benchmark_files
    from simulator.panel_map import replay_panel
    from simulator.results.export import RUN_VERSIONS, export_run
    from simulator.results.holdings import holdings_streams, run_versions, units
    from simulator.strategies import STRATEGIES, STRATEGY_NAMES

    chash = config_hash(cfg)
    with structlog.contextvars.bound_contextvars(
        config_hash=chash, seed=cfg.seed, strategy=strategy
    ):
        opts = {"models": models} if strategy in STRATEGY_NAMES else {}
        # a mapped Panel (temp file beside ``out``) when the in-memory one exceeds the budget
        with replay_panel(store, cfg.features.memory_mb, Path(out).parent) as panel:
            res = STRATEGIES[strategy](panel, cfg, **opts)
            give_back()  # the loop's transient pages (heap, Arrow pool) before the exports
            close = panel.close  # the holdings read it while written (a memmap outlives its file)
            del panel
        tables = {**(res.tables or {}), **holdings_streams(res.run, close)}
        extra = res.extra | {"config": config_to_dict(cfg), "config_hash": chash, "seed": cfg.seed}
        extra |= _coverage(res, strategy, allow_gaps)
        versions = run_versions(RUN_VERSIONS, models=bool(opts))
        docs = {"units.json": units(), "versions.json": versions}
        # the store's own SPY/rf (synthetic stores) travel with the run, for compare/report
        paths = export_run(out, res.run, extra, tables, docs, benchmark_files(store))
        del close
        nav = res.run.marks.nav
        final = float(nav[-1]) if len(nav) else res.run.initial_nav
        log.info("run_finished", days=len(res.run.dates), final_nav=final, out=str(out))
    return ReplayOutput(f"{res.line}; final NAV {final:.2f}", paths, final, res.error)


def _coverage(res: Any, strategy: str, allow_gaps: bool) -> dict[str, Any]:
    """``{"coverage": ...}`` when days went unserved (and ``allow_gaps``), else nothing; raises
    ``RegistryError`` on unserved days without ``allow_gaps``."""
    from simulator.core.errors import RegistryError

    n_days = len(res.run.dates)
    gaps = int(res.extra.get("replay", {}).get("skipped_days", {}).get("no_model", 0))
    if not gaps:
        return {}
    if not allow_gaps:
        raise RegistryError(
            f"replay {strategy}", f"no model serves {gaps} of {n_days} days",
            fix="finish `wfsim pretrain` (it resumes), or pass --allow-gaps for an incomplete run",
        )  # fmt: skip
    note = f"{gaps} days had no model (no trades decided); the run is incomplete"
    return {"coverage": {"served_days": n_days - gaps, "days": n_days,
                         "fraction": (n_days - gaps) / n_days, "note": note}}  # fmt: skip


class Inputs(NamedTuple):
    """What compare and report read: runs, rf, SPY, notes on what is missing, FF factors."""

    runs: list
    rf: pd.Series | None
    spy: pd.Series | None
    notes: list[str]
    factors: dict[str, pd.DataFrame]  # "ff3"/"ff5" -> factor table; absent files are left out


class Compared(NamedTuple):
    """A comparison: the performance table and the risk tables, over the same common dates."""

    table: Any  # simulator.results.compare.Comparison
    risk: Any  # simulator.results.compare_risk.RiskComparison


def load_inputs(
    run_dirs: Sequence[Path],
    *,
    benchmark: str = "spy",
    benchmark_csv: Path | None = None,
    benchmarks_dir: Path | None = None,
    reference: Sequence[str] = (),
) -> Inputs:
    """Run directories (+ recorded references), the risk-free rate and SPY from ``benchmarks_dir``
    (each missing one is a note and a warning, not an error)."""
    from simulator.results import benchmarks as bench
    from simulator.results.compare import load_run, series_run
    from simulator.results.risk import FACTOR_FILES, load_factors

    runs = [load_run(p) for p in run_dirs]
    folder = Path(benchmarks_dir) if benchmarks_dir is not None else _own_benchmarks(run_dirs)
    if reference and folder is None:
        raise WfsimError("--reference", "needs the recorded benchmark CSVs",
                         reference=",".join(reference), fix="pass --benchmarks DIR")  # fmt: skip
    if "mas-runs" in reference:
        for i, (label, returns) in enumerate(bench.load_mas_runs(folder).items()):
            runs.append(series_run(label, returns, strategy="llm-recorded", seed=i))
    if "lstm-original" in reference:
        runs += [series_run(k, s) for k, s in bench.load_lstm_original(folder).items()]
    notes: list[str] = []
    spy = rf = None
    spy_path = benchmark_csv or (folder / bench.SPY_FILE if folder else None)
    if benchmark == "spy" and spy_path is not None and spy_path.is_file():
        spy = bench.load_spy(spy_path)
    elif benchmark == "spy":
        where = spy_path or "no --benchmarks folder given and the runs have no benchmarks/"
        notes.append(f"SPY benchmark omitted: {where} not found (pass --benchmarks DIR)")
        log.warning("benchmark_missing", path=str(spy_path))
    rf_path = folder / bench.RF_FILE if folder else None
    if rf_path is not None and rf_path.is_file():
        rf = bench.load_risk_free(rf_path)
    else:
        notes.append(f"risk-free rate omitted: {rf_path} not found")
        log.warning("risk_free_missing", path=str(rf_path))
    paths = {k: folder / f for k, f in FACTOR_FILES.items()} if folder else {}
    factors = {k: load_factors(p) for k, p in paths.items() if p.is_file()}
    return Inputs(runs, rf, spy, notes, factors)


def _own_benchmarks(run_dirs: Sequence[Path]) -> Path | None:
    """The first run's ``benchmarks/`` (copied from a synthetic store by replay), if any."""
    from episodes.benchmarks import store_benchmarks

    found = (store_benchmarks(Path(p)) for p in run_dirs)
    return next((f for f in found if f is not None), None)


def _compared(inputs: Inputs) -> Compared:
    from simulator.results.compare import compare_runs
    from simulator.results.compare_risk import compare_risk

    runs, rf, spy, notes, factors = inputs
    comp = compare_runs(runs, rf=rf, benchmark=spy, notes=notes)
    return Compared(comp, compare_risk(runs, comp.dates, benchmark=spy, factors=factors))


def compare(run_dirs: Sequence[Path], out: Path | None = None, **inputs: Any) -> Compared:
    """The comparison of ``run_dirs`` (``load_inputs`` options); its performance table is also
    written to ``out`` (.csv or .json) when given."""
    from simulator.results.compare import comparison_csv, comparison_json

    got = load_inputs(run_dirs, **inputs)
    res = _compared(got)
    comp = res.table
    if out is not None:
        write_atomic(out, comparison_csv(comp) if out.suffix == ".csv" else comparison_json(comp))
    log.info("runs_compared", runs=len(got.runs), days=len(comp.dates))
    return res


def report(
    run_dirs: Sequence[Path],
    out: Path,
    *,
    sections: Sequence[str] = (),
    interactive: bool = True,
    **inputs: Any,
) -> list[Path]:
    """The self-contained HTML report of ``run_dirs`` at ``out`` (+ PNGs beside it); ``sections``:
    extra HTML sections (e.g. the study table) placed after the comparison; with ``interactive``,
    also the offline plotly tearsheet ``<stem>-tearsheet.html``."""
    from simulator.results.report import write_report  # matplotlib is imported only here

    got = load_inputs(run_dirs, **inputs)
    res = _compared(got)
    paths = write_report(
        out, got.runs, res.table, benchmark=got.spy, risk=res.risk, sections=sections
    )
    if interactive:
        from simulator.results.report_interactive import write_interactive

        sheet = Path(out).with_name(f"{Path(out).stem}-tearsheet.html")
        paths.append(write_interactive(sheet, got.runs, res.table, benchmark=got.spy,
                                       risk=res.risk))  # fmt: skip
    log.info("report_written", path=str(out), runs=len(got.runs), days=len(res.table.dates))
    return list(paths)


def _step(echo: Echo, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One step of a job: its header, its result, its duration (logged)."""
    t = time.perf_counter()
    echo(f"== {name}")
    res = fn(*args, **kwargs)
    if isinstance(res, ReplayOutput):
        folders = sorted({str(p.parent) for p in res.paths.values()})
        echo(f"{res.line}; wrote {len(res.paths)} files to {', '.join(folders)}")
        if res.error is not None:
            raise res.error
    log.debug("step_finished", step=name, elapsed_s=round(time.perf_counter() - t, 2))
    return res


def demo(out: Path, cfg: RunConfig, echo: Echo = _silent, **inputs: Any) -> list[Path]:
    """The whole chain on synthetic episodes into ``out``; returns the paths it made.

    ``out/config.yaml`` records ``cfg``; a rerun resumes (finished windows are not retrained).
    ``inputs``: ``load_inputs`` options of the comparison; without ``benchmarks_dir``, the
    synthetic SPY and risk-free series written beside the episodes (``episodes.benchmarks``).
    """
    from simulator.results.compare import format_table

    out.mkdir(parents=True, exist_ok=True)
    cfg_path = write_atomic(
        out / "config.yaml", yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    )
    eps, store, models, runs = out / "episodes", out / "store", out / "models", out / "runs"
    _step(echo, "synth", synth, eps, cfg, echo)
    _step(echo, "ingest", ingest, eps, store, echo)
    _step(echo, "pretrain", pretrain, store, models, cfg, echo)
    from simulator.strategies import strategies_for_account

    names = DEMO_STRATEGIES + strategies_for_account(cfg)
    for name in names:
        extra = models if name == "lstm" else None
        _step(echo, f"replay {name}", replay, name, store, runs / name, cfg, extra)
    run_dirs = [runs / name for name in names]
    if inputs.get("benchmarks_dir") is None:
        inputs = inputs | {"benchmarks_dir": store / "benchmarks"}
    comp = _step(echo, "compare", compare, run_dirs, **inputs)
    echo(format_table(comp.table).rstrip("\n"))
    # one screen: the risk, regime and stress tables are in the report (and `wfsim compare`)
    echo(f"risk, regimes and stress tables: {out / 'report.html'} or `wfsim compare {runs}/*`")
    written = _step(echo, "report", report, run_dirs, out / "report.html", **inputs)
    return [cfg_path, eps, store, models, *run_dirs, *written]  # the caller lists them


def seeds(
    store: Path,
    out: Path,
    cfg: RunConfig,
    seed_list: Sequence[int],
    echo: Echo = _silent,
    **inputs: Any,
):
    """Pretrain and replay the LSTM (and, for ``strict``, the random null) once per seed, the
    recorded baseline once, then the comparison (returned) and the report of every run in
    ``out/runs``. See `wfsim seeds` for the layout."""
    from models.infoset import STRICT, InfoSet
    from simulator.results.compare import format_table
    from simulator.results.compare_risk import format_risk

    info = InfoSet.resolve(cfg.features.info_set)
    out.mkdir(parents=True, exist_ok=True)
    cfg_text = yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    write_atomic(out / f"config-{info.name}.yaml", cfg_text)
    tag = "" if info == STRICT else f"{info.name}-"
    runs = out / "runs"
    from simulator.strategies import strategies_for_account

    dirs = []
    for name in ("llm", *strategies_for_account(cfg)):
        _step(echo, f"replay {name}", replay, name, store, runs / name, cfg)
        dirs.append(runs / name)
    for s in seed_list:
        seeded = dataclasses.replace(cfg, seed=s)
        models = out / f"models-{tag}{s}"
        _step(echo, f"pretrain seed {s}", pretrain, store, models, seeded, echo)
        name = cfg.model.family  # run directory prefix: lstm, ridge or gbm (strategy stays lstm)
        lstm_dir = runs / f"{name}-{tag}{s}"
        _step(echo, f"replay {name} seed {s}", replay, "lstm", store, lstm_dir, seeded, models)
        dirs.append(lstm_dir)
        if not tag:
            rnd = runs / f"random-{s}"
            _step(echo, f"replay random seed {s}", replay, "random", store, rnd, seeded)
            dirs.append(rnd)
    table = out / f"comparison-{info.name}.csv"
    comp = _step(echo, "compare", compare, dirs, table, **inputs)
    echo(format_table(comp.table).rstrip("\n"))
    echo(format_risk(comp.risk).rstrip("\n"))
    echo(f"wrote {table}")
    every = sorted(p for p in runs.iterdir() if (p / "summary.json").is_file())
    for p in _step(echo, "report", report, every, out / "report.html", **inputs):
        echo(str(p))
    return comp


class Gap(NamedTuple):
    """The anatomy of a run's gap to a baseline, and each run's constraint log on those days."""

    attribution: Any  # simulator.results.attribution.Attribution
    constraints: dict[str, pd.DataFrame]  # run label -> constraint_summary table


def gap(run: Path, baseline: Path, store: Path, *, horizon_days: int = 1) -> Gap:
    """``run`` vs ``baseline`` (run directories) over their common days, priced from ``store``
    (see ``simulator.results.attribution.attribute`` and ``constraints.constraint_summary``)."""
    from simulator.panel_map import replay_panel
    from simulator.results.attribution import Prices, attribute, read_run
    from simulator.results.constraints import constraint_summary

    runs = [read_run(run), read_run(baseline)]
    budget = RunConfig().features.memory_mb  # past it, the Panel is mapped (as a replay maps it)
    with replay_panel(store, budget, Path(tempfile.gettempdir())) as panel:
        prices = Prices(panel.dates, panel.tickers, panel.close, panel.is_bond)
        att = attribute(*runs, prices)
        span = {"first_date": att.first_date, "last_date": att.last_date}
        cons = {r.label: constraint_summary(r, prices, horizon_days=horizon_days, **span)
                for r in runs}  # fmt: skip
    log.info("gap_attributed", run=att.run, baseline=att.baseline, days=att.n_days,
             gap=float(att.parts.loc["total", "gap"]))  # fmt: skip
    return Gap(att, cons)
