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
        ({"replay.bond_sleeve": "x"}, r"^replay: bond_sleeve='x', expected one of 'mirror', 'no"),
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


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"decision.max_positions": 25, "replay.max_positions": 20},
         r"^decision\.max_positions: exceeds the books' cap \(value=25, expected <= "
         r"replay\.max_positions=20\); lower it"),
        ({"windows.kind": "rolling"}, r"^windows: kind='rolling', expected one of 'expanding'"),
        ({"train.device": "tpu"}, r"^train: device='tpu', expected one of 'cpu', 'cuda'$"),
        ({"decision.sizing": "kelly"}, r"^decision: sizing='kelly', expected one of"),
    ],
)  # fmt: skip
def test_cross_section_and_choice_errors_at_load(overrides, match):
    with pytest.raises(ConfigError, match=match):
        load_config(overrides=overrides)


def test_the_decision_cap_follows_the_books_cap_unless_set():
    cfg = load_config(overrides={"replay.max_positions": 20})
    assert cfg.decision.max_positions is None and cfg.decision_config().max_positions == 20
    cfg = load_config(overrides={"replay.max_positions": 20, "decision.max_positions": 12})
    assert cfg.decision_config().max_positions == 12
    assert RunConfig().decision_config().max_positions == 30


def test_the_demo_preset_sits_between_the_defaults_and_the_users_file(tmp_path):
    from simulator.config import DEMO_PRESET, load_preset

    preset = load_preset(DEMO_PRESET)
    cfg = load_config(preset=preset)
    assert (cfg.synth.days, cfg.synth.tickers, cfg.windows.initial, cfg.windows.step) == (
        400, 100, 150, 25)  # fmt: skip
    user = tmp_path / "u.yaml"
    user.write_text("windows: {step: 10}\nsynth: {days: 90}\n")
    cfg = load_config(user, {"seed": 3}, preset=preset)
    assert (cfg.synth.days, cfg.synth.tickers, cfg.windows.initial, cfg.windows.step) == (
        90, 100, 150, 10)  # fmt: skip
    assert cfg.seed == 3 and load_preset(DEMO_PRESET) == preset  # the preset is not mutated


def test_the_breadth_preset_loads_as_the_readme_states():
    cfg = load_config(DEFAULT_YAML.parent / "breadth.yaml")
    assert (cfg.model.target, cfg.model.train_points) == ("demeaned", "universe")
    assert cfg.decision.neutral and cfg.replay.universe == "eligible"
    for family in ("lstm", "ridge", "gbm", "lstm-universe", "embed-gbm"):
        dataclasses.replace(cfg.model, family=family)  # each accepts it
    with pytest.raises(ValueError, match="lstm-portfolio"):
        dataclasses.replace(cfg.model, family="lstm-portfolio")


def test_a_key_given_twice_in_a_yaml_file_is_refused(tmp_path):
    """yaml keeps the last of two equal keys: a second ``windows:`` dropped the first's
    ``initial`` without a word (a CLI audit)."""
    path = tmp_path / "c.yaml"
    path.write_text("windows:\n  initial: 60\nseed: 1\nwindows:\n  step: 20\n")
    with pytest.raises(
        ConfigError, match=r"c.yaml: not valid YAML: key 'windows' given twice.*line 4"
    ):
        load_config(path)
