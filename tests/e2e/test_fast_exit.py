"""The `wfsim` process ends without the interpreter's teardown (``simulator.cli.fastexit``),
keeping its exit status, its output and the ``atexit`` handlers; not while another thread runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import atexit, sys, threading

class Finalized:  # a module global: only the interpreter's teardown deletes it
    def __del__(self):
        sys.stderr.write("teardown ran\\n")

keep = Finalized()
atexit.register(lambda: print("atexit ran", flush=False))
if sys.argv[1] == "thread":  # a non-daemon thread still running when the command returns
    ev = threading.Event()
    threading.Thread(target=ev.wait, args=(1.0,)).start()
from simulator.cli import main

sys.argv = ["wfsim", *sys.argv[2:]]
main()
"""


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "status", "out"),
    [
        (["--help"], 0, "Usage: wfsim"),
        (["replay", "--strategy", "nope"], 2, ""),  # a usage error: status 2, message on stderr
    ],
)
def test_exit_keeps_status_output_and_atexit_but_skips_teardown(args, status, out):
    res = run("plain", *args)
    assert res.returncode == status, res.stderr
    assert out in res.stdout and res.stdout.rstrip().endswith("atexit ran")
    assert "teardown ran" not in res.stderr
    if status == 2:
        assert "Invalid value for '--strategy'" in res.stderr


def test_a_running_thread_gets_the_usual_exit():
    res = run("thread", "--help")
    assert res.returncode == 0 and "atexit ran" in res.stdout
    assert "teardown ran" in res.stderr
