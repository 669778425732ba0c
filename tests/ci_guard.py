"""CI may not skip silently: which skips turn into failures when ``CI`` is set.

In CI (the environment variable ``CI`` set to anything but ''/'0'/'false'):
* the browser test never skips (``.ci/run`` installs chromium; if that failed, the test fails);
* when ``../shared`` holds the data, no test skips: a golden or data-dependent test that skips
  for any other reason would hide a regression. Without ``../shared`` the data skips are fine.
  A test marked ``cuda`` may skip: CI machines have no GPU by design (those tests run where one
  is visible; nothing depends on them).
A developer's machine (no ``CI``) keeps every skip.
"""

from __future__ import annotations

import os

NEVER_SKIP_IN_CI = ("tests/e2e/test_report_browser.py", "tests/e2e/test_app_browser.py")


def in_ci(environ: dict[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in ("", "0", "false", "no")


def skip_is_failure(nodeid: str, ci: bool, shared_present: bool, cuda: bool = False) -> str | None:
    """Why a skip of ``nodeid`` must fail (None: the skip is allowed); ``cuda``: the test is
    marked ``cuda`` (needs a GPU)."""
    if not ci or cuda:
        return None
    if nodeid.startswith(NEVER_SKIP_IN_CI):
        return "CI: this test may not skip (install its system dependency in .ci/run)"
    if shared_present:
        return "CI: ../shared is present, so no test may skip"
    return None
