"""CI cannot skip silently: the rule table, and the hook on the real browser test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci_guard import in_ci, skip_is_failure

ROOT = Path(__file__).resolve().parents[2]
BROWSER = "tests/e2e/test_report_browser.py"


@pytest.mark.parametrize(
    ("nodeid", "ci", "shared", "fails"),
    [
        (f"{BROWSER}::test_rendered_dom_has_the_charts", True, False, True),
        (f"{BROWSER}::test_rendered_dom_has_the_charts", False, True, False),  # a dev machine
        ("tests/golden/test_store_real.py::test_x", True, True, True),
        ("tests/golden/test_store_real.py::test_x", True, False, False),  # no data: fine
        ("tests/unit/agents/test_spy.py::test_x", True, True, True),
        ("tests/unit/agents/test_spy.py::test_x", False, True, False),
    ],
)
def test_which_skips_fail(nodeid, ci, shared, fails):
    assert (skip_is_failure(nodeid, ci, shared) is not None) == fails


def test_a_cuda_test_may_skip_in_ci_and_only_it():
    node = "tests/unit/models/test_accel.py::test_x"
    assert skip_is_failure(node, True, True, cuda=True) is None
    assert skip_is_failure(node, True, True, cuda=False) is not None


def test_the_cuda_tests_skip_without_a_gpu_and_ci_lets_them(tmp_path):
    """The real hook on the real cuda tests (none of this machine's: no GPU in CI)."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the cuda tests run instead")
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"CI": "true"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda",
           "tests/unit/models/test_accel.py"]  # fmt: skip
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "2 skipped" in out.stdout, out.stdout


@pytest.mark.parametrize(("value", "want"), [("true", True), ("1", True), ("", False),
                                             ("false", False), ("0", False)])  # fmt: skip
def test_ci_variable(value, want):
    assert in_ci({"CI": value}) is want and in_ci({}) is False


def test_browser_test_without_chromium_fails_in_ci_and_skips_elsewhere(tmp_path):
    """The real hook, on the real test file, with chromium hidden from PATH."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "e2e",
           "-k", "rendered_dom", BROWSER]  # fmt: skip
    dev = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    ci = subprocess.run(cmd, cwd=ROOT, env=env | {"CI": "true"}, capture_output=True,
                        text=True, timeout=300)  # fmt: skip
    assert dev.returncode == 0 and "1 skipped" in dev.stdout, dev.stdout
    assert ci.returncode == 1 and ("1 failed" in ci.stdout or "1 error" in ci.stdout), ci.stdout
    assert "CI: this test may not skip" in ci.stdout
