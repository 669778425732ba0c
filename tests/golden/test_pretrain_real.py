"""Pretraining on the 691 real episodes (small model): 21 windows, idempotent rerun, kill -9.

The full default config is timed by scripts/bench/bench_pretrain.py; here a tiny network keeps the
three runs to about a minute each on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.golden, pytest.mark.slow]

SMALL = """
model: {hidden: 16, layers: 1, embed_dim: 4}
train: {max_epochs: 1, warm_epochs: 1, batch_size: 128, max_samples_per_epoch: 512,
        max_val_samples: 512}
"""


def _cmd(store: Path, models: Path, cfg: Path) -> list[str]:
    return [sys.executable, "-m", "simulator.cli", "--log-json", "pretrain", "--store", str(store),
            "--models", str(models), "--config", str(cfg)]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run(store: Path, models: Path, cfg: Path) -> str:
    res = subprocess.run(_cmd(store, models, cfg), capture_output=True, text=True, env=_env())
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.fixture(scope="module")
def full(real_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain")
    cfg = root / "small.yaml"
    cfg.write_text(SMALL)
    out = _run(real_store, root / "full", cfg)
    return real_store, root, cfg, out


def test_pretrain_builds_21_windows_covering_every_served_day(full):
    _, root, _, out = full
    assert "21 windows (21 trained, 0 skipped)" in out
    reg = json.loads((root / "full" / "registry.json").read_text())
    wins = reg["windows"]
    assert [w["id"] for w in wins] == [f"w{i:03d}" for i in range(21)]
    assert all(w["status"] == "done" for w in wins)
    assert wins[0]["serve"] == [250, 271] and wins[-1]["serve"] == [670, 691]
    assert wins[0]["serve_dates"][0] == "2023-03-31" and wins[-1]["serve_dates"][1] == "2024-12-31"
    for w in wins:
        assert w["label_end_max"] < w["serve"][0]  # no label reaches a served day
        assert (root / "full" / w["id"] / "model.pt").is_file()


def test_second_run_does_nothing(full):
    store, root, cfg, _ = full
    before = (root / "full" / "registry.json").read_bytes()
    out = _run(store, root / "full", cfg)
    assert "(0 trained, 21 skipped)" in out
    assert (root / "full" / "registry.json").read_bytes() == before


def test_kill_9_mid_run_then_rerun_gives_the_same_registry(full):
    store, root, cfg, _ = full
    models = root / "killed"
    proc = subprocess.Popen(_cmd(store, models, cfg), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env())  # fmt: skip
    deadline = time.monotonic() + 600
    while not (models / "w001" / "metadata.json").exists():
        assert proc.poll() is None, "pretrain ended before window w001 was written"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reg = json.loads((models / "registry.json").read_text())
    status = [w["status"] for w in reg["windows"]]
    assert len(status) == 21 and status[0] == "done" and "planned" in status
    out = _run(store, models, cfg)
    counts = re.search(r"21 windows \((\d+) trained, (\d+) skipped\)", out)
    assert counts, out
    # w000 is done; w001 is retrained when the kill landed before the registry marked it done
    trained, skipped = int(counts[1]), int(counts[2])
    assert trained >= 1 and skipped >= 1 and trained + skipped == 21
    # same seed and data: identical weights, predictions and metrics -> byte-identical registry
    assert (models / "registry.json").read_bytes() == (root / "full" / "registry.json").read_bytes()
    assert not list(models.glob(".*.tmp"))  # leftovers of the killed writer are cleaned
