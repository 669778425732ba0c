"""The model registry (qlib-style recorded tasks): ``DIR/registry.json`` + ``DIR/<window>/``.

``registry.json`` lists every planned window with its day ranges and dates, seed, data and config
hashes, status (``planned`` / ``done``), metrics, and the sha256 of its files. ``pretrain`` writes
the plan before training and fills entries as windows finish; each window directory is written
with ``atomic_dir`` and the registry with ``write_atomic``, so a kill at any moment leaves either
a finished window or none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.mapped import hash_update
from simulator.core.atomic import atomic_dir, write_atomic
from simulator.core.errors import RegistryError
from simulator.core.hashing import canonical_hash, sha256_file
from simulator.core.versions import library_versions

if TYPE_CHECKING:  # torch only where weights are written: reading a registry stays light
    import torch

__all__ = [
    "REGISTRY_FILE",
    "WINDOW_FILES",
    "WindowEntry",
    "Registry",
    "window_seed",
    "data_hash",
    "sections_hash",
    "sha256_file",
    "weights_hash",
    "write_window",
]

REGISTRY_FILE = "registry.json"
REGISTRY_FORMAT = 1
WINDOW_FILES = ("model.pt", "predictions.parquet")  # hashed; metadata.json holds timings


def window_seed(run_seed: int, window_id: str) -> int:
    """Per-window seed: the first 4 bytes of sha256("<run seed>:<window id>") (stable across runs).

    >>> window_seed(42, "w000") == window_seed(42, "w000") != window_seed(42, "w001")
    True
    """
    digest = hashlib.sha256(f"{run_seed}:{window_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def data_hash(arrays: Iterable[np.ndarray], labels: Iterable[str]) -> str:
    """sha256 (16 hex digits) of array bytes, shapes and dtypes plus text labels, in order."""
    h = hashlib.sha256()
    for label in labels:
        h.update(label.encode() + b"\0")
    for a in arrays:
        a = a if isinstance(a, np.ndarray) else np.asarray(a)  # a memmap stays one (paged reads)
        a = a.reshape(1) if a.ndim == 0 else a  # as np.ascontiguousarray did: ndim >= 1
        h.update(f"{a.dtype.str}{a.shape}".encode())
        hash_update(h, a)  # chunk by chunk: no copy of the whole array, a mapped x stays paged out
    return h.hexdigest()[:16]


def sections_hash(sections: Mapping[str, Any]) -> str:
    """``canonical_hash`` of the config sections a window depends on (dataclasses or scalars)."""
    return canonical_hash(sections)


@dataclass(frozen=True, kw_only=True)
class WindowEntry:
    """One registry window. Ranges are ``[start, stop)`` day indices; dates are [first, last].

    ``label_end_max`` is the last day whose data any training or validation label used: the model
    may serve day d only if ``label_end_max < d`` (checked by ``WalkForwardModelManager``).
    """

    id: str
    train: tuple[int, int]
    val: tuple[int, int]
    serve: tuple[int, int]
    train_dates: tuple[str, str]
    val_dates: tuple[str, str]
    serve_dates: tuple[str, str]
    label_end_max: int
    seed: int
    data_hash: str
    config_hash: str
    status: str = "planned"  # "planned" or "done"
    metrics: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    weights_hash: str = ""

    @property
    def path(self) -> str:
        return self.id

    def identity(self) -> tuple:
        """What must match for a finished entry to stay valid under a new plan."""
        return (
            self.train,
            self.val,
            self.serve,
            self.label_end_max,
            self.seed,
            self.data_hash,
            self.config_hash,
        )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["path"] = self.path
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WindowEntry:
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        for name in ("train", "val", "serve", "train_dates", "val_dates", "serve_dates"):
            kw[name] = tuple(kw[name])
        return cls(**kw)


class Registry:
    """``DIR/registry.json`` in memory: ordered window entries, saved atomically on change."""

    def __init__(self, root: Path, entries: list[WindowEntry], info: dict[str, Any]) -> None:
        self.root = Path(root)
        self.entries = entries
        self.info = info  # run-level facts: config hash, seed, feature names, tickers

    def __repr__(self) -> str:
        done = sum(e.status == "done" for e in self.entries)
        return f"Registry({str(self.root)!r}, windows={len(self.entries)}, done={done})"

    @property
    def path(self) -> Path:
        return self.root / REGISTRY_FILE

    @classmethod
    def load(cls, root: Path) -> Registry:
        """Read ``root/registry.json``; RegistryError if it is missing or unreadable."""
        path = Path(root) / REGISTRY_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RegistryError(
                str(path),
                "no model registry",
                fix="run `wfsim pretrain --store PATH --models DIR` first",
            ) from None
        except ValueError as exc:
            raise RegistryError(str(path), "registry is not valid JSON", error=str(exc)) from None
        if raw.get("format") != REGISTRY_FORMAT:
            raise RegistryError(
                str(path),
                "unsupported registry format",
                got=raw.get("format"),
                expected=str(REGISTRY_FORMAT),
            )
        entries = [WindowEntry.from_dict(w) for w in raw["windows"]]
        info = {k: v for k, v in raw.items() if k not in ("format", "windows")}
        return cls(Path(root), entries, info)

    @classmethod
    def load_or_empty(cls, root: Path) -> Registry:
        if (Path(root) / REGISTRY_FILE).exists():
            return cls.load(root)
        return cls(Path(root), [], {})

    def save(self) -> Path:
        doc = {
            "format": REGISTRY_FORMAT,
            **self.info,
            "windows": [e.to_dict() for e in self.entries],
        }
        return write_atomic(self.path, json.dumps(doc, indent=1, allow_nan=False) + "\n")

    def clean_leftovers(self) -> int:
        """Remove temp files and directories a killed writer left (``.<name>.*.tmp|.old``)."""
        n = 0
        for p in self.root.glob(".*.*"):
            if p.suffix in (".tmp", ".old"):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
                n += 1
        return n

    def entry(self, window_id: str) -> WindowEntry:
        for e in self.entries:
            if e.id == window_id:
                return e
        raise RegistryError(str(self.path), "window not in registry", window=window_id)

    def replace(self, new: WindowEntry) -> None:
        self.entries = [new if e.id == new.id else e for e in self.entries]

    def verify(self, e: WindowEntry) -> bool:
        """A done entry is valid when its directory holds every file with the recorded sha256."""
        if e.status != "done" or not e.files:
            return False
        d = self.root / e.path
        if not (d / "metadata.json").is_file():
            return False
        for name, digest in e.files.items():
            f = d / name
            if not f.is_file() or sha256_file(f) != digest:
                return False
        return True

    def merge_plan(self, plan: list[WindowEntry], force: bool) -> list[str]:
        """Adopt ``plan``, keeping finished entries that still match; return the ids to train.

        An entry is kept when its status is done, its identity (ranges, seed, data and config
        hashes) equals the plan's, and its files verify. A done entry whose identity changed is
        stale: RegistryError unless ``force``, which retrains it. A done entry whose files are
        missing or altered is retrained.
        """
        old = {e.id: e for e in self.entries}
        stale = [
            p.id
            for p in plan
            if p.id in old and old[p.id].status == "done" and old[p.id].identity() != p.identity()
        ]
        gone = [i for i in old if i not in {p.id for p in plan} and old[i].status == "done"]
        if (stale or gone) and not force:
            first = (stale or gone)[0]
            why = _stale_reason(old[first], next((p for p in plan if p.id == first), None))
            raise RegistryError(
                str(self.path),
                "registry is stale for this store or config",
                window=first,
                changed=why,
                stale_windows=len(stale) + len(gone),
                fix="`wfsim pretrain --force` retrains it, or use a new --models DIR "
                "(seeds, study: a new --out)",
            )
        merged, todo = [], []
        for p in plan:
            e = old.get(p.id)
            if e is not None and e.identity() == p.identity() and self.verify(e):
                merged.append(e)
            else:
                merged.append(p)
                todo.append(p.id)
        self.entries = merged
        return todo


def _stale_reason(old: WindowEntry, new: WindowEntry | None) -> str:
    if new is None:
        return "window no longer planned"
    names = ("train", "val", "serve", "label_end_max", "seed", "data_hash", "config_hash")
    diff = [n for n, a, b in zip(names, old.identity(), new.identity(), strict=True) if a != b]
    return "+".join(diff)


def weights_hash(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 (16 hex digits) of the weights: names, dtypes, shapes and bytes in key order."""
    h = hashlib.sha256()
    for name, v in state_dict.items():
        a = v.detach().cpu().contiguous().numpy()
        h.update(f"{name}{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _json_safe(v: Any) -> Any:
    """NaN -> None, numpy scalars -> Python, recursively (registry JSON is strict)."""
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    return v


MODEL_VERSIONS = ("torch", "numpy", "pandas", "pyarrow", "wfsim")  # recorded in metadata.json


def write_window(
    reg: Registry,
    entry: WindowEntry,
    checkpoint: dict[str, Any],
    predictions: pd.DataFrame,
    metrics: dict[str, Any],
    elapsed_s: float,
) -> WindowEntry:
    """Write ``DIR/<window>/`` atomically; return the entry marked done with its file hashes.

    ``model.pt``: the checkpoint plus seed and hashes; ``predictions.parquet``: the serve-day
    predictions; ``metadata.json``: dates, seed, hashes, features, library versions, training time,
    validation and OOS metrics.
    """
    metrics = _json_safe(metrics)
    ckpt = {
        **checkpoint,
        "seed": entry.seed,
        "config_hash": entry.config_hash,
        "data_hash": entry.data_hash,
    }
    meta = {
        "window": entry.id,
        "family": ckpt.get("family", "lstm"),
        "train_dates": entry.train_dates,
        "val_dates": entry.val_dates,
        "serve_dates": entry.serve_dates,
        "seed": entry.seed,
        "config_hash": entry.config_hash,
        "data_hash": entry.data_hash,
        "features": ckpt["feature_names"],
        "vocab_size": len(ckpt["vocab"]),
        "versions": library_versions(MODEL_VERSIONS),
        "training_time_s": round(elapsed_s, 3),
        "val": {k: v for k, v in metrics.items() if k != "oos"},
        "oos": metrics["oos"],
    }
    import torch

    with atomic_dir(reg.root / entry.path) as tmp:
        buf = io.BytesIO()
        torch.save(ckpt, buf)
        (tmp / "model.pt").write_bytes(buf.getvalue())
        pq.write_table(
            pa.Table.from_pandas(predictions, preserve_index=False), tmp / "predictions.parquet"
        )
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    files = {n: sha256_file(reg.root / entry.path / n) for n in WINDOW_FILES}
    wh = weights_hash(checkpoint["state_dict"])
    return dataclasses.replace(entry, status="done", metrics=metrics, files=files, weights_hash=wh)
