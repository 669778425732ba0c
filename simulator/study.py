"""`wfsim study`: every model family × seed pretrained and replayed on the same days, one table.

Beside ``pipeline.py`` (same import allowance: it reads the results layer for the comparison).
Out-of-sample model quality: ``simulator.study_quality`` (each registry's saved predictions, or
under ``replay.universe: eligible`` the live predictions on the universe served); replay metrics
from the comparison of every run over the days all runs share.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import structlog
import yaml

from models.config import FAMILY_STRATEGIES
from simulator import pipeline
from simulator.config import RunConfig, config_hash, config_to_dict
from simulator.core.atomic import write_atomic
from simulator.core.errors import ConfigError
from simulator.study_quality import cell_model_metrics

__all__ = ["STUDY_COLUMNS", "Cell", "StudyResult", "check_families", "cell_done", "study"]

log = structlog.get_logger(__name__)

STUDY_COLUMNS = (
    ("ic_pooled", "IC pooled", "num3"),
    ("ic_mean", "IC mean", "num3"),
    ("rank_ic", "Rank IC", "num3"),
    ("rank_ic_t", "Rank IC t", "num2"),
    ("icir", "ICIR", "num2"),
    ("ic_t", "IC t", "num2"),
    ("accuracy", "Dir acc", "pct"),
    ("total_return", "Total ret", "pct"),
    ("sharpe_rf", "Sharpe rf", "num2"),
    ("max_drawdown", "Max DD", "pct"),
    ("turnover", "Turnover", "num2"),
    ("fees_paid", "Fees", "money"),
    ("pretrain_s_per_window", "Pretrain s/win", "num2"),
)
"""(key, header, format) of the study table; the CSV carries each key and ``<key>_std``."""

LEGEND = (
    "IC pooled: one Pearson correlation over every served (day, ticker) pair; IC mean / Rank IC: "
    "mean of the daily cross-sectional (rank) ICs; Rank IC t: t-stat of the daily rank IC mean; "
    "ICIR: IC mean / its daily std; IC t: t-stat of the daily IC mean (both t: overlap-robust, "
    "Hansen-Hodrick with h-1 lags, for a horizon h > 1); Dir acc: share of "
    "matching signs; replay metrics over the days every run shares (Sharpe rf: excess over the "
    "rf CSV); Pretrain s/win: mean training_time_s of the registry's windows; 'a±b': mean ± std "
    "(ddof=1) over seeds; lstm-portfolio predicts a name's weight of NAV (0 when not held), so "
    "its IC is that of the weights with the next open-to-open return and its Dir acc the share "
    "where 'held' (weight > 0) matches 'went up'"
)
MODEL_KEYS = ("ic_pooled", "ic_mean", "rank_ic", "rank_ic_t", "icir", "ic_t", "accuracy")
MODEL_KEYS += ("pretrain_s_per_window",)
REPLAY_KEYS = ("total_return", "sharpe_rf", "max_drawdown", "turnover", "fees_paid")


class Cell(NamedTuple):
    """One family × seed: its config, registry directory and run directory."""

    family: str
    seed: int
    cfg: RunConfig
    models: Path
    run: Path


class StudyResult(NamedTuple):
    """The table rows (dicts), the CSV path, and how many cells were run and skipped."""

    rows: list[dict[str, Any]]
    csv: Path
    ran: int
    skipped: int


def check_families(families: Sequence[str]) -> tuple[str, ...]:
    """``families`` as a tuple, each a known family and none twice; ConfigError otherwise."""
    from models.config import FAMILIES

    bad = [f for f in families if f not in FAMILIES]
    twice = sorted({f for f in families if families.count(f) > 1})
    if bad or not families or twice:
        named = {"unknown": bad[0]} if bad else {"repeated": twice[0]} if twice else {}
        raise ConfigError(
            "families",
            "unknown, repeated or no model family",
            got=",".join(families),
            **named,
            expected=f"a comma-separated subset of {','.join(FAMILIES)}",
        )
    return tuple(families)


def cell_done(run: Path, cfg: RunConfig, models: Path | None = None) -> bool:
    """A run is done when its files match its manifest and its summary's config hash is
    ``cfg``'s; with ``models``, also when every registry window is done and verifies."""
    from simulator.results.export import verify_run

    try:
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        if summary.get("config_hash") != config_hash(cfg) or verify_run(run):
            return False
    except (OSError, ValueError, KeyError):
        return False
    if models is None:
        return True
    from models.registry import Registry
    from simulator.core.errors import RegistryError

    try:
        reg = Registry.load(models)
    except RegistryError:
        return False
    return bool(reg.entries) and all(reg.verify(e) for e in reg.entries)


def _cells(out: Path, cfg: RunConfig, families: Sequence[str], seeds: Sequence[int]) -> list[Cell]:
    cells = []
    for family in families:
        try:
            model = dataclasses.replace(cfg.model, family=family)
        except ValueError as exc:  # a model setting that this family refuses
            fix = "drop the family from --families or the setting from --config"
            raise ConfigError("model", str(exc), family=family, fix=fix) from None
        for s in seeds:
            seeded = dataclasses.replace(cfg, seed=s, model=model)
            name = f"{family}-{s}"
            cells.append(Cell(family, s, seeded, out / "models" / name, out / "runs" / name))
    return cells


def _replay_once(echo, name: str, run: Path, store: Path, cfg: RunConfig, models=None) -> bool:
    """Replay ``name`` into ``run`` unless done; True when it ran."""
    if cell_done(run, cfg, models):
        log.info("cell_skipped", run=run.name)
        return False
    if models is not None:
        pipeline._step(echo, f"pretrain {run.name}", pipeline.pretrain, store, models, cfg, echo)
    pipeline._step(echo, f"replay {run.name}", pipeline.replay, name, store, run, cfg, models)
    return True


def study(
    store: Path,
    out: Path,
    cfg: RunConfig,
    families: Sequence[str],
    seeds: Sequence[int],
    echo: pipeline.Echo = pipeline._silent,
    *,
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    **inputs: Any,
) -> StudyResult:
    """Pretrain and replay every family × seed, the recorded LLM once and the random null per
    seed, all on the store's days; then one table (``out/study.csv``, ``echo``, and a section of
    ``out/report.html``). A cell whose run is done under its config (``cell_done``) is skipped.
    ``inputs``: ``pipeline.load_inputs`` options (benchmarks_dir, ...). ``backend="ray"``: the
    cells' pretrains first run at once as Ray tasks (``models.schedule.pretrain_cells``; a
    cluster at ``address``, else a local Ray with ``workers`` CPUs), then each replays."""
    families = check_families(families)
    if backend == "ray":
        from models.backends import require_ray

        require_ray()  # before anything is written
    cells = _cells(out, cfg, families, seeds)  # every family takes the config: before any write
    out.mkdir(parents=True, exist_ok=True)
    cfg_text = yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    write_atomic(out / "config-study.yaml", cfg_text)
    runs = out / "runs"
    if backend != "local":  # local: each cell pretrains in turn below
        _pretrain_cells(echo, store, cells, backend, workers, address)
    ran = int(_replay_once(echo, "llm", runs / "llm", store, cfg))
    for cell in cells:  # each family through the strategy its predictions mean
        strategy = FAMILY_STRATEGIES[cell.family]
        ran += _replay_once(echo, strategy, cell.run, store, cell.cfg, cell.models)
    randoms = [(s, runs / f"random-{s}") for s in seeds]
    for s, rnd in randoms:
        ran += _replay_once(echo, "random", rnd, store, dataclasses.replace(cfg, seed=s))
    total = 1 + len(cells) + len(randoms)
    echo(f"study: {total} runs, {ran} run, {total - ran} skipped (done under this config)")
    dirs = [runs / "llm", *(c.run for c in cells), *(d for _, d in randoms)]
    rows, notes = _rows(cells, randoms, runs / "llm", dirs, inputs, store, out)
    csv = write_atomic(out / "study.csv", study_csv(rows))
    echo(format_study(rows, notes).rstrip("\n"))
    echo(f"wrote {csv}")
    section = study_html(rows, notes)
    for p in pipeline.report(dirs, out / "report.html", sections=(section,), **inputs):
        echo(str(p))
    log.info("study_finished", cells=len(cells), ran=ran, skipped=total - ran)
    return StudyResult(rows, csv, ran, total - ran)


def _pretrain_cells(echo, store: Path, cells: list[Cell], backend, workers, address) -> None:
    """The pretrains of the cells not done, scheduled together (``pretrain_cells``)."""
    from models.schedule import pretrain_cells

    todo = [c for c in cells if not cell_done(c.run, c.cfg, c.models)]
    jobs = [(c.models, c.cfg.pretrain_config()) for c in todo]
    label = f"pretrain {len(jobs)} cells ({backend})"
    opts = {"backend": backend, "workers": workers, "address": address}
    pipeline._step(echo, label, pretrain_cells, store, jobs, **opts)


def _replay_metrics(dirs: Sequence[Path], inputs: dict) -> tuple[dict[str, dict], list[str]]:
    """Metrics of every run on the common days, one row per run (never grouped), and SPY."""
    from simulator.results.compare import compare_runs

    got = pipeline.load_inputs(dirs, **inputs)
    runs = [dataclasses.replace(r, strategy=r.label) for r in got.runs]
    comp = compare_runs(runs, rf=got.rf, benchmark=got.spy, notes=got.notes)
    d = comp.dates
    notes = [f"{len(d)} common dates {d[0]:%Y-%m-%d} .. {d[-1]:%Y-%m-%d}", *comp.notes]
    return {row.label: row.metrics for row in comp.rows}, notes


def _rows(cells, randoms, llm: Path, dirs, inputs, store, out) -> tuple[list[dict], list[str]]:
    replay, notes = _replay_metrics(dirs, inputs)
    if any(c.cfg.replay.universe != "consensus" for c in cells):
        own = sorted({c.family for c in cells if FAMILY_STRATEGIES[c.family] != "lstm"})
        notes.append("IC columns: live predictions on the served universe (replay.universe: "
                     "eligible), every (day, ticker) a replay is given"
                     + "".join(f"; {f}: its registry's points" for f in own)
                     + f"; cached in {out / 'served'}")  # fmt: skip

    def one(label, kind, family, seed, metrics):
        return {"row": label, "kind": kind, "family": family, "seed": seed, "n_seeds": 1, **metrics}

    def pick(name):
        return {k: replay[name].get(k, math.nan) for k in REPLAY_KEYS}

    rows = []
    groups = {c.family: [] for c in cells}
    for c in cells:
        groups[c.family].append(one(c.run.name, "seed", c.family, c.seed,
                                    cell_model_metrics(c, store, out / "served")
                                    | pick(c.run.name)))  # fmt: skip
    groups["random"] = [one(d.name, "seed", "random", s, pick(d.name)) for s, d in randoms]
    for family, members in groups.items():
        rows.append(_aggregate(family, members))
        rows.extend(members)
    rows.insert(0, one("llm", "baseline", "llm", None, pick(llm.name)))
    spy = [label for label in replay if label not in {r["row"] for r in rows}]
    rows += [one(label, "benchmark", label, None, pick(label)) for label in spy]
    return rows, notes


def _aggregate(family: str, members: list[dict]) -> dict[str, Any]:
    row: dict[str, Any] = {"row": f"{family} (x{len(members)})", "kind": "family"}
    row |= {"family": family, "seed": None, "n_seeds": len(members)}
    for key, _, _ in STUDY_COLUMNS:
        vals = np.array([m.get(key, math.nan) for m in members], dtype=float)
        ok = vals[np.isfinite(vals)]
        row[key] = float(ok.mean()) if len(ok) else math.nan
        row[f"{key}_std"] = float(ok.std(ddof=1)) if len(ok) > 1 else math.nan
    return row


def study_csv(rows: list[dict]) -> str:
    """The rows as CSV: row, kind, family, seed, n_seeds, then each key and ``<key>_std``."""
    cols = ["row", "kind", "family", "seed", "n_seeds"]
    cols += [c for key, _, _ in STUDY_COLUMNS for c in (key, f"{key}_std")]
    frame = pd.DataFrame(rows).reindex(columns=cols)
    frame["seed"] = frame["seed"].astype("Int64")
    return frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def _cell(row: dict, key: str, fmt: str) -> str:
    v, sd = row.get(key), row.get(f"{key}_std")
    if v is None or not math.isfinite(v):
        return "-"
    sd = sd if sd is not None and math.isfinite(sd) else None
    if fmt == "pct":
        return f"{100 * v:.2f}%" if sd is None else f"{100 * v:.2f}±{100 * sd:.2f}%"
    spec = {"num2": ".2f", "num3": ".3f", "money": ",.0f"}[fmt]
    return f"{v:{spec}}" if sd is None else f"{v:{spec}}±{sd:{spec}}"


def _grid(rows: list[dict]) -> list[list[str]]:
    head = ["run", *(h for _, h, _ in STUDY_COLUMNS)]
    shown = [r for r in rows if r["kind"] != "seed"] + [r for r in rows if r["kind"] == "seed"]
    return [head, *([r["row"], *(_cell(r, k, f) for k, _, f in STUDY_COLUMNS)] for r in shown)]


def format_study(rows: list[dict], notes: Sequence[str] = ()) -> str:
    """The table as aligned text (families, baselines and SPY first, then each seed), legend,
    notes."""
    grid = _grid(rows)
    widths = [max(len(r[i]) for r in grid) for i in range(len(grid[0]))]
    lines = ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                           strict=True))])
             for r in grid]  # fmt: skip
    return "\n".join([*lines, LEGEND, *(f"note: {n}" for n in notes)]) + "\n"


def study_html(rows: list[dict], notes: Sequence[str] = ()) -> str:
    """The table as an HTML section of the report (``id="study"``)."""
    from html import escape

    grid = _grid(rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in grid[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in grid[1:])
    parts = ['<h2 id="study">Model families × seeds</h2>',
             f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
             f'<p class="legend">{escape(LEGEND)}</p>',
             *(f'<p class="note">note: {escape(n)}</p>' for n in notes)]  # fmt: skip
    return "\n".join(parts)
