"""WalkForwardModelManager: the model serving a day, checked for look-ahead, LRU-cached."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import structlog

from models.families import Predictor, load_predictor
from models.features import FeatureSet
from models.registry import Registry, WindowEntry
from simulator.core.errors import LookaheadError, RegistryError

__all__ = ["WalkForwardModelManager"]

log = structlog.get_logger(__name__)


class WalkForwardModelManager:
    """Serve walk-forward models from a registry directory written by ``pretrain``.

    Rule: day d is served by the finished window whose serve range contains d, and only if every
    label that window trained or validated on was known before the open of d
    (``label_end_max < d``); otherwise ``LookaheadError``. Loaded models are kept in an LRU cache
    of ``cache_size`` windows (consecutive days hit the same window).

    Parameters
    ----------
    models_dir : Path
        Directory holding ``registry.json``.
    cache_size : int
        Models kept in memory.
    """

    def __init__(self, models_dir: Path, cache_size: int = 4) -> None:
        if cache_size < 1:
            raise ValueError(f"cache_size={cache_size}, expected >= 1")
        self.registry = Registry.load(Path(models_dir))
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Predictor] = OrderedDict()
        self.loads = 0  # models read from disk (cache misses)

    def __repr__(self) -> str:
        return (
            f"WalkForwardModelManager({str(self.registry.root)!r}, "
            f"windows={len(self.registry.entries)}, cache_size={self.cache_size})"
        )

    def check_dates(self, dates: np.ndarray) -> None:
        """Refuse a store whose days are other dates than the registry's: the guard compares
        day indices, so a store with days added before (or missing from) the pretrained one
        would serve a day with a model trained past it. Every done window's recorded first and
        last train / val / serve dates must be the store's dates at those indices (where the
        store has them). ``dates``: the store's ``[T]`` dates (``datetime64[D]``)."""
        iso = np.asarray(dates).astype("datetime64[D]").astype(str)
        for e in self.registry.entries:
            if e.status != "done":
                continue
            for name in ("train", "val", "serve"):
                (start, stop), recorded = getattr(e, name), getattr(e, f"{name}_dates")
                for day, want in ((start, recorded[0]), (stop - 1, recorded[1])):
                    if stop > start and day < len(iso) and iso[day] != want:
                        raise LookaheadError(
                            f"{self.registry.path}: {e.id}",
                            "the registry's days are other dates in this store",
                            day=day,
                            store_date=str(iso[day]),
                            registry_date=want,
                            expected=f"{name}_dates as pretrained",
                            fix="pretrain on this store",
                        )

    def window_for(self, day: int) -> WindowEntry:
        """The done entry whose serve range holds ``day``; RegistryError if none, LookaheadError
        if its training labels reach ``day``."""
        for e in self.registry.entries:
            if e.serve[0] <= day < e.serve[1]:
                break
        else:
            served = [e.serve for e in self.registry.entries]
            span = f"{served[0][0]}..{served[-1][1] - 1}" if served else "none"
            raise RegistryError(
                str(self.registry.path),
                "no window serves this day",
                day=day,
                served_days=span,
                fix="pretrain on a store covering the day",
            )
        if e.status != "done":
            raise RegistryError(
                str(self.registry.path),
                "window serving this day is not trained",
                day=day,
                window=e.id,
                status=e.status,
                fix="rerun `wfsim pretrain` to finish it",
            )
        if not (e.label_end_max < day and e.val[1] <= day and e.train[1] <= day):
            raise LookaheadError(
                e.id,
                "model trained on data not known before the open of the day",
                day=day,
                label_end_max=e.label_end_max,
                expected="label_end_max < day",
            )
        return e

    def model_for(self, day: int) -> Predictor:
        """The (cached) model serving ``day`` (any family: ``models.families.load_predictor``)."""
        e = self.window_for(day)
        bundle = self._cache.get(e.id)
        if bundle is not None:
            self._cache.move_to_end(e.id)
            return bundle
        path = self.registry.root / e.path / "model.pt"
        if not path.is_file():
            raise RegistryError(
                str(path),
                "model file missing",
                window=e.id,
                fix="rerun `wfsim pretrain` to rebuild it",
            )
        from models.lstm import load_checkpoint  # torch: only live prediction loads a model

        bundle = load_predictor(load_checkpoint(path))
        self.loads += 1
        self._cache[e.id] = bundle
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        log.debug("model_loaded", window=e.id, day=day)
        return bundle

    def predict(
        self, day: int, fs: FeatureSet, tickers: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predicted returns of day ``day``'s prediction points (``fs.sample[day]``), one batch.

        Parameters
        ----------
        day : int
            Day index in the store the registry was trained on.
        fs : FeatureSet
            Features of that store (same feature names as the models).
        tickers : sequence of str, optional
            Names of ``fs``'s ticker axis; default: the registry's (same store).

        Returns
        -------
        (k_idx, preds) : int64 [n] ticker indices and float32 [n] predicted returns.
        """
        names = self.registry.info.get("tickers") if tickers is None else list(tickers)
        if names is None or len(names) != fs.x.shape[1]:
            raise RegistryError(
                str(self.registry.path),
                "ticker axis differs from the registry's",
                fs_tickers=fs.x.shape[1],
                registry_tickers=len(names or ()),
                fix="pass tickers= for a store other than the training one",
            )
        bundle = self.model_for(day)
        k_idx = np.flatnonzero(fs.sample[day]).astype(np.int64)
        if k_idx.size == 0:
            return k_idx, np.zeros(0, dtype=np.float32)
        t_idx = np.full(k_idx.size, day, dtype=np.int64)
        return k_idx, bundle.predict(fs, t_idx, k_idx, names)
