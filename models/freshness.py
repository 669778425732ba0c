"""A registry's verification stamp: serve saved predictions without building the features again.

Saved predictions are fresh for a store when ``window_data_hash`` of its features matches the
registry's (``models.serve.ModelPredictor``). Building the ``[T, K, F]`` features only to hash them
costs most of a saved-predictions replay, so once that check has passed, the result is recorded in
``<models>/verified.json``: the hash of every Panel array (``panel_hash``), the hash of the code
that turns a Panel into features (``code_hash``) and the entry the check vouched for. A later
replay whose Panel, code and registry entry are all the same trusts the stamp; anything else
(another store, an edited store, changed feature code, a re-pretrained window) misses it, and the
features are built and hashed as before. The stamp is a cache: deleting it only costs time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from models.mapped import hash_update
from simulator.core.atomic import write_atomic

__all__ = ["STAMP", "code_hash", "last_done", "panel_hash", "read_stamp", "stamp_of", "write_stamp"]

log = structlog.get_logger(__name__)

STAMP = "verified.json"
FORMAT = 1
# the modules whose code maps a Panel to features, targets, prediction points and data hashes
_CODE = ("features.py", "targets.py", "infoset.py", "pretrain.py", "registry.py", "freshness.py",
         "mapped.py", "feature_file.py")  # fmt: skip


def code_hash() -> str | None:
    """sha256 (16 hex digits) of the source of the modules that turn a Panel into a data hash;
    None when a source file cannot be read (then no stamp is trusted or written)."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    try:
        for name in _CODE:
            h.update(name.encode() + b"\0" + (here / name).read_bytes())
    except OSError:
        return None
    return h.hexdigest()[:16]


def panel_hash(panel: Any) -> str:
    """sha256 (16 hex digits) of every array of the Panel (field name, dtype, shape, bytes; the
    tickers as text): any change to the store's content changes it. Hashed in chunks (no copy)."""
    h = hashlib.sha256("\0".join(str(x) for x in panel.tickers).encode())
    for f in dataclasses.fields(panel):
        a = getattr(panel, f.name)
        if isinstance(a, np.ndarray) and a.dtype != object:
            h.update(f"\0{f.name}{a.dtype.str}{a.shape}".encode())
            hash_update(h, a)  # chunk by chunk: a sliced (strided) array is never copied whole
    return h.hexdigest()[:16]


def last_done(entries: Any, n_days: int) -> Any:
    """The done registry entry whose serve days end last within ``[0, n_days)``, or None: the
    entry a stamp vouches for (one data snapshot covers every done window, ``merge_plan``)."""
    done = [x for x in entries if x.status == "done" and x.serve[1] <= n_days]
    return max(done, key=lambda x: x.serve[1], default=None)


def stamp_of(code: str | None, panel: str, config_hash: str, entry: Any) -> dict[str, Any]:
    """The stamp's fields (without ``format``): code and Panel hashes, and the entry it vouches
    for. ``models.serve`` compares a stored stamp with these; ``models.pretrain`` writes them for
    the Panel it trained on, so the first replay on that store skips the features too."""
    return {"code": code, "panel": panel, "config_hash": config_hash, "window": entry.id,
            "stop": entry.serve[1], "data_hash": entry.data_hash}  # fmt: skip


def read_stamp(models_dir: Path) -> dict[str, Any]:
    """The registry's stamp, or {} when there is none or it is unreadable (a cache miss)."""
    try:
        stamp = json.loads((Path(models_dir) / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) and stamp.get("format") == FORMAT else {}


def write_stamp(models_dir: Path, stamp: dict[str, Any]) -> None:
    """Record ``stamp`` (atomically); a registry that cannot be written is served all the same."""
    try:
        write_atomic(Path(models_dir) / STAMP, json.dumps({"format": FORMAT, **stamp}, indent=1))
    except OSError as exc:
        log.debug("stamp_unwritten", path=str(models_dir), error=type(exc).__name__)
