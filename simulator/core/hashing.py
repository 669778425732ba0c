"""Content hashes: one canonical-JSON hash for configs and config sections, one file digest."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["canonical_hash", "plain", "sha256_file"]


def plain(value: Any) -> Any:
    """A dataclass as a nested dict (field order kept); mappings recursed; anything else as is.

    A field declared with ``metadata={"hash": False}`` (a resource setting such as a memory
    budget, which changes no output) is left out, so it changes no hash and no recorded config.
    One declared with ``metadata={"hash": "unless-default"}`` is left out while it holds its
    default (a later option whose default keeps the outputs of earlier versions: their hashes
    stay valid), and hashed like any other field once set.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in _hashed_fields(value)}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def _hashed_fields(value: Any) -> list[dataclasses.Field]:
    out = []
    for f in dataclasses.fields(value):
        rule = f.metadata.get("hash", True)
        if rule == "unless-default":
            has = f.default is not dataclasses.MISSING
            rule = getattr(value, f.name) != (f.default if has else f.default_factory())
        if rule:
            out.append(f)
    return out


def canonical_hash(value: Any) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of ``plain(value)``, 16 hex digits.

    Examples
    --------
    >>> canonical_hash({"b": 1, "a": [1, 2]}) == canonical_hash({"a": [1, 2], "b": 1})
    True
    >>> len(canonical_hash({}))
    16
    """
    blob = json.dumps(plain(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    """Full sha256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
