"""Family ``lstm`` stays byte-identical to the pre-family LSTM: pinned sha256 of a seeded pretrain.

The digests were taken on the commit before the model-family seam (d9f7cb6) with the venv's torch,
numpy and pyarrow; a library upgrade may legitimately move them (re-pin then, on the old code).
``metadata.json`` is not pinned: it records timings and library versions.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

from models.pretrain import pretrain
from simulator.config import load_config
from tests.unit.models.planted import planted
from tests.unit.models.test_pretrain import TINY

PINNED = {
    # registry.json re-pinned at the merge with the one IC module (models/ic.py): only oos ic,
    # ic_t, rank_ic, rank_ic_t moved in the last float digit; weights and predictions unchanged.
    # registry.json and model.pt re-pinned when train.torch_threads became a resource (not
    # hashed): only the config_hash inside them moved; every tensor and prediction unchanged
    "registry.json": "f328cd2eeb3db5cbe76a52020ad5b0f1a0f0a46c706114714485fff3ace29538",
    "w000/model.pt": "524c56cbc2a8190acdcfcc47834a9f4eda47200cbe63f27536b8fdb3f496694f",
    "w000/predictions.parquet": "adf0cc09dfd30fa08ea6a47e1e6dc2ba2888442a6165c7dc7c14190f3778117e",
    "w001/model.pt": "a1303f6fb62e028c94e023f9292bc09433b72cd49b7cd187f7bbfabfa1e7e19f",
    "w001/predictions.parquet": "38f25587a9a5acd529a3ef00fdb0d5ec2200b2dfdd1709a274a3226ebcab380f",
    "w002/model.pt": "517977ff915e6f2cb0474fee3c6fc53562e95b8df15d85ddd131430017713397",
    "w002/predictions.parquet": "4a562fd071d9cf4ef56844eaa72a9284984eb2459e2d37848303379219dca6e8",
}


@pytest.mark.parametrize("overrides", [{}, {"model.family": "lstm", "model.target": "raw"}])
def test_lstm_family_artifacts_are_byte_identical_to_the_pre_family_lstm(tmp_path, overrides):
    torch.set_num_threads(1)
    pretrain(planted(), tmp_path, load_config(overrides={**TINY, **overrides}))
    got = {
        str(p.relative_to(tmp_path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file() and p.name != "metadata.json" and not p.name.startswith(".")  # .lock
    }
    assert got == PINNED
