"""`wfsim audit STORE`: the leakage audit of every feature and recorded field."""

from __future__ import annotations

from pathlib import Path

import click

from models.config import INFO_SET_LAGS
from simulator.cli.options import config_option, deprecated_alias, pick
from simulator.core.atomic import write_atomic
from simulator.core.logs import get_logger

__all__ = ["COMMANDS", "audit"]

log = get_logger(__name__)


_STORE = click.Path(exists=True, file_okay=False, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("store_arg", metavar="[STORE]", required=False, type=_STORE)
@click.option("--store", type=_STORE, default=None, help="Episode store (`wfsim episodes ingest`).")
@click.option(
    "--info-set",
    type=click.Choice([*INFO_SET_LAGS, "both"]),
    default="both",
    show_default=True,
    help="Which information set's features to audit (recorded fields are always audited).",
)
@click.option("--table", type=_FILE, default=None, help="Also write the table as CSV to this file.")
@deprecated_alias("--out", "--table", "table", _FILE)
@config_option()
def audit(
    store_arg: Path | None,
    store: Path | None,
    info_set: str,
    table: Path | None,
    table_deprecated: Path | None,
    config: Path | None,
) -> None:
    """Rank correlation of every feature and recorded field with same-day and next-day returns.

    For each field: the mean daily cross-sectional Spearman IC with the same day's open->close
    (and open->open) return and with the next day's. A field whose same-day power dwarfs its
    next-day power is flagged LEAK: it was computed after the open of the day it is recorded on
    (the risk manager's current_price is the close of t; the analysts ran with end_date = t).
    Features are built before the open, so none of them should be flagged in `strict`.

    The bare STORE argument is deprecated (one release): use --store.

    \b
    Example:
      wfsim audit --store real-store --info-set strict --table audit.csv
    """
    store = pick(store, store_arg, "STORE (positional)", "--store")
    if store is None:
        raise click.UsageError("missing option --store")
    out = pick(table, table_deprecated, "--out", "--table")
    import dataclasses

    import pandas as pd

    from episodes.store import load_panel
    from models.audit import audit_table
    from models.features import build_features
    from simulator.config import load_config

    cfg = load_config(config)
    panel = load_panel(store)
    sets = list(INFO_SET_LAGS) if info_set == "both" else [info_set]
    tables = []
    for name in sets:
        fs = build_features(panel, dataclasses.replace(cfg.features, info_set=name))
        tab = audit_table(panel, fs).reset_index()
        keep = tab["source"] == "feature" if tables else slice(None)
        tab = tab[keep].copy()
        tab.insert(1, "info_set", [name if s == "feature" else "-" for s in tab["source"]])
        tables.append(tab)
    table = pd.concat(tables, ignore_index=True)
    cols = [
        "field",
        "info_set",
        "source",
        "kind",
        "n_days",
        "ic_same_oc",
        "t_same_oc",
        "ic_next_oc",
        "t_next_oc",
        "ic_next_oo",
        "t_next_oo",
        "ratio",
        "same_day_leak",
    ]
    cols = [c for c in cols if c in table.columns]
    shown = table[cols].copy()
    shown["same_day_leak"] = shown["same_day_leak"].map({True: "LEAK", False: ""})
    with pd.option_context("display.max_rows", None, "display.width", 200):
        click.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    n_leak = int(table["same_day_leak"].sum())
    click.echo(f"{len(table)} fields audited, {n_leak} flagged as same-day leaks")
    if out is not None:
        write_atomic(out, table.to_csv(index=False, float_format="%.6g", lineterminator="\n"))
        click.echo(f"audit table: {out}")
    log.info("audit_finished", fields=len(table), flagged=n_leak)


COMMANDS: list[click.Command] = [audit]
