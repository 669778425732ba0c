"""The recorded run's constants (cap 30, fee 5 bp, margin 0, NAV_0 100,000), read from the data's
README §5 and pinned against wfsim's defaults: a default changed in code alone fails here."""

from __future__ import annotations

import re

import pytest

from simulator.config import DEFAULT_YAML, RunConfig, load_config
from tests.conftest import SHARED_DATA

README = SHARED_DATA / "README.md"
pytestmark = [
    pytest.mark.golden,
    pytest.mark.skipif(not README.is_file(), reason=f"data README not found at {README}"),
]


def recorded_constants() -> dict[str, float]:
    """Fee rate, margin ratio, cap and initial NAV from the 'Constants:' lines of README §5."""
    text = README.read_text(encoding="utf-8")
    sec = text[text.index("## 5. Accounting rules") :]
    sec = " ".join(sec[: sec.index("### 5.1")].split())
    found = {
        "fee_rate": re.search(r"fee rate `c = ([0-9.]+)`", sec),
        "margin_rate": re.search(r"Margin ratio `m = ([0-9.]+)`", sec),
        "max_positions": re.search(r"Cap: (\d+) open stock positions", sec),
        "initial_cash": re.search(r"initial NAV is ([0-9,]+)", sec),
    }
    missing = [k for k, m in found.items() if m is None]
    assert not missing, f"{README}: §5 no longer states {missing}"
    return {k: float(m[1].replace(",", "")) for k, m in found.items()}


@pytest.mark.parametrize("cfg", [RunConfig(), load_config(DEFAULT_YAML)], ids=["class", "yaml"])
def test_default_replay_config_is_the_recorded_run(cfg):
    want = recorded_constants()
    assert want == {"fee_rate": 0.0005, "margin_rate": 0.0, "max_positions": 30.0,
                    "initial_cash": 100_000.0}  # fmt: skip
    got = {k: float(getattr(cfg.replay, k)) for k in want}
    assert got == want
    assert cfg.decision_config().max_positions <= cfg.replay.max_positions
