"""RunConfig: every section composed, a YAML loader that names the bad key, the config hash."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.config import DecisionConfig
from episodes.account import RECORDED_ACCOUNT, AccountRules
from episodes.config import SynthConfig
from models.config import FeatureConfig, ModelConfig, PretrainConfig, TrainConfig, WindowConfig
from simulator.core.errors import ConfigError
from simulator.core.hashing import canonical_hash, plain

__all__ = ["ReplayConfig", "RunConfig", "load_config", "config_hash", "config_to_dict"]

DEFAULT_YAML = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayConfig:
    """Mechanics of a simulated account (the recorded run's values by default)."""

    initial_cash: float = 100_000.0
    fee_rate: float = RECORDED_ACCOUNT.fee_rate  # transaction cost on notional, both sides
    margin_rate: float = RECORDED_ACCOUNT.margin_rate  # short margin requirement
    max_positions: int = RECORDED_ACCOUNT.max_positions  # stock positions; SHY/TLT outside it
    bond_sleeve: str = "mirror"  # "mirror": hold the baseline's SHY/TLT weight of NAV; "none"
    # "eligible": close tickers that left the universe; "mirror": also follow baseline closes
    sync: str = "eligible"
    # "saved": serve each window's pretrain predictions.parquet; "live": per-day inference
    predictions: str = "saved"

    def __post_init__(self) -> None:
        if self.initial_cash <= 0:
            raise ValueError(f"initial_cash={self.initial_cash}, expected > 0")
        if not 0 <= self.fee_rate < 0.1:
            raise ValueError(f"fee_rate={self.fee_rate}, expected in [0, 0.1)")
        if not 0 <= self.margin_rate <= 1:
            raise ValueError(f"margin_rate={self.margin_rate}, expected in [0, 1]")
        if not 1 <= self.max_positions <= 1000:
            raise ValueError(f"max_positions={self.max_positions}, expected in [1, 1000]")
        if self.bond_sleeve not in ("mirror", "none"):
            raise ValueError(f"bond_sleeve={self.bond_sleeve!r}, expected 'mirror' or 'none'")
        if self.sync not in ("eligible", "mirror"):
            raise ValueError(f"sync={self.sync!r}, expected 'eligible' or 'mirror'")
        if self.predictions not in ("saved", "live"):
            raise ValueError(f"predictions={self.predictions!r}, expected 'saved' or 'live'")

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


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Load a YAML config on top of the defaults, then apply dotted ``overrides``.

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
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(str(path), "config file not found") from None
        except yaml.YAMLError as exc:
            raise ConfigError(str(path), f"not valid YAML: {exc}".replace("\n", " ")) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(str(path), "top level must be a mapping", got=type(loaded).__name__)
        data = loaded
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(dotted, "parent is not a section")
        node[leaf] = value
    cfg = _build(RunConfig, data, "")
    _check_cross(cfg)
    return cfg


def _check_cross(cfg: RunConfig) -> None:
    """Rules across sections, checked once at load so that no command starts work it cannot end."""
    if cfg.decision.max_positions > cfg.replay.max_positions:
        raise ConfigError(
            "decision.max_positions",
            "exceeds the books' cap",
            value=cfg.decision.max_positions,
            expected=f"<= replay.max_positions={cfg.replay.max_positions}",
            fix="lower decision.max_positions too",
        )


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
    return value
