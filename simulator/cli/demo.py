"""`wfsim demo`: the whole chain on synthetic episodes (synth → ingest → pretrain → replay → compare
→ report) through the same library functions the other commands use (``simulator.pipeline``)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from simulator.cli.options import config_option, seed_option
from simulator.core.logs import get_logger

__all__ = ["COMMANDS", "demo"]

log = get_logger(__name__)


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("wfsim-demo"),
    show_default=True,
    help="Working directory for every artifact of the demo.",
)
@config_option(help="YAML config; keys it sets win over the demo preset (configs/demo.yaml).")
@seed_option()
def demo(out: Path, config: Path | None, seed: int | None) -> None:
    """Run the whole chain on synthetic episodes that wfsim generates itself.

    \b
    OUT/config.yaml    the effective config (defaults + demo preset), used by every step
    OUT/episodes/      synthetic episodes in the recorded JSON schema
    OUT/store/         the Parquet episode store
    OUT/models/        walk-forward models + registry.json
    OUT/runs/<name>/   llm (recorded baseline, reconciled), lstm and random replays; when the
                       config's replay account differs from the recording's rules, also
                       llm-counterfactual (the recorded decisions under that account)
    OUT/report.html    equity, drawdowns, monthly returns, positions, model quality

    The preset (configs/demo.yaml) on top of the defaults: 400 days x 100 tickers, first window
    150 days, a new model every 25 days. Rerunning resumes: finished windows are not retrained.

    \b
    Example:
      wfsim demo --out my-demo --seed 7
    """
    from simulator import pipeline
    from simulator.config import DEMO_PRESET, config_hash, load_config, load_preset

    t0 = time.perf_counter()
    overrides = {"seed": seed} if seed is not None else None
    cfg = load_config(config, overrides, preset=load_preset(DEMO_PRESET))
    import structlog

    structlog.contextvars.bind_contextvars(config_hash=config_hash(cfg), seed=cfg.seed)
    paths = pipeline.demo(out, cfg, click.echo)
    elapsed = time.perf_counter() - t0
    log.info("demo_finished", elapsed_s=round(elapsed, 1), out=str(out))
    names = [p.name + ("/" if p.is_dir() else "") for p in paths]
    click.echo(f"demo finished in {elapsed:.0f} s; outputs in {out}/: {' '.join(names)}")


COMMANDS: list[click.Command] = [demo]
