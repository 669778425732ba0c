"""`wfsim episodes validate|ingest|info`: check recorded days, build the Parquet store, describe it.

Results (problems, summaries, tables) go to stdout; logs go to stderr.
"""

from __future__ import annotations

import collections
import statistics
import tempfile
from pathlib import Path

import click

from simulator.core.errors import EpisodeError

# the episodes modules (pandas, pyarrow) are imported inside the commands: `wfsim --help` is fast

__all__ = ["COMMANDS", "episodes_group"]

_SRC = click.Path(exists=True, path_type=Path)
_SRC_OR_GLOB = click.Path(path_type=Path)  # a glob is expanded by the reader (README)
_WAIT = click.option(
    "--wait", is_flag=True, help="If another writer holds the store, wait for it (else exit 1).",
)  # fmt: skip
_WORKERS = click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True,
    help="Processes that parse the JSON files (more helps only with idle cores).",
)  # fmt: skip


@click.group("episodes")
def episodes_group() -> None:
    """Recorded days ("episodes"): validate, ingest into a store, describe, synthesize.

    \b
    Example:
      wfsim episodes synth --out eps && wfsim episodes ingest eps --store store
    """


@episodes_group.command("validate")
@click.argument("src", type=_SRC_OR_GLOB)
@_WORKERS
@click.pass_context
def validate_cmd(ctx: click.Context, src: Path, workers: int) -> None:
    """Check every episode of SRC (a directory of episode_YYYY-MM-DD.json or a .tar.xz).

    Prints each problem as `FILE: DATE: field.path: what is wrong`, then
    `N episodes, M clean, P problems`. Exit status 1 when there is any problem.

    \b
    Example:
      wfsim episodes validate ../shared/data/mas-hedge-fund/episodes-2022-2024.tar.xz
    """
    from episodes.reader import read_days
    from episodes.validate import validate_days

    report = validate_days(read_days(src, workers=workers))
    for err in report.problems:
        click.echo(str(err))
    click.echo(report.summary())
    if not report.ok:
        ctx.exit(1)


@episodes_group.command("ingest")
@click.argument("src", type=_SRC_OR_GLOB)
@click.option("--store", type=click.Path(path_type=Path), required=True, help="Store directory.")
@click.option("--replace", is_flag=True, help="Overwrite stored days whose file changed.")
@click.option("--with-reasoning", is_flag=True, help="Keep the llm_decisions reasoning text.")
@_WORKERS
@_WAIT
def ingest_cmd(
    src: Path, store: Path, replace: bool, with_reasoning: bool, workers: int, wait: bool
) -> None:
    """Validate SRC (directory or .tar.xz) and add its days to the Parquet store.

    Nothing is written if any episode has a problem (all problems are listed on stderr). A re-run
    on a superset appends only the new days. A benchmarks/ folder beside the episodes (the
    synthetic SPY and risk-free series of `episodes synth`) is copied into the store.

    \b
    Example:
      wfsim episodes ingest wfsim-eps --store store
    """
    from simulator import pipeline

    opts = {"replace": replace, "with_reasoning": with_reasoning, "workers": workers, "wait": wait}
    try:
        pipeline.ingest(src, store, click.echo, **opts)
    except EpisodeError as exc:
        for err in getattr(exc, "problems", ()):
            click.echo(str(err), err=True)
        raise


@episodes_group.command("info")
@click.argument("path", type=_SRC, required=False)
@click.option(
    "--store", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
    help="Episode store to describe (instead of PATH).",
)  # fmt: skip
@_WORKERS
def info_cmd(path: Path | None, store: Path | None, workers: int) -> None:
    """Describe a store (--store S), or a directory of episodes or a .tar.xz (PATH): days, dates,
    tickers per day, actions, size on disk, tables. A store given as PATH is still accepted.

    \b
    Example:
      wfsim episodes info --store real-store
      wfsim episodes info ../shared/data/mas-hedge-fund/episodes-2022-2024.tar.xz
    """
    from episodes.store import MANIFEST

    if (path is None) == (store is None):
        raise click.UsageError("give exactly one of --store S or PATH")
    path = store or path

    if path.is_dir() and (path / MANIFEST).exists():
        lines = _store_info(path)
    else:
        lines = _source_info(path, workers)
    for line in lines:
        click.echo(line)


def _store_info(path: Path) -> list[str]:
    from episodes.schema import ACTIONS
    from episodes.store import open_store
    from simulator.config import RunConfig
    from simulator.panel_map import replay_panel

    st = open_store(path)
    acts = collections.Counter()
    budget = RunConfig().features.memory_mb  # past it, the Panel is mapped (as a replay maps it)
    with replay_panel(st.path, budget, Path(tempfile.gettempdir())) as panel:
        per_day = panel.eligible.sum(axis=1)
        for code, name in enumerate(ACTIONS):
            acts[name] = int(((panel.action == code) & panel.has_decision).sum())
        n_days = panel.n_days
    m = st.manifest
    lines = _common(n_days, m["first_date"], m["last_date"], per_day.tolist(), acts)
    lines.append(f"tickers      {len(st.tickers)} (portfolio keys {len(m['portfolio_tickers'])})")
    lines.append(f"reasoning    {'kept' if st.with_reasoning else 'dropped'}")
    lines.append(f"size         {st.size_bytes() / 1e6:.2f} MB on disk")
    lines.append(f"content      {m['content_hash'][:16]}")
    lines.append("tables")
    lines += [f"  {name:<13}{rows:>10} rows" for name, rows in m["tables"].items()]
    return lines


def _source_info(path: Path, workers: int) -> list[str]:
    from episodes.reader import is_archive, read_days

    days = read_days(path, workers=workers)
    eps = [d.episode for d in days if d.episode is not None]
    if not eps:
        raise EpisodeError(str(path), "no readable episode", files=len(days))
    acts = collections.Counter(a for e in eps for a in e.decisions.action)
    per_day = [len(e.eligible) for e in eps]
    lines = _common(len(eps), eps[0].date, eps[-1].date, per_day, acts)
    if len(eps) < len(days):
        lines.append(f"unreadable   {len(days) - len(eps)} files (run `wfsim episodes validate`)")
    size = path.stat().st_size if is_archive(path) else _dir_size(path)
    lines.append(f"size         {size / 1e6:.2f} MB on disk")
    return lines


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("episode_*.json")) if path.is_dir() else 0


def _common(n: int, first: str, last: str, per_day: list[int], acts: collections.Counter):
    from episodes.schema import ACTIONS

    hist = ", ".join(f"{a} {acts.get(a, 0)}" for a in ACTIONS)
    other = sum(v for k, v in acts.items() if k not in ACTIONS)
    return [
        f"days         {n}",
        f"dates        {first} .. {last}",
        f"tickers/day  min {min(per_day)}, median {statistics.median(per_day):g}, "
        f"max {max(per_day)} (eligible)",
        f"actions      {hist}" + (f", other {other}" if other else ""),
    ]


COMMANDS: list[click.Command] = [episodes_group]


# --- `wfsim episodes synth` ---------------------------------------------------------------------


@episodes_group.command("synth")
@click.option("--days", type=int, default=None, help="Trading days [default: synth.days].")
@click.option("--tickers", type=int, default=None, help="Stock tickers [default: synth.tickers].")
@click.option("--seed", type=int, default=None, help="Run seed [default: the config's seed].")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Directory for episode_YYYY-MM-DD.json; written atomically, a previous run is replaced.",
)  # fmt: skip
@click.option(
    "--store", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Write a new Parquet store directly instead (= --out D + ingest D; no JSON files).",
)  # fmt: skip
@click.option(
    "--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="YAML config (its synth section and seed); the flags above override it.",
)  # fmt: skip
def synth_cmd(
    days: int | None,
    tickers: int | None,
    seed: int | None,
    out: Path | None,
    store: Path | None,
    config: Path | None,
) -> None:
    """Write synthetic episodes in the recorded schema: a seeded market with a planted,
    learnable pre-open signal and an LLM-like baseline whose books reconcile exactly.

    Also writes OUT/benchmarks/spy_returns.csv (the synthetic market's equal-weight daily
    return, as SPY) and daily_risk_free_rate.csv (from its Fed rate), which ingest carries into
    the store and compare/report use when no --benchmarks folder is given.

    \b
    Example:
      wfsim episodes synth --days 300 --tickers 50 --seed 7 --out wfsim-eps
      wfsim episodes synth --days 6000 --tickers 1695 --store big-store
    """
    from simulator import pipeline
    from simulator.config import load_config

    if (out is None) == (store is None):
        raise click.UsageError("give exactly one of --out DIR or --store S")
    flags = {"synth.days": days, "synth.tickers": tickers, "seed": seed}
    cfg = load_config(config, {k: v for k, v in flags.items() if v is not None})
    if store is not None:
        pipeline.synth_store(store, cfg, click.echo)
    else:
        pipeline.synth(out, cfg, click.echo)
