"""Regression pins: sha256 of a seeded synthetic pretrain and of seeded replays (llm, lstm, random).

These are *pins*, not goldens: the expected hashes in ``pins/behaviour.json`` were copied from the
code's own output at commit d9f7cb6 (before the structure issue's restructuring) on this project's
CI machine, so that moving code around provably changes no byte of what a user gets. A deliberate
behaviour change must update the file (``WFSIM_WRITE_PINS=1 pytest`` on this file) and say why
in its commit. Torch's float order can differ on another CPU family; the pins are
checked on the machine kind that CI uses.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from simulator.cli import main

pytestmark = pytest.mark.e2e

PINS = Path(__file__).with_name("pins") / "behaviour.json"
CONFIG = """\
windows: {initial: 40, step: 20}
features: {seq_len: 5}
model: {hidden: 8, layers: 1, embed_dim: 2, dropout: 0.0}
train: {max_epochs: 2, warm_epochs: 1, max_samples_per_epoch: 256, max_val_samples: 128}
"""
RUN_FILES = ("trades.csv", "equity.csv", "summary.json")


def _invoke(*args: str) -> None:
    res = CliRunner().invoke(main, ["--log-level", "warning", *args])
    assert res.exit_code == 0, res.output


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _meta_sha(path: Path) -> str:
    """A window's metadata without its wall-clock training time (the one non-deterministic key)."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.pop("training_time_s")
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()


@pytest.fixture(scope="module")
def digests(tmp_path_factory) -> dict[str, str]:
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pins")
    eps, store, models, cfg = root / "eps", root / "store", root / "models", root / "c.yaml"
    cfg.write_text(CONFIG)
    _invoke(
        "episodes", "synth", "--days", "80", "--tickers", "24", "--seed", "11", "--out", str(eps)
    )
    _invoke("episodes", "ingest", str(eps), "--store", str(store), "--workers", "1")
    _invoke("pretrain", "--store", str(store), "--models", str(models), "--config", str(cfg),
            "--seed", "7")  # fmt: skip
    out = {"models/registry.json": _sha(models / "registry.json")}
    for d in sorted(p for p in models.iterdir() if p.is_dir()):
        for f in sorted(d.iterdir()):
            out[f"models/{d.name}/{f.name}"] = _meta_sha(f) if f.suffix == ".json" else _sha(f)
    for strategy in ("llm", "lstm", "random"):
        run = root / f"run-{strategy}"
        extra = ["--models", str(models)] if strategy == "lstm" else []
        _invoke("replay", "--strategy", strategy, "--store", str(store), "--config", str(cfg),
                "--seed", "3", "--out", str(run), *extra)  # fmt: skip
        for f in RUN_FILES:
            out[f"{strategy}/{f}"] = _sha(run / f)
    structlog.reset_defaults()  # --log-level warning must not leak into later tests' capture_logs
    return out


def test_outputs_match_the_pinned_hashes(digests):
    if os.environ.get("WFSIM_WRITE_PINS") == "1":
        PINS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    pinned = json.loads(PINS.read_text(encoding="utf-8"))
    assert sorted(digests) == sorted(pinned)
    changed = [k for k in pinned if digests[k] != pinned[k]]
    assert not changed, f"outputs changed: {changed}"
