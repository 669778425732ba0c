"""Issue 13.8: `pip install .` (not editable) works from anywhere: configs ship as package data, no
default path reaches into ../shared, and the demo's comparison has Sharpe (rf) and a SPY row.

The fresh venv reuses the running interpreter's installed dependencies through a ``.pth`` line
(a plain path: the editable wfsim finder of that environment is not activated), and pip installs
with ``--no-deps --no-build-isolation``: nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.e2e import test_api_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TINY = test_api_cli.TINY


def _sh(args, cwd, env=None):
    res = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=900)  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def test_pip_install_then_demo_from_elsewhere(tmp_path):
    src = tmp_path / "src"  # a clean copy of the tracked tree (the build writes into it)
    files = _sh(["git", "ls-files", "-co", "--exclude-standard"], ROOT).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    venv = tmp_path / "venv"
    _sh([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    py = venv / "bin/python"
    site = _sh([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
    Path(site.stdout.strip(), "_reuse.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"OMP_NUM_THREADS": "1", "PIP_NO_INDEX": "1"}
    _sh([py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", src], tmp_path,
        env)  # fmt: skip
    work = tmp_path / "elsewhere/deeper"  # no ../shared anywhere above it
    work.mkdir(parents=True)
    (work / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    where = _sh([py, "-c", "import simulator.config as c; print(c.CONFIG_DIR)"], work, env)
    assert Path(where.stdout.strip()).is_relative_to(Path(site.stdout.strip()))
    out = _sh([venv / "bin/wfsim", "--log-level", "warning", "demo", "--out", "d", "--config",
               "tiny.yaml"], work, env).stdout  # fmt: skip
    table = out.split("== compare", 1)[1].split("== report", 1)[0]
    assert "Sharpe rf" in table and "\nSPY " in table, table
    assert "SPY benchmark omitted" not in table and "risk-free rate omitted" not in table, table
    assert "no risk-free rate" not in table, table
    spy = next(line for line in table.splitlines() if line.startswith("SPY "))
    assert "nan" not in spy.lower()
