"""torch_threads is a resource: the artifacts are the same bytes at 1 and 2 threads, it changes no
hash, and the entry points bound libgomp's idle spin (simulator.core.omp)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from models.pretrain import pretrain
from simulator.config import config_hash, load_config
from simulator.core.hashing import sha256_file
from tests.conftest import ROOT
from tests.synth_stores import synth_store

TINY = {
    "windows.initial": 40, "windows.step": 20, "features.seq_len": 5, "model.hidden": 64,
    "model.layers": 2, "model.embed_dim": 4, "train.max_epochs": 2, "train.warm_epochs": 1,
    "train.max_samples_per_epoch": 512,
}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return synth_store(tmp_path_factory, "threads", days=80, tickers=16)


def _artifacts(store, out, threads: int, precision: str = "fp32") -> dict[str, str]:
    over = {**TINY, "train.torch_threads": threads, "train.precision": precision}
    cfg = load_config(overrides=over)
    pretrain(store, out, cfg.pretrain_config())
    files = sorted(p for p in out.rglob("*") if p.name in ("model.pt", "predictions.parquet"))
    return {str(p.relative_to(out)): sha256_file(p) for p in files}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_one_and_two_threads_give_the_same_artifact_bytes(store, tmp_path, precision):
    import torch

    before = torch.get_num_threads()
    try:
        one = _artifacts(store, tmp_path / "t1", 1, precision)
        two = _artifacts(store, tmp_path / "t2", 2, precision)
    finally:
        torch.set_num_threads(before)
    assert len(one) == 4 and one == two  # 2 windows x (model.pt, predictions.parquet)


def test_torch_threads_changes_no_hash_and_defaults_to_both_cores():
    one = load_config(overrides={"train.torch_threads": 1})
    assert load_config().train.torch_threads == 2
    assert config_hash(one) == config_hash(load_config())
    with pytest.raises(Exception, match="torch_threads"):
        load_config(overrides={"train.torch_threads": 0})


@pytest.mark.parametrize("entry", ["import simulator.cli", "import wfsim"])
@pytest.mark.parametrize(
    ("given", "want"),
    [({}, "10000 None"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "None ACTIVE"),
     ({"GOMP_SPINCOUNT": "5"}, "5 None")],
)  # fmt: skip
def test_entry_points_bound_libgomps_spin_unless_told(entry, given, want):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = f"{entry}; import os, sys; e = os.environ.get; "
    code += "print(e('GOMP_SPINCOUNT'), e('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env | given, cwd=ROOT, timeout=120, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [*want.split(), "False"]  # set before anything loads libgomp
