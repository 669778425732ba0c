from __future__ import annotations

import dataclasses

import pytest

from simulator.config import DEFAULT_YAML, RunConfig, config_hash, config_to_dict, load_config
from simulator.core.errors import ConfigError


def test_default_yaml_equals_defaults():
    assert load_config(DEFAULT_YAML) == RunConfig()


def test_default_yaml_lists_every_key_with_a_comment():
    lines = DEFAULT_YAML.read_text().splitlines()
    keyed = [ln for ln in lines if ":" in ln and not ln.lstrip().startswith("#")]
    flat = []
    for section, value in config_to_dict(RunConfig()).items():
        flat += list(value) if isinstance(value, dict) else [section]
    for key in flat:
        assert any(ln.strip().startswith(f"{key}:") and "#" in ln for ln in keyed), key


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"model.hiden": 3}, r"^model\.hiden: unknown key \(did you mean model\.hidden\?\)$"),
        ({"trian.lr": 1.0}, r"^trian: unknown key \(did you mean train\?\)$"),
        ({"train.lr": -1.0}, r"^train: lr=-1\.0, expected > 0$"),
        ({"train.lr": "fast"}, r"^train\.lr: wrong type \(value='fast', expected float\)$"),
        ({"replay.bond_sleeve": "x"}, r"bond_sleeve='x', expected 'mirror' or 'none'"),
        ({"features.info_set": "future"}, r"^features: info_set='future'"),
    ],
)
def test_bad_keys_and_values_are_named(overrides, match):
    with pytest.raises(ConfigError, match=match):
        load_config(overrides=overrides)


def test_config_file_errors_name_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("- a list\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: top level must be a mapping"):
        load_config(p)
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_int_is_accepted_for_float_and_hash_changes_with_values():
    cfg = load_config(overrides={"train.lr": 1})
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert config_hash(cfg) != config_hash(RunConfig())
    assert config_hash(RunConfig()) == config_hash(RunConfig())


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunConfig().seed = 1  # type: ignore[misc]
