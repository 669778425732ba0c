"""`wfsim demo`: the whole chain on synthetic episodes (synth → ingest → pretrain → replay → compare
→ report), composed from the other commands so that it runs exactly what a user would."""

from __future__ import annotations

import time
from pathlib import Path

import click
import structlog
import yaml

from episodes.account import RECORDED_ACCOUNT
from simulator.cli.options import config_option, seed_option
from simulator.config import RunConfig, config_hash, config_to_dict, load_config
from simulator.core.atomic import write_atomic

__all__ = ["COMMANDS", "DEMO_OVERRIDES", "demo", "invoke_step", "strategies_for_account"]

log = structlog.get_logger(__name__)

# The demo's preset, on top of configs/default.yaml (or --config): sized to finish in a few
# minutes on 2 cores while keeping the default model and every mechanism of a real run.
DEMO_OVERRIDES: dict[str, object] = {
    "synth.days": 400,
    "synth.tickers": 100,
    "windows.initial": 150,
    "windows.step": 25,
}
STRATEGIES = ("llm", "lstm", "random")


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("wfsim-demo"),
    show_default=True,
    help="Working directory for every artifact of the demo.",
)
@config_option(help="YAML config; keys it sets win over the demo preset.")
@seed_option()
@click.pass_context
def demo(ctx: click.Context, out: Path, config: Path | None, seed: int | None) -> None:
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

    Preset on top of the defaults: 400 days x 100 tickers, first window 150 days, a new model
    every 25 days. Rerunning resumes: finished windows are not retrained.
    """
    from simulator.cli.episodes import ingest_cmd, synth_cmd
    from simulator.cli.models import pretrain_cmd
    from simulator.cli.replay import replay
    from simulator.cli.report import compare, report

    t0 = time.perf_counter()
    cfg = load_config(config, _preset(config) | ({"seed": seed} if seed is not None else {}))
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = write_atomic(
        out / "config.yaml", yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    )
    structlog.contextvars.bind_contextvars(config_hash=config_hash(cfg), seed=cfg.seed)
    eps, store, models, runs = out / "episodes", out / "store", out / "models", out / "runs"

    def step(name: str, cmd: click.Command, **kwargs: object) -> None:
        invoke_step(ctx, name, cmd, **kwargs)

    step("synth", synth_cmd, out=eps, config=cfg_path)
    step("ingest", ingest_cmd, src=eps, store=store)
    step("pretrain", pretrain_cmd, store=store, models_dir=models, config_path=cfg_path)
    names = STRATEGIES + strategies_for_account(cfg)
    for name in names:
        extra = {"models": models} if name == "lstm" else {}
        step(f"replay {name}", replay, strategy=name, store=store, out=runs / name,
             config=cfg_path, **extra)  # fmt: skip
    run_dirs = tuple(runs / name for name in names)
    step("compare", compare, run_dirs=run_dirs, benchmark="none")
    step("report", report, run_dirs=run_dirs, benchmark="none", out=out / "report.html")
    elapsed = time.perf_counter() - t0
    log.info("demo_finished", elapsed_s=round(elapsed, 1), out=str(out))
    click.echo(f"\ndemo finished in {elapsed:.0f} s; outputs in {out}/:")
    for p in (cfg_path, eps, store, models, *run_dirs, out / "report.html"):
        click.echo(f"  {p}")


def strategies_for_account(cfg: RunConfig) -> tuple[str, ...]:
    """``("llm-counterfactual",)`` when the config's account differs from the recording's rules
    (the llm baseline always replays under the latter), else nothing."""
    return () if cfg.replay.account == RECORDED_ACCOUNT else ("llm-counterfactual",)


def _preset(config: Path | None) -> dict[str, object]:
    """The demo preset minus the keys the user's config sets (the user's file wins)."""
    if config is None:
        return dict(DEMO_OVERRIDES)
    load_config(config)  # validates the file (unknown keys, ranges) before anything runs
    raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return {
        k: v
        for k, v in DEMO_OVERRIDES.items()
        if k.split(".")[1] not in (raw.get(k.split(".")[0]) or {})
    }


def invoke_step(ctx: click.Context, name: str, cmd: click.Command, **kwargs: object) -> None:
    """Run another wfsim command as one step of a job, with its defaults for unset options."""
    t = time.perf_counter()
    click.echo(f"== {name}")
    ctx.invoke(cmd, **_defaults(ctx, cmd) | kwargs)
    log.info("step_finished", step=name, elapsed_s=round(time.perf_counter() - t, 2))


def _defaults(ctx: click.Context, cmd: click.Command) -> dict[str, object]:
    """The default value of every parameter of ``cmd`` (ctx.invoke does not fill them in)."""
    out: dict[str, object] = {}
    with click.Context(cmd, parent=ctx) as sub:
        for p in cmd.params:
            value = p.get_default(sub)
            if value is None or type(value).__name__ == "Sentinel":  # click's UNSET
                value = () if (p.multiple or p.nargs == -1) else None
            out[str(p.name)] = value
    return out


COMMANDS: list[click.Command] = [demo]
