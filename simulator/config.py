"""RunConfig: every section composed, a YAML loader that names the bad key, the config hash."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.config import DecisionConfig
from episodes.config import SynthConfig
from models.config import FeatureConfig, ModelConfig, TrainConfig, WindowConfig
from simulator.errors import ConfigError

__all__ = ["ReplayConfig", "RunConfig", "load_config", "config_hash", "config_to_dict"]

DEFAULT_YAML = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayConfig:
    """Mechanics of a simulated account (the recorded run's values by default)."""

    initial_cash: float = 100_000.0
    fee_rate: float = 0.0005  # transaction cost on notional, both sides (5 bp)
    margin_rate: float = 0.0  # short margin requirement (0 in the recordings)
    max_positions: int = 30  # stock positions; SHY/TLT outside the cap
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
        if not 0 <= self.seed < 2**31:
            raise ValueError(f"seed={self.seed}, expected in [0, 2**31)")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass (field order kept)."""
    return {f.name: _plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}


def _plain(v: Any) -> Any:
    return config_to_dict(v) if dataclasses.is_dataclass(v) else v


def config_hash(cfg: Any) -> str:
    """sha256 of the canonical JSON of a config (sorted keys), first 16 hex digits."""
    blob = json.dumps(config_to_dict(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
    simulator.errors.ConfigError: model.hiden: unknown key (did you mean model.hidden?)
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(str(path), "config file not found") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(str(path), "not UTF-8 text", at=f"byte {exc.start}") from None
        except OSError as exc:
            raise ConfigError(str(path), "cannot read", error=exc.strerror) from None
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
    return _build(RunConfig, data, "")


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
