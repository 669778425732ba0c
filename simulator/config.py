"""RunConfig: every section composed, a YAML loader that names the bad key, the config hash."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from agents.config import DecisionConfig
from episodes.account import RECORDED_ACCOUNT, AccountRules
from episodes.config import SynthConfig
from models.config import FeatureConfig, ModelConfig, PretrainConfig, TrainConfig, WindowConfig
from simulator.core.choices import check_choices
from simulator.core.errors import ConfigError
from simulator.core.hashing import canonical_hash, plain

__all__ = [
    "ReplayConfig",
    "RunConfig",
    "load_config",
    "read_yaml",
    "load_preset",
    "config_hash",
    "config_to_dict",
    "DEMO_PRESET",
]


def _config_dir() -> Path:
    """``configs/``: package data of an installed wfsim (``wfsim/configs``, mapped from the
    repository's ``configs/`` by setup.py), else the repository's own folder."""
    root = Path(__file__).resolve().parent.parent
    installed = root / "wfsim" / "configs"
    return installed if (installed / "default.yaml").is_file() else root / "configs"


CONFIG_DIR = _config_dir()
DEFAULT_YAML = CONFIG_DIR / "default.yaml"
DEMO_PRESET = "demo"  # configs/demo.yaml: the demo's preset on top of the defaults


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayConfig:
    """Mechanics of a simulated account (the recorded run's values by default)."""

    initial_cash: float = 100_000.0
    fee_rate: float = RECORDED_ACCOUNT.fee_rate  # transaction cost on notional, both sides
    margin_rate: float = RECORDED_ACCOUNT.margin_rate  # short margin requirement
    max_positions: int = RECORDED_ACCOUNT.max_positions  # stock positions; SHY/TLT outside it
    # "mirror": hold the baseline's SHY/TLT weight of NAV; "none"
    bond_sleeve: Literal["mirror", "none"] = "mirror"
    # "eligible": close tickers that left the universe; "mirror": also follow baseline closes
    sync: Literal["eligible", "mirror"] = "eligible"
    # "saved": serve each window's pretrain predictions.parquet; "live": per-day inference
    predictions: Literal["saved", "live"] = "saved"
    # tickers served each day: "consensus" (the risk manager's, as recorded) or "eligible" (the
    # whole screened universe; uncovered risk limits = the episode's median, models.infoset)
    universe: Literal["consensus", "eligible"] = "consensus"

    def __post_init__(self) -> None:
        if self.initial_cash <= 0:
            raise ValueError(f"initial_cash={self.initial_cash}, expected > 0")
        if not 0 <= self.fee_rate < 0.1:
            raise ValueError(f"fee_rate={self.fee_rate}, expected in [0, 0.1)")
        if not 0 <= self.margin_rate <= 1:
            raise ValueError(f"margin_rate={self.margin_rate}, expected in [0, 1]")
        if not 1 <= self.max_positions <= 1000:
            raise ValueError(f"max_positions={self.max_positions}, expected in [1, 1000]")
        check_choices(self)

    @property
    def account(self) -> AccountRules:
        """This experiment's account rules (costs, margin, cap) for the books."""
        return AccountRules(fee_rate=self.fee_rate, margin_rate=self.margin_rate,
                            max_positions=self.max_positions)  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class RunConfig:
    """Everything a wfsim run depends on. ``config_hash(cfg)`` identifies it."""

    seed: int = 42
    synth: SynthConfig = field(default_factory=SynthConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    windows: WindowConfig = field(default_factory=WindowConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)

    def __post_init__(self) -> None:
        """Run-level and cross-section checks, once, before any work (load and replace alike)."""
        if not 0 <= self.seed < 2**31:
            raise ValueError(f"seed={self.seed}, expected in [0, 2**31)")
        cap, want = self.replay.max_positions, self.decision.max_positions
        if want is not None and want > cap:
            raise ConfigError("decision.max_positions", "exceeds the books' cap", value=want,
                              expected=f"<= replay.max_positions={cap}",
                              fix="lower it, or leave it unset to follow the cap")  # fmt: skip
        try:  # PretrainConfig's own cross-section rule (family x device), one source
            self.pretrain_config()
        except ValueError as exc:
            raise ConfigError("train.device", str(exc)) from None

    def decision_config(self) -> DecisionConfig:
        """``decision`` with ``max_positions`` resolved (unset: the books' cap)."""
        if self.decision.max_positions is not None:
            return self.decision
        return dataclasses.replace(self.decision, max_positions=self.replay.max_positions)

    def pretrain_config(self) -> PretrainConfig:
        """The part of this run that pretraining and model serving depend on."""
        return PretrainConfig(seed=self.seed, features=self.features, windows=self.windows,
                              model=self.model, train=self.train)  # fmt: skip


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass (field order kept)."""
    return plain(cfg)


def config_hash(cfg: Any) -> str:
    """sha256 of the canonical JSON of a config (sorted keys), first 16 hex digits."""
    return canonical_hash(cfg)


def load_preset(name: str) -> dict[str, Any]:
    """The nested mapping of ``configs/<name>.yaml`` (a named preset, validated by its use)."""
    return read_yaml(CONFIG_DIR / f"{name}.yaml")


def load_config(
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    preset: dict[str, Any] | None = None,
) -> RunConfig:
    """Load a YAML config on top of a ``preset`` (if any) on top of the defaults, then apply
    dotted ``overrides``: each layer wins over the one below it, key by key.

    Unknown keys raise ``ConfigError`` naming the dotted key and the closest valid one; range
    checks in each section's ``__post_init__`` are re-raised with the dotted path.

    Examples
    --------
    >>> load_config(overrides={"train.lr": 0.01}).train.lr
    0.01
    >>> load_config(overrides={"model.hiden": 3})
    Traceback (most recent call last):
    ...
    simulator.core.errors.ConfigError: model.hiden: unknown key (did you mean model.hidden?)
    """
    data = copy.deepcopy(_merge(preset or {}, read_yaml(Path(path)) if path is not None else {}))
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(dotted, "parent is not a section")
        node[leaf] = value
    return _build(RunConfig, data, "")


class _UniqueKeys(yaml.SafeLoader):
    """yaml's safe loader refusing a key given twice in one mapping (it kept the last silently:
    a second ``windows:`` section dropped the first's keys)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping file (a config, a tune space); every problem a ConfigError naming it."""
    try:
        with open(path, encoding="utf-8") as fh:  # a stream: yaml's marks name the file
            loaded = yaml.load(fh, Loader=_UniqueKeys)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise ConfigError(str(path), "config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "not UTF-8 text", at=f"byte {exc.start}") from None
    except OSError as exc:
        raise ConfigError(str(path), "cannot read", error=exc.strerror) from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"not valid YAML: {exc}".replace("\n", " ")) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(str(path), "top level must be a mapping", got=type(loaded).__name__)
    return loaded


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, section by section (a key ``top`` sets wins)."""
    out = dict(base)
    for key, value in top.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both else value
    return out


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(prefix.rstrip(".") or "config", "expected a mapping", got=repr(data))
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise ConfigError(dotted, f"unknown key{hint}")
        typ = hints[key]
        if dataclasses.is_dataclass(typ):
            kwargs[key] = _build(typ, value, f"{dotted}.")
        else:
            kwargs[key] = _coerce(typ, value, dotted)
    try:
        return cls(**kwargs)
    except ValueError as exc:
        where = prefix.rstrip(".") or "config"
        raise ConfigError(where, str(exc)) from None


def _coerce(typ: Any, value: Any, dotted: str) -> Any:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(typ):
            return None
        typ = next(a for a in typing.get_args(typ) if a is not type(None))
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ in (int, float, str, bool) and not (
        isinstance(value, typ) and not (typ is int and isinstance(value, bool))
    ):
        raise ConfigError(dotted, "wrong type", value=repr(value), expected=typ.__name__)
    return _finite(value, dotted)


def _finite(value: Any, dotted: str) -> Any:
    """Every numeric key must be a finite number: YAML's ``.inf``/``.nan`` are refused here, once,
    because a NaN passes every ``x < bound`` range check in ``__post_init__``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(dotted, "not a finite number", value=value, expected="a finite number")
    return value
