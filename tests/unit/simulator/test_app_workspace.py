"""The app's logic without streamlit (simulator/app/workspace.py): options, overrides, folders."""

from __future__ import annotations

import pytest

from models.config import FAMILIES
from simulator.app.workspace import Workspace, family_options, run_overrides
from simulator.config import load_config
from simulator.core.errors import ConfigError


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_has_options_that_load_as_a_config(family):
    opts = family_options(family)
    assert opts and all(k.startswith("model.") for k in opts)
    cfg = load_config(overrides=run_overrides(family, opts))  # the defaults round-trip
    assert cfg.model.family == family


def test_embed_gbm_embeddings_toggle_reaches_the_config():
    opts = family_options("embed-gbm")
    assert opts["model.embed_gbm.embeddings"] is True
    over = run_overrides("embed-gbm", opts | {"model.embed_gbm.embeddings": False})
    assert over == {"model.family": "embed-gbm", "model.embed_gbm.embeddings": False}
    assert load_config(overrides=over).model.embed_gbm.embeddings is False
    assert "model.embed_gbm.embeddings" not in family_options("gbm")


def test_unknown_family_and_a_folder_that_is_no_store(tmp_path):
    with pytest.raises(ConfigError, match="unknown model family"):
        family_options("transformer")
    with pytest.raises(ConfigError, match="not an episode store"):
        Workspace.of(tmp_path / "store").check()


def test_runs_and_registries_are_found_around_the_store(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store/manifest.json").write_text("{}")
    for d, f in (("runs/a", "summary.json"), ("study/runs/b", "summary.json"),
                 ("models", "registry.json")):  # fmt: skip
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / f).write_text("{}")
    ws = Workspace.of(tmp_path / "store")
    ws.check()
    assert [ws.label(p) for p in ws.runs()] == ["runs/a", "study/runs/b"]
    assert ws.registries() == [tmp_path / "models"]
