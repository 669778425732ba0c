"""`wfsim app`: start the local web app (streamlit; extra ``wfsim[app]``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from simulator.core.errors import ConfigError

__all__ = ["COMMANDS", "app"]


@click.command()
@click.option("--store", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("wfsim-demo/store"), show_default=True,
              help="Episode store; models and runs are found in the folder around it.")  # fmt: skip
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def app(store: Path, port: int, host: str) -> None:
    """Start the local web app: pick a store, models and strategies, run replays, pretrains and
    studies, compare runs with the report's charts, toggle the model family's options.

    Needs the extra: pip install 'wfsim[app]'. Runs until interrupted (Ctrl-C); no telemetry.

    \b
    Example:
      wfsim demo --out wfsim-demo && wfsim app --store wfsim-demo/store --port 8501
    """
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        raise ConfigError("wfsim app", "streamlit is not installed",
                          fix="pip install 'wfsim[app]'")  # fmt: skip
    page = Path(__file__).resolve().parents[1] / "app" / "page.py"
    env = os.environ | {"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    cmd = [sys.executable, "-m", "streamlit", "run", str(page), "--server.headless", "true",
           "--server.port", str(port), "--server.address", host,
           "--browser.gatherUsageStats", "false", "--", "--store", str(store)]  # fmt: skip
    click.echo(f"wfsim app on http://{host}:{port} (store {store}); Ctrl-C stops it", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # the process becomes streamlit (same pid): Ctrl-C or a SIGTERM to `wfsim app` stops the
    # server itself; a child process would be orphaned and keep serving when its parent is killed
    os.execve(sys.executable, cmd, env)


COMMANDS: list[click.Command] = [app]
