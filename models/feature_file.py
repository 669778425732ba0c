"""Features spilled to disk: ``build_features`` of a store built block by block from day-range
Panels, ``x`` written to a file under the models directory and served as a read-only memmap.

Used by ``models.pretrain`` when loading the whole Panel and building the dense ``x`` of a store
would exceed ``features.memory_mb`` (``resident_bytes``):
neither the whole Panel nor the whole ``x`` is ever held. The ``[T, K]`` arrays (``has_data``,
``sample``, ``y``: 6 bytes per ticker-day) stay in memory. Every array equals
``build_features(load_panel(store), cfg)`` byte for byte (``test_feature_file.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from episodes.panel import Panel
from models.config import FeatureConfig
from models.features import FeatureSet, PriceStream, block_days, feature_names, feature_rows
from models.infoset import InfoSet
from models.infoset import has_data as infoset_has_data
from models.mapped import is_mapped
from models.targets import target
from simulator.core.atomic import atomic_path
from simulator.core.errors import StoreError
from simulator.core.memory import trim

__all__ = [
    "x_bytes",
    "resident_bytes",
    "spill_needed",
    "block_span",
    "build_feature_file",
    "spill_file",
    "open_spilled",
    "MappedX",
    "portable",
    "reopen",
]

PREFIX, SUFFIX = ".features-", ".f32"  # MODELS/.features-<pid>.f32 while a pretrain runs


# bytes per ticker-day of the in-memory path besides ``x``: the Panel's [T, K] (and [6, T, K])
# arrays (``test_panel_bytes_per_ticker_day`` checks it against a loaded Panel) and the
# FeatureSet's has_data, sample (bool) and y (float32)
PANEL_BYTES, FS_MASK_BYTES = 184, 6
_LOAD_COPIES = 3  # the Panel + ~2 copies of it in load_panel's conversion (resident_bytes)


def x_bytes(n_days: int, n_tickers: int, cfg: FeatureConfig) -> int:
    """Bytes of the dense float32 ``x`` of a store of ``n_days`` x ``n_tickers``."""
    return n_days * n_tickers * len(feature_names(cfg)) * 4


def resident_bytes(n_days: int, n_tickers: int, cfg: FeatureConfig) -> int:
    """Peak bytes of the in-memory path (estimate): ``x``, the [T, K] masks, the Panel, and two
    more Panel-sized copies while ``load_panel`` converts the Parquet tables (Arrow columns and
    the flat index arrays). At 848 x 750 (50 features): 770 B per ticker-day estimated, 715 B
    measured (bench_scale ``pretrain_*``: peak 455 MB above the process's base to prepare).
    """
    panel = n_days * n_tickers * (PANEL_BYTES + FS_MASK_BYTES)
    return x_bytes(n_days, n_tickers, cfg) + _LOAD_COPIES * panel


def spill_needed(cfg: FeatureConfig, n_days: int, n_tickers: int) -> bool:
    """Whether the in-memory path (``resident_bytes``) would exceed the budget ``cfg.memory_mb``
    (0: no budget, never spill). The real 691 x 573 store: 305 MB, in memory at the default 512.

    >>> cfg = FeatureConfig(memory_mb=512)
    >>> spill_needed(cfg, 691, 573), spill_needed(cfg, 750, 850), spill_needed(cfg, 1500, 1697)
    (False, False, True)
    >>> spill_needed(FeatureConfig(memory_mb=256), 691, 573)
    True
    """
    return cfg.memory_mb > 0 and resident_bytes(n_days, n_tickers, cfg) > cfg.memory_mb * 2**20


def block_span(a: int, b: int, n_days: int, cfg: FeatureConfig) -> range:
    """The days of the Panel that the rows ``[a, b)`` read (clipped to ``0..n_days``).

    Before: ``max(1, agent_lag)`` days: ``has_data`` and the price values read close and open of
    t-1 (older closes come from the carried ``PriceStream``); the agent rows and the prediction
    points (``on_risk``) read episode ``t - agent_lag``. After: ``horizon`` days, the target
    ``y[t]`` reads ``open(t + h)``.

    >>> block_span(0, 10, 100, FeatureConfig()), block_span(10, 20, 21, FeatureConfig(horizon=5))
    (range(0, 11), range(9, 21))
    """
    before = max(1, InfoSet.resolve(cfg.info_set).agent_lag)
    return range(max(a - before, 0), min(b + cfg.horizon, n_days))


def build_feature_file(
    loader: Callable[[range], Panel],
    n_days: int,
    n_tickers: int,
    cfg: FeatureConfig,
    path: Path,
    *,
    block: int | None = None,
) -> FeatureSet:
    """``build_features`` of the store ``loader`` reads, ``x`` written to ``path`` (atomically,
    plain writes, block after block) and mapped read-only.

    Parameters
    ----------
    loader : callable
        ``loader(range(a, b))`` -> the Panel of days ``[a, b)`` (``load_panel(store, days=...)``).
    n_days, n_tickers : int
        The store's size (its manifest).
    cfg : FeatureConfig
        As ``build_features``; ``memory_mb`` sets the block (half for the working arrays, half for
        the block's Panel and rows).
    path : Path
        The file to write (replaced).
    block : int, optional
        Days per block, overriding the budget's.
    """
    info = InfoSet.resolve(cfg.info_set)
    names = feature_names(cfg)
    step = block or block_days(max(cfg.memory_mb // 2, 1), n_tickers, len(names), n_days)
    has_data = np.zeros((n_days, n_tickers), dtype=bool)
    sample = np.zeros((n_days, n_tickers), dtype=bool)
    y = np.full((n_days, n_tickers), np.nan, dtype=np.float32)
    stream = PriceStream(n_tickers)
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as fh:
        for a in range(0, n_days, step):
            b = min(a + step, n_days)
            span = block_span(a, b, n_days, cfg)
            p = _load(loader, span, n_tickers)
            ra, rb = a - span.start, b - span.start
            hd = infoset_has_data(p)
            fh.write(memoryview(feature_rows(p, ra, rb, stream, cfg, hd)))
            has_data[a:b] = hd[ra:rb]
            sample[a:b] = info.prediction_points(p, hd)[ra:rb]
            y[a:b] = target(p, cfg.horizon)[0][ra:rb]
            del p, hd
    x = np.memmap(path, dtype=np.float32, mode="r", shape=(n_days, n_tickers, len(names)))
    label_end = np.arange(n_days, dtype=np.int64) + cfg.horizon
    return FeatureSet(names, x, has_data, sample, y, label_end, cfg.horizon)


def _load(loader: Callable[[range], Panel], span: range, n_tickers: int) -> Panel:
    p = loader(span)
    if p.n_days != len(span) or p.n_tickers != n_tickers:
        raise StoreError(
            "feature_file",
            "the loader returned another shape",
            days=f"{span.start}..{span.stop}",
            got=f"{p.n_days} days x {p.n_tickers} tickers",
            expected=f"{len(span)} days x {n_tickers} tickers",
        )
    return p


@contextlib.contextmanager
def spill_file(models_dir: Path) -> Iterator[Path]:
    """The spill file's path in ``models_dir``, removed on exit (error included). Files a killed
    run left are removed first: the caller holds the directory's writer lock."""
    models_dir = Path(models_dir)
    if models_dir.is_dir():
        for old in models_dir.glob(f"{PREFIX}*{SUFFIX}"):
            old.unlink(missing_ok=True)
    path = models_dir / f"{PREFIX}{os.getpid()}{SUFFIX}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def open_spilled(
    store: Path, cfg: FeatureConfig, path: Path, *, block: int | None = None
) -> tuple[FeatureSet, list[str], np.ndarray] | None:
    """Spilled features, tickers and dates of a store directory (sizes from its manifest, never a
    whole Panel); None when its ``x`` fits the budget (``spill_needed``)."""
    from episodes.store import load_panel, open_store

    manifest = open_store(store).manifest
    tickers = [str(x) for x in manifest["tickers"]]
    dates = np.asarray(manifest["dates"], dtype="datetime64[D]")
    if not block and not spill_needed(cfg, len(dates), len(tickers)):
        return None

    def loader(days: range) -> Panel:
        return load_panel(store, days=days)

    fs = build_feature_file(loader, len(dates), len(tickers), cfg, path, block=block)
    trim()  # the blocks' freed Arrow/numpy pages: glibc keeps them in its heap otherwise
    return fs, tickers, dates


@dataclass(frozen=True)
class MappedX:
    """A spilled ``x`` by path (what a Ray task receives instead of the array: ``np.memmap``
    pickles as a whole in-memory copy). The file must be readable where the task runs: the models
    directory on a path every node shares, as the store."""

    path: str
    shape: tuple[int, ...]
    dtype: str


def portable(fs: FeatureSet) -> FeatureSet:
    """``fs`` with a spilled ``x`` replaced by its ``MappedX`` (unchanged otherwise)."""
    if not is_mapped(fs.x):
        return fs
    return dataclasses.replace(fs, x=MappedX(str(fs.x.filename), fs.x.shape, fs.x.dtype.str))


def reopen(fs: FeatureSet) -> FeatureSet:
    """The inverse of ``portable``: the file mapped read-only again (a no-op for an array)."""
    x = fs.x
    if not isinstance(x, MappedX):
        return fs
    try:
        mapped = np.memmap(x.path, dtype=np.dtype(x.dtype), mode="r", shape=x.shape)
    except OSError as exc:
        raise StoreError(
            x.path,
            "spilled features unreadable on this node",
            error=str(exc),
            fix="put the models directory on a path every Ray node shares, or --backend local",
        ) from None
    return dataclasses.replace(fs, x=mapped)
