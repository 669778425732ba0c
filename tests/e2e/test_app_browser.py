"""`wfsim app` (issue 13.6) in a real headless Chromium against the running app on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from simulator import pipeline
from simulator.config import load_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HAS_STREAMLIT = __import__("importlib.util").util.find_spec("streamlit") is not None
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get chromium)"),
    pytest.mark.skipif(not HAS_STREAMLIT, reason="streamlit not installed (pip install .[app])"),
]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, limit_s: float = 60) -> None:
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"wfsim app exited {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"wfsim app did not answer {url} within {limit_s} s")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    cfg = load_config(overrides={"synth.days": 60, "synth.tickers": 12})
    pipeline.synth(root / "episodes", cfg)
    pipeline.ingest(root / "episodes", root / "store")
    for name in ("llm", "random"):
        pipeline.replay(name, root / "store", root / "runs" / name, cfg)
    port = _free_port()
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}  # fmt: skip
    cmd = [sys.executable, "-m", "simulator.cli", "app", "--store", str(root / "store"),
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield root, f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()  # `wfsim app` is the server (exec): nothing may keep serving after it
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        t0 = time.monotonic()
        while _listening(port) and time.monotonic() - t0 < 10:
            time.sleep(0.2)
        assert not _listening(port), f"the app still serves on port {port} after SIGTERM"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def chromium(profile: Path, *args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=150, check=True).stdout


def test_the_app_shows_the_stores_runs_and_the_reports_charts(app):
    root, url = app
    for attempt in range(4):  # the first load also imports the engine in the app: bounded
        dom = chromium(root / f"p{attempt}", "--virtual-time-budget=120000", "--dump-dom", url)
        if "main-svg" in dom:
            break
    assert "2 runs in" in dom and "runs/llm" in dom and "runs/random" in dom, dom[-3000:]
    for chart in ("equity", "drawdown", "distribution"):  # the tearsheet's figures, rendered
        assert f">{chart}</" in dom, chart
    assert dom.count('class="main-svg"') >= 6  # plotly drew them (two svg layers per chart)
    assert "model family" in dom and "embed_gbm.embeddings" not in dom  # lstm: its own options
    assert "Traceback" not in dom


def test_app_without_streamlit_is_a_clear_error(monkeypatch, tmp_path):
    import importlib.util

    from click.testing import CliRunner

    from simulator.cli import main

    real = importlib.util.find_spec
    fake = lambda name, *a: None if name == "streamlit" else real(name, *a)  # noqa: E731
    monkeypatch.setattr(importlib.util, "find_spec", fake)
    res = CliRunner().invoke(main, ["app", "--store", str(tmp_path)])
    assert res.exit_code == 1
    assert "streamlit is not installed" in res.output and "wfsim[app]" in res.output
